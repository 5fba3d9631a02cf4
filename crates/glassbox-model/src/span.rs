//! The canonical span: one OTLP span after normalization, whatever convention it used.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::flag::Flag;
use crate::ids::{SpanId, TraceId};
use crate::message::Message;

/// The role of a span, independent of the instrumentation library that produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    /// A model call that generates text: chat, text completion, responses.
    Llm,
    /// A call that turns input into embedding vectors.
    Embedding,
    /// The execution of a tool or function called by a model.
    Tool,
    /// A search over a document store or vector index.
    Retrieval,
    /// A call that reorders documents by relevance.
    Rerank,
    /// An agent invocation that plans and calls models and tools.
    Agent,
    /// A workflow, chain or task that orchestrates other spans.
    Chain,
    /// A safety check on inputs or outputs.
    Guardrail,
    /// An evaluation that scores another span's output.
    Evaluator,
    /// Any span without a GenAI meaning, such as an HTTP client span.
    #[default]
    Other,
}

impl SpanKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [SpanKind; 10] = [
        SpanKind::Llm,
        SpanKind::Embedding,
        SpanKind::Tool,
        SpanKind::Retrieval,
        SpanKind::Rerank,
        SpanKind::Agent,
        SpanKind::Chain,
        SpanKind::Guardrail,
        SpanKind::Evaluator,
        SpanKind::Other,
    ];

    /// Returns the lowercase name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Llm => "llm",
            SpanKind::Embedding => "embedding",
            SpanKind::Tool => "tool",
            SpanKind::Retrieval => "retrieval",
            SpanKind::Rerank => "rerank",
            SpanKind::Agent => "agent",
            SpanKind::Chain => "chain",
            SpanKind::Guardrail => "guardrail",
            SpanKind::Evaluator => "evaluator",
            SpanKind::Other => "other",
        }
    }

    /// Parses the lowercase name; returns `None` for anything else.
    pub fn parse(text: &str) -> Option<SpanKind> {
        SpanKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// The outcome of a span, from the OTLP status code and GenAI error attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SpanStatus {
    /// The instrumentation set no status.
    #[default]
    Unset,
    /// The instrumentation marked the span as successful.
    Ok,
    /// The span failed.
    Error,
}

impl SpanStatus {
    /// Returns the lowercase name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanStatus::Unset => "unset",
            SpanStatus::Ok => "ok",
            SpanStatus::Error => "error",
        }
    }

    /// Parses the lowercase name; returns `None` for anything else.
    pub fn parse(text: &str) -> Option<SpanStatus> {
        match text {
            "unset" => Some(SpanStatus::Unset),
            "ok" => Some(SpanStatus::Ok),
            "error" => Some(SpanStatus::Error),
            _ => None,
        }
    }
}

/// The source of a span's `cost_usd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostStatus {
    /// Glassbox computed the cost from token counts and a price.
    Computed,
    /// The instrumentation sent the cost itself.
    Reported,
    /// The span used tokens of a model that has no known price; `cost_usd` is null.
    Unpriced,
}

impl CostStatus {
    /// Returns the lowercase name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            CostStatus::Computed => "computed",
            CostStatus::Reported => "reported",
            CostStatus::Unpriced => "unpriced",
        }
    }

    /// Parses the lowercase name; returns `None` for anything else.
    pub fn parse(text: &str) -> Option<CostStatus> {
        match text {
            "computed" => Some(CostStatus::Computed),
            "reported" => Some(CostStatus::Reported),
            "unpriced" => Some(CostStatus::Unpriced),
            _ => None,
        }
    }
}

/// Token counts of one model call, with the OpenTelemetry GenAI definitions.
///
/// `input` counts every input token, cache reads and cache writes included, so `cached_input`
/// and `cache_write_input` are subsets of it. `output` includes `reasoning`. A count the
/// payload did not carry is `None`, never zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenUsage {
    /// All input tokens, cached ones included.
    pub input: Option<u64>,
    /// All output tokens, reasoning included.
    pub output: Option<u64>,
    /// Input tokens read from the provider's prompt cache.
    pub cached_input: Option<u64>,
    /// Input tokens written to the provider's prompt cache.
    pub cache_write_input: Option<u64>,
    /// Output tokens spent on reasoning.
    pub reasoning: Option<u64>,
    /// Total tokens as reported, or input plus output when not reported.
    pub total: Option<u64>,
}

impl TokenUsage {
    /// Returns the total as reported, else the sum of the known input and output counts;
    /// `None` when neither is known.
    pub fn total_or_sum(&self) -> Option<u64> {
        self.total.or(match (self.input, self.output) {
            (None, None) => None,
            (input, output) => Some(input.unwrap_or(0) + output.unwrap_or(0)),
        })
    }

    /// Returns true when no count is known.
    pub fn is_empty(&self) -> bool {
        self.input.is_none() && self.output.is_none() && self.total.is_none()
    }
}

/// An OTLP span event (such as an exception or a first-token marker), kept as it came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanEvent {
    /// The event name.
    pub name: String,
    /// When the event happened, in nanoseconds since the Unix epoch.
    pub time_unix_nano: u64,
    /// The event's attributes as JSON values.
    pub attributes: Map<String, Value>,
}

