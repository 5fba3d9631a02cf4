//! Models: per provider and model, calls, errors by type, latency and TTFT percentiles,
//! tokens per second, tokens, cost and finish reasons. Also a chart per model, and two models
//! side by side.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::response::Html;
use glassbox_model::ErrorClass;
use glassbox_store::{Aggregate, FinishReasonCount, GroupBy, MetricsFilter, Series};
use maud::{Markup, html};

use crate::UiState;
use crate::chart::{self, Buckets, Line, Unit};
use crate::error::PageError;
use crate::format;
use crate::layout::{self, Frame, Section};
use crate::pages::servers;
use crate::pages::{MODEL_CALLS, metrics_filter, now_nanos};
use crate::query::Params;
use crate::range::TimeRange;

/// Models that get their own chart.
const CHARTED_MODELS: usize = 8;

/// One row of the table.
struct ModelRow {
    provider: Option<String>,
    model: Option<String>,
    aggregate: Aggregate,
}

/// Renders `/models`.
pub async fn page(
    State(state): State<UiState>,
    Query(params): Query<Params>,
) -> Result<Html<String>, PageError> {
    params.accept_only(&[
        "service",
        "model",
        "provider",
        "user_id",
        "session_id",
        "tag",
        "a",
        "b",
    ])?;
    let range = TimeRange::from_params(&params, now_nanos())?;
    let filter = metrics_filter(range, &params, &MODEL_CALLS);
    let rows = model_rows(&state, &filter).await?;
    let reasons = finish_reasons(state.store.finish_reasons(filter.clone()).await?);
    let step = range.step_seconds();
    let series = state
        .store
        .timeseries(filter.clone(), Some(GroupBy::Model), step)
        .await?;
    let buckets = Buckets::new(range, step);
    let servers = served_models(&state, range, &rows, &buckets).await?;

    let body = html! {
        (compare_form(&rows, &params))
        (comparison(&rows, &series, &buckets, &params))
        section.panel {
            h2 { "By provider and model" }
            @if rows.is_empty() {
                (layout::empty("No model calls in this range."))
            } @else {
                (table(&rows, &reasons, &params))
            }
        }
        (servers)
        @if !series.is_empty() {
            h2 { "Latency over time" }
            div.grid {
                @for one in series.iter().take(CHARTED_MODELS) {
                    (model_chart(one, &buckets))
                }
            }
        }
    };
    Ok(layout::page(
        &Frame {
            title: "Models",
            section: Section::Models,
            path: "/models",
            params: &params,
            range: Some(range),
        },
        body,
    ))
}

async fn model_rows(state: &UiState, filter: &MetricsFilter) -> Result<Vec<ModelRow>, PageError> {
    let providers = state
        .store
        .summary(filter.clone(), Some(GroupBy::Provider))
        .await?;
    let mut rows = Vec::new();
    for provider in providers.iter().filter(|provider| provider.key.is_some()) {
        let mut by_provider = filter.clone();
        by_provider.provider = provider.key.clone();
        let groups = state
            .store
            .summary(by_provider, Some(GroupBy::Model))
            .await?;
        rows.extend(groups.into_iter().map(|group| ModelRow {
            provider: provider.key.clone(),
            model: group.key,
            aggregate: group.aggregate,
        }));
    }
    // Calls without a provider cannot be selected by a filter: they are what the provider
    // rows of a model leave of its total. Their counts, tokens and cost are exact; their
    // percentiles cannot be separated, so that row shows none.
    if providers.iter().any(|provider| provider.key.is_none()) {
        let every_model = state
            .store
            .summary(filter.clone(), Some(GroupBy::Model))
            .await?;
        for group in every_model {
            let mut covered = Aggregate::default();
            for row in rows.iter().filter(|row| row.model == group.key) {
                covered.merge(&row.aggregate);
            }
            if group.aggregate.count > covered.count {
                rows.push(ModelRow {
                    provider: None,
                    model: group.key,
                    aggregate: remainder(&group.aggregate, &covered),
                });
            }
        }
    }
    rows.sort_by_key(|row| std::cmp::Reverse(row.aggregate.count));
    Ok(rows)
}

