//! GenAI events sent as OTLP log records, turned into content patches for their spans.
//!
//! A record is a GenAI event when its `event_name` field, or for older senders its
//! `event.name` attribute, is one of:
//! - `gen_ai.client.inference.operation.details`: a whole call (system instructions, input
//!   and output messages, finish reasons as structured attributes); its patch replaces the
//!   span's message lists;
//! - `gen_ai.system.message`, `gen_ai.user.message`, `gen_ai.assistant.message`,
//!   `gen_ai.tool.message` (OpenLIT: `gen_ai.tools.message`): one input message each;
//! - `gen_ai.choice`: one output message and its finish reason.
//!
//! The per-message patches append in record order. A record names its span by trace and span
//! id, else by `gen_ai.response.id`. Some libraries send the `gen_ai.choice` of a streamed
//! call after the span ended, without any id; [`log_records_content`] attributes such a record
//! to the one call of the same batch whose messages still wait for their choice.
//!
//! Not handled yet: `gen_ai.evaluation.result` (a score, not content) and
//! `gen_ai.client.operation.exception`.

use glassbox_model::{ContentTarget, SpanContentPatch, SpanId, SpanKind, TraceId};
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::attributes::{any_value_to_json, attributes_to_map};
use crate::lookup::Attributes;
use crate::messages::events::{event_content, event_role};
use crate::{finish, messages, models, names};

/// Builds the content patch of one log record.
///
/// Returns `None` when the record is not a GenAI event, names no span (no trace and span
/// ids, no `gen_ai.response.id`), or adds nothing. `sequence` orders records that share a
/// timestamp; callers pass the record's position within its request. The resource and scope
/// are accepted for callers that have them; no rule reads them yet.
pub fn log_record_content(
    _resource: Option<&Resource>,
    _scope: Option<&InstrumentationScope>,
    record: &LogRecord,
    sequence: u64,
) -> Option<SpanContentPatch> {
    let (target, patch) = record_content(record, sequence)?;
    finish_patch(target?, patch)
}

/// Builds the content patches of the records of one scope in one request, in record order.
///
/// Works like [`log_record_content`] for each record, and additionally attributes a
/// `gen_ai.choice` record without any id to the span whose message records came before it,
/// when exactly one span in the batch has message records and no choice yet. With several
/// such spans the record is ambiguous and dropped. `first_sequence` is the sequence of the
/// first record.
pub fn log_records_content(
    _resource: Option<&Resource>,
    _scope: Option<&InstrumentationScope>,
    records: &[LogRecord],
    first_sequence: u64,
) -> Vec<SpanContentPatch> {
    let mut waiting_for_choice: Vec<ContentTarget> = Vec::new();
    let mut patches = Vec::new();

    for (offset, record) in records.iter().enumerate() {
        let Some((target, patch)) = record_content(record, first_sequence + offset as u64) else {
            continue;
        };
        let is_choice = patch.event_name == names::EVENT_CHOICE;
        let target = match target {
            Some(target) => Some(target),
            None if is_choice && waiting_for_choice.len() == 1 => {
                waiting_for_choice.first().cloned()
            }
            None => None,
        };
        let Some(target) = target else {
            continue;
        };

        if is_choice {
            waiting_for_choice.retain(|waiting| *waiting != target);
        } else if event_role(&patch.event_name).is_some() && !waiting_for_choice.contains(&target) {
            waiting_for_choice.push(target.clone());
        }
        patches.extend(finish_patch(target, patch));
    }
    patches
}

/// Reads a record: its target (if it names one) and its patch with a placeholder target.
fn record_content(
    record: &LogRecord,
    sequence: u64,
) -> Option<(Option<ContentTarget>, SpanContentPatch)> {
    let attribute_map = attributes_to_map(&record.attributes);
    let attributes = Attributes::new(&attribute_map);
    let event_name = event_name(record, &attributes)?;

    let mut patch = SpanContentPatch {
        target: ContentTarget::ResponseId(String::new()),
        time_unix_nano: record_time(record),
        sequence,
        event_name: event_name.to_owned(),
        input_messages: Vec::new(),
        output_messages: Vec::new(),
        finish_reasons: Vec::new(),
        replaces: false,
    };

    if event_name == names::EVENT_OPERATION_DETAILS {
        fill_operation_details(&mut patch, &attributes);
    } else {
        let body = record.body.as_ref().map(|body| any_value_to_json(body, 0));
        let content = event_content(event_name, body.as_ref())?;
        let list = if content.is_output {
            &mut patch.output_messages
        } else {
            &mut patch.input_messages
        };
        list.extend(content.message);
        patch.finish_reasons.extend(content.finish_reason);
    }

    Some((target(record, &attributes), patch))
}

fn fill_operation_details(patch: &mut SpanContentPatch, attributes: &Attributes<'_>) {
    let content = messages::content(attributes, SpanKind::Llm);
    patch.replaces = true;
    patch.input_messages = content.input.unwrap_or_default();
    patch.output_messages = content.output.unwrap_or_default();
    patch.finish_reasons = finish::finish_reasons(attributes, content.finish_reasons);
}

