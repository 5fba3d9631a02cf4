//! Quality: analyzer flag rates and the latest flagged model calls, score trends per model,
//! the drift report and the latest experiments, for the page's range and its service and
//! model filters. The experiment pages live in [`experiments`].

mod drift;
pub mod experiments;
mod scores;

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Html;
use glassbox_model::{Analyzer, Span, SpanKind};
use glassbox_store::{FlagRateFilter, FlagRates, Page, SpanFilter, TraceFilter};
use maud::{Markup, html};

use crate::UiState;
use crate::chart::{self, Buckets, Line, Unit};
use crate::error::PageError;
use crate::format;
use crate::layout::{self, Frame, Section};
use crate::pages::now_nanos;
use crate::query::{Params, with_query};
use crate::range::TimeRange;

/// Flagged model calls listed under the chart.
const RECENT_FLAGGED: usize = 20;

/// Renders `/quality`.
pub async fn page(
    State(state): State<UiState>,
    Query(params): Query<Params>,
) -> Result<Html<String>, PageError> {
    params.accept_only(&["service", "model", "baseline_from", "baseline_to"])?;
    let range = TimeRange::from_params(&params, now_nanos())?;
    let windows = drift::Windows::from_params(&params, range)?;

    let flag_filter = FlagRateFilter {
        from_unix_nano: range.from,
        to_unix_nano: range.to,
        service: params.owned("service"),
        model: params.owned("model"),
        analyzer: None,
    };
    let rates = state
        .store
        .flag_rates(flag_filter, range.step_seconds())
        .await?;
    let flagged = recent_flagged(&state, range, &params).await?;
    let scores = scores::section(&state, range, &params).await?;
    let drift = drift::section(&state, windows, &params).await?;
    let experiments = experiments::latest(&state).await?;

    let buckets = Buckets::new(range, range.step_seconds());
    let body = html! {
        (filters(&params))
        section.panel #flag-rates {
            h2 { "Analyzer flags" }
            (flag_rates(&rates, &buckets, &params))
        }
        section.panel #flagged-spans {
            h2 { "Latest flagged model calls" }
            (flagged_table(&flagged))
        }
        (scores)
        (drift)
        (experiments)
    };
    Ok(layout::page(
        &Frame {
            title: "Quality",
            section: Section::Quality,
            path: "/quality",
            params: &params,
            range: Some(range),
        },
        body,
    ))
}

fn filters(params: &Params) -> Markup {
    let field = |name: &str, label: &str, placeholder: &str| {
        html! {
            label { (label) input type="text" name=(name) value=(params.get(name).unwrap_or_default()) placeholder=(placeholder); }
        }
    };
    html! {
        form.filters method="get" action="/quality" {
            @for (key, value) in params.pairs() {
                @if matches!(key, "range" | "from" | "to" | "refresh") && !value.is_empty() {
                    input type="hidden" name=(key) value=(value);
                }
            }
            (field("service", "Service", "service.name"))
            (field("model", "Model", "gpt-4o"))
            (field("baseline_from", "Drift baseline from", "RFC 3339; default 7 days before"))
            (field("baseline_to", "Drift baseline to", "RFC 3339; default the range start"))
            button type="submit" { "Apply" }
        }
    }
}

/// Builds a link to the trace list with the page's range, service and model, and `changes`.
fn traces_link(params: &Params, changes: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(&str, &str)> = params
        .pairs()
        .filter(|(key, value)| {
            matches!(*key, "range" | "from" | "to" | "service" | "model") && !value.is_empty()
        })
        .collect();
    pairs.extend_from_slice(changes);
    with_query("/traces", &pairs)
}

