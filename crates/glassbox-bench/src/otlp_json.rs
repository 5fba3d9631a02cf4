//! OTLP/JSON encoding of trace export requests, recording where ids and times are written.
//!
//! Follows the OTLP deviations from proto3 JSON: trace and span ids as hex, 64-bit integers
//! (times, `intValue`) as decimal strings, enums as integers, lowerCamelCase names, and
//! fields at their default value left out.
//!
//! NOTE: span events, links, `trace_state` and dropped counts are not written, because the
//! generator sets none of them.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

use crate::template::{RESPONSE_ID_KEY, RESPONSE_ID_PREFIX, Slot, SlotKind};

/// Encodes the request and returns the body with its slots.
pub fn encode(request: &ExportTraceServiceRequest) -> (Vec<u8>, Vec<Slot>) {
    let mut writer = Writer::default();
    writer.raw("{\"resourceSpans\":[");
    for (index, resource_spans) in request.resource_spans.iter().enumerate() {
        writer.comma(index);
        writer.resource_spans(resource_spans);
    }
    writer.raw("]}");
    (writer.out, writer.slots)
}

#[derive(Default)]
struct Writer {
    out: Vec<u8>,
    slots: Vec<Slot>,
}

impl Writer {
    fn raw(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
    }

    fn comma(&mut self, index: usize) {
        if index > 0 {
            self.out.push(b',');
        }
    }

    /// Writes `"name":` after a comma unless it is the first member.
    fn key(&mut self, first: &mut bool, name: &str) {
        if !*first {
            self.out.push(b',');
        }
        *first = false;
        self.string(name);
        self.out.push(b':');
    }

    fn string(&mut self, text: &str) {
        self.out.push(b'"');
        for character in text.chars() {
            match character {
                '"' => self.raw("\\\""),
                '\\' => self.raw("\\\\"),
                '\n' => self.raw("\\n"),
                '\r' => self.raw("\\r"),
                '\t' => self.raw("\\t"),
                control if u32::from(control) < 0x20 => {
                    self.raw(&format!("\\u{:04x}", u32::from(control)));
                }
                other => {
                    let mut buffer = [0; 4];
                    self.raw(other.encode_utf8(&mut buffer));
                }
            }
        }
        self.out.push(b'"');
    }

    /// Writes an id as a hex string and records its slot.
    fn id(&mut self, bytes: &[u8], kind: SlotKind) {
        self.out.push(b'"');
        self.slots.push(Slot {
            offset: self.out.len(),
            kind,
        });
        for byte in bytes {
            self.raw(&format!("{byte:02x}"));
        }
        self.out.push(b'"');
    }

    /// Writes a time as a quoted decimal and records its slot.
    fn time(&mut self, unix_nano: u64) {
        self.out.push(b'"');
        self.slots.push(Slot {
            offset: self.out.len(),
            kind: SlotKind::Time,
        });
        self.raw(&format!("{unix_nano:019}"));
        self.out.push(b'"');
    }

    fn resource_spans(&mut self, resource_spans: &ResourceSpans) {
        let mut first = true;
        self.out.push(b'{');
        if let Some(resource) = &resource_spans.resource {
            self.key(&mut first, "resource");
            self.resource(resource);
        }
        self.key(&mut first, "scopeSpans");
        self.out.push(b'[');
        for (index, scope_spans) in resource_spans.scope_spans.iter().enumerate() {
            self.comma(index);
            self.scope_spans(scope_spans);
        }
        self.out.push(b']');
        if !resource_spans.schema_url.is_empty() {
            self.key(&mut first, "schemaUrl");
            self.string(&resource_spans.schema_url);
        }
        self.out.push(b'}');
    }

    fn resource(&mut self, resource: &Resource) {
        self.raw("{\"attributes\":");
        self.attributes(&resource.attributes);
        self.out.push(b'}');
    }

