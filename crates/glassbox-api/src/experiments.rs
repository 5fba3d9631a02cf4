//! `/api/v1/experiments`: stored experiments, their results and the comparison of two.
//! Experiments are run elsewhere; this API only reads them.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use glassbox_model::{Experiment, ExperimentResult, ExperimentTotals};
use glassbox_quality::compare;
use glassbox_store::ExperimentDetail;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::ApiState;
use crate::error::{ApiError, ErrorBody};
use crate::params::{extract, page};
use crate::time_format::format_nanos;

/// Totals over an experiment's results.
#[derive(Serialize, ToSchema)]
pub struct TotalsView {
    items: u64,
    errors: u64,
    /// Mean of each score over the results that have it.
    score_means: BTreeMap<String, f64>,
    cost_usd: Option<f64>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    latency_mean_ms: Option<f64>,
    /// Interpolated between the two nearest results.
    latency_p50_ms: Option<f64>,
    /// Interpolated between the two nearest results.
    latency_p95_ms: Option<f64>,
}

impl From<ExperimentTotals> for TotalsView {
    fn from(totals: ExperimentTotals) -> TotalsView {
        TotalsView {
            items: totals.items,
            errors: totals.errors,
            score_means: totals.score_means,
            cost_usd: totals.cost_usd,
            input_tokens: totals.input_tokens,
            output_tokens: totals.output_tokens,
            latency_mean_ms: totals.latency_mean_ms,
            latency_p50_ms: totals.latency_p50_ms,
            latency_p95_ms: totals.latency_p95_ms,
        }
    }
}

/// An experiment.
#[derive(Serialize, ToSchema)]
pub struct ExperimentView {
    id: String,
    name: String,
    dataset_id: String,
    dataset_name: String,
    /// Model, scorers, mode and their settings.
    #[schema(value_type = Object)]
    config: Value,
    /// `running`, `completed` or `failed`.
    status: String,
    /// The reason a failed run stopped.
    error: Option<String>,
    started_time: String,
    finished_time: Option<String>,
    totals: TotalsView,
}

impl From<Experiment> for ExperimentView {
    fn from(experiment: Experiment) -> ExperimentView {
        ExperimentView {
            id: experiment.id,
            name: experiment.name,
            dataset_id: experiment.dataset_id,
            dataset_name: experiment.dataset_name,
            config: experiment.config,
            status: experiment.status.as_str().to_owned(),
            error: experiment.error,
            started_time: format_nanos(experiment.started_unix_nano),
            finished_time: experiment.finished_unix_nano.map(format_nanos),
            totals: TotalsView::from(experiment.totals),
        }
    }
}

/// The outcome of one dataset item.
#[derive(Serialize, ToSchema)]
pub struct ResultView {
    item_id: String,
    #[schema(value_type = Option<Object>)]
    output: Option<Value>,
    error: Option<String>,
    scores: BTreeMap<String, f64>,
    latency_ms: Option<f64>,
    cost_usd: Option<f64>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    trace_id: Option<String>,
}

impl From<ExperimentResult> for ResultView {
    fn from(result: ExperimentResult) -> ResultView {
        ResultView {
            item_id: result.item_id,
            output: result.output,
            error: result.error,
            scores: result.scores,
            latency_ms: result.latency_ms,
            cost_usd: result.cost_usd,
            input_tokens: result.input_tokens,
            output_tokens: result.output_tokens,
            trace_id: result.trace_id.map(|id| id.to_string()),
        }
    }
}

/// A page of experiments.
#[derive(Serialize, ToSchema)]
pub struct ExperimentList {
    /// Most recently started first.
    experiments: Vec<ExperimentView>,
    /// Pass as `cursor` to get the next page; null on the last page.
    next_cursor: Option<String>,
}

/// An experiment with every result.
#[derive(Serialize, ToSchema)]
pub struct ExperimentDetailView {
    experiment: ExperimentView,
    /// In dataset item order.
    results: Vec<ResultView>,
}

/// Filters of the experiment listing.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExperimentQuery {
    /// Experiments over one dataset (its name).
    dataset: Option<String>,
    /// Items per page, 1 to 1000 (default 50).
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Lists experiments with their totals, most recently started first.
#[utoipa::path(get, path = "/api/v1/experiments", params(ExperimentQuery), responses(
    (status = 200, body = ExperimentList),
    (status = 400, body = ErrorBody, description = "A parameter is invalid"),
))]
pub async fn list(
    State(state): State<ApiState>,
    query: Result<Query<ExperimentQuery>, QueryRejection>,
) -> Result<Json<ExperimentList>, ApiError> {
    let query = extract(query)?;
    let page = page(&query.limit, &query.cursor)?;
    let dataset = query.dataset.filter(|name| !name.is_empty());
    let (experiments, cursor) = state.store.list_experiments(dataset, page).await?;
    Ok(Json(ExperimentList {
        experiments: experiments.into_iter().map(ExperimentView::from).collect(),
        next_cursor: cursor.map(|cursor| cursor.encode()),
    }))
}

