//! What `serve --demo` adds once its history is written, so that the Quality page has
//! scores and experiments: end-user feedback and LLM judge scores on a sample of the
//! customer-facing answers, and the `demo-faq` dataset with two replay experiments over it.
//!
//! Scores go straight into the store and experiments through the server's experiment
//! runner, so nothing calls a model. Which answers are scored and how follows from the run's
//! seed and the span ids.

use std::sync::Arc;

use anyhow::Context;
use glassbox_model::{ScoreSource, ScoreValue};
use glassbox_quality::{ExperimentRunner, ExperimentSpec};
use glassbox_store::{NewDatasetItem, NewScore, Page, SpanFilter, Store, TraceFilter};
use serde_json::{Map, Value, json};

use crate::demo::catalog::faq::FAQ;
use crate::demo::rng::Rng;

/// The dataset of the demo's experiments.
pub const DATASET: &str = "demo-faq";

/// The answers that get scores: the streamed answers of the support chatbot and the search
/// API, by service and model.
const SCORED: [(&str, &str); 3] = [
    ("support-chatbot", "gpt-4o"),
    ("rag-search-api", "claude-3-5-haiku-20241022"),
    ("rag-search-api", "gemini-2.0-flash"),
];
/// The model whose answers the judge rates a little lower.
const WEAKER_MODEL: &str = "gemini-2.0-flash";
/// Most answers read per service and model.
const MAX_ANSWERS: usize = 5_000;
/// Share of answers that the LLM judge rates.
const JUDGED_SHARE: f64 = 0.4;
/// Share of answers whose user leaves a thumbs up or down.
const FEEDBACK_SHARE: f64 = 0.15;
/// Scores per store transaction.
const SCORES_PER_INSERT: usize = 500;

/// Random streams of the scores, apart from each other.
const HELPFULNESS_STREAM: u64 = 1;
const JUDGED_STREAM: u64 = 2;
const FEEDBACK_STREAM: u64 = 3;

/// Writes the scores, the dataset and the experiments; returns how many scores were stored.
pub async fn record(
    store: &Arc<dyn Store>,
    experiments: &ExperimentRunner,
    seed: u64,
) -> anyhow::Result<usize> {
    let mut stored = 0;
    for (service, model) in SCORED {
        let scores = answer_scores(store.as_ref(), service, model, seed).await?;
        for chunk in scores.chunks(SCORES_PER_INSERT) {
            stored += store
                .insert_scores(chunk.to_vec())
                .await
                .context("failed to store the demo scores")?
                .len();
        }
    }
    create_dataset(store.as_ref()).await?;
    start_experiments(experiments).await?;
    Ok(stored)
}

/// Returns the judge and feedback scores of the successful streamed answers of one service
/// and model.
async fn answer_scores(
    store: &dyn Store,
    service: &str,
    model: &str,
    seed: u64,
) -> anyhow::Result<Vec<NewScore>> {
    let filter = SpanFilter {
        common: TraceFilter {
            service: Some(service.to_owned()),
            model: Some(model.to_owned()),
            ..TraceFilter::default()
        },
        ..SpanFilter::default()
    };
    let page = Page {
        limit: MAX_ANSWERS,
        cursor: None,
    };
    let (spans, _) = store
        .list_spans(filter, page)
        .await
        .context("failed to read the demo's answers")?;

    let mut scores = Vec::new();
    for span in spans {
        let answered = span.streaming == Some(true)
            && span.error_type.is_none()
            && span.output_messages.is_some();
        if !answered {
            continue;
        }
        let id = u64::from_le_bytes(span.span_id.0);
        let helpfulness = helpfulness(&mut Rng::derive(seed, HELPFULNESS_STREAM, id), model);

        if Rng::derive(seed, JUDGED_STREAM, id).chance(JUDGED_SHARE) {
            scores.push(NewScore {
                id: None,
                trace_id: span.trace_id,
                span_id: Some(span.span_id),
                name: "helpfulness".to_owned(),
                value: ScoreValue::Numeric(f64::from(helpfulness)),
                source: ScoreSource::LlmJudge,
                comment: None,
                author: Some("demo-judge".to_owned()),
            });
        }
        let mut feedback = Rng::derive(seed, FEEDBACK_STREAM, id);
        if feedback.chance(FEEDBACK_SHARE) {
            let thumbs_up = feedback.chance(thumbs_up_chance(helpfulness));
            // The user rates the answer they saw, so the score belongs to its span and model.
            scores.push(NewScore {
                id: None,
                trace_id: span.trace_id,
                span_id: Some(span.span_id),
                name: "thumbs_up".to_owned(),
                value: ScoreValue::Boolean(thumbs_up),
                source: ScoreSource::Feedback,
                comment: None,
                author: None,
            });
        }
    }
    Ok(scores)
}