    fn scope_spans(&mut self, scope_spans: &ScopeSpans) {
        let mut first = true;
        self.out.push(b'{');
        if let Some(scope) = &scope_spans.scope {
            self.key(&mut first, "scope");
            self.scope(scope);
        }
        self.key(&mut first, "spans");
        self.out.push(b'[');
        for (index, span) in scope_spans.spans.iter().enumerate() {
            self.comma(index);
            self.span(span);
        }
        self.out.push(b']');
        if !scope_spans.schema_url.is_empty() {
            self.key(&mut first, "schemaUrl");
            self.string(&scope_spans.schema_url);
        }
        self.out.push(b'}');
    }

    fn scope(&mut self, scope: &InstrumentationScope) {
        let mut first = true;
        self.out.push(b'{');
        self.key(&mut first, "name");
        self.string(&scope.name);
        if !scope.version.is_empty() {
            self.key(&mut first, "version");
            self.string(&scope.version);
        }
        if !scope.attributes.is_empty() {
            self.key(&mut first, "attributes");
            self.attributes(&scope.attributes);
        }
        self.out.push(b'}');
    }

    fn span(&mut self, span: &Span) {
        let mut first = true;
        self.out.push(b'{');
        self.key(&mut first, "traceId");
        self.id(&span.trace_id, SlotKind::TraceId);
        self.key(&mut first, "spanId");
        self.id(&span.span_id, SlotKind::SpanId);
        if !span.parent_span_id.is_empty() {
            self.key(&mut first, "parentSpanId");
            self.id(&span.parent_span_id, SlotKind::SpanId);
        }
        if span.flags != 0 {
            self.key(&mut first, "flags");
            self.raw(&span.flags.to_string());
        }
        self.key(&mut first, "name");
        self.string(&span.name);
        self.key(&mut first, "kind");
        self.raw(&span.kind.to_string());
        self.key(&mut first, "startTimeUnixNano");
        self.time(span.start_time_unix_nano);
        self.key(&mut first, "endTimeUnixNano");
        self.time(span.end_time_unix_nano);
        self.key(&mut first, "attributes");
        self.attributes(&span.attributes);
        if let Some(status) = &span.status {
            self.key(&mut first, "status");
            self.status(status);
        }
        self.out.push(b'}');
    }

    fn status(&mut self, status: &Status) {
        let mut first = true;
        self.out.push(b'{');
        if !status.message.is_empty() {
            self.key(&mut first, "message");
            self.string(&status.message);
        }
        if status.code != 0 {
            self.key(&mut first, "code");
            self.raw(&status.code.to_string());
        }
        self.out.push(b'}');
    }

    fn attributes(&mut self, attributes: &[KeyValue]) {
        self.out.push(b'[');
        for (index, pair) in attributes.iter().enumerate() {
            self.comma(index);
            self.key_value(pair);
        }
        self.out.push(b']');
    }

    fn key_value(&mut self, pair: &KeyValue) {
        self.raw("{\"key\":");
        self.string(&pair.key);
        if let Some(value) = &pair.value {
            self.raw(",\"value\":");
            self.any_value(value, pair.key == RESPONSE_ID_KEY);
        }
        self.out.push(b'}');
    }

