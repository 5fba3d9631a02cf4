//! Experiments: the latest ones on `/quality`, one experiment with every item's outcome on
//! `/quality/experiments/{id}`, and two side by side on `/quality/experiments/compare`,
//! with the comparison of [`glassbox_quality::compare`], the same as the API's.

use axum::extract::{Path, Query, State};
use axum::response::Html;
use glassbox_model::{Experiment, ExperimentResult, ExperimentStatus};
use glassbox_quality::compare::{Comparison, Difference, compare_experiments};
use glassbox_store::{ExperimentDetail, Page};
use maud::{Markup, html};
use serde_json::Value;

use crate::UiState;
use crate::error::PageError;
use crate::format;
use crate::layout::{self, Frame, Section};
use crate::query::{Params, path_segment};

use super::scores::score_value;

/// Experiments listed on `/quality` and offered for comparison.
const LATEST: usize = 20;

/// Renders the experiment section of `/quality`: the latest experiments and a form to
/// compare two of them.
pub async fn latest(state: &UiState) -> Result<Markup, PageError> {
    let page = Page {
        limit: LATEST,
        cursor: None,
    };
    let (experiments, _) = state.store.list_experiments(None, page).await?;
    Ok(html! {
        section.panel #experiments {
            h2 { "Experiments" }
            @if experiments.is_empty() {
                (layout::empty("No experiments yet. Start one with POST /api/v1/experiments or glassbox experiment run."))
            } @else {
                (list_table(&experiments))
                (compare_form(&experiments, None, None))
            }
        }
    })
}

fn experiment_link(id: &str) -> String {
    format!("/quality/experiments/{}", path_segment(id))
}

fn status_badge(status: ExperimentStatus) -> Markup {
    let class = match status {
        ExperimentStatus::Running => "badge",
        ExperimentStatus::Completed => "badge good",
        ExperimentStatus::Failed => "badge error",
    };
    html! { span class=(class) { (status.as_str()) } }
}

fn list_table(experiments: &[Experiment]) -> Markup {
    html! {
        table #experiment-table {
            thead { tr {
                th { "Started (UTC)" } th { "Experiment" } th { "Status" } th { "Dataset" } th.num { "Items" }
                th.num { "Errors" } th { "Score means" } th.num { "Cost" } th.num { "Latency p50" }
            } }
            tbody {
                @for experiment in experiments {
                    @let totals = &experiment.totals;
                    tr data-experiment-id=(experiment.id) {
                        td.mono { (format::time(experiment.started_unix_nano)) }
                        td { a href=(experiment_link(&experiment.id)) { (experiment.name) } }
                        td { (status_badge(experiment.status)) }
                        td { (experiment.dataset_name) }
                        td.num { (format::count(totals.items)) }
                        td.num { (format::count(totals.errors)) }
                        td {
                            @for (name, mean) in &totals.score_means {
                                span.badge data-score=(name) { (name) " " (score_value(Some(*mean))) }
                            }
                        }
                        td.num { (format::maybe_usd(totals.cost_usd)) }
                        td.num { (format::maybe_millis(totals.latency_p50_ms)) }
                    }
                }
            }
        }
    }
}

fn compare_form(experiments: &[Experiment], a: Option<&str>, b: Option<&str>) -> Markup {
    let picker = |name: &str, label: &str, current: Option<&str>| {
        html! {
            label { (label)
                select name=(name) required {
                    option value="" { "–" }
                    @for experiment in experiments {
                        option value=(experiment.id) selected[current == Some(experiment.id.as_str())] {
                            (experiment.name) " · " (format::time(experiment.started_unix_nano))
                        }
                    }
                }
            }
        }
    };
    html! {
        form.filters #compare-form method="get" action="/quality/experiments/compare" {
            (picker("a", "Baseline experiment", a))
            (picker("b", "Compared experiment", b))
            button type="submit" { "Compare" }
        }
    }
}

/// Loads an experiment; `parameter` names the query parameter that gave the id, if any.
async fn load(
    state: &UiState,
    id: &str,
    parameter: Option<&str>,
) -> Result<ExperimentDetail, PageError> {
    let source = parameter.map_or(String::new(), |name| format!(" (parameter {name})"));
    state
        .store
        .experiment(id.to_owned())
        .await?
        .ok_or_else(|| PageError::NotFound(format!("Experiment {id}{source} is not stored.")))
}

