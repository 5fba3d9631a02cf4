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

use crate::detection::Detection;

/// Returns every PII match in `text`, possibly overlapping, in no particular order.
pub(crate) fn detect(text: &str) -> Vec<Detection> {
    let mut found = Vec::new();
    email::detect(text, &mut found);
    phone::detect(text, &mut found);
    card::detect(text, &mut found);
    iban::detect(text, &mut found);
    national_id::detect(text, &mut found);
    ip::detect(text, &mut found);
    found
}

/// Runs one detector and returns the matched texts, for the detectors' tests.
#[cfg(test)]
fn matched(detector: fn(&str, &mut Vec<Detection>), text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    detector(text, &mut found);
    found
        .iter()
        .map(|detection| &text[detection.range.clone()])
        .collect()
}
