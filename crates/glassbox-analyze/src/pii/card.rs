//! Payment card numbers.
//!
//! A card number has 13 to 19 digits, passes the Luhn check, and starts with the issuer
//! identification number of a known network with a length that network issues. It is written
//! either as one run of digits or in the usual groups separated by spaces or dashes
//! (`4111 1111 1111 1111`, `3782 822463 10005`). A run of more than 19 digits is not a card,
//! and neither is any group of a grouped number on its own. Maestro numbers outside the
//! ranges below are not detected.

use std::ops::Range;
use std::sync::LazyLock;

use super::Windows;
use crate::detection::Detection;
use crate::pattern::{LazyRegex, compile, find_in, number_continues, number_precedes};

static CANDIDATE: LazyRegex = LazyLock::new(|| compile(r"[0-9](?:[0-9]|[ -][0-9]){11,30}"));

/// One network's issuer prefix range and card lengths.
struct Network {
    name: &'static str,
    /// Number of leading digits that `low..=high` applies to.
    prefix_digits: usize,
    low: u32,
    high: u32,
    lengths: Range<usize>,
}

const fn network(
    name: &'static str,
    low: u32,
    high: u32,
    prefix_digits: usize,
    lengths: Range<usize>,
) -> Network {
    Network {
        name,
        prefix_digits,
        low,
        high,
        lengths,
    }
}

/// Issuer identification ranges of the major networks, as the networks publish them.
const NETWORKS: [Network; 14] = [
    network("Visa", 4, 4, 1, 13..20),
    network("Mastercard", 51, 55, 2, 16..17),
    network("Mastercard", 2221, 2720, 4, 16..17),
    network("American Express", 34, 34, 2, 15..16),
    network("American Express", 37, 37, 2, 15..16),
    network("Discover", 6011, 6011, 4, 16..20),
    network("Discover", 644, 649, 3, 16..20),
    network("Discover", 65, 65, 2, 16..20),
    network("Diners Club", 300, 305, 3, 14..20),
    network("Diners Club", 36, 36, 2, 14..20),
    network("Diners Club", 38, 39, 2, 16..20),
    network("JCB", 3528, 3589, 4, 16..20),
    network("UnionPay", 62, 62, 2, 16..20),
    network("Mir", 2200, 2204, 4, 16..20),
];

/// Appends the payment card numbers of `text` to `found`.
pub(super) fn detect(text: &str, windows: &Windows, found: &mut Vec<Detection>) {
    for candidate in find_in(&CANDIDATE, text, &windows.digits) {
        let range = candidate.range();
        if number_precedes(text, range.start, &['.', ',', '-'])
            || number_continues(text, range.end, &['.', ',', '-'])
        {
            continue;
        }
        if let Some(card) = find_card(candidate.as_str()) {
            let start = range.start + card.start;
            let end = range.start + card.end;
            found.push(Detection::pii(
                "credit_card",
                "payment card number",
                start..end,
            ));
        }
    }
}

/// Returns the byte range of a card number inside a run of digit groups: the whole run when
/// it is one, else the longest sequence of whole groups that is one.
fn find_card(run: &str) -> Option<Range<usize>> {
    let groups = group_ranges(run)?;
    let mut spans: Vec<(usize, usize)> = (0..groups.len())
        .flat_map(|first| (first..groups.len()).map(move |last| (first, last)))
        .collect();
    spans.sort_by_key(|&(first, last)| std::cmp::Reverse(last - first));

    spans.into_iter().find_map(|(first, last)| {
        let range = groups[first].start..groups[last].end;
        let sizes: Vec<usize> = groups[first..=last].iter().map(Range::len).collect();
        let digits: Vec<u8> = run
            .get(range.clone())?
            .bytes()
            .filter(u8::is_ascii_digit)
            .collect();
        (is_card_layout(&sizes) && is_card_number(&digits)).then_some(range)
    })
}

