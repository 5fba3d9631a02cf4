//! The trace summary derived from a trace's spans.

use serde::{Deserialize, Serialize};

use crate::ids::{SpanId, TraceId};

/// A summary of one trace, kept up to date as its spans arrive in any order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    /// The trace id.
    pub trace_id: TraceId,
    /// The root span, once it has arrived.
    pub root_span_id: Option<SpanId>,
    /// The root span's name, or the earliest span's name until the root arrives.
    pub root_name: Option<String>,
    /// The service of the root span (or the earliest span).
    pub service_name: Option<String>,
    /// The earliest span start, in nanoseconds since the Unix epoch.
    pub start_time_unix_nano: u64,
    /// The latest span end, in nanoseconds since the Unix epoch.
    pub end_time_unix_nano: u64,
    /// Number of spans stored.
    pub span_count: u64,
    /// Number of spans with status error.
    pub error_count: u64,
    /// Number of model calls (kinds `llm` and `embedding`).
    pub llm_call_count: u64,
    /// Sum of input tokens; `None` when no span carried a count.
    pub input_tokens: Option<u64>,
    /// Sum of output tokens; `None` when no span carried a count.
    pub output_tokens: Option<u64>,
    /// Sum of total tokens (each span's reported total, else its input plus output); `None`
    /// when no span carried a count.
    pub total_tokens: Option<u64>,
    /// Sum of known costs in US dollars; `None` when no span had a cost.
    pub cost_usd: Option<f64>,
    /// Number of spans whose model has no known price, so their cost is missing from
    /// `cost_usd`.
    #[serde(default)]
    pub unpriced_call_count: u64,
    /// Models used, response model where known.
    pub models: Vec<String>,
    /// The first user id seen on the trace's spans.
    pub user_id: Option<String>,
    /// The first session id seen on the trace's spans.
    pub session_id: Option<String>,
    /// Union of the spans' tags.
    pub tags: Vec<String>,
}

impl TraceSummary {
    /// Returns the duration in milliseconds.
    pub fn duration_ms(&self) -> f64 {
        self.end_time_unix_nano
            .saturating_sub(self.start_time_unix_nano) as f64
            / 1e6
    }
}
