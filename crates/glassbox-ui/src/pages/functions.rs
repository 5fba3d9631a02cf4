//! Functions: the application's own spans by service and name, with their share of trace
//! time and links to their slowest traces.

use axum::extract::{Query, State};
use axum::response::Html;
use glassbox_store::FunctionStats;
use maud::{Markup, html};

use crate::UiState;
use crate::chart;
use crate::error::PageError;
use crate::format;
use crate::layout::{self, Frame, Section};
use crate::pages::{metrics_filter, now_nanos};
use crate::query::Params;
use crate::range::TimeRange;

/// Slowest traces linked per function.
const SLOWEST: usize = 3;

/// Renders `/functions`.
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
        "name",
    ])?;
    let range = TimeRange::from_params(&params, now_nanos())?;
    let filter = metrics_filter(range, &params, &[]);
    let mut functions = state.store.functions(filter).await?;
    if let Some(name) = params.get("name") {
        functions.retain(|function| function.name == name);
    }
    functions.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));

    let body = html! {
        p.muted { "Spans of the application itself (agents, chains, tools, retrievals and others), by service and name. "
            "Self time leaves out the time of direct children; the share is the function's time over the time of the traces it ran in." }
        @if params.get("name").is_some() {
            p { "Showing one function. " a href=(params.link("/functions", &[("name", None)])) { "Show all" } }
        }
        section.panel {
            @if functions.is_empty() {
                @if let Some(name) = params.get("name") {
                    p.empty { "No function named " (name) " in this range." }
                } @else {
                    (layout::empty("No application spans in this range."))
                }
            } @else {
                (table(&functions))
            }
        }
    };
    Ok(layout::page(
        &Frame {
            title: "Functions",
            section: Section::Functions,
            path: "/functions",
            params: &params,
            range: Some(range),
        },
        body,
    ))
}

fn table(functions: &[FunctionStats]) -> Markup {
    html! {
        table #functions {
            thead { tr {
                th { "Function" } th { "Service" } th { "Kind" } th.num { "Calls" } th.num { "Errors" }
                th.num { "p50" } th.num { "p95" } th.num { "p99" } th.num { "Total time" } th.num { "Self time" }
                th.num { "Share of trace time" } th { "Slowest traces" }
            } }
            tbody {
                @for function in functions {
                    @let share = if function.trace_ms > 0.0 { function.total_ms / function.trace_ms } else { 0.0 };
                    tr class=[(function.errors > 0).then_some("error")] {
                        td { (function.name) }
                        td { (function.service.as_deref().unwrap_or("–")) }
                        td { span.badge.kind { (function.kind.as_str()) } }
                        td.num { (format::count(function.calls)) }
                        td.num { (format::count(function.errors)) }
                        td.num { (format::maybe_millis(function.duration_ms.quantile(0.5))) }
                        td.num { (format::maybe_millis(function.duration_ms.quantile(0.95))) }
                        td.num { (format::maybe_millis(function.duration_ms.quantile(0.99))) }
                        td.num { (format::millis(function.total_ms)) }
                        td.num { (format::millis(function.self_ms)) }
                        td.num { (format::percent(share)) (chart::meter(share)) }
                        td {
                            @for (trace_id, duration) in function.slowest.iter().take(SLOWEST) {
                                a.badge href={ "/traces/" (trace_id) } title=(trace_id) { (format::millis(*duration)) }
                            }
                        }
                    }
                }
            }
        }
    }
}
