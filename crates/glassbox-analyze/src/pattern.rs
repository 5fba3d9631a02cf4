//! Regular expressions compiled once, and checks on the characters around a match.

use std::ops::Range;
use std::sync::LazyLock;

use regex::{Match, Regex};

/// A regular expression compiled on first use.
///
/// Every pattern is a constant of this crate, and each module's unit tests check that its
/// patterns compile. An invalid pattern would be `None` and match nothing rather than stop
/// ingest.
pub(crate) type LazyRegex = LazyLock<Option<Regex>>;

/// Compiles a constant pattern of this crate.
pub(crate) fn compile(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

/// Iterates over the non-overlapping matches of `regex` in `text`.
pub(crate) fn find_all<'t>(
    regex: &'static LazyRegex,
    text: &'t str,
) -> impl Iterator<Item = Match<'t>> + use<'t> {
    regex
        .as_ref()
        .into_iter()
        .flat_map(move |regex| regex.find_iter(text))
}

/// A match found inside a window, with its position in the whole text.
pub(crate) struct Candidate<'t> {
    start: usize,
    text: &'t str,
}

impl<'t> Candidate<'t> {
    /// Byte offset of the match in the whole text.
    pub(crate) fn start(&self) -> usize {
        self.start
    }

    /// Byte range of the match in the whole text.
    pub(crate) fn range(&self) -> Range<usize> {
        self.start..self.start + self.text.len()
    }

    /// The matched text.
    pub(crate) fn as_str(&self) -> &'t str {
        self.text
    }
}

/// Iterates over the matches of `regex` inside each window of `text`. Windows are byte
/// ranges on character boundaries; the matches of one window do not overlap.
pub(crate) fn find_in<'t>(
    regex: &'static LazyRegex,
    text: &'t str,
    windows: &'t [Range<usize>],
) -> impl Iterator<Item = Candidate<'t>> + use<'t> {
    let regex = regex.as_ref();
    windows.iter().flat_map(move |window| {
        let start = window.start;
        let part = text.get(window.clone()).unwrap_or_default();
        regex.into_iter().flat_map(move |regex| {
            regex.find_iter(part).map(move |found| Candidate {
                start: start + found.start(),
                text: found.as_str(),
            })
        })
    })
}

/// Returns the character that ends just before byte `index`.
pub(crate) fn char_before(text: &str, index: usize) -> Option<char> {
    text.get(..index)?.chars().next_back()
}

/// Returns the character that starts at byte `index`.
pub(crate) fn char_after(text: &str, index: usize) -> Option<char> {
    text.get(index..)?.chars().next()
}

/// Returns the two characters that start at byte `index`.
pub(crate) fn two_chars_after(text: &str, index: usize) -> (Option<char>, Option<char>) {
    let mut chars = text.get(index..).unwrap_or_default().chars();
    (chars.next(), chars.next())
}

/// Returns true when a number continues past `end`: a letter or digit follows, or one of
/// `joiners` followed by a digit (as in `1.2.3.4.5` or `555-2671-9`).
pub(crate) fn number_continues(text: &str, end: usize, joiners: &[char]) -> bool {
    match two_chars_after(text, end) {
        (Some(next), _) if next.is_alphanumeric() => true,
        (Some(next), Some(digit)) => joiners.contains(&next) && digit.is_ascii_digit(),
        _ => false,
    }
}

/// Returns true when a number starts before `start`: a letter or digit precedes, or one of
/// `joiners` preceded by a digit.
pub(crate) fn number_precedes(text: &str, start: usize, joiners: &[char]) -> bool {
    let mut before = text.get(..start).unwrap_or_default().chars().rev();
    match (before.next(), before.next()) {
        (Some(previous), _) if previous.is_alphanumeric() => true,
        (Some(previous), Some(digit)) => joiners.contains(&previous) && digit.is_ascii_digit(),
        _ => false,
    }
}

/// Returns the largest char boundary of `text` at or below `index`.
pub(crate) fn floor_char_boundary(text: &str, index: usize) -> usize {
    let mut index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// Returns the smallest character boundary of `text` at or after `index`.
pub(crate) fn ceil_char_boundary(text: &str, index: usize) -> usize {
    let mut index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index += 1;
    }
    index
}

/// Returns the digits of `text` as numbers, skipping every other character.
pub(crate) fn digits_of(text: &str) -> Vec<u8> {
    text.bytes()
        .filter(u8::is_ascii_digit)
        .map(|byte| byte - b'0')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_context() {
        assert!(number_continues("1.2.3.4.5", 7, &['.']));
        assert!(!number_continues("1.2.3.4. Next", 7, &['.']));
        assert!(number_continues("4111x", 4, &[]));
        assert!(number_precedes("v1.2", 1, &[]));
        assert!(number_precedes("5.1.2", 2, &['.']));
        assert!(!number_precedes("at 1.2", 3, &['.']));
    }

    #[test]
    fn boundaries_of_multibyte_text() {
        let text = "é1";
        assert_eq!(char_before(text, 2), Some('é'));
        assert_eq!(char_after(text, 2), Some('1'));
        assert_eq!(char_before(text, 1), None);
        assert_eq!(floor_char_boundary(text, 1), 0);
        assert_eq!(digits_of("12-3 4"), vec![1, 2, 3, 4]);
    }
}
