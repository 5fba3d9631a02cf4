//! The trace list: the filters of the traces API, sortable and paginated.

use axum::extract::{Query, State};
use axum::response::Html;
use glassbox_model::{Analyzer, TraceSummary};
use glassbox_store::{Cursor, Page, TraceFilter, TraceOrder};
use maud::{Markup, html};

use crate::UiState;
use crate::error::PageError;
use crate::format;
use crate::layout::{self, Frame, Section};
use crate::pages::now_nanos;
use crate::query::{Params, path_segment};
use crate::range::TimeRange;

/// Traces per page.
const PAGE_SIZE: usize = 50;

/// Renders `/traces`.
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
        "status",
        "q",
        "sort",
        "min_duration_ms",
        "flag",
        "cursor",
    ])?;
    let range = TimeRange::from_params(&params, now_nanos())?;
    let filter = trace_filter(&params, range)?;
    let cursor = params
        .get("cursor")
        .map(Cursor::decode)
        .transpose()
        .map_err(PageError::from)?;
    let order = filter.order;
    let (traces, next) = state
        .store
        .list_traces(
            filter,
            Page {
                limit: PAGE_SIZE,
                cursor,
            },
        )
        .await?;

    let body = html! {
        (filters(&params))
        div.panel {
            @if traces.is_empty() {
                (layout::empty("No trace matches these filters in this range."))
            } @else {
                (table(&traces, &params, order))
            }
        }
        div.pager {
            @if params.get("cursor").is_some() {
                a href=(params.link("/traces", &[])) { "First page" }
            }
            @if let Some(next) = next {
                a rel="next" href=(params.link("/traces", &[("cursor", Some(&next.encode()))])) { "Next page" }
            }
        }
    };
    Ok(layout::page(
        &Frame {
            title: "Traces",
            section: Section::Traces,
            path: "/traces",
            params: &params,
            range: Some(range),
        },
        body,
    ))
}

/// Builds the store filter of the page's query string.
pub fn trace_filter(params: &Params, range: TimeRange) -> Result<TraceFilter, PageError> {
    let order = params
        .parsed(
            "sort",
            TraceOrder::parse,
            "one of newest, oldest, slowest, costliest, most_tokens",
        )?
        .unwrap_or_default();
    let min_duration_ms = params.parsed(
        "min_duration_ms",
        |text| {
            text.parse::<f64>()
                .ok()
                .filter(|value| value.is_finite() && *value >= 0.0)
        },
        "a non-negative number of milliseconds",
    )?;
    Ok(TraceFilter {
        from_unix_nano: Some(range.from),
        to_unix_nano: Some(range.to),
        service: params.owned("service"),
        model: params.owned("model"),
        provider: params.owned("provider"),
        user_id: params.owned("user_id"),
        session_id: params.owned("session_id"),
        errors_only: errors_only(params)?,
        text: params.owned("q"),
        min_duration_ms,
        flag: params.parsed(
            "flag",
            |text| known_flag(text).then(|| text.to_owned()),
            "any, an analyzer name such as pii, or a finding such as email",
        )?,
        order,
    })
}

fn known_flag(text: &str) -> bool {
    text == "any" || Analyzer::parse(text).is_some() || Analyzer::of_finding(text).is_some()
}

fn errors_only(params: &Params) -> Result<bool, PageError> {
    Ok(params
        .parsed(
            "status",
            |text| (text == "error").then_some(true),
            "\"error\", the only status filter of traces",
        )?
        .unwrap_or(false))
}