fn frame_page(title: &str, params: &Params, body: Markup) -> Html<String> {
    layout::page(
        &Frame {
            title,
            section: Section::Quality,
            path: "/quality",
            params,
            range: None,
        },
        body,
    )
}

/// Renders `/quality/experiments/{id}`.
pub async fn detail(
    State(state): State<UiState>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Html<String>, PageError> {
    params.accept_only(&[])?;
    let detail = load(&state, &id, None).await?;
    let experiment = &detail.experiment;
    let body = html! {
        div.range-bar { h1 { "Experiment " (experiment.name) } }
        (totals(experiment))
        dl.facts.panel {
            dt { "Experiment id" } dd.mono { (experiment.id) }
            dt { "Status" } dd { (status_badge(experiment.status)) }
            @if let Some(error) = &experiment.error { dt { "Error" } dd.error-message { (error) } }
            dt { "Dataset" } dd { (experiment.dataset_name) }
            dt { "Started" } dd { (format::time(experiment.started_unix_nano)) " UTC" }
            @if let Some(finished) = experiment.finished_unix_nano {
                dt { "Finished" } dd { (format::time(finished)) " UTC" }
            }
        }
        section.panel #score-means {
            h2 { "Score means" }
            @if experiment.totals.score_means.is_empty() {
                (layout::empty("No scores."))
            } @else {
                table {
                    thead { tr { th { "Score" } th.num { "Mean" } } }
                    tbody {
                        @for (name, mean) in &experiment.totals.score_means {
                            tr { td { (name) } td.num data-score=(name) { (score_value(Some(*mean))) } }
                        }
                    }
                }
            }
        }
        section.panel #config {
            h2 { "Configuration" }
            pre { (pretty(&experiment.config)) }
        }
        section.panel #results {
            h2 { "Items" }
            (results_table(&detail.results))
        }
    };
    let title = format!("Experiment {}", experiment.name);
    Ok(frame_page(&title, &params, body))
}

fn totals(experiment: &Experiment) -> Markup {
    let totals = &experiment.totals;
    html! {
        div.stats {
            (layout::stat("Items", format::count(totals.items), None, false))
            (layout::stat("Errors", format::count(totals.errors), None, true))
            (layout::stat("Cost", format::maybe_usd(totals.cost_usd), None, true))
            (layout::stat("Latency mean", format::maybe_millis(totals.latency_mean_ms), None, true))
            (layout::stat("Latency p50", format::maybe_millis(totals.latency_p50_ms), None, true))
            (layout::stat("Latency p95", format::maybe_millis(totals.latency_p95_ms), None, true))
            (layout::stat("Tokens in / out", format!("{} / {}", format::maybe_count(totals.input_tokens), format::maybe_count(totals.output_tokens)), None, false))
        }
    }
}

fn pretty(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

fn results_table(results: &[ExperimentResult]) -> Markup {
    if results.is_empty() {
        return layout::empty("No item has run yet.");
    }
    html! {
        table #result-table {
            thead { tr {
                th { "Item" } th { "Output" } th { "Scores" } th { "Error" } th.num { "Latency" } th.num { "Cost" } th { "Trace" }
            } }
            tbody {
                @for result in results {
                    tr data-item-id=(result.item_id) {
                        td.mono { (result.item_id) }
                        td { @if let Some(output) = &result.output { pre { (pretty(output)) } } }
                        td {
                            @for (name, value) in &result.scores {
                                span.badge data-score=(name) { (name) " " (score_value(Some(*value))) }
                            }
                        }
                        td.error-message { (result.error.as_deref().unwrap_or("")) }
                        td.num { (format::maybe_millis(result.latency_ms)) }
                        td.num { (format::maybe_usd(result.cost_usd)) }
                        td { @if let Some(trace) = result.trace_id { a href={ "/traces/" (trace) } { "trace" } } }
                    }
                }
            }
        }
    }
}

