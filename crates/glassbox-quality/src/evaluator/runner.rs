//! The loop that follows new model spans in the store and scores them.
//!
//! It reads spans in storage order from a saved position, so every span stored while the
//! server runs is seen once, and spans stored while it was down are seen after a restart.
//! The position advances only after a batch's scores are committed.

use std::sync::Arc;
use std::time::Duration;

use glassbox_eval::{JudgeInputs, Sample};
use glassbox_model::{ScoreSource, ScoreValue, Span, SpanKind};
use glassbox_store::{NewScore, Store};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::config::{Evaluator, Method};
use crate::client::{EVALUATOR_METADATA, EXPERIMENT_METADATA, GatewayClient, Purpose};
use crate::text;

/// The setting that keeps the position of the last span evaluated.
const POSITION_SETTING: &str = "evaluators.position";

/// Spans read per poll.
const BATCH_SPANS: usize = 200;

/// Judge calls in flight at once.
const JUDGE_CONCURRENCY: usize = 4;

/// How often the store is polled when no span is waiting.
const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Scorer names whose result is pass or fail, stored as boolean scores.
const PASS_FAIL: [&str; 8] = [
    "exact",
    "contains",
    "regex",
    "json_equal",
    "json_schema",
    "length",
    "max_latency_ms",
    "max_cost_usd",
];

/// Starts the evaluator loop; it stops when `shutdown` turns true.
pub fn start(
    store: Arc<dyn Store>,
    client: Arc<GatewayClient>,
    evaluators: Vec<Evaluator>,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let evaluators = Arc::new(evaluators);
    tokio::spawn(async move {
        let mut position = match start_position(store.as_ref()).await {
            Ok(position) => position,
            Err(error) => {
                tracing::error!(%error, "online evaluators could not read their position; they are off");
                return;
            }
        };
        tracing::info!(
            evaluators = evaluators.len(),
            position,
            "online evaluators started"
        );
        loop {
            let next = match evaluate_next(&store, &client, &evaluators, position).await {
                Ok(next) => next,
                Err(error) => {
                    tracing::warn!(%error, position, "online evaluation failed; retrying");
                    position
                }
            };
            let caught_up = next == position;
            position = next;
            if caught_up {
                tokio::select! {
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
                    _ = shutdown.changed() => return,
                }
            } else if *shutdown.borrow() {
                return;
            }
        }
    })
}

/// Returns the saved position, or the latest span's when the evaluators run for the first
/// time, so they score new traffic rather than the whole history.
async fn start_position(store: &dyn Store) -> Result<i64, glassbox_store::StoreError> {
    if let Some(saved) = store.setting(POSITION_SETTING.to_owned()).await?
        && let Some(position) = saved.as_i64()
    {
        return Ok(position);
    }
    let latest = store.last_span_position().await?;
    store
        .put_setting(POSITION_SETTING.to_owned(), serde_json::json!(latest))
        .await?;
    Ok(latest)
}

/// Scores the next batch of spans and saves the new position; returns it.
async fn evaluate_next(
    store: &Arc<dyn Store>,
    client: &Arc<GatewayClient>,
    evaluators: &Arc<Vec<Evaluator>>,
    position: i64,
) -> Result<i64, glassbox_store::StoreError> {
    let (spans, reached) = store
        .spans_after(position, SpanKind::Llm, BATCH_SPANS)
        .await?;
    if reached == position {
        return Ok(position);
    }

    let scores = score_spans(client, evaluators, spans).await;
    if !scores.is_empty() {
        store.insert_scores(scores).await?;
    }
    store
        .put_setting(POSITION_SETTING.to_owned(), serde_json::json!(reached))
        .await?;
    Ok(reached)
}

