//! Encoded request bodies that senders copy and rewrite, so that generating a request costs a
//! memory copy instead of building and encoding a thousand messages.
//!
//! A template records where each trace id, span id, span id inside `gen_ai.response.id` and
//! timestamp sits in its body. Rendering request `n` XORs every trace id and span id with
//! masks derived from the seed and `n`. The XOR keeps the parent links and makes the ids of
//! every request distinct. Rendering also shifts every timestamp so that the spans end just
//! before the send.

use anyhow::{Context, bail};
use prost::Message;

use crate::generate::{Batch, TEMPLATE_EPOCH_NS, TraceShape};
use crate::otlp_json;
use crate::rng::mix;

/// The body encodings of OTLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Binary protobuf (`application/x-protobuf`).
    Protobuf,
    /// OTLP/JSON (`application/json`): hex ids, 64-bit integers as strings.
    Json,
}

impl Encoding {
    /// Returns the name used in labels and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Protobuf => "protobuf",
            Encoding::Json => "json",
        }
    }
}

/// The kind of value at a recorded position in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    /// A trace id: 16 bytes in protobuf, 32 hex characters in JSON.
    TraceId,
    /// A span id: 8 bytes in protobuf, 16 hex characters in JSON.
    SpanId,
    /// A span id written as 16 hex characters inside a string attribute, in both encodings.
    SpanIdText,
    /// A Unix time in nanoseconds: fixed64 little-endian in protobuf, 19 decimal digits in JSON.
    Time,
}

/// A position in the body and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Byte offset of the value's first byte.
    pub offset: usize,
    /// The kind of value.
    pub kind: SlotKind,
}

/// The id masks of one request.
#[derive(Debug, Clone, Copy)]
pub struct Masks {
    trace: [u8; 16],
    span: [u8; 8],
}

impl Masks {
    /// Derives the masks of request `index` of a run with `seed`.
    pub fn for_request(seed: u64, index: u64) -> Masks {
        let first = mix(seed ^ mix(index.wrapping_add(0x5EED)));
        let second = mix(first ^ 0xA5A5_A5A5_A5A5_A5A5);
        let third = mix(second ^ 0x5A5A_5A5A_5A5A_5A5A);
        let mut trace = [0; 16];
        trace[..8].copy_from_slice(&first.to_le_bytes());
        trace[8..].copy_from_slice(&second.to_le_bytes());
        Masks {
            trace,
            span: third.to_le_bytes(),
        }
    }

    /// Returns the trace id that a generated trace id becomes in this request.
    pub fn trace_id(&self, generated: &[u8; 16]) -> [u8; 16] {
        let mut id = *generated;
        xor(&mut id, &self.trace);
        id
    }
}

/// An encoded export request with the positions to rewrite.
pub struct Template {
    body: Vec<u8>,
    slots: Vec<Slot>,
    encoding: Encoding,
    /// Spans in the request.
    pub spans: usize,
    /// Traces in the request, as generated.
    pub traces: Vec<TraceShape>,
}

impl Template {
    /// Encodes a batch and records its slots.
    pub fn new(batch: Batch, encoding: Encoding) -> anyhow::Result<Template> {
        let spans = batch
            .request
            .resource_spans
            .iter()
            .flat_map(|resource| &resource.scope_spans)
            .map(|scope| scope.spans.len())
            .sum();
        let (body, slots) = match encoding {
            Encoding::Protobuf => {
                let body = batch.request.encode_to_vec();
                let slots = protobuf_slots(&body).context("failed to index the protobuf body")?;
                (body, slots)
            }
            Encoding::Json => otlp_json::encode(&batch.request),
        };
        Ok(Template {
            body,
            slots,
            encoding,
            spans,
            traces: batch.traces,
        })
    }

    /// Returns the body size in bytes.
    pub fn len(&self) -> usize {
        self.body.len()
    }

    /// Copies the body with ids masked and times moved by `shift_ns`.
    pub fn render(&self, masks: &Masks, shift_ns: u64) -> Vec<u8> {
        let mut body = self.body.clone();
        for slot in &self.slots {
            let at = slot.offset;
            match (self.encoding, slot.kind) {
                (Encoding::Protobuf, SlotKind::TraceId) => {
                    xor(&mut body[at..at + 16], &masks.trace)
                }
                (Encoding::Protobuf, SlotKind::SpanId) => xor(&mut body[at..at + 8], &masks.span),
                (Encoding::Protobuf, SlotKind::Time) => {
                    shift_fixed64(&mut body[at..at + 8], shift_ns)
                }
                (Encoding::Json, SlotKind::TraceId) => {
                    xor_hex(&mut body[at..at + 32], &masks.trace)
                }
                (_, SlotKind::SpanId | SlotKind::SpanIdText) => {
                    xor_hex(&mut body[at..at + 16], &masks.span)
                }
                (Encoding::Json, SlotKind::Time) => shift_decimal(&mut body[at..at + 19], shift_ns),
            }
        }
        body
    }
}

