//! One trace: the waterfall of its spans on a time axis with the critical path, and the
//! selected span in full: its conversation, figures, analyzer flags, scores, events and raw
//! attributes.

use axum::extract::{Path, Query, State};
use axum::response::Html;
use glassbox_model::{Message, Score, Span, SpanId, SpanKind, TraceId, TraceSummary};
use glassbox_store::TraceDetail;
use maud::{Markup, html};
use serde_json::{Map, Value};

use crate::UiState;
use crate::error::PageError;
use crate::format;
use crate::layout::{self, Frame, Section};
use crate::pages::{servers, span_quality};
use crate::query::{Params, path_segment};
use crate::waterfall::{self, Row};

/// Deepest indentation shown; deeper spans keep this indentation.
const MAX_INDENT: usize = 15;

/// Renders `/traces/{trace_id}`.
pub async fn page(
    State(state): State<UiState>,
    Path(trace_id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Html<String>, PageError> {
    params.accept_only(&["span"])?;
    let id: TraceId = trace_id
        .parse()
        .map_err(|error| PageError::BadParameter("trace_id", format!("{error}")))?;
    let Some(detail) = state.store.trace(id).await? else {
        return Err(PageError::NotFound(format!("Trace {id} is not stored.")));
    };
    let selected = selected_span(&detail, &params)?;

    let server_state = match selected {
        Some(span) => server_state(&state, span).await?,
        None => html! {},
    };
    let scores = span_quality::trace_scores(&state, id).await?;
    let rows = waterfall::layout(&detail.spans);
    let body = html! {
        (summary(&detail.trace, unpriced_calls(&detail.spans)))
        div.detail {
            section.panel {
                h2 { "Waterfall" }
                p.muted { "Bars show each span on the trace's time axis; "
                    span.critical-mark { "◆" } " marks the critical path, the spans that decided when the trace ended." }
                (waterfall_table(&rows, &detail.trace, selected.map(|span| span.span_id)))
            }
            section.panel #span {
                @if let Some(span) = selected {
                    (span_detail(span, &detail.trace, &scores))
                    (server_state)
                } @else {
                    (layout::empty("This trace has no spans."))
                }
            }
        }
    };
    let title = format!(
        "Trace {}",
        detail.trace.root_name.as_deref().unwrap_or("(unnamed)")
    );
    Ok(layout::page(
        &Frame {
            title: &title,
            section: Section::Traces,
            path: "/traces",
            params: &params,
            range: None,
        },
        body,
    ))
}

/// Shows what each scraped server that serves the span's model reported around the call.
async fn server_state(state: &UiState, span: &Span) -> Result<Markup, PageError> {
    let Some(model) = span.requested_model().or(span.response_model.as_deref()) else {
        return Ok(html! {});
    };
    let targets: Vec<glassbox_infra::TargetStatus> = state
        .infra
        .as_ref()
        .map(|registry| registry.snapshot())
        .unwrap_or_default()
        .into_iter()
        .filter(|target| servers::serves(target, model))
        .collect();
    let mut sections = Vec::new();
    for target in &targets {
        let mut values = Vec::new();
        for (label, name, factor) in servers::AROUND_CALL {
            let value = servers::around_call(
                state.store.as_ref(),
                target,
                name,
                span.start_time_unix_nano,
                span.end_time_unix_nano,
            )
            .await?;
            if let Some(value) = value {
                values.push((label, value * factor));
            }
        }
        sections.push(html! {
            div.server-state data-target=(target.name) {
                h3 { "What " (target.name) " reported around the call" }
                @if values.is_empty() {
                    p.muted { "No points of this server from one scrape interval before the call to one after." }
                } @else {
                    dl.facts {
                        @for (label, value) in &values { dt { (label) } dd { (format::rate(*value)) } }
                    }
                }
            }
        });
    }
    Ok(html! { @for section in sections { (section) } })
}

/// Counts the model calls whose cost is unknown, which the trace's cost leaves out.
fn unpriced_calls(spans: &[Span]) -> usize {
    spans
        .iter()
        .filter(|span| span.cost_status == Some(glassbox_model::CostStatus::Unpriced))
        .count()
}

/// Picks the span named by `?span=`, else the first model call, else the first span.
fn selected_span<'a>(
    detail: &'a TraceDetail,
    params: &Params,
) -> Result<Option<&'a Span>, PageError> {
    if let Some(text) = params.get("span") {
        let id: SpanId = text
            .parse()
            .map_err(|error| PageError::BadParameter("span", format!("{error}")))?;
        return detail
            .spans
            .iter()
            .find(|span| span.span_id == id)
            .map(Some)
            .ok_or_else(|| PageError::NotFound(format!("Span {id} is not part of this trace.")));
    }
    Ok(detail
        .spans
        .iter()
        .find(|span| matches!(span.kind, SpanKind::Llm))
        .or_else(|| detail.spans.first()))
}

