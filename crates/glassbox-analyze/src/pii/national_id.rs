//! National identification numbers of three countries.
//!
//! - US Social Security numbers, written `123-45-6789` with dashes, without the ranges the
//!   Social Security Administration never assigns (area 000, 666 and 900 to 999, group 00,
//!   serial 0000) and without numbers published in advertising (`078-05-1120`,
//!   `219-09-9999`, `123-45-6789`). The format has no check digit.
//! - UK National Insurance numbers (`AB 12 34 56 C`), in capitals, compact or spaced in
//!   pairs, without the prefixes HMRC does not allocate. The format has no check digit.
//! - French social security numbers (NIR, 13 digits and a 2-digit key), compact or spaced,
//!   with the key checked: 97 minus the number modulo 97, with Corsican departments `2A` and
//!   `2B` counted as 19 and 18.

use std::sync::LazyLock;

use super::Windows;
use crate::detection::Detection;
use crate::pattern::{LazyRegex, compile, find_in, number_continues, number_precedes};

static US_SSN: LazyRegex = LazyLock::new(|| compile(r"[0-9]{3}-[0-9]{2}-[0-9]{4}"));

static UK_NINO: LazyRegex = LazyLock::new(|| {
    compile(r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]")
});

static FR_NIR: LazyRegex = LazyLock::new(|| {
    compile(
        r"[12] ?[0-9]{2} ?(?:0[1-9]|1[0-2]|[2-4][0-9]) ?(?:[0-9]{2}|2[AB]) ?[0-9]{3} ?[0-9]{3} ?[0-9]{2}",
    )
});

/// Social Security numbers used in advertising and documentation.
const PUBLISHED_SSNS: [&str; 3] = ["078-05-1120", "219-09-9999", "123-45-6789"];

/// Two-letter prefixes that are never allocated as National Insurance numbers.
const UNALLOCATED_NINO_PREFIXES: [&str; 7] = ["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"];

/// One national id format.
struct IdFormat {
    finding: &'static str,
    label: &'static str,
    regex: &'static LazyRegex,
    is_valid: fn(&str) -> bool,
}

const FORMATS: [IdFormat; 3] = [
    IdFormat {
        finding: "us_ssn",
        label: "US Social Security number",
        regex: &US_SSN,
        is_valid: is_ssn,
    },
    IdFormat {
        finding: "uk_nino",
        label: "UK National Insurance number",
        regex: &UK_NINO,
        is_valid: is_nino,
    },
    IdFormat {
        finding: "fr_nir",
        label: "French social security number",
        regex: &FR_NIR,
        is_valid: is_nir,
    },
];

/// Appends the national ids of `text` to `found`.
pub(super) fn detect(text: &str, windows: &Windows, found: &mut Vec<Detection>) {
    for format in &FORMATS {
        for candidate in find_in(format.regex, text, &windows.digits) {
            let range = candidate.range();
            let standalone = !number_precedes(text, range.start, &['-', '.'])
                && !number_continues(text, range.end, &['-', '.']);
            if standalone && (format.is_valid)(candidate.as_str()) {
                found.push(Detection::pii(format.finding, format.label, range));
            }
        }
    }
}

fn is_ssn(candidate: &str) -> bool {
    let mut parts = candidate.split('-');
    let (Some(area), Some(group), Some(serial)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let assignable_area = area != "000" && area != "666" && !area.starts_with('9');
    assignable_area && group != "00" && serial != "0000" && !PUBLISHED_SSNS.contains(&candidate)
}

fn is_nino(candidate: &str) -> bool {
    let compact: String = candidate.chars().filter(|c| *c != ' ').collect();
    let spaces = candidate.len() - compact.len();
    let prefix = compact.get(..2).unwrap_or_default();
    (spaces == 0 || spaces == 4) && !UNALLOCATED_NINO_PREFIXES.contains(&prefix)
}

fn is_nir(candidate: &str) -> bool {
    let compact: String = candidate.chars().filter(|c| *c != ' ').collect();
    let spaces = candidate.len() - compact.len();
    if spaces != 0 && spaces != 6 {
        return false;
    }
    let (number, key) = compact.split_at(13);
    let number = number.replace("2A", "19").replace("2B", "18");
    match (number.parse::<u64>(), key.parse::<u64>()) {
        (Ok(number), Ok(key)) => key == 97 - number % 97,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<(&'static str, &str)> {
        let mut found = Vec::new();
        detect(text, &Windows::of(text), &mut found);
        let mut everywhere = Vec::new();
        detect(text, &Windows::whole(text), &mut everywhere);
        assert_eq!(found, everywhere, "windows change the matches of {text:?}");
        found
            .iter()
            .map(|detection| (detection.finding, &text[detection.range.clone()]))
            .collect()
    }

    #[test]
    fn patterns_compile() {
        for regex in [&US_SSN, &UK_NINO, &FR_NIR] {
            assert!(regex.is_some());
        }
    }

    #[test]
    fn positives() {
        let cases = [
            ("SSN 536-22-1234 on file", "us_ssn", "536-22-1234"),
            ("NI number AB 12 34 56 C.", "uk_nino", "AB 12 34 56 C"),
            ("nino=JG103759A", "uk_nino", "JG103759A"),
            (
                "NIR 2 55 08 14 168 025 38",
                "fr_nir",
                "2 55 08 14 168 025 38",
            ),
            ("secu 255081416802538", "fr_nir", "255081416802538"),
            (
                "né en Corse 1 85 05 2A 004 012 70",
                "fr_nir",
                "1 85 05 2A 004 012 70",
            ),
        ];
        for (text, finding, expected) in cases {
            assert_eq!(ids(text), vec![(finding, expected)], "in {text:?}");
        }
    }

    #[test]
    fn negatives() {
        let cases = [
            "000-12-3456",
            "666-12-3456",
            "912-12-3456",
            "536-00-1234",
            "536-22-0000",
            "078-05-1120",
            "phone 555-12-3456-7",
            "QQ 12 34 56 C",
            "GB 12 34 56 A",
            "AB12 34 56 C",
            "2 55 08 14 168 025 39",
            "255081416802539",
        ];
        for text in cases {
            assert_eq!(ids(text), Vec::<(&str, &str)>::new(), "in {text:?}");
        }
    }
}