/// Returns the shift that makes template times end just before `now_unix_ns`.
pub fn shift_to(now_unix_ns: u64) -> u64 {
    now_unix_ns.saturating_sub(TEMPLATE_EPOCH_NS)
}

fn xor(target: &mut [u8], mask: &[u8]) {
    for (byte, mask) in target.iter_mut().zip(mask) {
        *byte ^= mask;
    }
}

fn xor_hex(text: &mut [u8], mask: &[u8]) {
    for (pair, mask) in text.chunks_mut(2).zip(mask) {
        let value = (nibble(pair[0]) << 4 | nibble(pair[1])) ^ mask;
        pair[0] = HEX_DIGITS[usize::from(value >> 4)];
        pair[1] = HEX_DIGITS[usize::from(value & 0x0F)];
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

fn nibble(character: u8) -> u8 {
    match character {
        b'0'..=b'9' => character - b'0',
        b'a'..=b'f' => character - b'a' + 10,
        b'A'..=b'F' => character - b'A' + 10,
        _ => 0,
    }
}

fn shift_fixed64(bytes: &mut [u8], shift_ns: u64) {
    let mut value = [0; 8];
    value.copy_from_slice(bytes);
    let shifted = u64::from_le_bytes(value).saturating_add(shift_ns);
    bytes.copy_from_slice(&shifted.to_le_bytes());
}

/// Rewrites 19 decimal digits in place.
///
/// NOTE: Unix nanoseconds have 19 digits from 2001 to 2286. A sum past that saturates at the
/// largest 19-digit number instead of growing the body.
fn shift_decimal(digits: &mut [u8], shift_ns: u64) {
    let value = digits
        .iter()
        .fold(0u64, |value, digit| value * 10 + u64::from(digit - b'0'));
    let mut shifted = value
        .saturating_add(shift_ns)
        .min(9_999_999_999_999_999_999);
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (shifted % 10) as u8;
        shifted /= 10;
    }
}

/// A protobuf field: its number, wire type, and the byte range of its value in the body.
struct Field {
    number: u64,
    wire_type: u64,
    start: usize,
    end: usize,
}

/// Splits the message in `body[start..end]` into its fields.
fn fields(body: &[u8], start: usize, end: usize) -> anyhow::Result<Vec<Field>> {
    let mut position = start;
    let mut list = Vec::new();
    while position < end {
        let tag = read_varint(body, &mut position)?;
        let (number, wire_type) = (tag >> 3, tag & 7);
        let value_start = position;
        let value_end = match wire_type {
            0 => {
                read_varint(body, &mut position)?;
                position
            }
            1 => position + 8,
            2 => {
                let length = usize::try_from(read_varint(body, &mut position)?)?;
                position + length
            }
            5 => position + 4,
            other => bail!("unsupported wire type {other} at byte {value_start}"),
        };
        let start = if wire_type == 2 {
            position
        } else {
            value_start
        };
        if value_end > end {
            bail!("field {number} at byte {value_start} runs past its message");
        }
        list.push(Field {
            number,
            wire_type,
            start,
            end: value_end,
        });
        position = value_end;
    }
    Ok(list)
}

fn read_varint(body: &[u8], position: &mut usize) -> anyhow::Result<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let Some(&byte) = body.get(*position) else {
            bail!("truncated varint at byte {position}");
        };
        *position += 1;
        value |= u64::from(byte & 0x7F) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    bail!("varint longer than 10 bytes at byte {position}")
}

/// Returns the sub-messages with the given field number.
fn children(body: &[u8], start: usize, end: usize, number: u64) -> anyhow::Result<Vec<Field>> {
    Ok(fields(body, start, end)?
        .into_iter()
        .filter(|field| field.number == number && field.wire_type == 2)
        .collect())
}

/// Finds the slots of an encoded `ExportTraceServiceRequest`.
fn protobuf_slots(body: &[u8]) -> anyhow::Result<Vec<Slot>> {
    let mut slots = Vec::new();
    // ExportTraceServiceRequest.resource_spans = 1, ResourceSpans.scope_spans = 2,
    // ScopeSpans.spans = 2.
    for resource in children(body, 0, body.len(), 1)? {
        for scope in children(body, resource.start, resource.end, 2)? {
            for span in children(body, scope.start, scope.end, 2)? {
                span_slots(body, &span, &mut slots)?;
            }
        }
    }
    Ok(slots)
}

fn span_slots(body: &[u8], span: &Field, slots: &mut Vec<Slot>) -> anyhow::Result<()> {
    for field in fields(body, span.start, span.end)? {
        let length = field.end - field.start;
        let kind = match (field.number, length) {
            (1, 16) => SlotKind::TraceId,
            (2 | 4, 8) => SlotKind::SpanId,
            (7 | 8, 8) if field.wire_type == 1 => SlotKind::Time,
            (9, _) => {
                if let Some(offset) = response_id_offset(body, &field)? {
                    slots.push(Slot {
                        offset,
                        kind: SlotKind::SpanIdText,
                    });
                }
                continue;
            }
            _ => continue,
        };
        slots.push(Slot {
            offset: field.start,
            kind,
        });
    }
    Ok(())
}