fn summary(trace: &TraceSummary, unpriced: usize) -> Markup {
    html! {
        div.range-bar {
            h1 { "Trace " (trace.root_name.as_deref().unwrap_or("(unnamed)")) }
        }
        div.stats {
            (layout::stat("Duration", format::millis(trace.duration_ms()), None, false))
            (layout::stat("Spans", format::count(trace.span_count), None, false))
            (layout::stat("Model calls", format::count(trace.llm_call_count), None, false))
            (layout::stat("Errors", format::count(trace.error_count), None, true))
            (layout::stat("Tokens", format::maybe_count(trace.total_tokens), None, false))
            (layout::stat("Cost", format::maybe_usd(trace.cost_usd), None, true))
            @if unpriced > 0 {
                (layout::stat("Calls without a price", format::count(unpriced as u64), None, true))
            }
        }
        dl.facts.panel {
            dt { "Trace id" } dd.mono { (trace.trace_id) }
            dt { "Start" } dd { (format::time(trace.start_time_unix_nano)) " UTC" }
            dt { "Service" } dd { (trace.service_name.as_deref().unwrap_or("–")) }
            @if let Some(user) = &trace.user_id {
                dt { "User" } dd { a href=(crate::query::with_query("/traces", &[("user_id", user), ("range", "30d")])) { (user) } }
            }
            @if let Some(session) = &trace.session_id {
                dt { "Session" } dd { a href={ "/sessions/" (path_segment(session)) } { (session) } }
            }
            @if !trace.tags.is_empty() {
                dt { "Tags" } dd { @for tag in &trace.tags { span.badge { (tag) } } }
            }
        }
    }
}