/// Puts the GPU utilization and token rate of each scraped inference server next to the
/// output speed its models' calls measured.
async fn served_models(
    state: &UiState,
    range: TimeRange,
    rows: &[ModelRow],
    buckets: &Buckets,
) -> Result<Markup, PageError> {
    let targets: Vec<glassbox_infra::TargetStatus> = state
        .infra
        .as_ref()
        .map(|registry| registry.snapshot())
        .unwrap_or_default()
        .into_iter()
        .filter(|target| !target.models.is_empty())
        .collect();
    if targets.is_empty() {
        return Ok(html! {});
    }
    let store = state.store.as_ref();
    let minute = 60 * 1_000_000_000;
    let from = range.from / minute * minute;
    let mut table_rows = Vec::new();
    let mut utilization_lines = Vec::new();
    let mut rate_lines = Vec::new();
    for target in &targets {
        let own = vec![("target".to_owned(), target.name.clone())];
        let mut gpu =
            servers::mean(store, "hw.gpu.utilization", from, range.to, own.clone()).await?;
        let mut gpu_query = own.clone();
        if gpu.is_none() {
            gpu = servers::mean(store, "hw.gpu.utilization", from, range.to, Vec::new()).await?;
            gpu_query.clear();
        }
        let rate = servers::mean(
            store,
            "inference.generation_tokens.rate",
            from,
            range.to,
            own.clone(),
        )
        .await?;
        for (name, lines, labels) in [
            ("hw.gpu.utilization", &mut utilization_lines, gpu_query),
            ("inference.generation_tokens.rate", &mut rate_lines, own),
        ] {
            let series = store
                .metric_series(
                    glassbox_store::PointQuery {
                        name: name.to_owned(),
                        from_unix_nano: from,
                        to_unix_nano: range.to,
                        labels,
                    },
                    range.step_seconds(),
                )
                .await?;
            if let Some(first) = series.first() {
                lines.push(Line {
                    label: target.name.clone(),
                    values: buckets.values_from_points(first, |step| step.mean),
                });
            }
        }
        for model in &target.models {
            let mut calls = Aggregate::default();
            for row in rows.iter().filter(|row| {
                row.model.as_deref().is_some_and(|name| {
                    servers::serves(target, name) && (name == model || model.ends_with(name))
                })
            }) {
                calls.merge(&row.aggregate);
            }
            table_rows.push((target.name.clone(), model.clone(), gpu, rate, calls));
        }
    }
    Ok(html! {
        section.panel #servers {
            h2 { "Self-hosted models: GPU utilization against tokens per second" }
            table {
                thead { tr {
                    th { "Server" } th { "Model" } th.num { "Calls" } th.num { "GPU utilization (mean)" }
                    th.num { "Server tokens/s (mean)" } th.num { "Output tokens/s per call (p50)" }
                } }
                tbody {
                    @for (target, model, gpu, rate, calls) in &table_rows {
                        tr {
                            td { (target) } td { (model) }
                            td.num { (format::count(calls.count)) }
                            td.num { (gpu.map_or_else(|| "–".to_owned(), format::percent)) }
                            td.num { (rate.map_or_else(|| "–".to_owned(), format::rate)) }
                            td.num { (calls.output_tokens_per_second.quantile(0.5).map_or_else(|| "–".to_owned(), format::rate)) }
                        }
                    }
                }
            }
            div.grid {
                @if !utilization_lines.is_empty() { (chart::lines("GPU utilization", buckets, &utilization_lines, Unit::Share)) }
                @if !rate_lines.is_empty() { (chart::lines("Server tokens per second", buckets, &rate_lines, Unit::Count)) }
            }
        }
    })
}

