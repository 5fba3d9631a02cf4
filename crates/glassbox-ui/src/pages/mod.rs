//! One module per page, and what the pages share: filters from the query string.

pub mod costs;
pub mod functions;
pub mod infra;
pub mod models;
pub mod overview;
pub mod quality;
pub mod servers;
pub mod sessions;
pub mod span_quality;
pub mod trace;
pub mod traces;
pub mod users;

use glassbox_model::SpanKind;
use glassbox_store::MetricsFilter;

use crate::query::Params;
use crate::range::TimeRange;

/// Returns the current time in nanoseconds since the Unix epoch.
pub fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
        })
}

/// The filters that aggregate pages accept.
pub const METRIC_FILTERS: [&str; 6] = [
    "service",
    "model",
    "provider",
    "user_id",
    "session_id",
    "tag",
];

/// The kinds that count as model calls.
pub const MODEL_CALLS: [SpanKind; 2] = [SpanKind::Llm, SpanKind::Embedding];

/// Builds a metrics filter over a range with the page's service, model, provider, user and
/// tag filters.
pub fn metrics_filter(range: TimeRange, params: &Params, kinds: &[SpanKind]) -> MetricsFilter {
    MetricsFilter {
        from_unix_nano: range.from,
        to_unix_nano: range.to,
        kinds: kinds.to_vec(),
        service: params.owned("service"),
        model: params.owned("model"),
        provider: params.owned("provider"),
        operation: None,
        user_id: params.owned("user_id"),
        session_id: params.owned("session_id"),
        tag: params.owned("tag"),
    }
}
