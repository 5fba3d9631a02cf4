//! `/api/v1/metrics/*` and `/api/v1/functions`: aggregates over spans.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use glassbox_model::{ErrorClass, SpanKind};
use glassbox_store::sketch::Sketch;
use glassbox_store::{Aggregate, FunctionStats, GroupBy, MetricsFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::ApiState;
use crate::error::{ApiError, ErrorBody};
use crate::params::extract;
use crate::time_format::{format_nanos, parse_rfc3339};

/// Default range when `from` is not given: the last 24 hours.
pub(crate) const DEFAULT_RANGE_NANOS: u64 = 24 * 3_600 * 1_000_000_000;
/// Most points a time series may have per group.
const MAX_POINTS: u64 = 10_000;

/// Filters and grouping of the metrics endpoints.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MetricsQuery {
    /// Start of the range (RFC 3339), inclusive; default 24 hours before `to`.
    from: Option<String>,
    /// End of the range (RFC 3339), exclusive; default now.
    to: Option<String>,
    /// `model`, `provider`, `service`, `operation`, `kind`, `user_id`, `session_id` or `tag`.
    group_by: Option<String>,
    /// Service name.
    service: Option<String>,
    /// Model (response model, else request model).
    model: Option<String>,
    /// Provider.
    provider: Option<String>,
    /// GenAI operation (`chat`, `embeddings`, ...).
    operation: Option<String>,
    /// User id.
    user_id: Option<String>,
    /// Session id.
    session_id: Option<String>,
    /// Tag.
    tag: Option<String>,
    /// Comma-separated span kinds, or `all`; default `llm,embedding` (model calls).
    kind: Option<String>,
    /// Time series only: the figure to chart (see the endpoint's description).
    metric: Option<String>,
    /// Time series only: step as seconds or with a unit (`60`, `5m`, `1h`, `1d`), a multiple
    /// of one minute; default about 100 points over the range.
    step: Option<String>,
}

/// Returns the current time in nanoseconds since the Unix epoch.
pub(crate) fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
        })
}

pub(crate) fn time(name: &str, value: Option<&str>) -> Result<Option<u64>, ApiError> {
    value
        .filter(|text| !text.is_empty())
        .map(|text| {
            parse_rfc3339(text).map_err(|problem| ApiError::invalid_parameter(name, problem))
        })
        .transpose()
}

pub(crate) fn non_empty(value: &Option<String>) -> Option<String> {
    value.as_ref().filter(|text| !text.is_empty()).cloned()
}

fn kinds(value: Option<&str>) -> Result<Vec<SpanKind>, ApiError> {
    match value {
        None | Some("") => Ok(vec![SpanKind::Llm, SpanKind::Embedding]),
        Some("all") => Ok(Vec::new()),
        Some(list) => list
            .split(',')
            .map(|name| {
                SpanKind::parse(name.trim()).ok_or_else(|| {
                    let names: Vec<&str> = SpanKind::ALL.iter().map(|kind| kind.as_str()).collect();
                    ApiError::invalid_parameter(
                        "kind",
                        format!("{name:?} is not `all` or one of {}", names.join(", ")),
                    )
                })
            })
            .collect(),
    }
}

impl MetricsQuery {
    fn filter(&self) -> Result<MetricsFilter, ApiError> {
        let to = time("to", self.to.as_deref())?.unwrap_or_else(now_nanos);
        let from =
            time("from", self.from.as_deref())?.unwrap_or(to.saturating_sub(DEFAULT_RANGE_NANOS));
        if from >= to {
            return Err(ApiError::invalid_parameter(
                "from",
                "must be earlier than to",
            ));
        }
        Ok(MetricsFilter {
            from_unix_nano: from,
            to_unix_nano: to,
            kinds: kinds(self.kind.as_deref())?,
            service: non_empty(&self.service),
            model: non_empty(&self.model),
            provider: non_empty(&self.provider),
            operation: non_empty(&self.operation),
            user_id: non_empty(&self.user_id),
            session_id: non_empty(&self.session_id),
            tag: non_empty(&self.tag),
        })
    }