/// Subtracts the additive figures of `part` from those of `total`, leaving out distributions.
fn remainder(total: &Aggregate, part: &Aggregate) -> Aggregate {
    let mut errors_by_class = total.errors_by_class;
    for (left, taken) in errors_by_class.iter_mut().zip(part.errors_by_class) {
        *left = left.saturating_sub(taken);
    }
    Aggregate {
        count: total.count.saturating_sub(part.count),
        error_count: total.error_count.saturating_sub(part.error_count),
        errors_by_class,
        input_tokens: total.input_tokens.saturating_sub(part.input_tokens),
        output_tokens: total.output_tokens.saturating_sub(part.output_tokens),
        cached_input_tokens: total
            .cached_input_tokens
            .saturating_sub(part.cached_input_tokens),
        cache_write_input_tokens: total
            .cache_write_input_tokens
            .saturating_sub(part.cache_write_input_tokens),
        reasoning_tokens: total.reasoning_tokens.saturating_sub(part.reasoning_tokens),
        total_tokens: total.total_tokens.saturating_sub(part.total_tokens),
        cost_usd: total
            .cost_usd
            .map(|cost| (cost - part.cost_usd.unwrap_or(0.0)).max(0.0)),
        unpriced_count: total.unpriced_count.saturating_sub(part.unpriced_count),
        ..Aggregate::default()
    }
}

fn finish_reasons(counts: Vec<FinishReasonCount>) -> BTreeMap<Option<String>, Vec<(String, u64)>> {
    let mut by_model: BTreeMap<Option<String>, Vec<(String, u64)>> = BTreeMap::new();
    for count in counts {
        by_model
            .entry(count.model)
            .or_default()
            .push((count.reason, count.count));
    }
    by_model
}

fn errors_by_type(aggregate: &Aggregate) -> Markup {
    html! {
        @for class in ErrorClass::ALL {
            @let count = aggregate.errors_of(class);
            @if count > 0 { span.badge title="errors of this type" { (class.as_str()) " " (count) } }
        }
    }
}

