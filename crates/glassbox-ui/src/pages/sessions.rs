//! Sessions: the list with totals, and one session shown as the conversation it was.

use axum::extract::{Path, Query, State};
use axum::response::Html;
use glassbox_model::{Message, Span, SpanKind, TraceSummary};
use glassbox_store::{Cursor, Page, SessionSummary, TraceFilter};
use maud::{Markup, html};

use crate::UiState;
use crate::error::PageError;
use crate::format;
use crate::layout::{self, Frame, Section};
use crate::pages::now_nanos;
use crate::pages::trace::message_box;
use crate::query::{Params, path_segment};
use crate::range::TimeRange;

/// Sessions per page.
const PAGE_SIZE: usize = 50;
/// Turns shown of one session; a longer session links to its traces.
const MAX_TURNS: usize = 100;

/// Renders `/sessions`.
pub async fn list(
    State(state): State<UiState>,
    Query(params): Query<Params>,
) -> Result<Html<String>, PageError> {
    params.accept_only(&["user_id", "service", "cursor"])?;
    let range = TimeRange::from_params(&params, now_nanos())?;
    let cursor = params
        .get("cursor")
        .map(Cursor::decode)
        .transpose()
        .map_err(PageError::from)?;
    let filter = TraceFilter {
        from_unix_nano: Some(range.from),
        to_unix_nano: Some(range.to),
        user_id: params.owned("user_id"),
        service: params.owned("service"),
        ..TraceFilter::default()
    };
    let (sessions, next) = state
        .store
        .list_sessions(
            filter,
            Page {
                limit: PAGE_SIZE,
                cursor,
            },
        )
        .await?;

    let body = html! {
        @if let Some(user) = params.get("user_id") {
            p { "Sessions of user " strong { (user) } ". " a href=(params.link("/sessions", &[("user_id", None)])) { "Show every user" } }
        }
        section.panel {
            @if sessions.is_empty() {
                (layout::empty("No session in this range. Sessions come from a session id on the spans (session.id, langfuse.session.id, x-glassbox-session-id, ...)."))
            } @else {
                (table(&sessions, &params))
            }
        }
        div.pager {
            @if params.get("cursor").is_some() {
                a href=(params.link("/sessions", &[])) { "First page" }
            }
            @if let Some(next) = next {
                a rel="next" href=(params.link("/sessions", &[("cursor", Some(&next.encode()))])) { "Next page" }
            }
        }
    };
    Ok(layout::page(
        &Frame {
            title: "Sessions",
            section: Section::Sessions,
            path: "/sessions",
            params: &params,
            range: Some(range),
        },
        body,
    ))
}

fn table(sessions: &[SessionSummary], params: &Params) -> Markup {
    html! {
        table #sessions {
            thead { tr {
                th { "Session" } th { "User" } th.num { "Traces" } th { "Started (UTC)" } th { "Last activity (UTC)" }
                th.num { "Errors" } th.num { "Input tokens" } th.num { "Output tokens" } th.num { "Cost" }
            } }
            tbody {
                @for session in sessions {
                    tr class=[(session.error_count > 0).then_some("error")] {
                        td { a href={ "/sessions/" (path_segment(&session.session_id)) } { (session.session_id) } }
                        td { @if let Some(user) = &session.user_id { a href=(params.link("/sessions", &[("user_id", Some(user))])) { (user) } } }
                        td.num { (session.trace_count) }
                        td.mono { (format::time(session.start_time_unix_nano)) }
                        td.mono { (format::time(session.end_time_unix_nano)) }
                        td.num { (session.error_count) }
                        td.num { (format::maybe_count(session.input_tokens)) }
                        td.num { (format::maybe_count(session.output_tokens)) }
                        td.num { (format::maybe_usd(session.cost_usd)) }
                    }
                }
            }
        }
    }
}

/// Renders `/sessions/{session_id}`.
pub async fn detail(
    State(state): State<UiState>,
    Path(session_id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Html<String>, PageError> {
    params.accept_only(&[])?;
    let Some((session, traces)) = state.store.session(session_id.clone()).await? else {
        return Err(PageError::NotFound(format!(
            "Session {session_id:?} is not stored."
        )));
    };
    let mut turns = Vec::new();
    for summary in traces.iter().take(MAX_TURNS) {
        let spans = state
            .store
            .trace(summary.trace_id)
            .await?
            .map(|detail| detail.spans)
            .unwrap_or_default();
        turns.push(turn(summary, &spans));
    }

    let body = html! {
        div.range-bar { h1 { "Session " (session.session_id) } }
        div.stats {
            (layout::stat("Traces", format::count(session.trace_count), None, false))
            (layout::stat("Failed spans", format::count(session.error_count), None, true))
            (layout::stat("Input tokens", format::maybe_count(session.input_tokens), None, false))
            (layout::stat("Output tokens", format::maybe_count(session.output_tokens), None, false))
            (layout::stat("Cost", format::maybe_usd(session.cost_usd), None, true))
            (layout::stat("Length", format::millis(session.end_time_unix_nano.saturating_sub(session.start_time_unix_nano) as f64 / 1e6), None, false))
        }
        dl.facts.panel {
            dt { "Session id" } dd.mono { (session.session_id) }
            @if let Some(user) = &session.user_id {
                dt { "User" } dd { a href=(crate::query::with_query("/traces", &[("user_id", user), ("range", "30d")])) { (user) } }
            }
            dt { "Started" } dd { (format::time(session.start_time_unix_nano)) " UTC" }
            dt { "Traces" } dd { a href=(crate::query::with_query("/traces", &[("session_id", &session.session_id), ("range", "30d")])) { "List them" } }
        }
        section.panel.conversation #conversation {
            @for rendered in turns { (rendered) }
            @if traces.len() > MAX_TURNS {
                p.muted { "The first " (MAX_TURNS) " turns of " (traces.len()) " are shown." }
            }
        }
    };
    let title = format!("Session {}", session.session_id);
    Ok(layout::page(
        &Frame {
            title: &title,
            section: Section::Sessions,
            path: "/sessions",
            params: &params,
            range: None,
        },
        body,
    ))
}

/// Renders one turn: the user's message to the first model call and the last call's output.
fn turn(summary: &TraceSummary, spans: &[Span]) -> Markup {
    let calls: Vec<&Span> = spans
        .iter()
        .filter(|span| span.kind == SpanKind::Llm)
        .collect();
    let asked: Option<&Message> = calls.first().and_then(|span| {
        span.input_messages
            .as_deref()?
            .iter()
            .rev()
            .find(|message| message.role == "user")
    });
    let answered: &[Message] = calls
        .last()
        .and_then(|span| span.output_messages.as_deref())
        .unwrap_or_default();
    html! {
        div.turn {
            div.muted {
                (format::time(summary.start_time_unix_nano)) " UTC · "
                a href={ "/traces/" (summary.trace_id) } { (summary.root_name.as_deref().unwrap_or("trace")) }
                " · " (format::millis(summary.duration_ms())) " · " (format::maybe_usd(summary.cost_usd))
                @if summary.error_count > 0 { " " span.badge.error { "error" } }
            }
            @if let Some(message) = asked { (message_box(message)) }
            @for message in answered { (message_box(message)) }
            @if asked.is_none() && answered.is_empty() { p.muted { "No messages were recorded for this turn." } }
        }
    }
}