fn waterfall_table(rows: &[Row<'_>], trace: &TraceSummary, selected: Option<SpanId>) -> Markup {
    let origin = trace.start_time_unix_nano;
    let total = trace.end_time_unix_nano.saturating_sub(origin).max(1) as f64;
    html! {
        table.waterfall {
            thead { tr { th { "Span" } th.num { "Duration" } th.num { "Share" } th.bar-cell { "Timeline" } } }
            tbody {
                @for row in rows {
                    @let span = row.span;
                    @let start = span.start_time_unix_nano.saturating_sub(origin) as f64 / total * 1000.0;
                    @let width = (span.duration_ms() * 1e6 / total * 1000.0).max(2.0);
                    @let failed = span.status == glassbox_model::SpanStatus::Error;
                    tr class=[(Some(span.span_id) == selected).then_some("selected")] data-span-id=(span.span_id) {
                        td class={ "name d" (row.depth.min(MAX_INDENT)) } {
                            @if row.critical { b.critical-mark { "◆ " } }
                            a href={ "?span=" (span.span_id) "#span" } { (span.name) }
                            " " span.badge.kind { (span.kind.as_str()) }
                        }
                        td.num { (format::millis(span.duration_ms())) }
                        td.num { (format::percent(span.duration_ms() * 1e6 / total)) }
                        td.bar-cell {
                            svg viewBox="0 0 1000 10" preserveAspectRatio="none" {
                                rect class={ "span-bar " (span.kind.as_str()) @if failed { " error" } @if row.critical { " critical" } }
                                    x=(format!("{start:.1}")) y="1" width=(format!("{width:.1}")) height="8" {}
                            }
                        }
                    }
                }
            }
        }
    }
}

fn span_detail(span: &Span, trace: &TraceSummary, scores: &[Score]) -> Markup {
    let share = span.duration_ms() / trace.duration_ms().max(f64::MIN_POSITIVE);
    html! {
        h2 { (span.name) " " span.badge.kind { (span.kind.as_str()) } }
        dl.facts {
            dt { "Span id" } dd.mono { (span.span_id) }
            dt { "Status" } dd {
                @if span.status == glassbox_model::SpanStatus::Error { span.badge.error { "error" } } @else { (span.status.as_str()) }
            }
            @if let Some(message) = &span.status_message { dt { "Error" } dd.error-message { (message) } }
            @if let Some(error_type) = &span.error_type { dt { "Error type" } dd { (error_type) } }
            dt { "Start" } dd { (format::time(span.start_time_unix_nano)) " UTC" }
            dt { "Duration" } dd { (format::millis(span.duration_ms())) " (" (format::percent(share)) " of the trace)" }
            @if let Some(service) = &span.service_name { dt { "Service" } dd { (service) } }
            @if let Some(provider) = &span.provider { dt { "Provider" } dd { (provider) } }
            @if let Some(model) = &span.request_model { dt { "Request model" } dd { (model) } }
            @if let Some(model) = &span.response_model { dt { "Response model" } dd { (model) } }
            @if let Some(operation) = &span.operation { dt { "Operation" } dd { (operation) } }
            @if let Some(tool) = &span.tool_name { dt { "Tool" } dd { (tool) } }
            @if !span.usage.is_empty() {
                dt { "Tokens" } dd {
                    (format::maybe_count(span.usage.input)) " in, " (format::maybe_count(span.usage.output)) " out"
                    @if let Some(cached) = span.usage.cached_input { ", " (format::count(cached)) " cached" }
                    @if let Some(reasoning) = span.usage.reasoning { ", " (format::count(reasoning)) " reasoning" }
                    @if span.tokens_estimated { " " span.badge { "estimated" } }
                }
            }
            @if span.cost_usd.is_some() || span.cost_status.is_some() {
                dt { "Cost" } dd {
                    (format::maybe_usd(span.cost_usd))
                    @if let Some(status) = span.cost_status { " " span.badge { (status.as_str()) } }
                }
            }
            @if let Some(ttft) = span.ttft_ms { dt { "Time to first token" } dd { (format::millis(ttft)) } }
            @if let Some(rate) = span.output_tokens_per_second { dt { "Output tokens/s" } dd { (format::rate(rate)) } }
            @if let Some(streaming) = span.streaming { dt { "Streaming" } dd { (if streaming { "yes" } else { "no" }) } }
            @if !span.finish_reasons.is_empty() { dt { "Finish reason" } dd { (span.finish_reasons.join(", ")) } }
            @if let Some(user) = &span.user_id { dt { "User" } dd { (user) } }
        }
        (span_quality::section(span, scores))
        (conversation("Input", span.input_messages.as_deref()))
        (conversation("Output", span.output_messages.as_deref()))
        (documents(&span.attributes))
        @if !span.events.is_empty() {
            h3 { "Events and exceptions" }
            @for event in &span.events {
                div.message class=[(event.name == "exception").then_some("tool")] {
                    div.role { (event.name) " · " (format::time(event.time_unix_nano)) }
                    (attribute_table(&event.attributes))
                }
            }
        }
        @if !span.metadata.is_empty() {
            details { summary { "Metadata (" (span.metadata.len()) ")" } (attribute_table(&span.metadata)) }
        }
        details open[span.input_messages.is_none() && span.output_messages.is_none()] {
            summary { "Attributes (" (span.attributes.len()) ")" }
            (attribute_table(&span.attributes))
        }
        details {
            summary { "Resource attributes (" (span.resource_attributes.len()) ")" }
            (attribute_table(&span.resource_attributes))
        }
    }
}

/// Renders messages as a conversation; every text is escaped by maud.
pub fn conversation(title: &str, messages: Option<&[Message]>) -> Markup {
    let Some(messages) = messages.filter(|messages| !messages.is_empty()) else {
        return html! {};
    };
    html! {
        h3 { (title) }
        div.conversation {
            @for message in messages { (message_box(message)) }
        }
    }
}

/// Renders one message with its tool calls.
pub fn message_box(message: &Message) -> Markup {
    let role_class = match message.role.as_str() {
        "user" | "human" => "user",
        "assistant" | "model" | "ai" => "assistant",
        "system" | "developer" => "system",
        "tool" | "function" | "ipython" => "tool",
        _ => "",
    };
    html! {
        div class={ "message " (role_class) } {
            div.role {
                (message.role)
                @if let Some(id) = &message.tool_call_id { " · answers " span.mono { (id) } }
            }
            @if let Some(content) = &message.content { pre { (content) } }
            @for call in &message.tool_calls {
                div.tool-call {
                    "Calls " strong { (call.name) }
                    @if let Some(id) = &call.id { " " span.mono.muted { (id) } }
                    pre { (pretty(&call.arguments)) }
                }
            }
        }
    }
}

fn pretty(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

/// Retrieved documents kept in attributes as `...documents.N...content` keys (OpenInference
/// and OpenLLMetry name them so).
fn documents(attributes: &Map<String, Value>) -> Markup {
    let mut documents: Vec<(&str, String)> = attributes
        .iter()
        .filter(|(key, _)| key.contains("documents.") && key.ends_with("content"))
        .map(|(key, value)| (key.as_str(), pretty(value)))
        .collect();
    documents.sort_by_key(|(key, _)| natural_key(key));
    html! {
        @if !documents.is_empty() {
            h3 { "Retrieved documents" }
            div.conversation {
                @for (key, text) in &documents {
                    div.message { div.role { (key) } pre { (text) } }
                }
            }
        }
    }
}

fn natural_key(key: &str) -> Vec<(u64, String)> {
    key.split('.')
        .map(|part| (part.parse().unwrap_or(u64::MAX), part.to_owned()))
        .collect()
}

fn attribute_table(attributes: &Map<String, Value>) -> Markup {
    html! {
        @if attributes.is_empty() {
            p.muted { "None." }
        } @else {
            table.attrs {
                tbody {
                    @for (key, value) in attributes {
                        tr { td.mono { (key) } td { pre { (pretty(value)) } } }
                    }
                }
            }
        }
    }
}
