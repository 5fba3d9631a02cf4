//! Filters, pages and cursors of the read side.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use glassbox_model::{SpanKind, SpanStatus};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// Filters shared by the trace, span and session listings. Every field is optional.
#[derive(Debug, Clone, Default)]
pub struct TraceFilter {
    /// Earliest start time, nanoseconds since the Unix epoch, inclusive.
    pub from_unix_nano: Option<u64>,
    /// Latest start time, nanoseconds since the Unix epoch, exclusive.
    pub to_unix_nano: Option<u64>,
    /// `service.name` of a span in the trace.
    pub service: Option<String>,
    /// Request or response model of a span in the trace.
    pub model: Option<String>,
    /// Provider of a span in the trace.
    pub provider: Option<String>,
    /// User id.
    pub user_id: Option<String>,
    /// Session id.
    pub session_id: Option<String>,
    /// Only traces (or spans) with an error.
    pub errors_only: bool,
    /// Full-text query over message content.
    pub text: Option<String>,
    /// Minimum duration in milliseconds.
    pub min_duration_ms: Option<f64>,
    /// An analyzer flag that a span (of the trace) carries: an analyzer name such as `pii`,
    /// a finding such as `email`, or `any` for every flagged span.
    pub flag: Option<String>,
    /// The order of the trace listing (the span and session listings are always newest
    /// first).
    pub order: TraceOrder,
}

/// The order of a trace listing. Each order breaks ties by trace id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TraceOrder {
    /// Latest start first.
    #[default]
    Newest,
    /// Earliest start first.
    Oldest,
    /// Longest duration first.
    Slowest,
    /// Highest cost first; traces without a cost come last.
    Costliest,
    /// Most total tokens first; traces without a count come last.
    MostTokens,
}

impl TraceOrder {
    /// Parses the API name.
    pub fn parse(text: &str) -> Option<TraceOrder> {
        Some(match text {
            "newest" => TraceOrder::Newest,
            "oldest" => TraceOrder::Oldest,
            "slowest" => TraceOrder::Slowest,
            "costliest" => TraceOrder::Costliest,
            "most_tokens" => TraceOrder::MostTokens,
            _ => return None,
        })
    }

    /// Returns the API name.
    pub fn as_str(self) -> &'static str {
        match self {
            TraceOrder::Newest => "newest",
            TraceOrder::Oldest => "oldest",
            TraceOrder::Slowest => "slowest",
            TraceOrder::Costliest => "costliest",
            TraceOrder::MostTokens => "most_tokens",
        }
    }

    /// Every order, in the order a listing offers them.
    pub const ALL: [TraceOrder; 5] = [
        TraceOrder::Newest,
        TraceOrder::Oldest,
        TraceOrder::Slowest,
        TraceOrder::Costliest,
        TraceOrder::MostTokens,
    ];
}

/// Filters of the span listing: the trace filters plus span kind and status.
#[derive(Debug, Clone, Default)]
pub struct SpanFilter {
    /// The shared filters, applied to each span.
    pub common: TraceFilter,
    /// Span kind.
    pub kind: Option<SpanKind>,
    /// Span status (in addition to `errors_only`).
    pub status: Option<SpanStatus>,
    /// Spans of one trace.
    pub trace_id: Option<glassbox_model::TraceId>,
}

/// A page request.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Maximum number of items.
    pub limit: usize,
    /// The position where the previous page ended.
    pub cursor: Option<Cursor>,
}

/// A position in a listing ordered by time then id, newest first. Opaque to API clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// Time of the last item returned, nanoseconds since the Unix epoch; for orders by
    /// duration or tokens, that value of the last item.
    pub time: i64,
    /// For the order by cost: the cost of the last item (-1 when it had none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Key of the last item returned, to break ties.
    pub key: String,
}

impl Cursor {
    /// Encodes the cursor as URL-safe text.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Decodes a cursor produced by [`Cursor::encode`].
    pub fn decode(text: &str) -> Result<Cursor, StoreError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| StoreError::InvalidCursor("not produced by this server".into()))?;
        serde_json::from_slice(&bytes)
            .map_err(|_| StoreError::InvalidCursor("not produced by this server".into()))
    }
}

/// Totals of one session (conversation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    /// The session id.
    pub session_id: String,
    /// The first user id seen in the session.
    pub user_id: Option<String>,
    /// Number of traces.
    pub trace_count: u64,
    /// Start of the first trace, nanoseconds since the Unix epoch.
    pub start_time_unix_nano: u64,
    /// End of the last trace, nanoseconds since the Unix epoch.
    pub end_time_unix_nano: u64,
    /// Number of spans with an error.
    pub error_count: u64,
    /// Sum of input tokens; `None` when no trace carried a count.
    pub input_tokens: Option<u64>,
    /// Sum of output tokens; `None` when no trace carried a count.
    pub output_tokens: Option<u64>,
    /// Sum of known costs.
    pub cost_usd: Option<f64>,
}
