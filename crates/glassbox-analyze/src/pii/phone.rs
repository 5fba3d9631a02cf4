//! Phone numbers.
//!
//! Three shapes are detected:
//! - international numbers that start with `+` and a country code, with 8 to 15 digits
//!   (E.164), and at least 10 digits when written without separators;
//! - North American numbers written `(415) 555-2671`, `415-555-2671` or `415.555.2671`, with
//!   area code and exchange from 2 to 9 as the numbering plan requires;
//! - national numbers with the trunk prefix 0, written with separators: French
//!   `06 12 34 56 78`, and `020 7946 0958`, `07700 900123` or `030 1234567` with 10 to 12
//!   digits.
//!
//! A number written without separators and without `+` is never a phone number here, nor is a
//! number that continues into letters, digits or a dotted or dashed tail, which rules out
//! dates, versions and long identifiers.

use std::ops::Range;
use std::sync::LazyLock;

use super::Windows;
use crate::detection::Detection;
use crate::pattern::{
    LazyRegex, char_before, compile, digits_of, find_in, number_continues, number_precedes,
};

static INTERNATIONAL: LazyRegex =
    LazyLock::new(|| compile(r"\+[1-9][0-9]{0,3}(?:[ .-]?(?:\([0-9]{1,4}\)|[0-9]{1,5})){1,7}"));

static NORTH_AMERICAN: LazyRegex = LazyLock::new(|| {
    compile(r"(?:1[ .-])?(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[ .-])[2-9][0-9]{2}[ .-][0-9]{4}")
});

static FRENCH: LazyRegex = LazyLock::new(|| compile(r"0[1-9](?:[ .-][0-9]{2}){4}"));

static TRUNK_PREFIXED: LazyRegex =
    LazyLock::new(|| compile(r"0[1-9][0-9]{1,4}(?:[ /-][0-9]{3,8}){1,2}"));

/// Characters that join a number to a longer one when a digit follows them.
const JOINERS: [char; 4] = ['.', '-', '/', ','];

/// A phone number shape: its pattern and the check of a candidate.
type Shape = (&'static LazyRegex, fn(&str) -> bool);

const SHAPES: [Shape; 4] = [
    (&INTERNATIONAL, is_international),
    (&NORTH_AMERICAN, is_north_american),
    (&FRENCH, has_one_separator_kind),
    (&TRUNK_PREFIXED, is_trunk_prefixed),
];

/// Appends the phone numbers of `text` to `found`.
///
/// The shapes are tried in order, and a match that overlaps an earlier one is dropped, so
/// `+1 (415) 555-2671` is one number and not two.
pub(super) fn detect(text: &str, windows: &Windows, found: &mut Vec<Detection>) {
    let mut ranges: Vec<Range<usize>> = Vec::new();
    for (regex, is_valid) in SHAPES {
        for candidate in find_in(regex, text, &windows.digits) {
            let range = candidate.range();
            let seen = ranges
                .iter()
                .any(|other| other.start < range.end && range.start < other.end);
            if !seen && is_standalone(text, range.clone()) && is_valid(candidate.as_str()) {
                ranges.push(range);
            }
        }
    }
    found.extend(
        ranges
            .into_iter()
            .map(|range| Detection::pii("phone", "phone number", range)),
    );
}

fn is_standalone(text: &str, range: Range<usize>) -> bool {
    let glued_before =
        char_before(text, range.start).is_some_and(|c| matches!(c, '+' | '_' | '=' | '#'));
    !glued_before
        && !number_precedes(text, range.start, &JOINERS)
        && !number_continues(text, range.end, &JOINERS)
}

fn is_international(candidate: &str) -> bool {
    let digits = digits_of(candidate).len();
    let number = candidate.strip_prefix('+').unwrap_or(candidate);
    let has_separator = number.contains(|c: char| !c.is_ascii_digit());
    (8..=15).contains(&digits) && (has_separator || digits >= 10)
}

fn is_north_american(candidate: &str) -> bool {
    let opened = candidate.contains('(');
    opened || has_one_separator_kind(candidate.trim_start_matches(['1', ' ', '.', '-']))
}

fn is_trunk_prefixed(candidate: &str) -> bool {
    (10..=12).contains(&digits_of(candidate).len()) && has_one_separator_kind(candidate)
}

/// Returns true when every separator between the digit groups is the same character.
fn has_one_separator_kind(candidate: &str) -> bool {
    let mut separators = candidate.chars().filter(|c| !c.is_ascii_digit());
    let first = separators.next();
    separators.all(|separator| Some(separator) == first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phones(text: &str) -> Vec<&str> {
        super::super::matched(detect, text)
    }

    #[test]
    fn patterns_compile() {
        for regex in [&INTERNATIONAL, &NORTH_AMERICAN, &FRENCH, &TRUNK_PREFIXED] {
            assert!(regex.is_some());
        }
    }

    #[test]
    fn positives() {
        let cases = [
            ("Call me at +33 6 12 34 56 78.", "+33 6 12 34 56 78"),
            ("tel: +1 (415) 555-2671", "+1 (415) 555-2671"),
            ("WhatsApp +4915112345678", "+4915112345678"),
            ("+44 20 7946 0958 is the office", "+44 20 7946 0958"),
            ("Phone (415) 555-2671 after 5pm", "(415) 555-2671"),
            ("phone: 415-555-2671", "415-555-2671"),
            ("415.555.2671", "415.555.2671"),
            ("1-800-555-0199 toll free", "1-800-555-0199"),
            ("Mon portable : 06 12 34 56 78", "06 12 34 56 78"),
            ("fixe 01.23.45.67.89", "01.23.45.67.89"),
            ("London office 020 7946 0958", "020 7946 0958"),
            ("mobile 07700 900123", "07700 900123"),
            ("Berlin 030 12345678", "030 12345678"),
        ];
        for (text, expected) in cases {
            assert_eq!(phones(text), vec![expected], "in {text:?}");
        }
    }

    #[test]
    fn negatives() {
        let cases = [
            "released on 2024-01-15 at 10:30",
            "version 1.2.3.4 and 10.0.19045.3803",
            "order 0612345678 shipped",
            "the total is 4155552671 units",
            "06 12 34.56 78 mixes separators",
            "id 123-456-7890-12",
            "+12345",
            "2+415 555 2671",
            "x=+33612345678",
            "dates 01/02/2023 and 03/04/2023",
            "ISBN 978-3-16-148410-0",
            "build 415-555-2671a",
        ];
        for text in cases {
            assert_eq!(phones(text), Vec::<&str>::new(), "in {text:?}");
        }
    }
}
