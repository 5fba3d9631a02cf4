//! The drift report of `/quality`: the page's range as the recent window against a
//! baseline window, per service and model, with the statistics of
//! [`glassbox_quality::drift`], the same as `/api/v1/quality/drift`.

use glassbox_eval::DriftLevel;
use glassbox_quality::drift::{GroupDrift, MetricDrift, compare_windows};
use glassbox_store::{DEFAULT_DRIFT_SAMPLE_SPANS, DriftFilter};
use maud::{Markup, html};

use crate::UiState;
use crate::error::PageError;
use crate::format::{self, parse_time};
use crate::layout;
use crate::query::Params;
use crate::range::TimeRange;

/// Length of the baseline window when `baseline_from` is not given: 7 days.
const DEFAULT_BASELINE_NANOS: u64 = 7 * 24 * 3_600 * 1_000_000_000;

/// The two windows of the report, nanoseconds since the Unix epoch, each `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    baseline: (u64, u64),
    recent: (u64, u64),
}

impl Windows {
    /// Takes the range as the recent window and reads the baseline from `baseline_from`
    /// and `baseline_to`. The baseline ends where the range starts and lasts 7 days unless
    /// those parameters set other bounds, as in the drift API.
    pub fn from_params(params: &Params, range: TimeRange) -> Result<Windows, PageError> {
        let baseline_to = params
            .parsed("baseline_to", parse_time, "an RFC 3339 time")?
            .unwrap_or(range.from);
        if baseline_to > range.from {
            return Err(PageError::BadParameter(
                "baseline_to",
                "must not be later than the start of the range".to_owned(),
            ));
        }
        let baseline_from = params
            .parsed("baseline_from", parse_time, "an RFC 3339 time")?
            .unwrap_or(baseline_to.saturating_sub(DEFAULT_BASELINE_NANOS));
        if baseline_from >= baseline_to {
            return Err(PageError::BadParameter(
                "baseline_from",
                "must be earlier than baseline_to".to_owned(),
            ));
        }
        Ok(Windows {
            baseline: (baseline_from, baseline_to),
            recent: (range.from, range.to),
        })
    }
}

fn filter((from, to): (u64, u64), params: &Params) -> DriftFilter {
    DriftFilter {
        from_unix_nano: from,
        to_unix_nano: to,
        service: params.owned("service"),
        model: params.owned("model"),
        provider: None,
        max_per_group: DEFAULT_DRIFT_SAMPLE_SPANS,
    }
}

/// Renders the drift section of `/quality`.
pub async fn section(
    state: &UiState,
    windows: Windows,
    params: &Params,
) -> Result<Markup, PageError> {
    let baseline = state
        .store
        .drift_samples(filter(windows.baseline, params))
        .await?;
    let recent = state
        .store
        .drift_samples(filter(windows.recent, params))
        .await?;
    let groups = compare_windows(baseline, recent, DEFAULT_DRIFT_SAMPLE_SPANS);

    Ok(html! {
        section.panel #drift {
            h2 { "Drift" }
            p.muted {
                "The range against the baseline "
                (format::time(windows.baseline.0)) " – " (format::time(windows.baseline.1)) " UTC. "
                "Levels follow the population stability index (PSI): stable below 0.1, moderate up to 0.25, significant above; "
                "with fewer than 30 values in a window the data is insufficient. Groups with the largest PSI come first."
            }
            @if groups.is_empty() {
                (layout::empty("No model calls in either window."))
            }
            @for group in &groups { (group_table(group)) }
        }
    })
}

fn group_table(group: &GroupDrift) -> Markup {
    // Metrics that moved come first, in the report's order.
    let mut metrics: Vec<&MetricDrift> = group.metrics.iter().collect();
    metrics.sort_by_key(|metric| !metric.has_moved());
    html! {
        div.drift-group data-service=(group.service.as_deref().unwrap_or("")) data-model=(group.model.as_deref().unwrap_or("")) {
            h3 {
                (group.service.as_deref().unwrap_or("(no service)")) " · " (group.model.as_deref().unwrap_or("(no model)"))
                " " span.muted { (format::count(group.baseline_spans)) " baseline calls, " (format::count(group.recent_spans)) " recent" }
                @if group.sampled { " " span.badge title="Only the latest calls of a window were compared" { "sampled" } }
            }
            @if !group.moved.is_empty() {
                p { "Moved: " @for name in &group.moved { span.badge { (name) } } }
            }
            table.drift {
                thead { tr {
                    th { "Metric" } th { "Level" } th.num { "PSI" } th.num title="Kolmogorov–Smirnov for numbers, chi-square for categories" { "p-value" }
                    th.num { "Baseline" } th.num { "Recent" } th.num { "Values (baseline / recent)" }
                } }
                tbody {
                    @for metric in metrics { (metric_row(metric)) }
                }
            }
        }
    }
}

fn metric_row(metric: &MetricDrift) -> Markup {
    let (baseline, recent) = if metric.baseline_rate.is_some() || metric.recent_rate.is_some() {
        (rate(metric.baseline_rate), rate(metric.recent_rate))
    } else {
        (number(metric.baseline_mean), number(metric.recent_mean))
    };
    html! {
        tr data-metric=(metric.metric) {
            td { (metric.metric) }
            td { (level_badge(metric.level)) }
            td.num { (number(metric.psi)) }
            td.num { (metric.p_value().map_or_else(|| "–".to_owned(), |p| format!("{p:.3}"))) }
            td.num { (baseline) }
            td.num { (recent) }
            td.num { (format::separated(metric.baseline_n as u64)) " / " (format::separated(metric.recent_n as u64)) }
        }
    }
}

fn rate(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), format::percent)
}

fn number(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |value| format!("{value:.3}"))
}

/// Renders a drift level as a coloured badge.
pub fn level_badge(level: DriftLevel) -> Markup {
    let (class, text) = match level {
        DriftLevel::Stable => ("level-stable", "stable"),
        DriftLevel::Moderate => ("level-moderate", "moderate"),
        DriftLevel::Significant => ("level-significant", "significant"),
        DriftLevel::InsufficientData => ("level-insufficient", "insufficient data"),
    };
    html! { span class={ "badge " (class) } { (text) } }
}