    fn group_by(&self) -> Result<Option<GroupBy>, ApiError> {
        self.group_by
            .as_deref()
            .filter(|text| !text.is_empty())
            .map(|text| {
                GroupBy::parse(text).ok_or_else(|| {
                    ApiError::invalid_parameter(
                        "group_by",
                        format!("{text:?} is not one of model, provider, service, operation, kind, user_id, session_id, tag"),
                    )
                })
            })
            .transpose()
    }

    fn reject_series_parameters(&self) -> Result<(), ApiError> {
        for (name, value) in [("metric", &self.metric), ("step", &self.step)] {
            if value.is_some() {
                return Err(ApiError::invalid_parameter(
                    name,
                    "applies to /api/v1/metrics/timeseries only",
                ));
            }
        }
        Ok(())
    }
}

/// Percentiles of a distribution. Each figure a field offers is always present, null when the
/// distribution is empty.
#[derive(Serialize, ToSchema)]
pub struct Percentiles {
    p50: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    p90: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    p95: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    p99: Option<Option<f64>>,
}

fn percentiles(sketch: &Sketch, with: &[f64]) -> Percentiles {
    let at = |q: f64| with.contains(&q).then(|| sketch.quantile(q));
    Percentiles {
        p50: sketch.quantile(0.5),
        p90: at(0.9),
        p95: at(0.95),
        p99: at(0.99),
    }
}

/// Figures of one group.
#[derive(Serialize, ToSchema)]
pub struct GroupView {
    /// The group's value of `group_by`; null without grouping or for spans that lack it.
    key: Option<String>,
    count: u64,
    error_count: u64,
    /// Failed share of `count`, 0 to 1; null when `count` is 0.
    error_rate: Option<f64>,
    /// Failed calls by type: `rate_limited`, `timeout`, `server_error`, `client_error`,
    /// `content_filter`, `other`.
    errors_by_type: BTreeMap<String, u64>,
    input_tokens: u64,
    output_tokens: u64,
    cached_input_tokens: u64,
    cache_write_input_tokens: u64,
    reasoning_tokens: u64,
    total_tokens: u64,
    /// Sum of known costs in USD; null when no span had a cost.
    cost_usd: Option<f64>,
    /// Model calls whose model has no price.
    unpriced_count: u64,
    /// Span duration percentiles in milliseconds (p50, p90, p95, p99), within 1%.
    latency_ms: Percentiles,
    /// Time to first token percentiles in milliseconds (p50, p95).
    ttft_ms: Percentiles,
    /// Output tokens per second (p50).
    output_tokens_per_second: Percentiles,
}

fn group_view(key: Option<String>, aggregate: &Aggregate) -> GroupView {
    let errors_by_type = ErrorClass::ALL
        .iter()
        .map(|class| (class.as_str().to_owned(), aggregate.errors_of(*class)))
        .collect();
    GroupView {
        key,
        count: aggregate.count,
        error_count: aggregate.error_count,
        error_rate: (aggregate.count > 0)
            .then(|| aggregate.error_count as f64 / aggregate.count as f64),
        errors_by_type,
        input_tokens: aggregate.input_tokens,
        output_tokens: aggregate.output_tokens,
        cached_input_tokens: aggregate.cached_input_tokens,
        cache_write_input_tokens: aggregate.cache_write_input_tokens,
        reasoning_tokens: aggregate.reasoning_tokens,
        total_tokens: aggregate.total_tokens,
        cost_usd: aggregate.cost_usd,
        unpriced_count: aggregate.unpriced_count,
        latency_ms: percentiles(&aggregate.latency_ms, &[0.9, 0.95, 0.99]),
        ttft_ms: percentiles(&aggregate.ttft_ms, &[0.95]),
        output_tokens_per_second: percentiles(&aggregate.output_tokens_per_second, &[]),
    }
}

/// A summary.
#[derive(Serialize, ToSchema)]
pub struct SummaryView {
    from: String,
    to: String,
    group_by: Option<String>,
    /// Largest count first.
    groups: Vec<GroupView>,
}

