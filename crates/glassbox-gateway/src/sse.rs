//! Server-sent events: splitting a byte stream into events without changing a byte, reading
//! an event's fields, and removing the usage that the gateway asked for and the client did not.

use bytes::{Buf, Bytes, BytesMut};
use memchr::memmem;
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

/// One parsed event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    /// The `event:` field, when present.
    pub name: Option<String>,
    /// The `data:` lines joined with newlines.
    pub data: String,
}

/// Splits a stream into whole events, holding back an event until its blank line arrives.
#[derive(Debug, Default)]
pub struct Splitter {
    pending: BytesMut,
}

impl Splitter {
    /// Adds a chunk; returns the events it completed, each with its terminating blank line.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Bytes> {
        self.pending.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = event_end(&self.pending) {
            events.push(self.pending.split_to(end).freeze());
        }
        events
    }

    /// Returns what is left after the stream ended: an event without its blank line.
    pub fn finish(&mut self) -> Option<Bytes> {
        (!self.pending.is_empty()).then(|| self.pending.split().freeze())
    }
}

/// Returns the length of the first whole event in `buffer`: up to a blank line, whether lines
/// end in `\n` or `\r\n`.
fn event_end(buffer: &[u8]) -> Option<usize> {
    for newline in memchr::memchr_iter(b'\n', buffer) {
        match buffer.get(newline + 1) {
            Some(b'\n') => return Some(newline + 2),
            Some(b'\r') if buffer.get(newline + 2) == Some(&b'\n') => return Some(newline + 3),
            _ => {}
        }
    }
    None
}

/// Reads the fields of one raw event; comments and unknown fields are skipped.
pub fn parse(raw: &[u8]) -> Event {
    let text = String::from_utf8_lossy(raw);
    let mut event = Event::default();
    let mut data_lines: Vec<&str> = Vec::new();
    for line in text.lines() {
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => event.name = Some(value.to_owned()),
            "data" => data_lines.push(value),
            _ => {}
        }
    }
    event.data = data_lines.join("\n");
    event
}

/// Removes from an OpenAI-style stream what asking for usage added: the `"usage":null` field
/// of every chunk and the final chunk that carries only the usage.
///
/// Whole events are copied straight from the chunk to the output. Only an event split across
/// chunks is held back, until its blank line arrives.
#[derive(Debug, Default)]
pub struct UsageStripper {
    pending: BytesMut,
}

impl UsageStripper {
    /// Takes a chunk from the upstream and adds the bytes to send the client now to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut BytesMut) {
        if self.pending.is_empty() {
            let used = strip_events(chunk, out);
            self.pending.extend_from_slice(&chunk[used..]);
            return;
        }
        self.pending.extend_from_slice(chunk);
        let used = strip_events(&self.pending, out);
        self.pending.advance(used);
    }

    /// Returns the bytes held back when the upstream ended without a final blank line.
    pub fn finish(&mut self) -> Bytes {
        self.pending.split().freeze()
    }
}

/// Strips each whole event of `buffer` into `out` and returns the length of those events.
fn strip_events(buffer: &[u8], out: &mut BytesMut) -> usize {
    let mut used = 0;
    while let Some(length) = event_end(&buffer[used..]) {
        strip_event(&buffer[used..used + length], out);
        used += length;
    }
    used
}

const NULL_USAGE: [&[u8]; 2] = [br#""usage":null"#, br#""usage": null"#];

/// Adds the event to `out` without the added usage, or not at all when it is the usage chunk.
fn strip_event(raw: &[u8], out: &mut BytesMut) {
    for token in NULL_USAGE {
        if let Some(at) = memmem::find(raw, token) {
            let (cut_start, cut_end) = field_span(raw, at, token.len());
            out.extend_from_slice(&raw[..cut_start]);
            out.extend_from_slice(&raw[cut_end..]);
            return;
        }
    }
    if memmem::find(raw, br#""usage""#).is_some() && is_usage_only(raw) {
        return;
    }
    out.extend_from_slice(raw);
}

/// Returns true for the chunk with empty `choices` and a `usage` object.
fn is_usage_only(raw: &[u8]) -> bool {
    let event = parse(raw);
    let Ok(chunk) = serde_json::from_str::<UsageChunk>(&event.data) else {
        return false;
    };
    chunk.choices.is_some_and(|choices| choices.is_empty()) && chunk.usage.is_some()
}

/// The two fields of a stream chunk that tell the usage chunk apart. The rest is skipped
/// without being built.
#[derive(Deserialize)]
struct UsageChunk {
    #[serde(default)]
    choices: Option<Vec<IgnoredAny>>,
    #[serde(default)]
    usage: Option<AnyObject>,
}

/// A JSON object whose content is skipped. Any other value fails to deserialize.
struct AnyObject;

impl<'de> Deserialize<'de> for AnyObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AnyObject, D::Error> {
        deserializer.deserialize_map(AnyObjectVisitor)
    }
}