    /// Records the slot of the span id that ends a `gen_ai.response.id` just written.
    fn response_id_slot(&mut self, text: &str) {
        let id = text.strip_prefix(RESPONSE_ID_PREFIX).unwrap_or_default();
        if id.len() == 16 && id.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            // The id is the 16 characters before the closing quote.
            self.slots.push(Slot {
                offset: self.out.len() - 17,
                kind: SlotKind::SpanIdText,
            });
        }
    }

    fn any_value(&mut self, value: &AnyValue, is_response_id: bool) {
        self.out.push(b'{');
        match &value.value {
            Some(any_value::Value::StringValue(text)) => {
                self.raw("\"stringValue\":");
                self.string(text);
                if is_response_id {
                    self.response_id_slot(text);
                }
            }
            Some(any_value::Value::BoolValue(flag)) => {
                self.raw(&format!("\"boolValue\":{flag}"));
            }
            Some(any_value::Value::IntValue(number)) => {
                self.raw(&format!("\"intValue\":\"{number}\""));
            }
            Some(any_value::Value::DoubleValue(number)) => {
                self.raw("\"doubleValue\":");
                self.double(*number);
            }
            Some(any_value::Value::ArrayValue(array)) => {
                self.raw("\"arrayValue\":{\"values\":[");
                for (index, item) in array.values.iter().enumerate() {
                    self.comma(index);
                    self.any_value(item, false);
                }
                self.raw("]}");
            }
            Some(any_value::Value::KvlistValue(list)) => {
                self.raw("\"kvlistValue\":{\"values\":[");
                for (index, pair) in list.values.iter().enumerate() {
                    self.comma(index);
                    self.key_value(pair);
                }
                self.raw("]}");
            }
            Some(any_value::Value::StringValueStrindex(index)) => {
                self.raw(&format!("\"stringValueStrindex\":{index}"));
            }
            Some(any_value::Value::BytesValue(bytes)) => {
                self.raw("\"bytesValue\":");
                self.string(&base64(bytes));
            }
            None => {}
        }
        self.out.push(b'}');
    }

    /// Writes a double. Proto3 JSON spells the non-finite values as strings.
    fn double(&mut self, number: f64) {
        if number.is_nan() {
            self.raw("\"NaN\"");
        } else if number.is_infinite() {
            self.raw(if number > 0.0 {
                "\"Infinity\""
            } else {
                "\"-Infinity\""
            });
        } else {
            self.raw(&number.to_string());
        }
    }
}

/// Standard base64 with padding, as proto3 JSON writes `bytes`.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let value = chunk.iter().enumerate().fold(0u32, |value, (index, byte)| {
            value | u32::from(*byte) << (16 - 8 * index)
        });
        for index in 0..4 {
            if index <= chunk.len() {
                text.push(char::from(
                    ALPHABET[(value >> (18 - 6 * index) & 0x3F) as usize],
                ));
            } else {
                text.push('=');
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};

    use super::*;
    use crate::generate::generate_batch;
    use crate::rng::Rng;

    #[test]
    fn generated_batch_round_trips() {
        let batch = generate_batch(&mut Rng::new(8), 128);
        let (body, _) = encode(&batch.request);
        let decoded = glassbox_otlp::decode_traces_json(&body).unwrap();
        assert_eq!(decoded, batch.request);
    }

    #[test]
    fn every_value_type_round_trips() {
        let value = |value| AnyValue { value: Some(value) };
        let pair = |key: &str, inner| KeyValue {
            key: key.into(),
            value: Some(value(inner)),
            ..Default::default()
        };
        let attributes = vec![
            pair(
                "text",
                any_value::Value::StringValue("quote \" tab \t é".into()),
            ),
            pair("flag", any_value::Value::BoolValue(true)),
            pair("count", any_value::Value::IntValue(-9_007_199_254_740_993)),
            pair("ratio", any_value::Value::DoubleValue(0.25)),
            pair("raw", any_value::Value::BytesValue(vec![0, 1, 2, 250])),
            pair(
                "list",
                any_value::Value::ArrayValue(ArrayValue {
                    values: vec![value(any_value::Value::IntValue(1))],
                }),
            ),
            pair(
                "map",
                any_value::Value::KvlistValue(KeyValueList {
                    values: vec![pair("inner", any_value::Value::BoolValue(false))],
                }),
            ),
        ];
        let mut batch = generate_batch(&mut Rng::new(1), 1);
        batch.request.resource_spans[0].scope_spans[0].spans[0].attributes = attributes;
        let (body, _) = encode(&batch.request);
        let decoded = glassbox_otlp::decode_traces_json(&body).unwrap();
        assert_eq!(decoded, batch.request);
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }
}