/// Totals, error rates, tokens, cost and latency percentiles over a range, optionally grouped.
///
/// Groupings and filters on model, provider, service, operation and kind read the rollups (day,
/// hour and minute rows, with the range widened to whole minutes). Those on `user_id`,
/// `session_id` and `tag` read the spans.
#[utoipa::path(get, path = "/api/v1/metrics/summary", params(MetricsQuery), responses(
    (status = 200, body = SummaryView),
    (status = 400, body = ErrorBody, description = "A parameter is invalid"),
))]
pub async fn summary(
    State(state): State<ApiState>,
    query: Result<Query<MetricsQuery>, QueryRejection>,
) -> Result<Json<SummaryView>, ApiError> {
    let query = extract(query)?;
    query.reject_series_parameters()?;
    let filter = query.filter()?;
    let group_by = query.group_by()?;
    let (from, to) = (filter.from_unix_nano, filter.to_unix_nano);
    let groups = state.store.summary(filter, group_by).await?;
    Ok(Json(SummaryView {
        from: format_nanos(from),
        to: format_nanos(to),
        group_by: group_by.map(|group| group.as_str().to_owned()),
        groups: groups
            .iter()
            .map(|group| group_view(group.key.clone(), &group.aggregate))
            .collect(),
    }))
}

/// The figures a time series can chart.
const SERIES_METRICS: &[&str] = &[
    "count",
    "error_count",
    "error_rate",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "reasoning_tokens",
    "total_tokens",
    "cost_usd",
    "unpriced_count",
    "latency_p50",
    "latency_p90",
    "latency_p95",
    "latency_p99",
    "ttft_p50",
    "ttft_p95",
    "output_tokens_per_second_p50",
];

fn series_value(metric: &str, aggregate: Option<&Aggregate>) -> Option<f64> {
    let Some(aggregate) = aggregate else {
        return match metric {
            "error_rate" | "cost_usd" => None,
            _ if metric.contains("_p") => None,
            _ => Some(0.0),
        };
    };
    match metric {
        "count" => Some(aggregate.count as f64),
        "error_count" => Some(aggregate.error_count as f64),
        "error_rate" => {
            (aggregate.count > 0).then(|| aggregate.error_count as f64 / aggregate.count as f64)
        }
        "input_tokens" => Some(aggregate.input_tokens as f64),
        "output_tokens" => Some(aggregate.output_tokens as f64),
        "cached_input_tokens" => Some(aggregate.cached_input_tokens as f64),
        "reasoning_tokens" => Some(aggregate.reasoning_tokens as f64),
        "total_tokens" => Some(aggregate.total_tokens as f64),
        "cost_usd" => aggregate.cost_usd,
        "unpriced_count" => Some(aggregate.unpriced_count as f64),
        "latency_p50" => aggregate.latency_ms.quantile(0.5),
        "latency_p90" => aggregate.latency_ms.quantile(0.9),
        "latency_p95" => aggregate.latency_ms.quantile(0.95),
        "latency_p99" => aggregate.latency_ms.quantile(0.99),
        "ttft_p50" => aggregate.ttft_ms.quantile(0.5),
        "ttft_p95" => aggregate.ttft_ms.quantile(0.95),
        "output_tokens_per_second_p50" => aggregate.output_tokens_per_second.quantile(0.5),
        _ => None,
    }
}

/// Parses a step such as `300`, `5m`, `1h` or `1d` into seconds.
pub(crate) fn parse_step(text: &str) -> Result<i64, ApiError> {
    let invalid = || {
        ApiError::invalid_parameter(
            "step",
            format!("{text:?} is not a duration such as 60, 5m, 1h or 1d"),
        )
    };
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let number: i64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit {
        "s" => number,
        "m" => number * 60,
        "h" => number * 3_600,
        "d" => number * 86_400,
        _ => return Err(invalid()),
    };
    if seconds <= 0 || seconds % 60 != 0 {
        return Err(ApiError::invalid_parameter(
            "step",
            format!("{text:?} must be a positive multiple of one minute"),
        ));
    }
    Ok(seconds)
}