struct AnyObjectVisitor;

impl<'de> Visitor<'de> for AnyObjectVisitor {
    type Value = AnyObject;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyObject, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(AnyObject)
    }
}

/// Returns the bytes to cut to remove the field at `at..at + len`: the field and the comma
/// that separates it from its neighbour.
///
/// A raw `"usage":null` can only be a key and its value here: inside a JSON string the quotes
/// would be escaped.
fn field_span(raw: &[u8], at: usize, len: usize) -> (usize, usize) {
    let end = at + len;
    let before = raw[..at]
        .iter()
        .rposition(|byte| !byte.is_ascii_whitespace());
    let after = raw[end..]
        .iter()
        .position(|byte| !byte.is_ascii_whitespace())
        .map(|offset| end + offset);

    match (before, after) {
        (Some(comma), _) if raw[comma] == b',' => (comma, end),
        (_, Some(comma)) if raw[comma] == b',' => (at, comma + 1),
        _ => (at, end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitter_holds_partial_events() {
        let mut splitter = Splitter::default();
        assert!(splitter.push(b"data: {\"a\"").is_empty());
        let events = splitter.push(b":1}\n\ndata: [DO");
        assert_eq!(events, vec![Bytes::from_static(b"data: {\"a\":1}\n\n")]);
        let events = splitter.push(b"NE]\r\n\r\n");
        assert_eq!(events, vec![Bytes::from_static(b"data: [DONE]\r\n\r\n")]);
        assert_eq!(splitter.finish(), None);
    }

    #[test]
    fn events_are_parsed() {
        let event = parse(b"event: message_start\ndata: {\"x\":1}\n: comment\n\n");
        assert_eq!(event.name.as_deref(), Some("message_start"));
        assert_eq!(event.data, "{\"x\":1}");
        let event = parse(b"data:a\r\ndata: b\r\n\r\n");
        assert_eq!(event.data, "a\nb");
    }

    /// Pushes the chunks in turn; returns what the client gets after each.
    fn strip(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut stripper = UsageStripper::default();
        chunks
            .iter()
            .map(|chunk| {
                let mut out = BytesMut::new();
                stripper.push(chunk, &mut out);
                out.to_vec()
            })
            .collect()
    }

    fn strip_one(raw: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        strip_event(raw, &mut out);
        out.to_vec()
    }

    #[test]
    fn stripper_removes_null_usage_and_the_usage_chunk() {
        let out = strip(&[
            b"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n",
            b"data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":3}}\n\ndata: [DONE]\n\n",
        ]);
        assert_eq!(
            out[0],
            b"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n"
        );
        assert_eq!(out[1], b"data: [DONE]\n\n");
    }

    #[test]
    fn stripper_holds_an_event_split_across_chunks() {
        let mut stripper = UsageStripper::default();
        let mut out = BytesMut::new();
        stripper.push(b"data: {\"a\":1,\"usage\":null}\n\ndata: {\"b\"", &mut out);
        assert_eq!(&out[..], b"data: {\"a\":1}\n\n");

        out.clear();
        stripper.push(b":2,\"usage\":nu", &mut out);
        assert!(out.is_empty());
        stripper.push(b"ll}\r\n\r\ndata: [DONE]\n\ndata: tail", &mut out);
        assert_eq!(&out[..], b"data: {\"b\":2}\r\n\r\ndata: [DONE]\n\n");
        assert_eq!(&stripper.finish()[..], b"data: tail");
        assert!(stripper.finish().is_empty());
    }

    #[test]
    fn only_the_usage_chunk_is_dropped() {
        let usage = br#"data: {"id":"c","choices":[],"usage":{"prompt_tokens":3}}"#;
        assert!(is_usage_only(usage));

        for not_usage in [
            &br#"data: {"id":"c","choices":[{"index":0}],"usage":{"prompt_tokens":3}}"#[..],
            br#"data: {"id":"c","choices":[],"usage":"none"}"#,
            br#"data: {"id":"c","usage":{"prompt_tokens":3}}"#,
            br#"data: {"id":"c","choices":[]}"#,
            br#"data: {"usage":{"#,
        ] {
            assert!(
                !is_usage_only(not_usage),
                "{}",
                String::from_utf8_lossy(not_usage)
            );
        }
    }

    #[test]
    fn leading_usage_loses_trailing_comma() {
        let raw = b"data: {\"usage\": null, \"id\":\"c\"}\n\n";
        assert_eq!(strip_one(raw), b"data: { \"id\":\"c\"}\n\n");
    }

    #[test]
    fn text_mentioning_usage_is_kept() {
        let raw =
            b"data: {\"choices\":[{\"delta\":{\"content\":\"the \\\"usage\\\":null field\"}}]}\n\n";
        assert_eq!(strip_one(raw), raw);
    }
}
