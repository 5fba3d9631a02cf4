//! Conversion between canonical spans and rows of the `spans` table.

use glassbox_model::{
    CostStatus, Message, Span, SpanEvent, SpanId, SpanKind, SpanStatus, TokenUsage, TraceId,
};
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{Row, ToSql};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::StoreError;

/// Columns of `spans` in the order [`span_values`] writes them and [`span_from_row`] reads them.
pub(crate) const SPAN_COLUMNS: &str = "trace_id, span_id, parent_span_id, name, kind, \
    service_name, scope_name, start_ns, end_ns, duration_ns, status, status_message, error_type, \
    operation, provider, request_model, response_model, response_id, input_tokens, output_tokens, \
    cached_input_tokens, cache_write_input_tokens, reasoning_tokens, total_tokens, \
    tokens_estimated, cost_usd, cost_status, ttft_ms, streaming, tool_name, user_id, session_id, \
    finish_reasons, tags, metadata, input_messages, output_messages, attributes, \
    resource_attributes, events, computed_cost_usd, time_per_output_token_ms, \
    output_tokens_per_second, flags, input_language, output_language";

/// The columns of [`SPAN_COLUMNS`] that aggregates read, in the same order: message content,
/// metadata, resource attributes and events are left empty, and of the attributes only the
/// HTTP status codes that classify errors are kept. Reading spans for a user, session or tag
/// grouping is several times faster this way.
pub(crate) const AGGREGATE_SPAN_COLUMNS: &str = "trace_id, span_id, parent_span_id, name, kind, \
    service_name, scope_name, start_ns, end_ns, duration_ns, status, status_message, error_type, \
    operation, provider, request_model, response_model, response_id, input_tokens, output_tokens, \
    cached_input_tokens, cache_write_input_tokens, reasoning_tokens, total_tokens, \
    tokens_estimated, cost_usd, cost_status, ttft_ms, streaming, tool_name, user_id, session_id, \
    finish_reasons, tags, '{}', NULL, NULL, \
    CASE WHEN status = 'error' THEN json_object(\
    'http.response.status_code', json_extract(attributes, '$.\"http.response.status_code\"'), \
    'http.status_code', json_extract(attributes, '$.\"http.status_code\"')) ELSE '{}' END, \
    '{}', '[]', computed_cost_usd, time_per_output_token_ms, output_tokens_per_second, flags, \
    input_language, output_language";

/// Number of columns in [`SPAN_COLUMNS`].
pub(crate) const SPAN_COLUMN_COUNT: usize = 46;

/// Converts an unsigned count or time to SQLite's signed integer, saturating.
pub(crate) fn to_sql_int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The JSON columns of one span, serialized once per write.
pub(crate) struct SpanJson {
    finish_reasons: String,
    tags: String,
    metadata: String,
    input_messages: Option<String>,
    output_messages: Option<String>,
    attributes: String,
    resource_attributes: String,
    events: String,
    flags: String,
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

impl SpanJson {
    /// Serializes the JSON columns of `span`.
    pub(crate) fn of(span: &Span) -> SpanJson {
        SpanJson {
            finish_reasons: to_json(&span.finish_reasons),
            tags: to_json(&span.tags),
            metadata: to_json(&span.metadata),
            input_messages: span.input_messages.as_ref().map(to_json),
            output_messages: span.output_messages.as_ref().map(to_json),
            attributes: to_json(&span.attributes),
            resource_attributes: to_json(&span.resource_attributes),
            events: to_json(&span.events),
            flags: to_json(&span.flags),
        }
    }
}

fn text(value: &str) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(ValueRef::Text(value.as_bytes()))
}

fn optional_text(value: Option<&str>) -> ToSqlOutput<'_> {
    value.map_or(ToSqlOutput::Owned(SqlValue::Null), text)
}

fn integer(value: i64) -> ToSqlOutput<'static> {
    ToSqlOutput::Owned(SqlValue::Integer(value))
}

fn optional_int(value: Option<u64>) -> ToSqlOutput<'static> {
    ToSqlOutput::Owned(value.map_or(SqlValue::Null, |number| {
        SqlValue::Integer(to_sql_int(number))
    }))
}

fn optional_real(value: Option<f64>) -> ToSqlOutput<'static> {
    ToSqlOutput::Owned(value.map_or(SqlValue::Null, SqlValue::Real))
}