fn finish_patch(target: ContentTarget, mut patch: SpanContentPatch) -> Option<SpanContentPatch> {
    patch.target = target;
    (!patch.is_empty()).then_some(patch)
}

/// Returns the event name: the record's `event_name` field, else the `event.name` attribute,
/// when it names a GenAI content event.
fn event_name<'a>(record: &'a LogRecord, attributes: &Attributes<'a>) -> Option<&'a str> {
    let name = Some(record.event_name.as_str())
        .filter(|name| !name.is_empty())
        .or_else(|| attributes.text(names::EVENT_NAME_ATTRIBUTE))?;
    let known = name == names::EVENT_OPERATION_DETAILS || event_role(name).is_some();
    known.then_some(name)
}

/// Returns the record's time, or its observed time when the sender set none.
fn record_time(record: &LogRecord) -> u64 {
    if record.time_unix_nano != 0 {
        record.time_unix_nano
    } else {
        record.observed_time_unix_nano
    }
}

/// Names the span: by valid trace and span ids, else by the provider's response id.
fn target(record: &LogRecord, attributes: &Attributes<'_>) -> Option<ContentTarget> {
    let trace_id = TraceId::from_slice(&record.trace_id)
        .ok()
        .filter(|id| !id.is_zero());
    let span_id = SpanId::from_slice(&record.span_id)
        .ok()
        .filter(|id| !id.is_zero());
    if let (Some(trace_id), Some(span_id)) = (trace_id, span_id) {
        return Some(ContentTarget::Span { trace_id, span_id });
    }
    models::response_id(attributes).map(ContentTarget::ResponseId)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, KeyValueList, any_value};

    fn string(text: &str) -> AnyValue {
        AnyValue {
            value: Some(any_value::Value::StringValue(text.to_owned())),
        }
    }

    fn body(pairs: &[(&str, AnyValue)]) -> AnyValue {
        AnyValue {
            value: Some(any_value::Value::KvlistValue(KeyValueList {
                values: pairs
                    .iter()
                    .map(|(key, value)| KeyValue {
                        key: (*key).to_owned(),
                        value: Some(value.clone()),
                        ..Default::default()
                    })
                    .collect(),
            })),
        }
    }

    fn record(event_name: &str, ids: bool, body_value: AnyValue) -> LogRecord {
        LogRecord {
            event_name: event_name.to_owned(),
            trace_id: if ids { vec![1; 16] } else { Vec::new() },
            span_id: if ids { vec![2; 8] } else { Vec::new() },
            observed_time_unix_nano: 10,
            body: Some(body_value),
            ..Default::default()
        }
    }

    #[test]
    fn user_message_targets_its_span() {
        let user = record(
            "gen_ai.user.message",
            true,
            body(&[("content", string("Hi"))]),
        );
        let patch = log_record_content(None, None, &user, 3).unwrap();
        assert!(matches!(patch.target, ContentTarget::Span { .. }));
        assert_eq!(patch.sequence, 3);
        assert_eq!(patch.time_unix_nano, 10);
        assert_eq!(patch.input_messages[0].role, "user");
        assert!(!patch.replaces);
    }

    fn messages_of(
        record: &LogRecord,
    ) -> (Vec<glassbox_model::Message>, Vec<glassbox_model::Message>) {
        record_content(record, 0)
            .map(|(_, patch)| (patch.input_messages, patch.output_messages))
            .unwrap_or_default()
    }

    #[test]
    fn event_name_attribute_for_older_senders() {
        let mut user = record("", true, body(&[("content", string("Hi"))]));
        user.attributes.push(KeyValue {
            key: "event.name".to_owned(),
            value: Some(string("gen_ai.user.message")),
            ..Default::default()
        });
        assert_eq!(messages_of(&user).0.len(), 1);
    }

    #[test]
    fn record_without_ids_has_no_target() {
        let choice = record(
            "gen_ai.choice",
            false,
            body(&[
                ("message", body(&[("content", string("Mild."))])),
                ("finish_reason", string("stop")),
            ]),
        );
        assert!(log_record_content(None, None, &choice, 0).is_none());
    }

    #[test]
    fn batch_gives_lone_choice_to_waiting_span() {
        let user = record(
            "gen_ai.user.message",
            true,
            body(&[("content", string("Hi"))]),
        );
        let choice = record(
            "gen_ai.choice",
            false,
            body(&[
                ("message", body(&[("content", string("Mild."))])),
                ("finish_reason", string("stop")),
            ]),
        );
        let patches = log_records_content(None, None, &[user, choice], 0);
        assert_eq!(patches.len(), 2);
        assert_eq!(patches[1].target, patches[0].target);
        assert_eq!(patches[1].finish_reasons, ["stop"]);
    }

    #[test]
    fn non_genai_records_are_ignored() {
        let other = record("app.started", true, string("hello"));
        assert!(log_record_content(None, None, &other, 0).is_none());
    }
}