/// Steps of a time series: the first starts at `from` rounded down to the minute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Steps {
    /// Start of the first step, nanoseconds since the Unix epoch.
    pub first: u64,
    /// Width of a step in nanoseconds.
    pub width_nanos: u64,
    /// Number of steps until `to`.
    pub count: u64,
}

/// Returns the steps of `step_seconds` over `[from, to)`, or an error naming `step` when
/// there would be more than [`MAX_POINTS`].
pub(crate) fn steps_of(from: u64, to: u64, step_seconds: i64) -> Result<Steps, ApiError> {
    let width_nanos = u64::try_from(step_seconds)
        .unwrap_or(u64::MAX)
        .saturating_mul(1_000_000_000);
    let first = from - from % 60_000_000_000;
    let count = to.saturating_sub(first).div_ceil(width_nanos.max(1));
    if count > MAX_POINTS {
        return Err(ApiError::invalid_parameter(
            "step",
            format!("gives {count} points; use a larger step (at most {MAX_POINTS} points)"),
        ));
    }
    Ok(Steps {
        first,
        width_nanos,
        count,
    })
}

pub(crate) fn default_step(range_nanos: u64) -> i64 {
    let seconds = range_nanos / 1_000_000_000 / 100;
    let minutes = seconds.div_ceil(60).max(1);
    i64::try_from(minutes * 60).unwrap_or(i64::MAX)
}

/// One point of a series.
#[derive(Serialize, ToSchema)]
pub struct PointView {
    /// Start of the step.
    time: String,
    /// Null where the figure has no value (a percentile of an empty step).
    value: Option<f64>,
}

/// One group's series.
#[derive(Serialize, ToSchema)]
pub struct SeriesView {
    key: Option<String>,
    /// One point per step from `from`, empty steps included.
    points: Vec<PointView>,
}

/// A time series.
#[derive(Serialize, ToSchema)]
pub struct TimeseriesView {
    metric: String,
    from: String,
    to: String,
    step_seconds: i64,
    group_by: Option<String>,
    series: Vec<SeriesView>,
}

