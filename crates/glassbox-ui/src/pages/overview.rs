//! The overview: headline figures against the previous period, their charts, and the top
//! models, users and functions.

use axum::extract::{Query, State};
use axum::response::Html;
use glassbox_store::{Aggregate, GroupAggregate, GroupBy, TopTotal, UserTotal};
use maud::{Markup, html};

use crate::UiState;
use crate::chart::{self, Buckets, Line, Unit};
use crate::error::PageError;
use crate::format;
use crate::layout::{self, Frame, Section};
use crate::pages::{METRIC_FILTERS, MODEL_CALLS, metrics_filter, now_nanos};
use crate::query::Params;
use crate::range::TimeRange;

/// Rows in each top list.
const TOP: usize = 8;

/// Renders `/`.
pub async fn page(
    State(state): State<UiState>,
    Query(params): Query<Params>,
) -> Result<Html<String>, PageError> {
    params.accept_only(&METRIC_FILTERS)?;
    let range = TimeRange::from_params(&params, now_nanos())?;
    let filter = metrics_filter(range, &params, &MODEL_CALLS);
    let mut previous_filter = filter.clone();
    previous_filter.from_unix_nano = range.previous().from;
    previous_filter.to_unix_nano = range.previous().to;

    // The queries are independent: the store runs them on separate reader connections.
    let store = &state.store;
    let step = range.step_seconds();
    let (current, previous, series, models, users, functions) = tokio::try_join!(
        store.summary(filter.clone(), None),
        store.summary(previous_filter, None),
        store.timeseries(filter.clone(), None, step),
        store.summary(filter.clone(), Some(GroupBy::Model)),
        store.top_users(filter.clone(), TOP),
        store.top_functions(filter.clone(), TOP),
    )?;
    let (current, previous) = (total(current), total(previous));
    let series = series.into_iter().next();

    let buckets = Buckets::new(range, step);
    let body = html! {
        (unpriced_warning(&models, &params))
        (headline(&current, &previous))
        @if let Some(series) = series {
            (charts(&buckets, &series))
        } @else {
            (layout::empty("No model calls in this range. Send OTLP data or calls through the gateway, or start the server with --demo."))
        }
        div.columns {
            section.panel { h2 { "Top models" } (top_models(&models, &params)) }
            section.panel { h2 { "Top users" } (top_users(&users, &params)) }
            section.panel { h2 { "Top functions by time" } (top_functions(&functions, &params)) }
        }
    };
    Ok(layout::page(
        &Frame {
            title: "Overview",
            section: Section::Overview,
            path: "/",
            params: &params,
            range: Some(range),
        },
        body,
    ))
}

fn total(groups: Vec<GroupAggregate>) -> Aggregate {
    let mut total = Aggregate::default();
    for group in &groups {
        total.merge(&group.aggregate);
    }
    total
}

fn quantile_change(
    current: &Aggregate,
    previous: &Aggregate,
    pick: impl Fn(&Aggregate) -> Option<f64>,
) -> (String, Option<String>) {
    let now = pick(current);
    let change = now
        .zip(pick(previous))
        .and_then(|(now, before)| format::change(now, before));
    (format::maybe_millis(now), change)
}

fn headline(current: &Aggregate, previous: &Aggregate) -> Markup {
    let counts = |value: u64, before: u64| format::change(value as f64, before as f64);
    let cost = current.cost_usd.unwrap_or(0.0);
    let (p50, p50_change) = quantile_change(current, previous, |a| a.latency_ms.quantile(0.5));
    let (p95, p95_change) = quantile_change(current, previous, |a| a.latency_ms.quantile(0.95));
    let (ttft, ttft_change) = quantile_change(current, previous, |a| a.ttft_ms.quantile(0.5));
    html! {
        div.stats {
            (layout::stat("Requests", format::count(current.count), counts(current.count, previous.count), false))
            (layout::stat("Errors", format::count(current.error_count), counts(current.error_count, previous.error_count), true))
            (layout::stat("Cost", format::usd(cost), format::change(cost, previous.cost_usd.unwrap_or(0.0)), true))
            (layout::stat("Tokens", format::count(current.total_tokens), counts(current.total_tokens, previous.total_tokens), false))
            (layout::stat("Latency p50", p50, p50_change, true))
            (layout::stat("Latency p95", p95, p95_change, true))
            (layout::stat("TTFT p50", ttft, ttft_change, true))
        }
    }
}

