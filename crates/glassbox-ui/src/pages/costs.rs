//! Costs: over time by model, by user, tag and service; the most expensive traces; what
//! prompt caching saved; and the calls that have no price.

use axum::extract::{Query, State};
use axum::response::Html;
use glassbox_store::{GroupAggregate, GroupBy, Page, TraceFilter, TraceOrder, UserTotal};
use maud::{Markup, html};

use crate::UiState;
use crate::chart::{self, Buckets, Line, Unit};
use crate::error::PageError;
use crate::format;
use crate::layout::{self, Frame, Section};
use crate::pages::servers;
use crate::pages::{METRIC_FILTERS, MODEL_CALLS, metrics_filter, now_nanos};
use crate::query::Params;
use crate::range::TimeRange;

/// Models with their own colour in the chart; the rest are summed as "other".
const STACKED_MODELS: usize = 7;
/// Rows of each breakdown and of the expensive-trace list.
const TOP: usize = 10;

/// Renders `/costs`.
pub async fn page(
    State(state): State<UiState>,
    Query(params): Query<Params>,
) -> Result<Html<String>, PageError> {
    params.accept_only(&METRIC_FILTERS)?;
    let range = TimeRange::from_params(&params, now_nanos())?;
    let filter = metrics_filter(range, &params, &MODEL_CALLS);
    let step = range.step_seconds();
    let expensive_filter = TraceFilter {
        from_unix_nano: Some(range.from),
        to_unix_nano: Some(range.to),
        service: params.owned("service"),
        model: params.owned("model"),
        provider: params.owned("provider"),
        user_id: params.owned("user_id"),
        order: TraceOrder::Costliest,
        ..TraceFilter::default()
    };
    let first_page = Page {
        limit: TOP,
        cursor: None,
    };
    // The queries are independent: the store runs them on separate reader connections.
    let store = &state.store;
    let (series, models, users, tags, services, (expensive, _)) = tokio::try_join!(
        store.timeseries(filter.clone(), Some(GroupBy::Model), step),
        store.summary(filter.clone(), Some(GroupBy::Model)),
        store.top_users(filter.clone(), 1_000),
        store.summary(filter.clone(), Some(GroupBy::Tag)),
        store.summary(filter.clone(), Some(GroupBy::Service)),
        store.list_traces(expensive_filter, first_page),
    )?;
    let breakdowns = [
        user_breakdown(&users, &params),
        breakdown("By tag", "tag", tags, &params),
        breakdown("By service", "service", services, &params),
    ];

    let self_hosted = self_hosted_costs(&state, range, &models).await?;
    let self_hosted_total: f64 = self_hosted.iter().map(|row| row.cost).sum();
    let buckets = Buckets::new(range, step);
    let total: f64 = models
        .iter()
        .filter_map(|group| group.aggregate.cost_usd)
        .sum();
    let body = html! {
        div.stats {
            (layout::stat("API cost", format::usd(total), None, true))
            @if !self_hosted.is_empty() {
                (layout::stat("Self-hosted cost", format::usd(self_hosted_total), None, true))
            }
            (layout::stat("Model calls", format::count(models.iter().map(|group| group.aggregate.count).sum()), None, false))
            (layout::stat("Unpriced calls", format::count(models.iter().map(|group| group.aggregate.unpriced_count).sum()), None, true))
            (layout::stat("Cache savings", format::usd(savings(&state, &models, range.to).iter().map(|(_, _, saved)| saved).sum()), None, false))
        }
        div.columns {
            (chart::stacked("Cost by model", &buckets, &stacks(&buckets, &series), Unit::Usd))
            (breakdown("By model", "model", with_self_hosted(&models, &self_hosted), &params))
        }
        div.columns { @for table in breakdowns { (table) } }
        @if !self_hosted.is_empty() { (self_hosted_table(&self_hosted)) }
        section.panel {
            h2 { "Most expensive traces" }
            (expensive_traces(&expensive))
        }
        div.columns {
            section.panel {
                h2 { "Cached-token savings" }
                (savings_table(&savings(&state, &models, range.to)))
            }
            section.panel #unpriced {
                h2 { "Calls without a price" }
                (unpriced(&models, range))
            }
        }
    };
    Ok(layout::page(
        &Frame {
            title: "Costs",
            section: Section::Costs,
            path: "/costs",
            params: &params,
            range: Some(range),
        },
        body,
    ))
}

/// Gives the models of self-hosted servers their share of the server's cost, by calls, so
/// they appear beside API models.
fn with_self_hosted(models: &[GroupAggregate], servers: &[SelfHosted]) -> Vec<GroupAggregate> {
    models
        .iter()
        .map(|group| {
            let mut group = group.clone();
            let Some(model) = group.key.as_deref() else {
                return group;
            };
            let share: f64 = servers
                .iter()
                .filter(|server| {
                    server.calls > 0 && server.model_names.iter().any(|name| name == model)
                })
                .map(|server| server.cost * group.aggregate.count as f64 / server.calls as f64)
                .sum();
            if share > 0.0 {
                group.aggregate.cost_usd = Some(group.aggregate.cost_usd.unwrap_or(0.0) + share);
            }
            group
        })
        .collect()
}