/// One figure per time step, optionally per group. `metric` is one of `count`, `error_count`,
/// `error_rate`, `input_tokens`, `output_tokens`, `cached_input_tokens`, `reasoning_tokens`,
/// `total_tokens`, `cost_usd`, `unpriced_count`, `latency_p50`, `latency_p90`, `latency_p95`,
/// `latency_p99`, `ttft_p50`, `ttft_p95`, `output_tokens_per_second_p50`.
#[utoipa::path(get, path = "/api/v1/metrics/timeseries", params(MetricsQuery), responses(
    (status = 200, body = TimeseriesView),
    (status = 400, body = ErrorBody, description = "A parameter is invalid"),
))]
pub async fn timeseries(
    State(state): State<ApiState>,
    query: Result<Query<MetricsQuery>, QueryRejection>,
) -> Result<Json<TimeseriesView>, ApiError> {
    let query = extract(query)?;
    let metric = query.metric.clone().unwrap_or_else(|| "count".to_owned());
    if !SERIES_METRICS.contains(&metric.as_str()) {
        return Err(ApiError::invalid_parameter(
            "metric",
            format!("{metric:?} is not one of {}", SERIES_METRICS.join(", ")),
        ));
    }
    let filter = query.filter()?;
    let group_by = query.group_by()?;
    let range = filter.to_unix_nano - filter.from_unix_nano;
    let step = match query.step.as_deref() {
        Some(text) => parse_step(text)?,
        None => default_step(range),
    };
    let steps = steps_of(filter.from_unix_nano, filter.to_unix_nano, step)?;

    let (from, to) = (filter.from_unix_nano, filter.to_unix_nano);
    let series = state.store.timeseries(filter, group_by, step).await?;
    let series = series
        .iter()
        .map(|series| {
            let by_start: BTreeMap<u64, &Aggregate> = series
                .steps
                .iter()
                .map(|(start, aggregate)| (*start, aggregate))
                .collect();
            SeriesView {
                key: series.key.clone(),
                points: (0..steps.count)
                    .map(|index| {
                        let start = steps.first + index * steps.width_nanos;
                        PointView {
                            time: format_nanos(start),
                            value: series_value(&metric, by_start.get(&start).copied()),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(Json(TimeseriesView {
        metric,
        from: format_nanos(from),
        to: format_nanos(to),
        step_seconds: step,
        group_by: group_by.map(|group| group.as_str().to_owned()),
        series,
    }))
}

/// One slow call of a function.
#[derive(Serialize, ToSchema)]
pub struct SlowCall {
    trace_id: String,
    duration_ms: f64,
}

/// Statistics of one function.
#[derive(Serialize, ToSchema)]
pub struct FunctionView {
    service: Option<String>,
    name: String,
    kind: String,
    calls: u64,
    errors: u64,
    error_rate: f64,
    /// Duration percentiles in milliseconds (p50, p95, p99).
    duration_ms: Percentiles,
    /// Sum of durations in milliseconds.
    total_ms: f64,
    /// Sum of durations minus the time of direct children, in milliseconds (never negative,
    /// also when children ran in parallel).
    self_ms: f64,
    /// `total_ms` divided by the summed duration of the traces the function appears in.
    share_of_trace_time: Option<f64>,
    /// The slowest calls, slowest first.
    slowest_traces: Vec<SlowCall>,
}

fn function_view(stats: &FunctionStats) -> FunctionView {
    FunctionView {
        service: stats.service.clone(),
        name: stats.name.clone(),
        kind: stats.kind.as_str().to_owned(),
        calls: stats.calls,
        errors: stats.errors,
        error_rate: if stats.calls == 0 {
            0.0
        } else {
            stats.errors as f64 / stats.calls as f64
        },
        duration_ms: percentiles(&stats.duration_ms, &[0.95, 0.99]),
        total_ms: stats.total_ms,
        self_ms: stats.self_ms,
        share_of_trace_time: (stats.trace_ms > 0.0).then(|| stats.total_ms / stats.trace_ms),
        slowest_traces: stats
            .slowest
            .iter()
            .map(|(trace_id, duration_ms)| SlowCall {
                trace_id: trace_id.to_string(),
                duration_ms: *duration_ms,
            })
            .collect(),
    }
}

/// The application's functions.
#[derive(Serialize, ToSchema)]
pub struct FunctionList {
    from: String,
    to: String,
    /// Largest total time first.
    functions: Vec<FunctionView>,
}

/// Every non-model span name by service (the application's own functions, tools and
/// retrievals) with calls, errors, duration percentiles, total and self time, and share of
/// trace time. `service` keeps that service's functions; `user_id`, `session_id`, `tag`,
/// `provider` and `model` keep the traces of that user, session or tag, or that called that
/// provider or model. Reads the spans of the range, so keep ranges to what you need.
#[utoipa::path(get, path = "/api/v1/functions", params(MetricsQuery), responses(
    (status = 200, body = FunctionList),
    (status = 400, body = ErrorBody, description = "A parameter is invalid"),
))]
pub async fn functions(
    State(state): State<ApiState>,
    query: Result<Query<MetricsQuery>, QueryRejection>,
) -> Result<Json<FunctionList>, ApiError> {
    let query = extract(query)?;
    query.reject_series_parameters()?;
    let filter = query.filter()?;
    let (from, to) = (filter.from_unix_nano, filter.to_unix_nano);
    let functions = state.store.functions(filter).await?;
    Ok(Json(FunctionList {
        from: format_nanos(from),
        to: format_nanos(to),
        functions: functions.iter().map(function_view).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_with_units() {
        assert_eq!(parse_step("60").unwrap(), 60);
        assert_eq!(parse_step("5m").unwrap(), 300);
        assert_eq!(parse_step("1h").unwrap(), 3_600);
        assert_eq!(parse_step("1d").unwrap(), 86_400);
        assert!(parse_step("90").is_err());
        assert!(parse_step("0").is_err());
        assert!(parse_step("5x").is_err());
    }

    #[test]
    fn default_step_gives_about_a_hundred_points() {
        assert_eq!(default_step(24 * 3_600 * 1_000_000_000), 900);
        assert_eq!(default_step(60 * 1_000_000_000), 60);
    }
}