/// Runs every evaluator that selects each span; checks inline, judges concurrently.
async fn score_spans(
    client: &Arc<GatewayClient>,
    evaluators: &Arc<Vec<Evaluator>>,
    spans: Vec<Span>,
) -> Vec<NewScore> {
    let mut scores = Vec::new();
    let mut judges = JoinSet::new();
    let permits = Arc::new(Semaphore::new(JUDGE_CONCURRENCY));
    for span in spans {
        if is_own_call(&span) {
            continue;
        }
        let span = Arc::new(span);
        for (index, evaluator) in evaluators.iter().enumerate() {
            if !evaluator.selects(&span) {
                continue;
            }
            match &evaluator.method {
                Method::Check(scorer, expected) => {
                    scores.extend(check(evaluator, scorer, expected.as_deref(), &span));
                }
                Method::Judge(_) => {
                    let (client, evaluators) = (Arc::clone(client), Arc::clone(evaluators));
                    let (span, permits) = (Arc::clone(&span), Arc::clone(&permits));
                    judges.spawn(async move {
                        let _permit = permits.acquire_owned().await.ok()?;
                        judge(&client, &evaluators[index], &span).await
                    });
                }
            }
        }
    }
    while let Some(done) = judges.join_next().await {
        if let Ok(Some(score)) = done {
            scores.push(score);
        }
    }
    scores
}

/// Calls made by evaluators and experiments are traced but never scored.
fn is_own_call(span: &Span) -> bool {
    span.metadata.contains_key(EVALUATOR_METADATA)
        || span.metadata.contains_key(EXPERIMENT_METADATA)
}

fn check(
    evaluator: &Evaluator,
    scorer: &glassbox_eval::Scorer,
    expected: Option<&str>,
    span: &Span,
) -> Option<NewScore> {
    let output = span
        .output_messages
        .as_deref()
        .map(text::output)
        .unwrap_or_default();
    let sample = Sample {
        output: &output,
        expected,
        latency_ms: Some(span.duration_ms()),
        cost_usd: span.cost_usd,
    };
    let score = match scorer.score(&sample) {
        Ok(score) => score,
        Err(error) => {
            tracing::debug!(evaluator = %evaluator.name, %error, trace_id = %span.trace_id, span_id = %span.span_id, "span not scored");
            return None;
        }
    };
    let value = if PASS_FAIL.contains(&scorer.name()) {
        ScoreValue::Boolean(score.value >= 1.0)
    } else {
        ScoreValue::Numeric(score.value)
    };
    Some(new_score(
        evaluator,
        span,
        value,
        ScoreSource::Evaluator,
        score.reason,
    ))
}

async fn judge(client: &GatewayClient, evaluator: &Evaluator, span: &Span) -> Option<NewScore> {
    let Method::Judge(judge) = &evaluator.method else {
        return None;
    };
    let (Some(input), Some(output)) = (&span.input_messages, &span.output_messages) else {
        tracing::debug!(evaluator = %evaluator.name, trace_id = %span.trace_id, "span without content not judged");
        return None;
    };
    let input = text::conversation(input);
    let output = text::output(output);
    let inputs = JudgeInputs {
        input: &input,
        output: &output,
        expected: None,
    };
    match judge
        .judge(client, inputs, Purpose::Evaluator(&evaluator.name))
        .await
    {
        Ok(judgment) => Some(new_score(
            evaluator,
            span,
            ScoreValue::Numeric(judgment.score),
            ScoreSource::LlmJudge,
            judgment.reason,
        )),
        Err(error) => {
            tracing::warn!(evaluator = %evaluator.name, %error, trace_id = %span.trace_id, span_id = %span.span_id, "judge call failed; the span gets no score");
            None
        }
    }
}

fn new_score(
    evaluator: &Evaluator,
    span: &Span,
    value: ScoreValue,
    source: ScoreSource,
    comment: Option<String>,
) -> NewScore {
    NewScore {
        id: None,
        trace_id: span.trace_id,
        span_id: Some(span.span_id),
        name: evaluator.name.clone(),
        value,
        source,
        comment: comment.map(|text| {
            text.chars()
                .take(glassbox_model::score::MAX_COMMENT_CHARS)
                .collect()
        }),
        author: Some(evaluator.name.clone()),
    }
}
