//! Personal data: emails, phone numbers, payment cards, IBANs, national ids and IP addresses.
//!
//! Each detector finds candidates with a regular expression and keeps only those that pass
//! its checks. The checks are a checksum where the format has one (Luhn for cards, mod 97
//! for IBANs, the French NIR key), valid ranges, and the characters around the match. The
//! checks favour misses over false positives, and each detector's module lists what it skips.

mod card;
mod email;
mod iban;
mod ip;
mod national_id;
mod phone;

use std::ops::Range;

use crate::detection::Detection;
use crate::pattern::{ceil_char_boundary, floor_char_boundary};

/// Returns every PII match in `text`, possibly overlapping, in no particular order.
pub(crate) fn detect(text: &str) -> Vec<Detection> {
    let mut found = Vec::new();
    let windows = Windows::of(text);
    if windows.is_empty() {
        return found;
    }
    email::detect(text, &windows, &mut found);
    phone::detect(text, &windows, &mut found);
    card::detect(text, &windows, &mut found);
    iban::detect(text, &windows, &mut found);
    national_id::detect(text, &windows, &mut found);
    ip::detect(text, &windows, &mut found);
    found
}

/// Bytes searched on each side of a digit. Every pattern that needs digits (phones, cards,
/// IBANs, national ids, IPv4) has a digit at least this often, so each of its matches lies
/// inside one window.
const DIGIT_MARGIN: usize = 32;

/// Bytes searched before an `@`: a local part of at most 64 characters and the character
/// before it, which the checks read.
const BEFORE_AT: usize = 66;

/// Bytes searched after an `@`: a domain name of at most 253 characters, and a little more.
const AFTER_AT: usize = 260;

/// Bytes searched on each side of a colon: an IPv6 address has at most 39 characters.
const COLON_MARGIN: usize = 40;

/// The parts of a text that can hold PII, so each pattern reads a few short windows instead
/// of the whole text. Windows are byte ranges on character boundaries, sorted and disjoint;
/// the detectors still read the characters around a match from the whole text.
pub(super) struct Windows {
    /// Around digits.
    digits: Vec<Range<usize>>,
    /// Around `@` signs.
    at_signs: Vec<Range<usize>>,
    /// Around colons.
    colons: Vec<Range<usize>>,
}

impl Windows {
    fn of(text: &str) -> Windows {
        let bytes = text.as_bytes();
        let digits = bytes
            .iter()
            .enumerate()
            .filter(|(_, byte)| byte.is_ascii_digit());
        Windows {
            digits: merged(
                text,
                digits.map(|(index, _)| (index, DIGIT_MARGIN, DIGIT_MARGIN)),
            ),
            at_signs: merged(
                text,
                memchr::memchr_iter(b'@', bytes).map(|index| (index, BEFORE_AT, AFTER_AT)),
            ),
            colons: merged(
                text,
                memchr::memchr_iter(b':', bytes).map(|index| (index, COLON_MARGIN, COLON_MARGIN)),
            ),
        }
    }

    fn is_empty(&self) -> bool {
        self.digits.is_empty() && self.at_signs.is_empty() && self.colons.is_empty()
    }

    /// Returns one window over the whole text, for the detectors' tests of edge cases.
    #[cfg(test)]
    fn whole(text: &str) -> Windows {
        let everything: Range<usize> = 0..text.len();
        Windows {
            digits: Vec::from([everything.clone()]),
            at_signs: Vec::from([everything.clone()]),
            colons: Vec::from([everything]),
        }
    }
}

/// Turns positions with their margins (before, after) into merged windows.
fn merged(text: &str, positions: impl Iterator<Item = (usize, usize, usize)>) -> Vec<Range<usize>> {
    let mut windows: Vec<Range<usize>> = Vec::new();
    for (index, before, after) in positions {
        let start = floor_char_boundary(text, index.saturating_sub(before));
        let end = ceil_char_boundary(text, index.saturating_add(after + 1));
        match windows.last_mut() {
            Some(last) if start <= last.end => last.end = last.end.max(end),
            _ => windows.push(start..end),
        }
    }
    windows
}

/// A detector of this module.
#[cfg(test)]
type Detector = fn(&str, &Windows, &mut Vec<Detection>);

/// Runs one detector and returns the matched texts, for the detectors' tests. It also checks
/// that searching windows finds what searching the whole text finds.
#[cfg(test)]
fn matched(detector: Detector, text: &str) -> Vec<&str> {
    let run = |windows: &Windows| {
        let mut found = Vec::new();
        detector(text, windows, &mut found);
        found
            .iter()
            .map(|detection| &text[detection.range.clone()])
            .collect::<Vec<_>>()
    };
    let in_windows = run(&Windows::of(text));
    assert_eq!(
        in_windows,
        run(&Windows::whole(text)),
        "windows change the matches of {text:?}"
    );
    in_windows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_merge_and_keep_char_boundaries() {
        let text = format!("{}é 1 and 2{}", "x".repeat(40), "y".repeat(80));
        let windows = Windows::of(&text);
        assert_eq!(windows.digits.len(), 1, "{:?}", windows.digits);
        let window = windows.digits[0].clone();
        assert!(text.is_char_boundary(window.start));
        assert!(text.is_char_boundary(window.end));
        assert!(window.start <= 43);
        assert!(window.end >= 49 + DIGIT_MARGIN);
        assert!(windows.at_signs.is_empty());
        assert!(windows.colons.is_empty());
    }

    #[test]
    fn text_without_markers_has_no_windows() {
        assert!(Windows::of("Plain words only, nothing to see.").is_empty());
    }
}