/// The cost of one self-hosted server over the range: its GPU-hours at its price, shared by
/// the calls of the models it serves.
struct SelfHosted {
    target: String,
    models: Vec<String>,
    gpu_hours: f64,
    cost: f64,
    calls: u64,
    tokens: u64,
    /// The model names of the calls it served, as spans carry them.
    model_names: Vec<String>,
}

async fn self_hosted_costs(
    state: &UiState,
    range: TimeRange,
    models: &[GroupAggregate],
) -> Result<Vec<SelfHosted>, PageError> {
    let targets = state
        .infra
        .as_ref()
        .map(|registry| registry.snapshot())
        .unwrap_or_default();
    let mut rows = Vec::new();
    for target in targets {
        let Some(price) = target.gpu_hour_usd else {
            continue;
        };
        let gpu_hours =
            servers::up_hours(state.store.as_ref(), &target, range).await? * f64::from(target.gpus);
        let served: Vec<&GroupAggregate> = models
            .iter()
            .filter(|group| {
                group
                    .key
                    .as_deref()
                    .is_some_and(|model| servers::serves(&target, model))
            })
            .collect();
        rows.push(SelfHosted {
            models: target.models.clone(),
            gpu_hours,
            cost: gpu_hours * price,
            calls: served.iter().map(|group| group.aggregate.count).sum(),
            model_names: served
                .iter()
                .filter_map(|group| group.key.clone())
                .collect(),
            tokens: served
                .iter()
                .map(|group| group.aggregate.total_tokens)
                .sum(),
            target: target.name,
        });
    }
    Ok(rows)
}

fn self_hosted_table(rows: &[SelfHosted]) -> Markup {
    html! {
        section.panel #self-hosted {
            h2 { "Self-hosted models" }
            p.muted { "GPU-hours are the minutes the server answered its scrapes, times its GPUs; their cost is shared by the calls of its models." }
            table {
                thead { tr {
                    th { "Server" } th { "Models" } th.num { "GPU-hours" } th.num { "Cost" } th.num { "Calls" }
                    th.num { "Cost per call" } th.num { "Cost per 1,000 tokens" }
                } }
                tbody {
                    @for row in rows {
                        tr {
                            td { (row.target) }
                            td { @for model in &row.models { span.badge { (model) } } }
                            td.num { (format!("{:.2}", row.gpu_hours)) }
                            td.num { (format::usd(row.cost)) }
                            td.num { (format::count(row.calls)) }
                            td.num { @if row.calls > 0 { (format::usd(row.cost / row.calls as f64)) } @else { "–" } }
                            td.num { @if row.tokens > 0 { (format::usd(row.cost / row.tokens as f64 * 1_000.0)) } @else { "–" } }
                        }
                    }
                }
            }
        }
    }
}

fn stacks(buckets: &Buckets, series: &[glassbox_store::Series]) -> Vec<Line> {
    let mut ranked: Vec<(&glassbox_store::Series, f64)> = series
        .iter()
        .map(|one| {
            let cost = one
                .steps
                .iter()
                .filter_map(|(_, aggregate)| aggregate.cost_usd)
                .sum();
            (one, cost)
        })
        .filter(|(_, cost)| *cost > 0.0)
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut lines: Vec<Line> = ranked
        .iter()
        .take(STACKED_MODELS)
        .map(|(one, _)| Line {
            label: one.key.clone().unwrap_or_else(|| "(no model)".to_owned()),
            values: buckets.values(one, |a| a.cost_usd, None),
        })
        .collect();
    if ranked.len() > STACKED_MODELS {
        let mut other = vec![None; buckets.len()];
        for (one, _) in &ranked[STACKED_MODELS..] {
            for (slot, value) in other
                .iter_mut()
                .zip(buckets.values(one, |a| a.cost_usd, None))
            {
                if let Some(value) = value {
                    *slot = Some(slot.unwrap_or(0.0) + value);
                }
            }
        }
        lines.push(Line {
            label: "other models".to_owned(),
            values: other,
        });
    }
    lines
}