/// Splits a run into its digit groups; `None` when it mixes spaces and dashes.
fn group_ranges(run: &str) -> Option<Vec<Range<usize>>> {
    let has_space = run.contains(' ');
    if has_space && run.contains('-') {
        return None;
    }
    let mut groups = Vec::new();
    let mut start = 0;
    for (index, byte) in run.bytes().enumerate() {
        if !byte.is_ascii_digit() {
            groups.push(start..index);
            start = index + 1;
        }
    }
    groups.push(start..run.len());
    Some(groups)
}

/// Returns true for one run of digits or the group sizes that cards are printed with: fours
/// with a shorter last group, or 4-6-5 and 4-6-4.
fn is_card_layout(sizes: &[usize]) -> bool {
    match sizes {
        [_] => true,
        [4, 6, 5] | [4, 6, 4] => true,
        [init @ .., last] => init.iter().all(|&size| size == 4) && (1..=4).contains(last),
        [] => false,
    }
}

/// Returns true when `digits` (ASCII) has a card length, a known issuer prefix and a valid
/// Luhn check digit.
fn is_card_number(digits: &[u8]) -> bool {
    (13..=19).contains(&digits.len()) && network_of(digits).is_some() && passes_luhn(digits)
}

fn network_of(digits: &[u8]) -> Option<&'static str> {
    NETWORKS.iter().find_map(|network| {
        let prefix = digits.get(..network.prefix_digits)?;
        let value = prefix
            .iter()
            .fold(0u32, |value, digit| value * 10 + u32::from(digit - b'0'));
        let matches = (network.low..=network.high).contains(&value)
            && network.lengths.contains(&digits.len());
        matches.then_some(network.name)
    })
}

/// Checks the Luhn mod-10 digit of a number given as ASCII digits.
pub(super) fn passes_luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(position, digit)| {
            let value = u32::from(digit - b'0');
            match (position % 2 == 1, value * 2) {
                (false, _) => value,
                (true, doubled) if doubled > 9 => doubled - 9,
                (true, doubled) => doubled,
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cards(text: &str) -> Vec<&str> {
        super::super::matched(detect, text)
    }

    #[test]
    fn pattern_compiles() {
        assert!(CANDIDATE.is_some());
    }

    #[test]
    fn positives() {
        let cases = [
            ("Visa 4111 1111 1111 1111 exp 12/27", "4111 1111 1111 1111"),
            ("card: 4111-1111-1111-1111.", "4111-1111-1111-1111"),
            ("5555555555554444", "5555555555554444"),
            ("Amex 3782 822463 10005", "3782 822463 10005"),
            ("Diners 3056 930902 5904", "3056 930902 5904"),
            ("mc 2223 0031 2200 3222", "2223 0031 2200 3222"),
            ("JCB 3530 1113 3330 0000", "3530 1113 3330 0000"),
            (
                "pay with 4111 1111 1111 1111 2024 budget",
                "4111 1111 1111 1111",
            ),
            ("order 12 4111 1111 1111 1111", "4111 1111 1111 1111"),
        ];
        for (text, expected) in cases {
            assert_eq!(cards(text), vec![expected], "in {text:?}");
        }
    }

    #[test]
    fn negatives() {
        let cases = [
            "4111 1111 1111 1112",
            "4111-1111 1111-1111",
            "1234 5678 9012 3456",
            "9111 1111 1111 1116",
            "41111111111111111111111",
            "41 11 11 11 11 11 11 11",
            "timestamp 1700000000000000000",
            "v4111.1111.1111.1111",
            "4111 1111 1111 1111x",
        ];
        for text in cases {
            assert_eq!(cards(text), Vec::<&str>::new(), "in {text:?}");
        }
    }

    #[test]
    fn luhn_digit() {
        assert!(passes_luhn(b"79927398713"));
        assert!(!passes_luhn(b"79927398710"));
    }
}