/// Renders `/quality/experiments/compare?a=&b=`.
pub async fn compare(
    State(state): State<UiState>,
    Query(params): Query<Params>,
) -> Result<Html<String>, PageError> {
    params.accept_only(&["a", "b"])?;
    let required = |name: &'static str| {
        params.get(name).ok_or_else(|| {
            PageError::BadParameter(
                name,
                "is missing; pick two experiments to compare".to_owned(),
            )
        })
    };
    let (a_id, b_id) = (required("a")?, required("b")?);
    let a = load(&state, a_id, Some("a")).await?;
    let b = load(&state, b_id, Some("b")).await?;
    let comparison = compare_experiments(&a, &b);
    let (experiments, _) = state
        .store
        .list_experiments(
            None,
            Page {
                limit: LATEST,
                cursor: None,
            },
        )
        .await?;

    let body = html! {
        div.range-bar { h1 { "Compare " (a.experiment.name) " with " (b.experiment.name) } }
        (compare_form(&experiments, Some(a_id), Some(b_id)))
        section.panel #compare-totals {
            h2 { "Totals" }
            (totals_table(&a.experiment, &b.experiment, &comparison))
        }
        section.panel #compare-items {
            h2 { "Items, largest score change first" }
            (items_table(&comparison))
        }
    };
    Ok(frame_page("Compare experiments", &params, body))
}

fn signed(delta: Option<f64>, show: impl Fn(f64) -> String) -> String {
    match delta {
        Some(delta) if delta > 0.0 => format!("+{}", show(delta)),
        Some(delta) if delta < 0.0 => format!("-{}", show(-delta)),
        Some(_) => "0".to_owned(),
        None => "–".to_owned(),
    }
}

fn difference_row(label: &str, difference: &Difference, show: impl Fn(f64) -> String) -> Markup {
    let value = |value: Option<f64>| value.map_or_else(|| "–".to_owned(), &show);
    html! {
        tr data-figure=(label) {
            td { (label) }
            td.num.a { (value(difference.a)) }
            td.num.b { (value(difference.b)) }
            td.num.delta { (signed(difference.delta, &show)) }
        }
    }
}

fn totals_table(a: &Experiment, b: &Experiment, comparison: &Comparison) -> Markup {
    let score = |value: f64| format!("{value:.3}");
    html! {
        table #compare-table {
            thead { tr {
                th { "Figure" }
                th.num { a href=(experiment_link(&a.id)) { (a.name) } }
                th.num { a href=(experiment_link(&b.id)) { (b.name) } }
                th.num { "Change" }
            } }
            tbody {
                @for (name, difference) in &comparison.scores {
                    (difference_row(&format!("score {name}"), difference, score))
                }
                (difference_row("cost", &comparison.cost_usd, format::usd))
                (difference_row("latency mean", &comparison.latency_mean_ms, format::millis))
                (difference_row("latency p50", &comparison.latency_p50_ms, format::millis))
                (difference_row("latency p95", &comparison.latency_p95_ms, format::millis))
                tr {
                    td { "errors" }
                    td.num { (format::count(a.totals.errors)) }
                    td.num { (format::count(b.totals.errors)) }
                    td {}
                }
            }
        }
    }
}

fn items_table(comparison: &Comparison) -> Markup {
    if comparison.items.is_empty() {
        return layout::empty("The experiments share no dataset item.");
    }
    html! {
        table #compare-item-table {
            thead { tr { th { "Item" } th { "Scores (baseline → compared)" } th { "Errors" } } }
            tbody {
                @for item in &comparison.items {
                    tr data-item-id=(item.item_id) {
                        td.mono { (item.item_id) }
                        td {
                            @for (name, difference) in &item.scores {
                                span.badge data-score=(name) {
                                    (name) " " (score_value(difference.a)) " → " (score_value(difference.b))
                                    @if difference.delta.is_some() { " (" (signed(difference.delta, |value| format!("{value:.3}"))) ")" }
                                }
                            }
                        }
                        td.error-message {
                            @if let Some(error) = &item.error_a { "baseline: " (error) " " }
                            @if let Some(error) = &item.error_b { "compared: " (error) }
                        }
                    }
                }
            }
        }
    }
}
