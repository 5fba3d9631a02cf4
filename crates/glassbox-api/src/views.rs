//! JSON shapes of the API. Ids are lowercase hex, times RFC 3339 with nanoseconds, and an
//! absent value is `null`.

use glassbox_model::{Flag, Message, Span, SpanEvent, TraceSummary};
use glassbox_store::SessionSummary;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::time_format::format_nanos;

/// A span.
#[derive(Serialize, ToSchema)]
pub struct SpanView {
    trace_id: String,
    span_id: String,
    parent_span_id: Option<String>,
    name: String,
    /// One of `llm`, `embedding`, `tool`, `retrieval`, `rerank`, `agent`, `chain`,
    /// `guardrail`, `evaluator`, `other`.
    kind: String,
    service_name: Option<String>,
    scope_name: Option<String>,
    start_time: String,
    end_time: String,
    duration_ms: f64,
    /// One of `ok`, `error`, `unset`.
    status: String,
    status_message: Option<String>,
    error_type: Option<String>,
    operation: Option<String>,
    provider: Option<String>,
    request_model: Option<String>,
    response_model: Option<String>,
    response_id: Option<String>,
    /// All input tokens, cache reads and writes included.
    input_tokens: Option<u64>,
    /// All output tokens, reasoning included.
    output_tokens: Option<u64>,
    cached_input_tokens: Option<u64>,
    cache_write_input_tokens: Option<u64>,
    reasoning_tokens: Option<u64>,
    total_tokens: Option<u64>,
    tokens_estimated: bool,
    cost_usd: Option<f64>,
    /// One of `computed`, `reported`, `unpriced`, or null for spans without model usage.
    cost_status: Option<String>,
    /// The cost computed from Glassbox's prices, beside a reported `cost_usd`.
    computed_cost_usd: Option<f64>,
    ttft_ms: Option<f64>,
    time_per_output_token_ms: Option<f64>,
    output_tokens_per_second: Option<f64>,
    streaming: Option<bool>,
    finish_reasons: Vec<String>,
    /// Null when the payload carried no content.
    #[schema(value_type = Option<Vec<Object>>)]
    input_messages: Option<Vec<Message>>,
    #[schema(value_type = Option<Vec<Object>>)]
    output_messages: Option<Vec<Message>>,
    tool_name: Option<String>,
    user_id: Option<String>,
    session_id: Option<String>,
    tags: Vec<String>,
    #[schema(value_type = Object)]
    metadata: Map<String, Value>,
    #[schema(value_type = Object)]
    attributes: Map<String, Value>,
    #[schema(value_type = Object)]
    resource_attributes: Map<String, Value>,
    events: Vec<EventView>,
    /// Analyzer findings: `analyzer`, `finding`, `message` and `position` (`part`,
    /// `message_index`, optional `tool_call_index` and `argument_path`, byte `start` and
    /// `end`).
    #[schema(value_type = Vec<Object>)]
    flags: Vec<Flag>,
    /// ISO 639-1 code of the last user message's language, when detected.
    input_language: Option<String>,
    /// ISO 639-1 code of the output's language, when detected.
    output_language: Option<String>,
}

/// A span event.
#[derive(Serialize, ToSchema)]
pub struct EventView {
    name: String,
    time: String,
    #[schema(value_type = Object)]
    attributes: Map<String, Value>,
}

impl From<SpanEvent> for EventView {
    fn from(event: SpanEvent) -> EventView {
        EventView {
            name: event.name,
            time: format_nanos(event.time_unix_nano),
            attributes: event.attributes,
        }
    }
}

