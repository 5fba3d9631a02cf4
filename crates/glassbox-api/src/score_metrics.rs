//! `/api/v1/metrics/scores`: score aggregates per name, model or source, optionally per time
//! step, shaped like the span metrics (same range defaults, step syntax and point limit).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use glassbox_store::{ScoreAggregate, ScoreGroupBy, ScoreMetricsFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::ApiState;
use crate::error::{ApiError, ErrorBody};
use crate::metrics::{now_nanos, parse_step};
use crate::params::extract;
use crate::scores::{parameter, parse_source};
use crate::time_format::{format_nanos, parse_rfc3339};

/// Default range when `from` is not given: the last 24 hours, as for the span metrics.
const DEFAULT_RANGE_NANOS: u64 = 24 * 3_600 * 1_000_000_000;
/// Most points a time series may have per group, as for the span metrics.
const MAX_POINTS: u64 = 10_000;
const MINUTE_NANOS: u64 = 60_000_000_000;

/// Filters and grouping of the score aggregates.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ScoreMetricsQuery {
    /// Start of the range (RFC 3339), inclusive, over the start time of the scored span or
    /// trace; default 24 hours before `to`.
    from: Option<String>,
    /// End of the range (RFC 3339), exclusive; default now.
    to: Option<String>,
    /// Score name.
    name: Option<String>,
    /// Model of the scored span or trace.
    model: Option<String>,
    /// Service of the scored span or trace.
    service: Option<String>,
    /// `api`, `feedback`, `evaluator`, `llm_judge` or `experiment`.
    source: Option<String>,
    /// `name`, `model` or `source`.
    group_by: Option<String>,
    /// Step as seconds or with a unit (`60`, `5m`, `1h`, `1d`), a multiple of one minute.
    /// Without it, each group has no points.
    step: Option<String>,
}

/// Figures of a set of scores.
#[derive(Serialize, ToSchema)]
pub struct ScoreFigures {
    /// Scores of every data type.
    count: u64,
    /// Mean of the numeric and boolean scores (a boolean counts as 1 or 0); null without
    /// any.
    mean: Option<f64>,
    /// Smallest numeric or boolean score.
    min: Option<f64>,
    /// Largest numeric or boolean score.
    max: Option<f64>,
    /// Categorical scores per category.
    categories: BTreeMap<String, u64>,
}

impl From<&ScoreAggregate> for ScoreFigures {
    fn from(aggregate: &ScoreAggregate) -> ScoreFigures {
        ScoreFigures {
            count: aggregate.count,
            mean: aggregate.mean(),
            min: aggregate.min,
            max: aggregate.max,
            categories: aggregate.categories.clone(),
        }
    }
}

/// One step of a group's series.
#[derive(Serialize, ToSchema)]
pub struct ScorePoint {
    /// Start of the step.
    time: String,
    #[serde(flatten)]
    figures: ScoreFigures,
}

/// One group.
#[derive(Serialize, ToSchema)]
pub struct ScoreGroupView {
    /// The group's value of `group_by`; null without grouping or for scores without it.
    key: Option<String>,
    #[serde(flatten)]
    figures: ScoreFigures,
    /// One point per step from `from`, empty steps included; null without `step`.
    points: Option<Vec<ScorePoint>>,
}

/// Score aggregates.
#[derive(Serialize, ToSchema)]
pub struct ScoreMetricsView {
    from: String,
    to: String,
    group_by: Option<String>,
    step_seconds: Option<i64>,
    /// Largest count first.
    groups: Vec<ScoreGroupView>,
}