/// Draws how helpful an answer is, from 1 to 5: mostly 4 and 5, a little less often with
/// [`WEAKER_MODEL`].
fn helpfulness(rng: &mut Rng, model: &str) -> u8 {
    let weights: [(u8, u32); 5] = if model == WEAKER_MODEL {
        [(1, 4), (2, 8), (3, 24), (4, 40), (5, 24)]
    } else {
        [(1, 2), (2, 4), (3, 12), (4, 40), (5, 42)]
    };
    *rng.weighted(&weights)
}

/// Returns the chance that a user gives a thumbs up to an answer of the given helpfulness.
fn thumbs_up_chance(helpfulness: u8) -> f64 {
    match helpfulness {
        5 => 0.95,
        4 => 0.85,
        3 => 0.5,
        _ => 0.15,
    }
}

/// Creates [`DATASET`] with the questions, expected answers and recorded answers of [`FAQ`].
async fn create_dataset(store: &dyn Store) -> anyhow::Result<()> {
    let description = "Help center questions with the expected answer and the answer the \
                       search API recorded (metadata.output)";
    store
        .create_dataset(DATASET.to_owned(), Some(description.to_owned()))
        .await
        .with_context(|| format!("failed to create the dataset {DATASET}"))?;
    let items = FAQ
        .iter()
        .map(|entry| {
            let mut metadata = Map::new();
            metadata.insert("output".to_owned(), Value::from(entry.recorded));
            metadata.insert("topic".to_owned(), Value::from(entry.topic));
            NewDatasetItem {
                input: Value::from(entry.question),
                expected_output: Some(Value::from(entry.expected)),
                metadata,
                source_trace_id: None,
                source_span_id: None,
            }
        })
        .collect();
    store
        .add_dataset_items(DATASET.to_owned(), items)
        .await
        .with_context(|| format!("failed to add the items of the dataset {DATASET}"))?;
    Ok(())
}

/// Starts two replay experiments over [`DATASET`] with different scorers, so that the
/// comparison page has a shared score and one of each side's own.
async fn start_experiments(experiments: &ExperimentRunner) -> anyhow::Result<()> {
    let specs = [
        json!({
            "name": "faq-replay-exact", "dataset": DATASET, "mode": "replay",
            "scorers": [{"type": "levenshtein"}, {"type": "exact", "trim": true}],
        }),
        json!({
            "name": "faq-replay-overlap", "dataset": DATASET, "mode": "replay",
            "scorers": [{"type": "levenshtein"}, {"type": "rouge_l"}],
        }),
    ];
    for spec in specs {
        let spec: ExperimentSpec = serde_json::from_value(spec)?;
        experiments
            .start(spec)
            .await
            .context("failed to start a demo experiment")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weaker_model_is_rated_lower() {
        let mean = |model: &str| {
            let total: u32 = (0..2_000)
                .map(|index| u32::from(helpfulness(&mut Rng::derive(1, 1, index), model)))
                .sum();
            f64::from(total) / 2_000.0
        };
        let weaker = mean(WEAKER_MODEL);
        let other = mean("gpt-4o");
        assert!(weaker + 0.3 < other, "{weaker} against {other}");
        assert!(weaker > 3.3, "{weaker}");
    }

    #[test]
    fn faq_questions_are_distinct() {
        let mut names = Vec::new();
        for entry in FAQ {
            assert!(!entry.question.is_empty());
            names.push(entry.question);
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FAQ.len(), "questions repeat");
        assert!((18..=24).contains(&FAQ.len()), "{} items", FAQ.len());
    }
}