/// The canonical span record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// The trace the span belongs to.
    pub trace_id: TraceId,
    /// The span's own id.
    pub span_id: SpanId,
    /// The parent span, `None` for a root span.
    pub parent_span_id: Option<SpanId>,
    /// The span name as sent.
    pub name: String,
    /// The span's role.
    pub kind: SpanKind,
    /// The `service.name` resource attribute.
    pub service_name: Option<String>,
    /// The instrumentation scope name.
    pub scope_name: Option<String>,
    /// Start time in nanoseconds since the Unix epoch.
    pub start_time_unix_nano: u64,
    /// End time in nanoseconds since the Unix epoch.
    pub end_time_unix_nano: u64,
    /// The outcome.
    pub status: SpanStatus,
    /// The status description or error message.
    pub status_message: Option<String>,
    /// The error type as the payload gave it (`error.type` or the first exception's type).
    pub error_type: Option<String>,
    /// The GenAI operation name (`chat`, `embeddings`, `execute_tool`, ...).
    pub operation: Option<String>,
    /// The normalized provider name (`openai`, `anthropic`, `aws.bedrock`, ...).
    pub provider: Option<String>,
    /// The model named in the request.
    pub request_model: Option<String>,
    /// The model named in the response.
    pub response_model: Option<String>,
    /// The provider's id for the response (`gen_ai.response.id`).
    pub response_id: Option<String>,
    /// Token counts.
    pub usage: TokenUsage,
    /// Whether token counts were estimated rather than reported.
    pub tokens_estimated: bool,
    /// Cost in US dollars, `None` when unknown.
    pub cost_usd: Option<f64>,
    /// The source of `cost_usd`, or `None` for spans without model usage.
    pub cost_status: Option<CostStatus>,
    /// The cost Glassbox computed from its prices. It is kept beside a reported `cost_usd` so
    /// the two can be compared, and equals `cost_usd` when the status is computed.
    pub computed_cost_usd: Option<f64>,
    /// Time to first token in milliseconds.
    pub ttft_ms: Option<f64>,
    /// Time per output token after the first, in milliseconds.
    pub time_per_output_token_ms: Option<f64>,
    /// Output tokens per second over the generation.
    pub output_tokens_per_second: Option<f64>,
    /// Whether the response was streamed.
    pub streaming: Option<bool>,
    /// Finish reasons as the provider returned them.
    pub finish_reasons: Vec<String>,
    /// Messages sent to the model; `None` when the payload carried no content.
    pub input_messages: Option<Vec<Message>>,
    /// Messages returned by the model; `None` when the payload carried no content.
    pub output_messages: Option<Vec<Message>>,
    /// The tool name, for tool spans.
    pub tool_name: Option<String>,
    /// The end user on whose behalf the call was made.
    pub user_id: Option<String>,
    /// The session or conversation id.
    pub session_id: Option<String>,
    /// Free-form tags.
    pub tags: Vec<String>,
    /// Key-value metadata set by the application.
    pub metadata: Map<String, Value>,
    /// Every span attribute as it came, unknown ones included.
    pub attributes: Map<String, Value>,
    /// Every resource attribute as it came.
    pub resource_attributes: Map<String, Value>,
    /// The span's events as they came.
    pub events: Vec<SpanEvent>,
    /// Findings of the analyzers that ran on the span at ingest; empty for spans they skip.
    #[serde(default)]
    pub flags: Vec<Flag>,
    /// The ISO 639-1 code of the language of the last user message, when the language
    /// analyzer was sure of it.
    #[serde(default)]
    pub input_language: Option<String>,
    /// The ISO 639-1 code of the language of the output, when the language analyzer was sure
    /// of it.
    #[serde(default)]
    pub output_language: Option<String>,
}

impl Span {
    /// Creates a span with the given identity and times and every other field empty.
    pub fn new(trace_id: TraceId, span_id: SpanId, name: impl Into<String>) -> Span {
        Span {
            trace_id,
            span_id,
            parent_span_id: None,
            name: name.into(),
            kind: SpanKind::Other,
            service_name: None,
            scope_name: None,
            start_time_unix_nano: 0,
            end_time_unix_nano: 0,
            status: SpanStatus::Unset,
            status_message: None,
            error_type: None,
            operation: None,
            provider: None,
            request_model: None,
            response_model: None,
            response_id: None,
            usage: TokenUsage::default(),
            tokens_estimated: false,
            cost_usd: None,
            cost_status: None,
            computed_cost_usd: None,
            ttft_ms: None,
            time_per_output_token_ms: None,
            output_tokens_per_second: None,
            streaming: None,
            finish_reasons: Vec::new(),
            input_messages: None,
            output_messages: None,
            tool_name: None,
            user_id: None,
            session_id: None,
            tags: Vec::new(),
            metadata: Map::new(),
            attributes: Map::new(),
            resource_attributes: Map::new(),
            events: Vec::new(),
            flags: Vec::new(),
            input_language: None,
            output_language: None,
        }
    }

    /// Returns the duration in milliseconds, zero when the end precedes the start.
    pub fn duration_ms(&self) -> f64 {
        self.end_time_unix_nano
            .saturating_sub(self.start_time_unix_nano) as f64
            / 1e6
    }

    /// Returns the request model when known, else the response model: the name an
    /// application chose, which failed calls carry too, so metrics group a model's successes
    /// and failures together.
    pub fn requested_model(&self) -> Option<&str> {
        self.request_model
            .as_deref()
            .or(self.response_model.as_deref())
    }

    /// Returns the response model when known, else the request model.
    pub fn model(&self) -> Option<&str> {
        self.response_model
            .as_deref()
            .or(self.request_model.as_deref())
    }
}
