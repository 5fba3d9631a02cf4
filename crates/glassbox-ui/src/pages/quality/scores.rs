//! Score trends: for each score name, the mean per step by model, and count, mean, minimum,
//! maximum and categories per model, over the scores whose call or trace started in the
//! range.

use std::collections::HashMap;

use glassbox_store::{ScoreAggregate, ScoreGroup, ScoreGroupBy, ScoreMetricsFilter};
use maud::{Markup, html};

use crate::UiState;
use crate::chart::{self, Buckets, Line, Unit};
use crate::error::PageError;
use crate::format;
use crate::layout;
use crate::query::Params;
use crate::range::TimeRange;

/// Score names shown; the names with the most scores come first.
const MAX_NAMES: usize = 12;
/// Models drawn per chart; the table lists every model.
const CHARTED_MODELS: usize = 8;

/// One score name with its groups per model.
struct NameTrend {
    name: String,
    by_model: Vec<ScoreGroup>,
}

/// Renders the score section of `/quality`.
pub async fn section(
    state: &UiState,
    range: TimeRange,
    params: &Params,
) -> Result<Markup, PageError> {
    let filter = ScoreMetricsFilter {
        from_unix_nano: range.from,
        to_unix_nano: range.to,
        name: None,
        model: params.owned("model"),
        service: params.owned("service"),
        source: None,
    };
    let names = state
        .store
        .score_aggregates(filter.clone(), Some(ScoreGroupBy::Name), None)
        .await?;
    let mut trends = Vec::new();
    for name in names
        .into_iter()
        .filter_map(|group| group.key)
        .take(MAX_NAMES)
    {
        let mut by_name = filter.clone();
        by_name.name = Some(name.clone());
        let by_model = state
            .store
            .score_aggregates(
                by_name,
                Some(ScoreGroupBy::Model),
                Some(range.step_seconds()),
            )
            .await?;
        trends.push(NameTrend { name, by_model });
    }

    let buckets = Buckets::new(range, range.step_seconds());
    Ok(html! {
        section.panel #scores {
            h2 { "Scores" }
            @if trends.is_empty() {
                (layout::empty("No scores for calls or traces of this range."))
            } @else {
                p.muted { "Means count a boolean score as 1 or 0. Scores count at the start time of the call or trace they judge." }
                div.grid {
                    @for trend in &trends {
                        @if let Some(chart) = mean_chart(trend, &buckets) { (chart) }
                    }
                }
                (table(&trends))
            }
        }
    })
}

/// Draws the mean of a name's numeric and boolean scores per step, one line per model;
/// `None` for a name with categorical scores only.
fn mean_chart(trend: &NameTrend, buckets: &Buckets) -> Option<Markup> {
    let numeric = trend
        .by_model
        .iter()
        .any(|group| group.aggregate.numeric_count > 0);
    if !numeric {
        return None;
    }
    let lines: Vec<Line> = trend
        .by_model
        .iter()
        .filter(|group| group.aggregate.numeric_count > 0)
        .take(CHARTED_MODELS)
        .map(|group| {
            let means: HashMap<u64, f64> = group
                .steps
                .iter()
                .filter_map(|(start, aggregate)| aggregate.mean().map(|mean| (*start, mean)))
                .collect();
            Line {
                label: model_label(group).to_owned(),
                values: buckets.values_by_start(&means, None),
            }
        })
        .collect();
    let title = format!("{} (mean)", trend.name);
    Some(chart::lines(&title, buckets, &lines, Unit::Count))
}

fn model_label(group: &ScoreGroup) -> &str {
    group.key.as_deref().unwrap_or("(no model)")
}

/// Formats a score value or mean with three decimals, `–` when absent.
pub fn score_value(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |value| format!("{value:.3}"))
}

fn table(trends: &[NameTrend]) -> Markup {
    html! {
        table #score-table {
            thead { tr {
                th { "Score" } th { "Model" } th.num { "Count" } th.num { "Mean" } th.num { "Min" } th.num { "Max" } th { "Categories" }
            } }
            tbody {
                @for trend in trends {
                    @for group in &trend.by_model {
                        (row(&trend.name, model_label(group), &group.aggregate))
                    }
                }
            }
        }
    }
}

fn row(name: &str, model: &str, aggregate: &ScoreAggregate) -> Markup {
    html! {
        tr data-score=(name) data-model=(model) {
            td { (name) }
            td { (model) }
            td.num.count { (format::count(aggregate.count)) }
            td.num.mean { (score_value(aggregate.mean())) }
            td.num { (score_value(aggregate.min)) }
            td.num { (score_value(aggregate.max)) }
            td {
                @for (category, count) in &aggregate.categories {
                    span.badge { (category) " " (format::count(*count)) }
                }
            }
        }
    }
}