/// Loads an experiment; `parameter` names the query parameter that gave the id, if any.
async fn load(
    state: &ApiState,
    id: String,
    parameter: Option<&str>,
) -> Result<ExperimentDetail, ApiError> {
    state.store.experiment(id.clone()).await?.ok_or_else(|| {
        let source = parameter.map_or(String::new(), |name| format!(" (parameter {name})"));
        ApiError::not_found(format!("experiment {id:?}{source} not found"))
    })
}

/// Returns an experiment with its totals and every result.
#[utoipa::path(get, path = "/api/v1/experiments/{id}",
    params(("id" = String, Path, description = "The experiment id")),
    responses(
        (status = 200, body = ExperimentDetailView),
        (status = 404, body = ErrorBody, description = "No experiment has this id"),
    ))]
pub async fn get(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<ExperimentDetailView>, ApiError> {
    let detail = load(&state, id, None).await?;
    Ok(Json(ExperimentDetailView {
        experiment: ExperimentView::from(detail.experiment),
        results: detail.results.into_iter().map(ResultView::from).collect(),
    }))
}

/// The two experiments to compare.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CompareQuery {
    /// The baseline experiment's id.
    a: Option<String>,
    /// The experiment compared with the baseline.
    b: Option<String>,
}

/// One figure of both experiments.
#[derive(Debug, PartialEq, Serialize, ToSchema)]
pub struct Difference {
    a: Option<f64>,
    b: Option<f64>,
    /// `b - a`; null unless both are known.
    delta: Option<f64>,
}

impl From<compare::Difference> for Difference {
    fn from(difference: compare::Difference) -> Difference {
        Difference {
            a: difference.a,
            b: difference.b,
            delta: difference.delta,
        }
    }
}

/// One dataset item's scores in both experiments.
#[derive(Debug, PartialEq, Serialize, ToSchema)]
pub struct ItemComparison {
    item_id: String,
    scores: BTreeMap<String, Difference>,
    /// The largest absolute score change; null when no score is known in both.
    max_abs_delta: Option<f64>,
    error_a: Option<String>,
    error_b: Option<String>,
}

impl From<compare::ItemComparison> for ItemComparison {
    fn from(item: compare::ItemComparison) -> ItemComparison {
        ItemComparison {
            item_id: item.item_id,
            scores: differences(item.scores),
            max_abs_delta: item.max_abs_delta,
            error_a: item.error_a,
            error_b: item.error_b,
        }
    }
}

/// Two experiments side by side.
#[derive(Serialize, ToSchema)]
pub struct Comparison {
    a: ExperimentView,
    b: ExperimentView,
    /// Mean of each score in both.
    scores: BTreeMap<String, Difference>,
    /// Items whose score changed most first; items without a change in both come last.
    items: Vec<ItemComparison>,
    cost_usd: Difference,
    latency_mean_ms: Difference,
    latency_p50_ms: Difference,
    latency_p95_ms: Difference,
}

fn differences(scores: BTreeMap<String, compare::Difference>) -> BTreeMap<String, Difference> {
    scores
        .into_iter()
        .map(|(name, difference)| (name, Difference::from(difference)))
        .collect()
}

fn comparison(a: ExperimentDetail, b: ExperimentDetail) -> Comparison {
    let compared = compare::compare_experiments(&a, &b);
    Comparison {
        a: ExperimentView::from(a.experiment),
        b: ExperimentView::from(b.experiment),
        scores: differences(compared.scores),
        items: compared
            .items
            .into_iter()
            .map(ItemComparison::from)
            .collect(),
        cost_usd: compared.cost_usd.into(),
        latency_mean_ms: compared.latency_mean_ms.into(),
        latency_p50_ms: compared.latency_p50_ms.into(),
        latency_p95_ms: compared.latency_p95_ms.into(),
    }
}

/// Compares experiment `b` with the baseline `a`: the mean of each score in both and the
/// change, each dataset item's scores side by side with the items whose score changed most
/// first, and cost and latency totals of both. Items are matched by dataset item id, so
/// experiments over different datasets share no items.
#[utoipa::path(get, path = "/api/v1/experiments/compare", params(CompareQuery), responses(
    (status = 200, body = Comparison),
    (status = 400, body = ErrorBody, description = "a or b is missing"),
    (status = 404, body = ErrorBody, description = "No experiment has the id a or b"),
))]
pub async fn compare(
    State(state): State<ApiState>,
    query: Result<Query<CompareQuery>, QueryRejection>,
) -> Result<Json<Comparison>, ApiError> {
    let query = extract(query)?;
    let required = |name: &str, value: Option<String>| {
        value.filter(|id| !id.is_empty()).ok_or_else(|| {
            ApiError::invalid_parameter(name, "is missing; pass two experiment ids as a and b")
        })
    };
    let a = required("a", query.a)?;
    let b = required("b", query.b)?;
    let a = load(&state, a, Some("a")).await?;
    let b = load(&state, b, Some("b")).await?;
    Ok(Json(comparison(a, b)))
}