/// Returns the parameters of one span row, in [`SPAN_COLUMNS`] order, borrowing the span's
/// text instead of copying it.
pub(crate) fn span_values<'a>(span: &'a Span, json: &'a SpanJson) -> Vec<ToSqlOutput<'a>> {
    let usage = &span.usage;
    vec![
        ToSqlOutput::Borrowed(ValueRef::Blob(&span.trace_id.0)),
        ToSqlOutput::Borrowed(ValueRef::Blob(&span.span_id.0)),
        span.parent_span_id
            .as_ref()
            .map_or(ToSqlOutput::Owned(SqlValue::Null), |id| {
                ToSqlOutput::Borrowed(ValueRef::Blob(&id.0))
            }),
        text(&span.name),
        text(span.kind.as_str()),
        optional_text(span.service_name.as_deref()),
        optional_text(span.scope_name.as_deref()),
        integer(to_sql_int(span.start_time_unix_nano)),
        integer(to_sql_int(span.end_time_unix_nano)),
        integer(to_sql_int(
            span.end_time_unix_nano
                .saturating_sub(span.start_time_unix_nano),
        )),
        text(span.status.as_str()),
        optional_text(span.status_message.as_deref()),
        optional_text(span.error_type.as_deref()),
        optional_text(span.operation.as_deref()),
        optional_text(span.provider.as_deref()),
        optional_text(span.request_model.as_deref()),
        optional_text(span.response_model.as_deref()),
        optional_text(span.response_id.as_deref()),
        optional_int(usage.input),
        optional_int(usage.output),
        optional_int(usage.cached_input),
        optional_int(usage.cache_write_input),
        optional_int(usage.reasoning),
        optional_int(usage.total),
        integer(i64::from(span.tokens_estimated)),
        optional_real(span.cost_usd),
        optional_text(span.cost_status.map(|status| status.as_str())),
        optional_real(span.ttft_ms),
        ToSqlOutput::Owned(
            span.streaming
                .map_or(SqlValue::Null, |flag| SqlValue::Integer(i64::from(flag))),
        ),
        optional_text(span.tool_name.as_deref()),
        optional_text(span.user_id.as_deref()),
        optional_text(span.session_id.as_deref()),
        text(&json.finish_reasons),
        text(&json.tags),
        text(&json.metadata),
        optional_text(json.input_messages.as_deref()),
        optional_text(json.output_messages.as_deref()),
        text(&json.attributes),
        text(&json.resource_attributes),
        text(&json.events),
        optional_real(span.computed_cost_usd),
        optional_real(span.time_per_output_token_ms),
        optional_real(span.output_tokens_per_second),
        text(&json.flags),
        optional_text(span.input_language.as_deref()),
        optional_text(span.output_language.as_deref()),
    ]
}

/// Returns parameters for a prepared statement from owned values.
pub(crate) fn as_params<T: ToSql>(values: &[T]) -> Vec<&dyn ToSql> {
    values.iter().map(|value| value as &dyn ToSql).collect()
}

fn blob_id<const N: usize>(
    row: &Row<'_>,
    index: usize,
    column: &'static str,
) -> Result<[u8; N], StoreError> {
    let bytes: Vec<u8> = row.get(index)?;
    bytes.try_into().map_err(|_| StoreError::Corrupt {
        column,
        reason: "identifier of the wrong length".into(),
    })
}

fn json_column<T: DeserializeOwned>(
    row: &Row<'_>,
    index: usize,
    column: &'static str,
) -> Result<T, StoreError> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|error| StoreError::Corrupt {
        column,
        reason: error.to_string(),
    })
}

fn optional_json<T: DeserializeOwned>(
    row: &Row<'_>,
    index: usize,
    column: &'static str,
) -> Result<Option<T>, StoreError> {
    let text: Option<String> = row.get(index)?;
    text.map(|text| {
        serde_json::from_str(&text).map_err(|error| StoreError::Corrupt {
            column,
            reason: error.to_string(),
        })
    })
    .transpose()
}

fn optional_count(row: &Row<'_>, index: usize) -> Result<Option<u64>, StoreError> {
    let value: Option<i64> = row.get(index)?;
    Ok(value.map(|number| u64::try_from(number).unwrap_or(0)))
}