/// The attribute key whose value contains a span id as text, after [`RESPONSE_ID_PREFIX`].
pub const RESPONSE_ID_KEY: &str = "gen_ai.response.id";
/// The text before the span id in a generated response id.
pub const RESPONSE_ID_PREFIX: &str = "chatcmpl-";

/// Returns where the span id inside a `gen_ai.response.id` attribute starts, if this
/// `KeyValue` is one.
fn response_id_offset(body: &[u8], key_value: &Field) -> anyhow::Result<Option<usize>> {
    let parts = fields(body, key_value.start, key_value.end)?;
    let is_response_id = parts
        .iter()
        .any(|part| part.number == 1 && &body[part.start..part.end] == RESPONSE_ID_KEY.as_bytes());
    if !is_response_id {
        return Ok(None);
    }
    // KeyValue.value = 2, AnyValue.string_value = 1.
    for value in parts.iter().filter(|part| part.number == 2) {
        for text in children(body, value.start, value.end, 1)? {
            let prefix = RESPONSE_ID_PREFIX.len();
            if text.end - text.start == prefix + 16
                && body[text.start..].starts_with(RESPONSE_ID_PREFIX.as_bytes())
            {
                return Ok(Some(text.start + prefix));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value;

    use super::*;
    use crate::generate::generate_batch;
    use crate::rng::Rng;

    fn template(encoding: Encoding) -> Template {
        Template::new(generate_batch(&mut Rng::new(4), 64), encoding).unwrap()
    }

    fn decode(body: &[u8], encoding: Encoding) -> ExportTraceServiceRequest {
        match encoding {
            Encoding::Protobuf => ExportTraceServiceRequest::decode(body).unwrap(),
            Encoding::Json => glassbox_otlp::decode_traces_json(body).unwrap(),
        }
    }

    fn response_id(span: &opentelemetry_proto::tonic::trace::v1::Span) -> Option<String> {
        span.attributes
            .iter()
            .find(|pair| pair.key == RESPONSE_ID_KEY)
            .and_then(|pair| match pair.value.as_ref()?.value.as_ref()? {
                any_value::Value::StringValue(text) => Some(text.clone()),
                _ => None,
            })
    }

    #[test]
    fn every_id_and_time_has_a_slot() {
        for encoding in [Encoding::Protobuf, Encoding::Json] {
            let template = template(encoding);
            let request = decode(&template.body, encoding);
            let spans = &request.resource_spans[0].scope_spans[0].spans;
            let children = spans.iter().filter(|span| !span.parent_span_id.is_empty());
            let responses = spans.iter().filter(|span| response_id(span).is_some());
            let expected = spans.len() * 4 + children.count() + responses.count();
            assert_eq!(template.slots.len(), expected, "{encoding:?}");
        }
    }

    #[test]
    fn render_masks_ids_and_shifts_times() {
        for encoding in [Encoding::Protobuf, Encoding::Json] {
            let template = template(encoding);
            let original = decode(&template.body, encoding);
            let masks = Masks::for_request(1, 42);
            let rendered = decode(&template.render(&masks, 1_000), encoding);

            let before = &original.resource_spans[0].scope_spans[0].spans;
            let after = &rendered.resource_spans[0].scope_spans[0].spans;
            for (old, new) in before.iter().zip(after) {
                let mut trace_id = [0; 16];
                trace_id.copy_from_slice(&old.trace_id);
                assert_eq!(new.trace_id, masks.trace_id(&trace_id));
                assert_ne!(new.span_id, old.span_id);
                assert_eq!(new.start_time_unix_nano, old.start_time_unix_nano + 1_000);
                assert_eq!(new.end_time_unix_nano, old.end_time_unix_nano + 1_000);
                assert_eq!(new.name, old.name);
                if let Some(text) = response_id(new) {
                    let span_hex: String = new
                        .span_id
                        .iter()
                        .map(|byte| format!("{byte:02x}"))
                        .collect();
                    assert_eq!(text, format!("{RESPONSE_ID_PREFIX}{span_hex}"));
                }
            }
        }
    }

    #[test]
    fn render_keeps_parent_links() {
        let template = template(Encoding::Protobuf);
        let rendered = decode(
            &template.render(&Masks::for_request(9, 3), 0),
            Encoding::Protobuf,
        );
        let spans = &rendered.resource_spans[0].scope_spans[0].spans;
        for span in spans.iter().filter(|span| !span.parent_span_id.is_empty()) {
            let parent = spans
                .iter()
                .find(|candidate| candidate.span_id == span.parent_span_id)
                .unwrap();
            assert_eq!(parent.trace_id, span.trace_id);
        }
    }

    #[test]
    fn requests_get_distinct_ids() {
        let first = Masks::for_request(1, 0);
        let second = Masks::for_request(1, 1);
        assert_ne!(first.trace, second.trace);
        assert_ne!(first.span, second.span);
    }

    #[test]
    fn decimal_shift_carries() {
        let mut digits = *b"1699999999999999999";
        shift_decimal(&mut digits, 1);
        assert_eq!(&digits, b"1700000000000000000");
    }
}
