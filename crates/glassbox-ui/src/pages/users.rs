//! Users: the user ids seen on model calls, with their totals.

use axum::extract::{Query, State};
use axum::response::Html;
use glassbox_store::GroupBy;
use maud::html;

use crate::UiState;
use crate::chart;
use crate::error::PageError;
use crate::format;
use crate::layout::{self, Frame, Section};
use crate::pages::{MODEL_CALLS, metrics_filter, now_nanos};
use crate::query::Params;
use crate::range::TimeRange;

/// Renders `/users`.
pub async fn page(
    State(state): State<UiState>,
    Query(params): Query<Params>,
) -> Result<Html<String>, PageError> {
    let range = TimeRange::from_params(&params, now_nanos())?;
    let filter = metrics_filter(range, &params, &MODEL_CALLS);
    let mut users = state.store.summary(filter, Some(GroupBy::UserId)).await?;
    users.retain(|group| group.key.is_some());
    let most = users
        .iter()
        .map(|group| group.aggregate.count)
        .max()
        .unwrap_or(1)
        .max(1);

    let body = html! {
        section.panel {
            @if users.is_empty() {
                (layout::empty("No model call in this range carried a user id (user.id, langfuse.user.id, x-glassbox-user-id, ...)."))
            } @else {
                table #users {
                    thead { tr {
                        th { "User" } th.num { "Model calls" } th.num { "Errors" } th.num { "Input tokens" }
                        th.num { "Output tokens" } th.num { "Cost" } th.num { "Latency p50" } th { "" }
                    } }
                    tbody {
                        @for group in &users {
                            @let user = group.key.as_deref().unwrap_or_default();
                            @let aggregate = &group.aggregate;
                            tr {
                                td { a href=(params.link("/traces", &[("user", Some(user))])) { (user) } }
                                td.num { (format::count(aggregate.count)) (chart::meter(aggregate.count as f64 / most as f64)) }
                                td.num { (format::count(aggregate.error_count)) }
                                td.num { (format::count(aggregate.input_tokens)) }
                                td.num { (format::count(aggregate.output_tokens)) }
                                td.num { (format::maybe_usd(aggregate.cost_usd)) }
                                td.num { (format::maybe_millis(aggregate.latency_ms.quantile(0.5))) }
                                td { a href=(params.link("/sessions", &[("user", Some(user))])) { "Sessions" } }
                            }
                        }
                    }
                }
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