fn time(row: &Row<'_>, index: usize) -> Result<u64, StoreError> {
    let value: i64 = row.get(index)?;
    Ok(u64::try_from(value).unwrap_or(0))
}

/// Reads a span from a row selected with [`SPAN_COLUMNS`] starting at column `offset`.
pub(crate) fn span_from_row(row: &Row<'_>, offset: usize) -> Result<Span, StoreError> {
    let at = |index: usize| offset + index;
    let parent: Option<Vec<u8>> = row.get(at(2))?;
    let parent_span_id = parent
        .map(|bytes| SpanId::from_slice(&bytes))
        .transpose()
        .map_err(|error| StoreError::Corrupt {
            column: "parent_span_id",
            reason: error.to_string(),
        })?;
    let kind: String = row.get(at(4))?;
    let status: String = row.get(at(10))?;
    let cost_status: Option<String> = row.get(at(26))?;
    let streaming: Option<i64> = row.get(at(28))?;
    let estimated: i64 = row.get(at(24))?;
    let events: Vec<SpanEvent> = json_column(row, at(39), "events")?;
    let input_messages: Option<Vec<Message>> = optional_json(row, at(35), "input_messages")?;
    let output_messages: Option<Vec<Message>> = optional_json(row, at(36), "output_messages")?;
    let metadata: Value = json_column(row, at(34), "metadata")?;
    let attributes: Value = json_column(row, at(37), "attributes")?;
    let resource_attributes: Value = json_column(row, at(38), "resource_attributes")?;

    Ok(Span {
        trace_id: TraceId(blob_id(row, at(0), "trace_id")?),
        span_id: SpanId(blob_id(row, at(1), "span_id")?),
        parent_span_id,
        name: row.get(at(3))?,
        kind: SpanKind::parse(&kind).unwrap_or_default(),
        service_name: row.get(at(5))?,
        scope_name: row.get(at(6))?,
        start_time_unix_nano: time(row, at(7))?,
        end_time_unix_nano: time(row, at(8))?,
        status: SpanStatus::parse(&status).unwrap_or_default(),
        status_message: row.get(at(11))?,
        error_type: row.get(at(12))?,
        operation: row.get(at(13))?,
        provider: row.get(at(14))?,
        request_model: row.get(at(15))?,
        response_model: row.get(at(16))?,
        response_id: row.get(at(17))?,
        usage: TokenUsage {
            input: optional_count(row, at(18))?,
            output: optional_count(row, at(19))?,
            cached_input: optional_count(row, at(20))?,
            cache_write_input: optional_count(row, at(21))?,
            reasoning: optional_count(row, at(22))?,
            total: optional_count(row, at(23))?,
        },
        tokens_estimated: estimated != 0,
        cost_usd: row.get(at(25))?,
        cost_status: cost_status.as_deref().and_then(CostStatus::parse),
        computed_cost_usd: row.get(at(40))?,
        ttft_ms: row.get(at(27))?,
        time_per_output_token_ms: row.get(at(41))?,
        output_tokens_per_second: row.get(at(42))?,
        streaming: streaming.map(|flag| flag != 0),
        tool_name: row.get(at(29))?,
        user_id: row.get(at(30))?,
        session_id: row.get(at(31))?,
        finish_reasons: json_column(row, at(32), "finish_reasons")?,
        tags: json_column(row, at(33), "tags")?,
        metadata: into_object(metadata),
        input_messages,
        output_messages,
        attributes: into_object(attributes),
        resource_attributes: into_object(resource_attributes),
        events,
        flags: json_column(row, at(43), "flags")?,
        input_language: row.get(at(44))?,
        output_language: row.get(at(45))?,
    })
}

fn into_object(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// Returns the text indexed for full-text search: every message's content and tool
/// arguments, one per line.
pub(crate) fn searchable_text(span: &Span) -> String {
    let mut text = String::new();
    let messages = span
        .input_messages
        .iter()
        .chain(span.output_messages.iter())
        .flatten();
    for message in messages {
        if let Some(content) = &message.content {
            text.push_str(content);
            text.push('\n');
        }
        for call in &message.tool_calls {
            text.push_str(&call.name);
            text.push(' ');
            text.push_str(&call.arguments.to_string());
            text.push('\n');
        }
    }
    text
}