fn flag_rates(rates: &FlagRates, buckets: &Buckets, params: &Params) -> Markup {
    let total_spans: u64 = rates.spans.iter().map(|(_, count)| count).sum();
    if total_spans == 0 {
        return layout::empty("No model calls in this range.");
    }
    let spans: HashMap<u64, u64> = rates.spans.iter().copied().collect();
    let counts: Vec<(Analyzer, u64)> = Analyzer::ALL
        .iter()
        .map(|analyzer| {
            let steps = rates.flagged.get(analyzer.as_str());
            let total = steps.map_or(0, |steps| steps.iter().map(|(_, count)| count).sum());
            (*analyzer, total)
        })
        .collect();
    let lines: Vec<Line> = counts
        .iter()
        .filter(|(_, total)| *total > 0)
        .map(|(analyzer, _)| Line {
            label: analyzer.as_str().to_owned(),
            values: share_per_step(rates, analyzer.as_str(), &spans, buckets),
        })
        .collect();
    html! {
        p.muted { "The share of model calls per step with at least one flag of each analyzer." }
        @if lines.is_empty() {
            (layout::empty("No model call in this range was flagged."))
        } @else {
            div.grid { (chart::lines("Flagged model calls", buckets, &lines, Unit::Share)) }
        }
        table #flag-table {
            thead { tr { th { "Analyzer" } th.num { "Flagged calls" } th.num { "Rate" } } }
            tbody {
                @for (analyzer, total) in &counts {
                    tr data-analyzer=(analyzer.as_str()) {
                        td { a href=(traces_link(params, &[("flag", analyzer.as_str())])) { (analyzer.as_str()) } }
                        td.num.count { (format::count(*total)) }
                        td.num { (format::percent(*total as f64 / total_spans as f64)) (chart::meter(*total as f64 / total_spans as f64)) }
                    }
                }
            }
            tfoot { tr { td { "Model calls" } td.num { (format::count(total_spans)) } td {} } }
        }
    }
}

/// Returns the share of model calls flagged by one analyzer per bucket; a bucket without
/// model calls is a gap.
fn share_per_step(
    rates: &FlagRates,
    key: &str,
    spans: &HashMap<u64, u64>,
    buckets: &Buckets,
) -> Vec<Option<f64>> {
    let flagged: HashMap<u64, u64> = rates
        .flagged
        .get(key)
        .map(|steps| steps.iter().copied().collect())
        .unwrap_or_default();
    let shares: HashMap<u64, f64> = spans
        .iter()
        .filter(|(_, count)| **count > 0)
        .map(|(start, count)| {
            let hits = flagged.get(start).copied().unwrap_or(0);
            (*start, hits as f64 / *count as f64)
        })
        .collect();
    buckets.values_by_start(&shares, None)
}

async fn recent_flagged(
    state: &UiState,
    range: TimeRange,
    params: &Params,
) -> Result<Vec<Span>, PageError> {
    let filter = SpanFilter {
        common: TraceFilter {
            from_unix_nano: Some(range.from),
            to_unix_nano: Some(range.to),
            service: params.owned("service"),
            model: params.owned("model"),
            flag: Some("any".to_owned()),
            ..TraceFilter::default()
        },
        kind: Some(SpanKind::Llm),
        status: None,
        trace_id: None,
    };
    let page = Page {
        limit: RECENT_FLAGGED,
        cursor: None,
    };
    let (spans, _) = state.store.list_spans(filter, page).await?;
    Ok(spans)
}

fn flagged_table(spans: &[Span]) -> Markup {
    if spans.is_empty() {
        return layout::empty("No flagged model call in this range.");
    }
    html! {
        table {
            thead { tr { th { "Start (UTC)" } th { "Analyzer" } th { "Finding" } th { "Message" } th { "Model" } th { "Span" } } }
            tbody {
                @for span in spans {
                    @for flag in &span.flags {
                        tr data-span-id=(span.span_id) {
                            td.mono { (format::time(span.start_time_unix_nano)) }
                            td { span.badge { (flag.analyzer.as_str()) } }
                            td { (flag.finding) }
                            td { (flag.message) }
                            td { (span.requested_model().or(span.response_model.as_deref()).unwrap_or("–")) }
                            td { a href={ "/traces/" (span.trace_id) "?span=" (span.span_id) "#span" } { (span.name) } }
                        }
                    }
                }
            }
        }
    }
}
