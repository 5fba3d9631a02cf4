//! PII and secret detection over a span's messages, and masking.
//!
//! Every message content and every string value inside tool call arguments is scanned. When
//! masking is on, each match is replaced in place by its placeholder. The original text is
//! then also replaced wherever it appears in the span's attributes, event attributes and
//! metadata, because the attributes keep the raw content the messages were read from. Content that
//! the normalizer did not turn into messages is not scanned, and the span name, status
//! message and `user_id` are left as they are.

use std::collections::HashMap;

use glassbox_model::{Analyzer, Flag, Location, Message, Part, Span};
use regex::{Captures, Regex};
use serde_json::{Map, Value};

use crate::analyzer::AnalyzerConfig;
use crate::detection::{Detection, Masked, find_placeholders, mask, resolve_overlaps};
use crate::{pii, secrets};

/// The detection and masking choices of one analysis.
#[derive(Debug, Clone, Copy)]
struct Scan {
    report_pii: bool,
    report_secrets: bool,
    mask_pii: bool,
    mask_secrets: bool,
}

impl Scan {
    fn new(config: &AnalyzerConfig) -> Scan {
        Scan {
            report_pii: config.is_enabled(Analyzer::Pii),
            report_secrets: config.is_enabled(Analyzer::Secrets),
            mask_pii: config.mask_pii,
            mask_secrets: config.mask_secrets,
        }
    }

    /// The scan of a masking pass that reports nothing.
    fn masking_only(config: &AnalyzerConfig) -> Scan {
        Scan {
            report_pii: false,
            report_secrets: false,
            mask_pii: config.mask_pii,
            mask_secrets: config.mask_secrets,
        }
    }

    fn finds_pii(self) -> bool {
        self.report_pii || self.mask_pii
    }

    fn finds_secrets(self) -> bool {
        self.report_secrets || self.mask_secrets
    }

    fn masks(self, detection: &Detection) -> bool {
        match detection.analyzer {
            Analyzer::Secrets => self.mask_secrets,
            _ => self.mask_pii,
        }
    }

    fn reports(self, detection: &Detection) -> bool {
        match detection.analyzer {
            Analyzer::Secrets => self.report_secrets,
            _ => self.report_pii,
        }
    }

    /// Finds, resolves and masks the matches of one string, replacing it when masked.
    fn apply(self, text: &mut String) -> Masked {
        let mut detections = Vec::new();
        if self.finds_pii() {
            detections.extend(pii::detect(text));
        }
        if self.finds_secrets() {
            detections.extend(secrets::detect(text));
        }
        for (masks, analyzer) in [
            (self.mask_pii, Analyzer::Pii),
            (self.mask_secrets, Analyzer::Secrets),
        ] {
            if masks {
                detections.extend(find_placeholders(text, analyzer));
            }
        }
        let mut masked = mask(text, resolve_overlaps(detections), |detection| {
            !detection.placeholder_only && self.masks(detection)
        });
        if let Some(new_text) = masked.text.take() {
            *text = new_text;
        }
        masked
    }
}

/// Scans the span's messages for PII and secrets, masks them as configured, and appends the
/// flags of the enabled analyzers, PII first, then secrets.
pub(crate) fn scan_span(span: &mut Span, config: &AnalyzerConfig, flags: &mut Vec<Flag>) {
    let scan = Scan::new(config);
    if !scan.finds_pii() && !scan.finds_secrets() {
        return;
    }
    let mut found: Vec<(Detection, Location)> = Vec::new();
    let mut originals: Vec<(String, String)> = Vec::new();

    let parts = [
        (Part::Input, span.input_messages.as_mut()),
        (Part::Output, span.output_messages.as_mut()),
    ];
    for (part, messages) in parts {
        for (index, message) in messages.into_iter().flatten().enumerate() {
            scan_message(scan, message, part, index, &mut found, &mut originals);
        }
    }

    scrub_originals(span, &originals);
    for analyzer in [Analyzer::Pii, Analyzer::Secrets] {
        let of_analyzer = found
            .iter()
            .filter(|(detection, _)| detection.analyzer == analyzer && scan.reports(detection));
        flags.extend(of_analyzer.map(|(detection, location)| to_flag(scan, detection, location)));
    }
}

/// Masks PII and secrets, as configured, in message contents and tool call arguments that are
/// not part of a span, such as content that arrives in a log record after its span. Returns
/// how many matches were masked.
pub(crate) fn mask_messages(messages: &mut [Message], config: &AnalyzerConfig) -> usize {
    let scan = Scan::masking_only(config);
    let mut count = 0;
    for message in messages {
        if let Some(content) = message.content.as_mut() {
            count += scan.apply(content).originals.len();
        }
        for call in &mut message.tool_calls {
            for_each_string(&mut call.arguments, &mut String::new(), &mut |text, _| {
                count += scan.apply(text).originals.len();
            });
        }
    }
    count
}

/// Masks PII and secrets, as configured, in every string inside a JSON value. Returns how
/// many matches were masked.
pub(crate) fn mask_json(value: &mut Value, config: &AnalyzerConfig) -> usize {
    let scan = Scan::masking_only(config);
    let mut count = 0;
    for_each_string(value, &mut String::new(), &mut |text, _| {
        count += scan.apply(text).originals.len();
    });
    count
}

