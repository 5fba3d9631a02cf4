//! International bank account numbers (ISO 13616).
//!
//! An IBAN is detected in capitals, compact or in groups separated by single spaces, when its
//! country code is known, its length is that country's, and the mod-97 check of ISO 7064
//! gives 1. Lowercase IBANs are not detected.

use std::sync::LazyLock;

use super::Windows;
use crate::detection::Detection;
use crate::pattern::{LazyRegex, char_after, char_before, compile, find_in};

static CANDIDATE: LazyRegex = LazyLock::new(|| compile(r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,32}"));

/// IBAN lengths by country, from the SWIFT IBAN registry.
const LENGTHS: [(&str, usize); 81] = [
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SC", 31),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("BI", 27),
    ("DJ", 27),
    ("SD", 18),
];

/// Appends the IBANs of `text` to `found`.
pub(super) fn detect(text: &str, windows: &Windows, found: &mut Vec<Detection>) {
    for candidate in find_in(&CANDIDATE, text, &windows.digits) {
        let start = candidate.start();
        if char_before(text, start).is_some_and(char::is_alphanumeric) {
            continue;
        }
        let Some(length) = country_length(candidate.as_str()) else {
            continue;
        };
        let Some(end) = end_of_iban(candidate.as_str(), length).map(|end| start + end) else {
            continue;
        };
        let compact: String = text[start..end].chars().filter(|c| *c != ' ').collect();
        if !char_after(text, end).is_some_and(char::is_alphanumeric) && passes_mod97(&compact) {
            found.push(Detection::pii("iban", "IBAN", start..end));
        }
    }
}

fn country_length(candidate: &str) -> Option<usize> {
    let country = candidate.get(..2)?;
    LENGTHS
        .iter()
        .find(|(code, _)| *code == country)
        .map(|(_, length)| *length)
}

/// Returns the byte offset just after the `length`-th letter or digit of `candidate`.
fn end_of_iban(candidate: &str, length: usize) -> Option<usize> {
    candidate
        .char_indices()
        .filter(|(_, c)| *c != ' ')
        .nth(length - 1)
        .map(|(index, c)| index + c.len_utf8())
}

/// Checks ISO 7064 mod 97-10: the first four characters move to the end, letters become
/// 10 to 35, and the number must leave remainder 1 when divided by 97.
fn passes_mod97(compact: &str) -> bool {
    let (head, tail) = compact.split_at(4.min(compact.len()));
    let mut remainder: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let Some(value) = c.to_digit(36) else {
            return false;
        };
        remainder = if value < 10 {
            (remainder * 10 + value) % 97
        } else {
            (remainder * 100 + value) % 97
        };
    }
    remainder == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ibans(text: &str) -> Vec<&str> {
        super::super::matched(detect, text)
    }

    #[test]
    fn pattern_compiles() {
        assert!(CANDIDATE.is_some());
    }

    #[test]
    fn positives() {
        let cases = [
            (
                "IBAN: DE89 3704 0044 0532 0130 00.",
                "DE89 3704 0044 0532 0130 00",
            ),
            ("DE89370400440532013000", "DE89370400440532013000"),
            (
                "virement vers FR14 2004 1010 0505 0001 3M02 606 merci",
                "FR14 2004 1010 0505 0001 3M02 606",
            ),
            (
                "GB29 NWBK 6016 1331 9268 19 IS MINE",
                "GB29 NWBK 6016 1331 9268 19",
            ),
            ("NO9386011117947", "NO9386011117947"),
        ];
        for (text, expected) in cases {
            assert_eq!(ibans(text), vec![expected], "in {text:?}");
        }
    }

    #[test]
    fn negatives() {
        let cases = [
            "DE88 3704 0044 0532 0130 00",
            "DE89 3704 0044 0532 0130 0012",
            "de89 3704 0044 0532 0130 00",
            "ZZ12 3456 7890 1234 5678 90",
            "XDE89370400440532013000",
            "GB29 NWBK 6016 1331 9268",
        ];
        for text in cases {
            assert_eq!(ibans(text), Vec::<&str>::new(), "in {text:?}");
        }
    }
}