fn filters(params: &Params) -> Markup {
    let field = |name: &str, label: &str, placeholder: &str| {
        html! {
            label { (label) input type="text" name=(name) value=(params.get(name).unwrap_or_default()) placeholder=(placeholder); }
        }
    };
    html! {
        form.filters method="get" action="/traces" {
            @for (key, value) in params.pairs() {
                @if matches!(key, "range" | "from" | "to" | "sort" | "refresh") && !value.is_empty() {
                    input type="hidden" name=(key) value=(value);
                }
            }
            (field("q", "Search messages", "words in prompts or outputs"))
            (field("service", "Service", "service.name"))
            (field("model", "Model", "gpt-4o"))
            (field("provider", "Provider", "openai"))
            (field("user_id", "User", "user id"))
            (field("session_id", "Session", "session id"))
            label { "Flag"
                select name="flag" {
                    option value="" selected[params.get("flag").is_none()] { "Any or none" }
                    option value="any" selected[params.get("flag") == Some("any")] { "Any flag" }
                    @for analyzer in Analyzer::ALL {
                        option value=(analyzer.as_str()) selected[params.get("flag") == Some(analyzer.as_str())] { (analyzer.as_str()) }
                    }
                    @if let Some(finding) = params.get("flag").filter(|flag| Analyzer::of_finding(flag).is_some()) {
                        option value=(finding) selected { (finding) }
                    }
                }
            }
            label.check { input type="checkbox" name="status" value="error" checked[params.get("status") == Some("error")]; "Errors only" }
            button type="submit" { "Apply" }
            a href=(clear_link(params)) { "Clear" }
        }
    }
}

fn clear_link(params: &Params) -> String {
    let pairs: Vec<(&str, &str)> = params
        .pairs()
        .filter(|(key, value)| matches!(*key, "range" | "from" | "to") && !value.is_empty())
        .collect();
    crate::query::with_query("/traces", &pairs)
}

fn sort_header(params: &Params, label: &str, order: TraceOrder, current: TraceOrder) -> Markup {
    let link = params.link("/traces", &[("sort", Some(order.as_str()))]);
    html! {
        th.num { a class=[(order == current).then_some("active")] href=(link) title={ "Sort: " (order.as_str()) } {
            (label) @if order == current { " ▾" }
        } }
    }
}

fn table(traces: &[TraceSummary], params: &Params, order: TraceOrder) -> Markup {
    let time_order = if order == TraceOrder::Newest {
        TraceOrder::Oldest
    } else {
        TraceOrder::Newest
    };
    html! {
        table #traces {
            thead { tr {
                th { a class=[matches!(order, TraceOrder::Newest | TraceOrder::Oldest).then_some("active")]
                    href=(params.link("/traces", &[("sort", Some(time_order.as_str()))])) {
                    "Start (UTC)" @if order == TraceOrder::Newest { " ▾" } @if order == TraceOrder::Oldest { " ▴" }
                } }
                th { "Trace" }
                th { "Service" }
                th { "Models" }
                th.num { "Spans" }
                (sort_header(params, "Duration", TraceOrder::Slowest, order))
                (sort_header(params, "Tokens", TraceOrder::MostTokens, order))
                (sort_header(params, "Cost", TraceOrder::Costliest, order))
                th { "User" }
                th { "Session" }
            } }
            tbody {
                @for trace in traces {
                    tr class=[(trace.error_count > 0).then_some("error")] data-trace-id=(trace.trace_id) {
                        td.mono { (format::time(trace.start_time_unix_nano)) }
                        td {
                            a href={ "/traces/" (trace.trace_id) } { (trace.root_name.as_deref().unwrap_or("(unnamed)")) }
                            @if trace.error_count > 0 { " " span.badge.error { (trace.error_count) " error" @if trace.error_count > 1 { "s" } } }
                        }
                        td { (trace.service_name.as_deref().unwrap_or("–")) }
                        td { @for model in &trace.models { span.badge { (model) } } }
                        td.num { (trace.span_count) }
                        td.num { (format::millis(trace.duration_ms())) }
                        td.num { (format::maybe_count(trace.total_tokens)) }
                        td.num {
                            (format::maybe_usd(trace.cost_usd))
                            @if trace.unpriced_call_count > 0 {
                                " "
                                span.badge title="Calls to models without a known price: the cost leaves them out" {
                                    "+" (trace.unpriced_call_count) " unpriced"
                                }
                            }
                        }
                        td { @if let Some(user) = &trace.user_id { a href=(params.link("/traces", &[("user_id", Some(user))])) { (user) } } }
                        td { @if let Some(session) = &trace.session_id { a href={ "/sessions/" (path_segment(session)) } { (session) } } }
                    }
                }
            }
        }
    }
}
