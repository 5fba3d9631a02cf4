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
use crate::metrics::{DEFAULT_RANGE_NANOS, Steps, now_nanos, parse_step, steps_of};
use crate::params::extract;
use crate::scores::{parameter, parse_source};
use crate::time_format::{format_nanos, parse_rfc3339};

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

/// Returns one point per step, with the aggregate of the step that starts there, else an
/// empty one.
fn points(aggregates: &[(u64, ScoreAggregate)], steps: &Steps) -> Vec<ScorePoint> {
    let by_start: BTreeMap<u64, &ScoreAggregate> = aggregates
        .iter()
        .map(|(start, aggregate)| (*start, aggregate))
        .collect();
    let empty = ScoreAggregate::default();
    (0..steps.count)
        .map(|index| {
            let start = steps.first + index * steps.width_nanos;
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
    let (from, to) = (filter.from_unix_nano, filter.to_unix_nano);
    let steps = step.map(|step| steps_of(from, to, step)).transpose()?;

    let groups = state.store.score_aggregates(filter, group_by, step).await?;
    let groups = groups
        .iter()
        .map(|group| ScoreGroupView {
            key: group.key.clone(),
            figures: ScoreFigures::from(&group.aggregate),
            points: steps.as_ref().map(|steps| points(&group.steps, steps)),
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