fn charts(buckets: &Buckets, series: &glassbox_store::Series) -> Markup {
    let line = |label: &str, metric: fn(&Aggregate) -> Option<f64>, empty: Option<f64>| Line {
        label: label.to_owned(),
        values: buckets.values(series, metric, empty),
    };
    html! {
        div.grid {
            (chart::lines("Requests", buckets, &[line("requests", |a| Some(a.count as f64), Some(0.0))], Unit::Count))
            (chart::lines("Errors", buckets, &[line("errors", |a| Some(a.error_count as f64), Some(0.0))], Unit::Count))
            (chart::lines("Cost", buckets, &[line("cost", |a| Some(a.cost_usd.unwrap_or(0.0)), Some(0.0))], Unit::Usd))
            (chart::lines("Tokens", buckets, &[
                line("input", |a| Some(a.input_tokens as f64), Some(0.0)),
                line("output", |a| Some(a.output_tokens as f64), Some(0.0)),
            ], Unit::Count))
            (chart::lines("Latency", buckets, &[
                line("p50", |a| a.latency_ms.quantile(0.5), None),
                line("p95", |a| a.latency_ms.quantile(0.95), None),
            ], Unit::Millis))
            (chart::lines("Time to first token", buckets, &[line("p50", |a| a.ttft_ms.quantile(0.5), None)], Unit::Millis))
        }
    }
}

fn unpriced_warning(models: &[GroupAggregate], params: &Params) -> Markup {
    let unpriced: Vec<&GroupAggregate> = models
        .iter()
        .filter(|group| group.aggregate.unpriced_count > 0)
        .collect();
    html! {
        @if !unpriced.is_empty() {
            div.warning role="status" {
                strong { "Calls without a price: " }
                @for (index, group) in unpriced.iter().enumerate() {
                    @if index > 0 { ", " }
                    (group.key.as_deref().unwrap_or("(no model)")) " (" (format::count(group.aggregate.unpriced_count)) ")"
                }
                ". Their cost is unknown. "
                a href=(params.link("/costs", &[])) { "How to add a price" }
            }
        }
    }
}

fn top_models(models: &[GroupAggregate], params: &Params) -> Markup {
    if models.is_empty() {
        return layout::empty("No model calls.");
    }
    let most = models
        .first()
        .map_or(1, |group| group.aggregate.count.max(1));
    html! {
        table {
            thead { tr { th { "Model" } th.num { "Calls" } th.num { "Cost" } th.num { "p50" } } }
            tbody {
                @for group in models.iter().take(TOP) {
                    @let name = group.key.as_deref().unwrap_or("(no model)");
                    tr {
                        td { a href=(params.link("/models", &[("a", Some(name))])) { (name) } }
                        td.num { (format::count(group.aggregate.count)) (chart::meter(group.aggregate.count as f64 / most as f64)) }
                        td.num { (format::maybe_usd(group.aggregate.cost_usd)) }
                        td.num { (format::maybe_millis(group.aggregate.latency_ms.quantile(0.5))) }
                    }
                }
            }
        }
    }
}

fn top_users(users: &[UserTotal], params: &Params) -> Markup {
    if users.is_empty() {
        return layout::empty("No calls carried a user id.");
    }
    html! {
        table {
            thead { tr { th { "User" } th.num { "Model calls" } th.num { "Cost" } th.num { "Errors" } } }
            tbody {
                @for user in users {
                    tr {
                        td { a href=(params.link("/traces", &[("user_id", Some(&user.user_id))])) { (user.user_id) } }
                        td.num { (format::count(user.model_calls)) }
                        td.num { (format::maybe_usd(user.cost_usd)) }
                        td.num { (format::count(user.errors)) }
                    }
                }
            }
        }
    }
}

fn top_functions(functions: &[TopTotal], params: &Params) -> Markup {
    if functions.is_empty() {
        return layout::empty("No application spans.");
    }
    let most = functions
        .first()
        .map_or(1.0, |function| function.total_ms.max(1.0));
    html! {
        table {
            thead { tr { th { "Function" } th.num { "Calls" } th.num { "Total time" } } }
            tbody {
                @for function in functions {
                    tr {
                        td {
                            a href=(params.link("/functions", &[("name", Some(&function.key))])) { (function.key) }
                            @if let Some(service) = &function.service { " " span.muted { (service) } }
                        }
                        td.num { (format::count(function.calls)) }
                        td.num { (format::millis(function.total_ms)) (chart::meter(function.total_ms / most)) }
                    }
                }
            }
        }
    }
}