impl ScoreMetricsQuery {
    fn filter(&self) -> Result<ScoreMetricsFilter, ApiError> {
        let to = parameter("to", &self.to, parse_rfc3339)?.unwrap_or_else(now_nanos);
        let from = parameter("from", &self.from, parse_rfc3339)?
            .unwrap_or(to.saturating_sub(DEFAULT_RANGE_NANOS));
        if from >= to {
            return Err(ApiError::invalid_parameter(
                "from",
                "must be earlier than to",
            ));
        }
        let text = |value: &Option<String>| value.clone().filter(|text| !text.is_empty());
        Ok(ScoreMetricsFilter {
            from_unix_nano: from,
            to_unix_nano: to,
            name: text(&self.name),
            model: text(&self.model),
            service: text(&self.service),
            source: parameter("source", &self.source, parse_source)?,
        })
    }

    fn group_by(&self) -> Result<Option<ScoreGroupBy>, ApiError> {
        parameter("group_by", &self.group_by, |text| {
            ScoreGroupBy::parse(text)
                .ok_or_else(|| format!("{text:?} is not one of name, model, source"))
        })
    }
}

/// Returns the number of steps of `step_seconds` from `from` rounded down to the minute
/// until `to`, or the error when there are too many.
fn step_count(filter: &ScoreMetricsFilter, step_seconds: i64) -> Result<u64, ApiError> {
    let step_nanos = u64::try_from(step_seconds)
        .unwrap_or(u64::MAX)
        .saturating_mul(1_000_000_000);
    let first = filter.from_unix_nano - filter.from_unix_nano % MINUTE_NANOS;
    let points = (filter.to_unix_nano - first).div_ceil(step_nanos);
    if points > MAX_POINTS {
        return Err(ApiError::invalid_parameter(
            "step",
            format!("gives {points} points; use a larger step (at most {MAX_POINTS} points)"),
        ));
    }
    Ok(points)
}

fn points(
    steps: &[(u64, ScoreAggregate)],
    first: u64,
    step_nanos: u64,
    count: u64,
) -> Vec<ScorePoint> {
    let by_start: BTreeMap<u64, &ScoreAggregate> = steps
        .iter()
        .map(|(start, aggregate)| (*start, aggregate))
        .collect();
    let empty = ScoreAggregate::default();
    (0..count)
        .map(|index| {
            let start = first + index * step_nanos;
            ScorePoint {
                time: format_nanos(start),
                figures: ScoreFigures::from(by_start.get(&start).copied().unwrap_or(&empty)),
            }
        })
        .collect()
}

/// Count, mean, minimum and maximum of numeric and boolean scores (a boolean counts as 1 or
/// 0) and the count per category of categorical scores, per group, over the scores whose
/// span or trace started in the range. With `step`, each group also has one point per step.
#[utoipa::path(get, path = "/api/v1/metrics/scores", params(ScoreMetricsQuery), responses(
    (status = 200, body = ScoreMetricsView),
    (status = 400, body = ErrorBody, description = "A parameter is invalid"),
))]
pub async fn scores(
    State(state): State<ApiState>,
    query: Result<Query<ScoreMetricsQuery>, QueryRejection>,
) -> Result<Json<ScoreMetricsView>, ApiError> {
    let query = extract(query)?;
    let filter = query.filter()?;
    let group_by = query.group_by()?;
    let step = query.step.as_deref().map(parse_step).transpose()?;
    let count = step.map(|step| step_count(&filter, step)).transpose()?;

    let (from, to) = (filter.from_unix_nano, filter.to_unix_nano);
    let groups = state.store.score_aggregates(filter, group_by, step).await?;

    let first = from - from % MINUTE_NANOS;
    let step_nanos = step.map_or(0, |step| u64::try_from(step).unwrap_or(0) * 1_000_000_000);
    let groups = groups
        .iter()
        .map(|group| ScoreGroupView {
            key: group.key.clone(),
            figures: ScoreFigures::from(&group.aggregate),
            points: count.map(|count| points(&group.steps, first, step_nanos, count)),
        })
        .collect();
    Ok(Json(ScoreMetricsView {
        from: format_nanos(from),
        to: format_nanos(to),
        group_by: group_by.map(|group| group.as_str().to_owned()),
        step_seconds: step,
        groups,
    }))
}
