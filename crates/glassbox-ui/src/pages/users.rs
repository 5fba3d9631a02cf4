//! Users: the user ids seen on model calls, with their totals.

use axum::extract::{Query, State};
use axum::response::Html;
use maud::html;

use crate::UiState;
use crate::chart;
use crate::error::PageError;
use crate::format;
use crate::layout::{self, Frame, Section};
use crate::pages::{METRIC_FILTERS, MODEL_CALLS, metrics_filter, now_nanos};
use crate::query::Params;
use crate::range::TimeRange;

/// Users listed at most.
const MAX_USERS: usize = 1_000;

/// Renders `/users`.
pub async fn page(
    State(state): State<UiState>,
    Query(params): Query<Params>,
) -> Result<Html<String>, PageError> {
    params.accept_only(&METRIC_FILTERS)?;
    let range = TimeRange::from_params(&params, now_nanos())?;
    let filter = metrics_filter(range, &params, &MODEL_CALLS);
    let users = state.store.top_users(filter, MAX_USERS).await?;
    let most = users
        .iter()
        .map(|user| user.model_calls)
        .max()
        .unwrap_or(1)
        .max(1);

    let body = html! {
        p.muted { "Each trace counts for the user it names, whichever of its spans carried the user id." }
        section.panel {
            @if users.is_empty() {
                (layout::empty("No trace in this range carried a user id (user.id, langfuse.user.id, x-glassbox-user-id, ...)."))
            } @else {
                table #users {
                    thead { tr {
                        th { "User" } th.num { "Traces" } th.num { "Model calls" } th.num { "Errors" } th.num { "Input tokens" }
                        th.num { "Output tokens" } th.num { "Cost" } th.num { "Time in traces" } th { "" }
                    } }
                    tbody {
                        @for user in &users {
                            tr {
                                td { a href=(params.link("/traces", &[("user_id", Some(&user.user_id))])) { (user.user_id) } }
                                td.num { (format::count(user.traces)) }
                                td.num { (format::count(user.model_calls)) (chart::meter(user.model_calls as f64 / most as f64)) }
                                td.num { (format::count(user.errors)) }
                                td.num { (format::count(user.input_tokens)) }
                                td.num { (format::count(user.output_tokens)) }
                                td.num { (format::maybe_usd(user.cost_usd)) }
                                td.num { (format::millis(user.total_ms)) }
                                td { a href=(params.link("/sessions", &[("user_id", Some(&user.user_id))])) { "Sessions" } }
                            }
                        }
                    }
                }
                @if users.len() == MAX_USERS { p.muted { "The " (MAX_USERS) " users with the most model calls are shown." } }
            }
        }
    };
    Ok(layout::page(
        &Frame {
            title: "Users",
            section: Section::Users,
            path: "/users",
            params: &params,
            range: Some(range),
        },
        body,
    ))
}