fn table(
    rows: &[ModelRow],
    reasons: &BTreeMap<Option<String>, Vec<(String, u64)>>,
    params: &Params,
) -> Markup {
    html! {
        table #models {
            thead { tr {
                th { "Provider" } th { "Model" } th.num { "Calls" } th.num { "Error rate" } th { "Errors by type" }
                th.num { "p50" } th.num { "p95" } th.num { "p99" } th.num { "TTFT p50" } th.num { "TTFT p95" }
                th.num { "Tokens/s" } th.num { "Input" } th.num { "Output" } th.num { "Cost" } th { "Finish reasons" }
            } }
            tbody {
                @for row in rows {
                    @let aggregate = &row.aggregate;
                    @let model = row.model.as_deref().unwrap_or("(no model)");
                    tr data-model=(model) {
                        td { (row.provider.as_deref().unwrap_or("–")) }
                        td { a href=(params.link("/models", &[("a", Some(model))])) { (model) } }
                        td.num { (format::count(aggregate.count)) }
                        td.num { (format::percent(aggregate.error_count as f64 / aggregate.count.max(1) as f64)) }
                        td { (errors_by_type(aggregate)) }
                        td.num { (format::maybe_millis(aggregate.latency_ms.quantile(0.5))) }
                        td.num { (format::maybe_millis(aggregate.latency_ms.quantile(0.95))) }
                        td.num { (format::maybe_millis(aggregate.latency_ms.quantile(0.99))) }
                        td.num { (format::maybe_millis(aggregate.ttft_ms.quantile(0.5))) }
                        td.num { (format::maybe_millis(aggregate.ttft_ms.quantile(0.95))) }
                        td.num { (aggregate.output_tokens_per_second.quantile(0.5).map_or_else(|| "–".to_owned(), format::rate)) }
                        td.num { (format::count(aggregate.input_tokens)) }
                        td.num { (format::count(aggregate.output_tokens)) }
                        td.num { (format::maybe_usd(aggregate.cost_usd)) }
                        td {
                            @if let Some(list) = reasons.get(&row.model) {
                                @for (reason, count) in list { span.badge { (reason) " " (count) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn model_chart(series: &Series, buckets: &Buckets) -> Markup {
    let title = series.key.as_deref().unwrap_or("(no model)");
    let lines = [
        Line {
            label: "p50".to_owned(),
            values: buckets.values(series, |a| a.latency_ms.quantile(0.5), None),
        },
        Line {
            label: "p95".to_owned(),
            values: buckets.values(series, |a| a.latency_ms.quantile(0.95), None),
        },
    ];
    chart::lines(title, buckets, &lines, Unit::Millis)
}

fn compare_form(rows: &[ModelRow], params: &Params) -> Markup {
    let mut names: Vec<&str> = rows.iter().filter_map(|row| row.model.as_deref()).collect();
    names.sort_unstable();
    names.dedup();
    let picker = |name: &str, label: &str| {
        let current = params.get(name);
        html! {
            label { (label)
                select name=(name) {
                    option value="" { "–" }
                    @for model in &names {
                        option value=(model) selected[current == Some(*model)] { (model) }
                    }
                }
            }
        }
    };
    html! {
        form.filters method="get" action="/models" {
            @for (key, value) in params.pairs() {
                @if !matches!(key, "a" | "b") && !value.is_empty() {
                    input type="hidden" name=(key) value=(value);
                }
            }
            (picker("a", "Model A"))
            (picker("b", "Model B"))
            button type="submit" { "Compare" }
        }
    }
}

fn comparison(rows: &[ModelRow], series: &[Series], buckets: &Buckets, params: &Params) -> Markup {
    let chosen: Vec<&str> = ["a", "b"]
        .iter()
        .filter_map(|name| params.get(name))
        .collect();
    if chosen.is_empty() {
        return html! {};
    }
    let totals: Vec<(&str, Aggregate)> = chosen
        .iter()
        .map(|model| {
            let mut total = Aggregate::default();
            for row in rows
                .iter()
                .filter(|row| row.model.as_deref() == Some(*model))
            {
                total.merge(&row.aggregate);
            }
            (*model, total)
        })
        .collect();
    let lines = |metric: fn(&Aggregate) -> Option<f64>, empty: Option<f64>| -> Vec<Line> {
        chosen
            .iter()
            .map(|model| Line {
                label: (*model).to_owned(),
                values: series
                    .iter()
                    .find(|one| one.key.as_deref() == Some(*model))
                    .map_or_else(
                        || vec![empty; buckets_len(buckets)],
                        |one| buckets.values(one, metric, empty),
                    ),
            })
            .collect()
    };
    html! {
        section.panel #compare {
            h2 { @if totals.len() == 2 { "Side by side" } @else { "Model " (chosen[0]) } }
            @for (model, total) in &totals {
                @if total.count == 0 { p.error-message { "No call of model " (model) " in this range." } }
            }
            div.compare {
                @for (model, total) in &totals {
                    div {
                        h3 { (model) }
                        dl.facts {
                            dt { "Calls" } dd { (format::count(total.count)) }
                            dt { "Error rate" } dd { (format::percent(total.error_count as f64 / total.count.max(1) as f64)) }
                            dt { "Latency p50 / p95" } dd { (format::maybe_millis(total.latency_ms.quantile(0.5))) " / " (format::maybe_millis(total.latency_ms.quantile(0.95))) }
                            dt { "TTFT p50" } dd { (format::maybe_millis(total.ttft_ms.quantile(0.5))) }
                            dt { "Output tokens/s p50" } dd { (total.output_tokens_per_second.quantile(0.5).map_or_else(|| "–".to_owned(), format::rate)) }
                            dt { "Tokens in / out" } dd { (format::count(total.input_tokens)) " / " (format::count(total.output_tokens)) }
                            dt { "Cost" } dd { (format::maybe_usd(total.cost_usd)) }
                            dt { "Cost per call" } dd { (total.cost_usd.map_or_else(|| "–".to_owned(), |cost| format::usd(cost / total.count.max(1) as f64))) }
                        }
                    }
                }
            }
            div.grid {
                (chart::lines("Calls", buckets, &lines(|a| Some(a.count as f64), Some(0.0)), Unit::Count))
                (chart::lines("Latency p50", buckets, &lines(|a| a.latency_ms.quantile(0.5), None), Unit::Millis))
                (chart::lines("Error rate", buckets, &lines(|a| (a.count > 0).then(|| a.error_count as f64 / a.count as f64), None), Unit::Share))
            }
        }
    }
}

fn buckets_len(buckets: &Buckets) -> usize {
    buckets.len()
}
