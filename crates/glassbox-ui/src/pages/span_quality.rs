//! The quality details of the selected span on the trace page: its analyzer flags with the
//! matched text highlighted, the detected languages, and the scores of the trace and the
//! span. Every text comes from clients or from the matched content, so all of it goes
//! through maud's escaping.

use glassbox_model::{Flag, Score, ScoreValue, Span, TraceId};
use glassbox_store::{Page, ScoreFilter};
use maud::{Markup, html};

use crate::UiState;
use crate::error::PageError;
use crate::format;
use crate::highlight::{self, CONTEXT_BYTES};

/// Scores read per trace.
const MAX_SCORES: usize = 500;

/// Reads the scores of a trace and of its spans, most recently received first.
pub async fn trace_scores(state: &UiState, trace_id: TraceId) -> Result<Vec<Score>, PageError> {
    let filter = ScoreFilter {
        trace_id: Some(trace_id),
        ..ScoreFilter::default()
    };
    let page = Page {
        limit: MAX_SCORES,
        cursor: None,
    };
    let (scores, _) = state.store.list_scores(filter, page).await?;
    Ok(scores)
}

/// Renders the flags, languages and scores of the selected span. `scores` are the trace's,
/// and the scores of its other spans are left out.
pub fn section(span: &Span, scores: &[Score]) -> Markup {
    let relevant: Vec<&Score> = scores
        .iter()
        .filter(|score| score.span_id.is_none() || score.span_id == Some(span.span_id))
        .collect();
    html! {
        @if span.input_language.is_some() || span.output_language.is_some() {
            dl.facts #languages {
                @if let Some(language) = &span.input_language { dt { "Input language" } dd { (language) } }
                @if let Some(language) = &span.output_language { dt { "Output language" } dd { (language) } }
            }
        }
        @if !span.flags.is_empty() {
            h3 { "Analyzer flags (" (span.flags.len()) ")" }
            div #flags {
                @for flag in &span.flags { (flag_box(span, flag)) }
            }
        }
        @if !relevant.is_empty() {
            h3 { "Scores (" (relevant.len()) ")" }
            (score_table(&relevant))
        }
    }
}

fn flag_box(span: &Span, flag: &Flag) -> Markup {
    let location = &flag.location;
    let excerpt = highlight::flagged_text(span, flag)
        .and_then(|text| highlight::excerpt(text, location.start, location.end, CONTEXT_BYTES));
    html! {
        div.flag data-analyzer=(flag.analyzer.as_str()) data-finding=(flag.finding) {
            div.role {
                span.badge.error { (flag.analyzer.as_str()) } " " (flag.finding) " · " (highlight::place(flag))
            }
            p { (flag.message) }
            @if let Some(excerpt) = excerpt {
                pre.excerpt {
                    @if excerpt.cut_before { "…" }
                    (excerpt.before) mark { (excerpt.matched) } (excerpt.after)
                    @if excerpt.cut_after { "…" }
                }
            }
        }
    }
}

fn value_text(value: &ScoreValue) -> String {
    match value {
        ScoreValue::Numeric(number) => format!("{number}"),
        ScoreValue::Boolean(flag) => flag.to_string(),
        ScoreValue::Categorical(label) => label.clone(),
    }
}

fn score_table(scores: &[&Score]) -> Markup {
    html! {
        table #span-scores {
            thead { tr { th { "Name" } th { "Value" } th { "Of" } th { "Source" } th { "Comment" } th { "Author" } th { "Received (UTC)" } } }
            tbody {
                @for score in scores {
                    tr data-score=(score.name) {
                        td { (score.name) }
                        td.value { (value_text(&score.value)) }
                        td { @if score.span_id.is_some() { "span" } @else { "trace" } }
                        td { (score.source.as_str()) }
                        td { @if let Some(comment) = &score.comment { pre { (comment) } } }
                        td { (score.author.as_deref().unwrap_or("")) }
                        td.mono { (format::time(score.created_unix_nano)) }
                    }
                }
            }
        }
    }
}