fn user_breakdown(users: &[UserTotal], params: &Params) -> Markup {
    let mut users: Vec<&UserTotal> = users.iter().collect();
    users.sort_by(|a, b| {
        b.cost_usd
            .unwrap_or(0.0)
            .total_cmp(&a.cost_usd.unwrap_or(0.0))
    });
    let most = users
        .first()
        .and_then(|user| user.cost_usd)
        .unwrap_or(0.0)
        .max(f64::MIN_POSITIVE);
    html! {
        section.panel {
            h2 { "By user" }
            @if users.is_empty() {
                (layout::empty("No trace carried a user id."))
            } @else {
                table {
                    thead { tr { th { "user_id" } th.num { "Traces" } th.num { "Cost" } } }
                    tbody {
                        @for user in users.into_iter().take(TOP) {
                            tr {
                                td { a href=(params.link("/costs", &[("user_id", Some(&user.user_id))])) { (user.user_id) } }
                                td.num { (format::count(user.traces)) }
                                td.num { (format::maybe_usd(user.cost_usd)) (chart::meter(user.cost_usd.unwrap_or(0.0) / most)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn breakdown(title: &str, parameter: &str, groups: Vec<GroupAggregate>, params: &Params) -> Markup {
    let mut groups: Vec<GroupAggregate> = groups
        .into_iter()
        .filter(|group| group.key.is_some())
        .collect();
    groups.sort_by(|a, b| {
        b.aggregate
            .cost_usd
            .unwrap_or(0.0)
            .total_cmp(&a.aggregate.cost_usd.unwrap_or(0.0))
    });
    let most = groups
        .first()
        .and_then(|group| group.aggregate.cost_usd)
        .unwrap_or(0.0)
        .max(f64::MIN_POSITIVE);
    html! {
        section.panel {
            h2 { (title) }
            @if groups.is_empty() {
                (layout::empty("No calls carried this field."))
            } @else {
                table {
                    thead { tr { th { (parameter) } th.num { "Calls" } th.num { "Cost" } } }
                    tbody {
                        @for group in groups.iter().take(TOP) {
                            @let key = group.key.as_deref().unwrap_or_default();
                            @let cost = group.aggregate.cost_usd.unwrap_or(0.0);
                            tr {
                                td { a href=(params.link("/costs", &[(parameter, Some(key))])) { (key) } }
                                td.num { (format::count(group.aggregate.count)) }
                                td.num { (format::maybe_usd(group.aggregate.cost_usd)) (chart::meter(cost / most)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn expensive_traces(traces: &[glassbox_model::TraceSummary]) -> Markup {
    let priced: Vec<_> = traces
        .iter()
        .filter(|trace| trace.cost_usd.is_some())
        .collect();
    html! {
        @if priced.is_empty() {
            (layout::empty("No trace with a known cost in this range."))
        } @else {
            table {
                thead { tr { th { "Trace" } th { "Start (UTC)" } th { "Models" } th.num { "Tokens" } th.num { "Cost" } } }
                tbody {
                    @for trace in priced {
                        tr {
                            td { a href={ "/traces/" (trace.trace_id) } { (trace.root_name.as_deref().unwrap_or("(unnamed)")) } }
                            td.mono { (format::time(trace.start_time_unix_nano)) }
                            td { @for model in &trace.models { span.badge { (model) } } }
                            td.num { (format::maybe_count(trace.total_tokens)) }
                            td.num { (format::maybe_usd(trace.cost_usd)) }
                        }
                    }
                }
            }
        }
    }
}

/// Computes what cached input tokens saved per model: each cached token at the input price
/// minus the cache-read price.
fn savings(state: &UiState, models: &[GroupAggregate], at: u64) -> Vec<(String, u64, f64)> {
    models
        .iter()
        .filter(|group| group.aggregate.cached_input_tokens > 0)
        .filter_map(|group| {
            let model = group.key.as_deref()?;
            let price = state.enricher.find_price(None, model, at)?;
            let input = price.prices.input_mtok.as_ref()?.rate(0);
            let cached = price
                .prices
                .cache_read_mtok
                .as_ref()
                .map_or(input, |rate| rate.rate(0));
            let tokens = group.aggregate.cached_input_tokens;
            Some((
                model.to_owned(),
                tokens,
                tokens as f64 * (input - cached) / 1e6,
            ))
        })
        .collect()
}

fn savings_table(rows: &[(String, u64, f64)]) -> Markup {
    html! {
        @if rows.is_empty() {
            (layout::empty("No cached input tokens with a known price in this range."))
        } @else {
            table {
                thead { tr { th { "Model" } th.num { "Cached tokens" } th.num { "Saved" } } }
                tbody {
                    @for (model, tokens, saved) in rows {
                        tr { td { (model) } td.num { (format::count(*tokens)) } td.num { (format::usd(*saved)) } }
                    }
                }
            }
        }
    }
}

fn unpriced(models: &[GroupAggregate], range: TimeRange) -> Markup {
    let unpriced: Vec<&GroupAggregate> = models
        .iter()
        .filter(|group| group.aggregate.unpriced_count > 0)
        .collect();
    html! {
        @if unpriced.is_empty() {
            p { "Every model call in this range has a price." }
        } @else {
            table {
                thead { tr { th { "Model" } th.num { "Calls without a price" } } }
                tbody {
                    @for group in &unpriced {
                        tr { td { (group.key.as_deref().unwrap_or("(no model)")) } td.num { (format::count(group.aggregate.unpriced_count)) } }
                    }
                }
            }
            @let example = unpriced.first().and_then(|group| group.key.as_deref()).unwrap_or("my-model");
            p { "Add a price in the configuration file, then recompute the calls of this range:" }
            pre.panel {
                "[[pricing.custom]]\nmatch = { equals = \"" (example) "\" }\ninput_mtok = 0.50\noutput_mtok = 1.50\n\n"
                "glassbox reprice --from " (format::rfc3339(range.from)) " --to " (format::rfc3339(range.to))
            }
            p.muted { "Or at run time: PUT /api/v1/prices with the list of custom prices, then POST /api/v1/reprice." }
        }
    }
}
