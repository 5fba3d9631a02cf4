//! Aggregates of spans, as the metrics API requests them from the store.

use glassbox_model::{ErrorClass, SpanKind};

use crate::sketch::Sketch;

/// A dimension to group aggregates by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Request model, else response model.
    Model,
    /// Normalized provider.
    Provider,
    /// `service.name`.
    Service,
    /// GenAI operation (`chat`, `embeddings`, ...).
    Operation,
    /// Span kind.
    Kind,
    /// User id (read from the spans, not the rollups).
    UserId,
    /// Session id (read from the spans).
    SessionId,
    /// Each tag of a span (read from the spans); a span with two tags counts in both groups.
    Tag,
}

impl GroupBy {
    /// Parses the API name.
    pub fn parse(text: &str) -> Option<GroupBy> {
        Some(match text {
            "model" => GroupBy::Model,
            "provider" => GroupBy::Provider,
            "service" => GroupBy::Service,
            "operation" => GroupBy::Operation,
            "kind" => GroupBy::Kind,
            "user_id" => GroupBy::UserId,
            "session_id" => GroupBy::SessionId,
            "tag" => GroupBy::Tag,
            _ => return None,
        })
    }

    /// Returns the API name.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Model => "model",
            GroupBy::Provider => "provider",
            GroupBy::Service => "service",
            GroupBy::Operation => "operation",
            GroupBy::Kind => "kind",
            GroupBy::UserId => "user_id",
            GroupBy::SessionId => "session_id",
            GroupBy::Tag => "tag",
        }
    }

    /// Returns true when the rollups hold this dimension.
    pub fn in_rollups(self) -> bool {
        !matches!(self, GroupBy::UserId | GroupBy::SessionId | GroupBy::Tag)
    }
}

/// The spans an aggregate covers.
#[derive(Debug, Clone, Default)]
pub struct MetricsFilter {
    /// Start of the range, nanoseconds since the Unix epoch, inclusive.
    pub from_unix_nano: u64,
    /// End of the range, exclusive.
    pub to_unix_nano: u64,
    /// Span kinds; empty means every kind.
    pub kinds: Vec<SpanKind>,
    /// `service.name`.
    pub service: Option<String>,
    /// Model: the request model of a span, or its response model when it has no request
    /// model.
    pub model: Option<String>,
    /// Provider.
    pub provider: Option<String>,
    /// GenAI operation.
    pub operation: Option<String>,
    /// User id (forces reading spans).
    pub user_id: Option<String>,
    /// Session id (forces reading spans).
    pub session_id: Option<String>,
    /// Tag (forces reading spans).
    pub tag: Option<String>,
}

impl MetricsFilter {
    /// Returns true when the rollups cover every dimension of the filter.
    pub fn in_rollups(&self) -> bool {
        self.user_id.is_none() && self.session_id.is_none() && self.tag.is_none()
    }
}

/// Totals and distributions of one group of spans.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Aggregate {
    /// Spans.
    pub count: u64,
    /// Failed spans.
    pub error_count: u64,
    /// Failed spans by [`ErrorClass`], indexed by [`ErrorClass::index`].
    pub errors_by_class: [u64; 6],
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cached input tokens.
    pub cached_input_tokens: u64,
    /// Cache-write input tokens.
    pub cache_write_input_tokens: u64,
    /// Reasoning tokens.
    pub reasoning_tokens: u64,
    /// Total tokens.
    pub total_tokens: u64,
    /// Sum of known costs; `None` when no span had one.
    pub cost_usd: Option<f64>,
    /// Model calls without a price.
    pub unpriced_count: u64,
    /// Span durations in milliseconds.
    pub latency_ms: Sketch,
    /// Time to first token in milliseconds.
    pub ttft_ms: Sketch,
    /// Output tokens per second.
    pub output_tokens_per_second: Sketch,
}

impl Aggregate {
    /// Adds another aggregate.
    pub fn merge(&mut self, other: &Aggregate) {
        self.count += other.count;
        self.error_count += other.error_count;
        for (mine, theirs) in self.errors_by_class.iter_mut().zip(other.errors_by_class) {
            *mine += theirs;
        }
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cached_input_tokens += other.cached_input_tokens;
        self.cache_write_input_tokens += other.cache_write_input_tokens;
        self.reasoning_tokens += other.reasoning_tokens;
        self.total_tokens += other.total_tokens;
        if let Some(cost) = other.cost_usd {
            self.cost_usd = Some(self.cost_usd.unwrap_or(0.0) + cost);
        }
        self.unpriced_count += other.unpriced_count;
        self.latency_ms.merge(&other.latency_ms);
        self.ttft_ms.merge(&other.ttft_ms);
        self.output_tokens_per_second
            .merge(&other.output_tokens_per_second);
    }

