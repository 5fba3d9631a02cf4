//! `/api/v1/metrics/points` and `/api/v1/metrics/names`: stored metric points (OTLP metrics
//! and scraped infrastructure metrics) as series.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use glassbox_store::PointQuery;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::ApiState;
use crate::error::{ApiError, ErrorBody};
use crate::metrics::{now_nanos, parse_step};
use crate::params::extract;
use crate::time_format::{format_nanos, parse_rfc3339};

/// Default range when `from` is not given: the last hour.
const DEFAULT_RANGE_NANOS: u64 = 3_600 * 1_000_000_000;
/// Most steps a series may have.
const MAX_STEPS: u64 = 10_000;

/// Selection of metric points.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PointsQuery {
    /// The metric name, such as `inference.requests.waiting` or `hw.gpu.utilization`.
    name: Option<String>,
    /// Start of the range (RFC 3339), inclusive; default one hour before `to`.
    from: Option<String>,
    /// End of the range (RFC 3339), exclusive; default now.
    to: Option<String>,
    /// Step as seconds or with a unit (`60`, `5m`, `1h`), a multiple of one minute; default
    /// about 60 steps over the range.
    step: Option<String>,
    /// Label filters, comma-separated `key=value` pairs, such as `target=vllm-a,model=llama`.
    labels: Option<String>,
}

/// One step of a series.
#[derive(Serialize, ToSchema)]
pub struct PointStepView {
    /// Start of the step.
    time: String,
    /// Mean of the step's points.
    mean: f64,
    /// Value of the step's latest point.
    last: f64,
}

/// The points of one label set.
#[derive(Serialize, ToSchema)]
pub struct PointSeriesView {
    /// The labels shared by the points.
    #[schema(value_type = Object)]
    labels: Map<String, Value>,
    /// Steps with points, in time order.
    steps: Vec<PointStepView>,
}

/// Series of one metric.
#[derive(Serialize, ToSchema)]
pub struct PointsView {
    name: String,
    from: String,
    to: String,
    step_seconds: i64,
    /// One series per label set, at most 200.
    series: Vec<PointSeriesView>,
}

fn range(from: Option<&str>, to: Option<&str>) -> Result<(u64, u64), ApiError> {
    let parse = |name: &str, text: &str| {
        parse_rfc3339(text).map_err(|problem| ApiError::invalid_parameter(name, problem))
    };
    let to = to
        .filter(|text| !text.is_empty())
        .map(|text| parse("to", text))
        .transpose()?
        .unwrap_or_else(now_nanos);
    let from = from
        .filter(|text| !text.is_empty())
        .map(|text| parse("from", text))
        .transpose()?
        .unwrap_or(to.saturating_sub(DEFAULT_RANGE_NANOS));
    if from >= to {
        return Err(ApiError::invalid_parameter(
            "from",
            "must be earlier than to",
        ));
    }
    Ok((from, to))
}

fn labels(text: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let Some(text) = text.filter(|text| !text.is_empty()) else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(|pair| {
            pair.split_once('=')
                .filter(|(key, value)| !key.trim().is_empty() && !value.trim().is_empty())
                .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
                .ok_or_else(|| {
                    ApiError::invalid_parameter(
                        "labels",
                        format!("{pair:?} is not a key=value pair"),
                    )
                })
        })
        .collect()
}

/// Metric points of one name, averaged per label set and step.
#[utoipa::path(get, path = "/api/v1/metrics/points", params(PointsQuery), responses(
    (status = 200, body = PointsView),
    (status = 400, body = ErrorBody, description = "A parameter is invalid"),
))]
pub async fn points(
    State(state): State<ApiState>,
    query: Result<Query<PointsQuery>, QueryRejection>,
) -> Result<Json<PointsView>, ApiError> {
    let query = extract(query)?;
    let name = query
        .name
        .clone()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| {
            ApiError::invalid_parameter("name", "is required; GET /api/v1/metrics/names lists them")
        })?;
    let (from, to) = range(query.from.as_deref(), query.to.as_deref())?;
    let step = match query.step.as_deref() {
        Some(text) => parse_step(text)?,
        None => {
            let minutes = ((to - from) / 60 / 1_000_000_000).div_ceil(60).max(1);
            i64::try_from(minutes * 60).unwrap_or(i64::MAX)
        }
    };
    let steps = (to - from) / 1_000_000_000 / u64::try_from(step).unwrap_or(1).max(1);
    if steps > MAX_STEPS {
        return Err(ApiError::invalid_parameter(
            "step",
            format!("gives {steps} steps over the range; at most {MAX_STEPS} are allowed"),
        ));
    }
    let series = state
        .store
        .metric_series(
            PointQuery {
                name: name.clone(),
                from_unix_nano: from,
                to_unix_nano: to,
                labels: labels(query.labels.as_deref())?,
            },
            step,
        )
        .await?;
    Ok(Json(PointsView {
        name,
        from: format_nanos(from),
        to: format_nanos(to),
        step_seconds: step,
        series: series
            .into_iter()
            .map(|series| PointSeriesView {
                labels: series.labels,
                steps: series
                    .steps
                    .into_iter()
                    .map(|step| PointStepView {
                        time: format_nanos(step.start_unix_nano),
                        mean: step.mean,
                        last: step.last,
                    })
                    .collect(),
            })
            .collect(),
    }))
}

/// Range of the names listing.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NamesQuery {
    /// Start of the range (RFC 3339), inclusive; default one hour before `to`.
    from: Option<String>,
    /// End of the range (RFC 3339), exclusive; default now.
    to: Option<String>,
}

/// One metric name.
#[derive(Serialize, ToSchema)]
pub struct MetricNameView {
    name: String,
    /// `gauge`, `sum`, `histogram`, `exponential_histogram` or `summary`.
    kind: String,
    unit: Option<String>,
    /// Points stored in the range.
    points: u64,
}

/// Metric names.
#[derive(Serialize, ToSchema)]
pub struct MetricNamesView {
    from: String,
    to: String,
    names: Vec<MetricNameView>,
}

/// The metric names with points in a range, alphabetically.
#[utoipa::path(get, path = "/api/v1/metrics/names", params(NamesQuery), responses(
    (status = 200, body = MetricNamesView),
    (status = 400, body = ErrorBody, description = "A parameter is invalid"),
))]
pub async fn names(
    State(state): State<ApiState>,
    query: Result<Query<NamesQuery>, QueryRejection>,
) -> Result<Json<MetricNamesView>, ApiError> {
    let query = extract(query)?;
    let (from, to) = range(query.from.as_deref(), query.to.as_deref())?;
    let names = state.store.metric_names(from, to).await?;
    Ok(Json(MetricNamesView {
        from: format_nanos(from),
        to: format_nanos(to),
        names: names
            .into_iter()
            .map(|name| MetricNameView {
                name: name.name,
                kind: name.kind,
                unit: name.unit,
                points: name.points,
            })
            .collect(),
    }))
}