impl From<Span> for SpanView {
    fn from(span: Span) -> SpanView {
        let duration_ms = span.duration_ms();
        let usage = span.usage;
        SpanView {
            trace_id: span.trace_id.to_string(),
            span_id: span.span_id.to_string(),
            parent_span_id: span.parent_span_id.map(|id| id.to_string()),
            name: span.name,
            kind: span.kind.as_str().to_owned(),
            service_name: span.service_name,
            scope_name: span.scope_name,
            start_time: format_nanos(span.start_time_unix_nano),
            end_time: format_nanos(span.end_time_unix_nano),
            duration_ms,
            status: span.status.as_str().to_owned(),
            status_message: span.status_message,
            error_type: span.error_type,
            operation: span.operation,
            provider: span.provider,
            request_model: span.request_model,
            response_model: span.response_model,
            response_id: span.response_id,
            input_tokens: usage.input,
            output_tokens: usage.output,
            cached_input_tokens: usage.cached_input,
            cache_write_input_tokens: usage.cache_write_input,
            reasoning_tokens: usage.reasoning,
            total_tokens: usage.total,
            tokens_estimated: span.tokens_estimated,
            cost_usd: span.cost_usd,
            cost_status: span.cost_status.map(|status| status.as_str().to_owned()),
            computed_cost_usd: span.computed_cost_usd,
            ttft_ms: span.ttft_ms,
            time_per_output_token_ms: span.time_per_output_token_ms,
            output_tokens_per_second: span.output_tokens_per_second,
            streaming: span.streaming,
            finish_reasons: span.finish_reasons,
            input_messages: span.input_messages,
            output_messages: span.output_messages,
            tool_name: span.tool_name,
            user_id: span.user_id,
            session_id: span.session_id,
            tags: span.tags,
            metadata: span.metadata,
            attributes: span.attributes,
            resource_attributes: span.resource_attributes,
            events: span.events.into_iter().map(EventView::from).collect(),
            flags: span.flags,
            input_language: span.input_language,
            output_language: span.output_language,
        }
    }
}

/// A trace summary.
#[derive(Serialize, ToSchema)]
pub struct TraceView {
    trace_id: String,
    root_span_id: Option<String>,
    /// The root span's name, or the earliest span's until the root arrives.
    root_name: Option<String>,
    service_name: Option<String>,
    start_time: String,
    end_time: String,
    duration_ms: f64,
    span_count: u64,
    error_count: u64,
    llm_call_count: u64,
    /// Null when no span of the trace carried a count.
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    total_tokens: Option<u64>,
    cost_usd: Option<f64>,
    /// Spans whose model has no known price: `cost_usd` leaves their cost out.
    unpriced_call_count: u64,
    models: Vec<String>,
    user_id: Option<String>,
    session_id: Option<String>,
    tags: Vec<String>,
}

impl From<TraceSummary> for TraceView {
    fn from(trace: TraceSummary) -> TraceView {
        let duration_ms = trace.duration_ms();
        TraceView {
            trace_id: trace.trace_id.to_string(),
            root_span_id: trace.root_span_id.map(|id| id.to_string()),
            root_name: trace.root_name,
            service_name: trace.service_name,
            start_time: format_nanos(trace.start_time_unix_nano),
            end_time: format_nanos(trace.end_time_unix_nano),
            duration_ms,
            span_count: trace.span_count,
            error_count: trace.error_count,
            llm_call_count: trace.llm_call_count,
            input_tokens: trace.input_tokens,
            output_tokens: trace.output_tokens,
            total_tokens: trace.total_tokens,
            cost_usd: trace.cost_usd,
            unpriced_call_count: trace.unpriced_call_count,
            models: trace.models,
            user_id: trace.user_id,
            session_id: trace.session_id,
            tags: trace.tags,
        }
    }
}

/// A session's totals.
#[derive(Serialize, ToSchema)]
pub struct SessionView {
    session_id: String,
    user_id: Option<String>,
    trace_count: u64,
    start_time: String,
    end_time: String,
    error_count: u64,
    /// Null when no trace of the session carried a count.
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cost_usd: Option<f64>,
}

impl From<SessionSummary> for SessionView {
    fn from(session: SessionSummary) -> SessionView {
        SessionView {
            session_id: session.session_id,
            user_id: session.user_id,
            trace_count: session.trace_count,
            start_time: format_nanos(session.start_time_unix_nano),
            end_time: format_nanos(session.end_time_unix_nano),
            error_count: session.error_count,
            input_tokens: session.input_tokens,
            output_tokens: session.output_tokens,
            cost_usd: session.cost_usd,
        }
    }
}

/// A page of traces.
#[derive(Serialize, ToSchema)]
pub struct TraceList {
    /// Newest first.
    pub traces: Vec<TraceView>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A trace with its spans.
#[derive(Serialize, ToSchema)]
pub struct TraceDetailView {
    /// The summary.
    pub trace: TraceView,
    /// Every span, ordered by start time.
    pub spans: Vec<SpanView>,
}

/// A page of spans.
#[derive(Serialize, ToSchema)]
pub struct SpanList {
    /// Newest first.
    pub spans: Vec<SpanView>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A page of sessions.
#[derive(Serialize, ToSchema)]
pub struct SessionList {
    /// Most recently active first.
    pub sessions: Vec<SessionView>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A session with its traces.
#[derive(Serialize, ToSchema)]
pub struct SessionDetailView {
    /// The totals.
    pub session: SessionView,
    /// The session's traces in start order.
    pub traces: Vec<TraceView>,
}