    /// Adds one span.
    pub fn add_span(&mut self, span: &glassbox_model::Span) {
        self.count += 1;
        if let Some(class) = glassbox_model::classify_error(span) {
            self.error_count += 1;
            self.errors_by_class[class.index()] += 1;
        }
        let usage = &span.usage;
        self.input_tokens += usage.input.unwrap_or(0);
        self.output_tokens += usage.output.unwrap_or(0);
        self.cached_input_tokens += usage.cached_input.unwrap_or(0);
        self.cache_write_input_tokens += usage.cache_write_input.unwrap_or(0);
        self.reasoning_tokens += usage.reasoning.unwrap_or(0);
        self.total_tokens += usage.total_or_sum().unwrap_or(0);
        if let Some(cost) = span.cost_usd {
            self.cost_usd = Some(self.cost_usd.unwrap_or(0.0) + cost);
        }
        if span.cost_status == Some(glassbox_model::CostStatus::Unpriced) {
            self.unpriced_count += 1;
        }
        self.latency_ms.add(span.duration_ms());
        if let Some(ttft) = span.ttft_ms {
            self.ttft_ms.add(ttft);
        }
        if let Some(rate) = span.output_tokens_per_second {
            self.output_tokens_per_second.add(rate);
        }
    }

    /// Returns the failed spans of one class.
    pub fn errors_of(&self, class: ErrorClass) -> u64 {
        self.errors_by_class[class.index()]
    }
}

/// One group of a summary.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupAggregate {
    /// The group's value of the `group_by` dimension; `None` without grouping or for spans
    /// that lack the dimension.
    pub key: Option<String>,
    /// The aggregate.
    pub aggregate: Aggregate,
}

/// One group's aggregates per time step.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The group's value of the `group_by` dimension.
    pub key: Option<String>,
    /// Aggregates by step start (nanoseconds since the Unix epoch), in time order; steps
    /// without spans are absent.
    pub steps: Vec<(u64, Aggregate)>,
}

/// Statistics of one application function (a span name of a non-model span, by service).
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionStats {
    /// `service.name`.
    pub service: Option<String>,
    /// The span name.
    pub name: String,
    /// The most frequent span kind of the function.
    pub kind: SpanKind,
    /// Calls.
    pub calls: u64,
    /// Failed calls.
    pub errors: u64,
    /// Durations in milliseconds.
    pub duration_ms: Sketch,
    /// Sum of durations in milliseconds.
    pub total_ms: f64,
    /// Sum of self times (duration minus the time of direct children) in milliseconds.
    pub self_ms: f64,
    /// Sum of the durations of the traces the function appears in, in milliseconds.
    pub trace_ms: f64,
    /// The slowest calls: trace id and duration in milliseconds, slowest first.
    pub slowest: Vec<(glassbox_model::TraceId, f64)>,
}

/// How often one model stopped for one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishReasonCount {
    /// Request model, else response model.
    pub model: Option<String>,
    /// The finish reason as normalized at ingest (`stop`, `length`, `tool_calls`, ...).
    pub reason: String,
    /// Spans that reported it.
    pub count: u64,
}

/// Totals of one user over the traces that name the user, whichever span carried the id.
#[derive(Debug, Clone, PartialEq)]
pub struct UserTotal {
    /// The user id.
    pub user_id: String,
    /// Traces.
    pub traces: u64,
    /// Model calls in those traces.
    pub model_calls: u64,
    /// Failed spans in those traces.
    pub errors: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Sum of known costs.
    pub cost_usd: Option<f64>,
    /// Sum of trace durations in milliseconds.
    pub total_ms: f64,
}

/// Totals of one value of a dimension, summed by the store without percentiles: the cheap
/// figures of a "top" list.
#[derive(Debug, Clone, PartialEq)]
pub struct TopTotal {
    /// The value: a user id, or a function's span name.
    pub key: String,
    /// A function's service; `None` for users and for spans without a service.
    pub service: Option<String>,
    /// Spans.
    pub calls: u64,
    /// Failed spans (status error).
    pub errors: u64,
    /// Sum of known costs.
    pub cost_usd: Option<f64>,
    /// Sum of durations in milliseconds.
    pub total_ms: f64,
}