fn scan_message(
    scan: Scan,
    message: &mut Message,
    part: Part,
    index: usize,
    found: &mut Vec<(Detection, Location)>,
    originals: &mut Vec<(String, String)>,
) {
    if let Some(content) = message.content.as_mut() {
        let masked = scan.apply(content);
        originals.extend(masked.originals);
        for detection in masked.detections {
            let location =
                Location::in_content(part, index, detection.range.start, detection.range.end);
            found.push((detection, location));
        }
    }

    for (call_index, call) in message.tool_calls.iter_mut().enumerate() {
        let mut path = String::new();
        for_each_string(&mut call.arguments, &mut path, &mut |text, pointer| {
            let masked = scan.apply(text);
            originals.extend(masked.originals);
            for detection in masked.detections {
                let location = Location {
                    part,
                    message_index: Some(index),
                    tool_call_index: Some(call_index),
                    argument_path: Some(pointer.to_owned()),
                    start: detection.range.start,
                    end: detection.range.end,
                };
                found.push((detection, location));
            }
        });
    }
}

/// Calls `visit` on every string inside `value` with its JSON Pointer (RFC 6901).
fn for_each_string(
    value: &mut Value,
    path: &mut String,
    visit: &mut impl FnMut(&mut String, &str),
) {
    match value {
        Value::String(text) => visit(text, path),
        Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                let length = path.len();
                path.push('/');
                path.push_str(&index.to_string());
                for_each_string(item, path, visit);
                path.truncate(length);
            }
        }
        Value::Object(object) => {
            for (key, item) in object.iter_mut() {
                let length = path.len();
                path.push('/');
                path.push_str(&key.replace('~', "~0").replace('/', "~1"));
                for_each_string(item, path, visit);
                path.truncate(length);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn to_flag(scan: Scan, detection: &Detection, location: &Location) -> Flag {
    let message = if detection.placeholder_only {
        format!("{} ({})", detection.label, detection.finding)
    } else if scan.masks(detection) {
        format!("{}, masked as {}", detection.label, detection.placeholder())
    } else {
        detection.label.to_owned()
    };
    Flag {
        analyzer: detection.analyzer,
        finding: detection.finding.to_owned(),
        message,
        location: location.clone(),
    }
}

/// Up to this many originals are replaced by plain substring search rather than one
/// compiled alternation.
const FEW_ORIGINALS: usize = 16;

/// Replaces each masked original, as written and as escaped inside a JSON string, in every
/// string of the span's attributes, event attributes and metadata.
fn scrub_originals(span: &mut Span, originals: &[(String, String)]) {
    if originals.is_empty() {
        return;
    }
    let replacements = replacements(originals);
    // A few substring searches cost less than compiling one pattern for them all.
    if replacements.len() <= FEW_ORIGINALS {
        return scrub_one_by_one(span, &replacements);
    }
    let placeholders: HashMap<&str, &str> = replacements
        .iter()
        .map(|(original, placeholder)| (original.as_str(), placeholder.as_str()))
        .collect();
    let alternation: Vec<String> = replacements
        .iter()
        .map(|(original, _)| regex::escape(original))
        .collect();
    let Ok(any_original) = Regex::new(&alternation.join("|")) else {
        return scrub_one_by_one(span, &replacements);
    };
    let mut scrub = |text: &mut String, _: &str| {
        if any_original.is_match(text) {
            let replaced = any_original.replace_all(text, |found: &Captures<'_>| {
                placeholders
                    .get(&found[0])
                    .copied()
                    .unwrap_or("[REDACTED]")
                    .to_owned()
            });
            *text = replaced.into_owned();
        }
    };
    for_each_attribute_string(span, &mut scrub);
}

/// Replaces the originals one after the other, for a few of them or when they are too many
/// for one regular expression.
fn scrub_one_by_one(span: &mut Span, replacements: &[(String, String)]) {
    let mut scrub = |text: &mut String, _: &str| {
        for (original, placeholder) in replacements {
            if text.contains(original.as_str()) {
                *text = text.replace(original.as_str(), placeholder);
            }
        }
    };
    for_each_attribute_string(span, &mut scrub);
}

/// Calls `visit` on every string of the span's attributes, metadata and event attributes.
fn for_each_attribute_string(span: &mut Span, visit: &mut impl FnMut(&mut String, &str)) {
    let mut maps: Vec<&mut Map<String, Value>> = vec![&mut span.attributes, &mut span.metadata];
    maps.extend(span.events.iter_mut().map(|event| &mut event.attributes));
    for map in maps {
        for value in map.values_mut() {
            for_each_string(value, &mut String::new(), visit);
        }
    }
}

/// Adds to each original and its placeholder the JSON-escaped form of the original when it
/// differs (a PEM key's line breaks are `\n` inside a JSON string attribute). Longer
/// originals come first, so the alternation prefers a value over another value it contains.
fn replacements(originals: &[(String, String)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (original, placeholder) in originals {
        let escaped = serde_json::to_string(original).unwrap_or_default();
        let escaped = escaped
            .strip_prefix('"')
            .and_then(|inner| inner.strip_suffix('"'))
            .unwrap_or_default();
        if !escaped.is_empty() && escaped != original {
            pairs.push((escaped.to_owned(), placeholder.clone()));
        }
        pairs.push((original.clone(), placeholder.clone()));
    }
    pairs.sort_by(|(left, _), (right, _)| right.len().cmp(&left.len()).then(left.cmp(right)));
    pairs.dedup_by(|later, earlier| later.0 == earlier.0);
    pairs
}
