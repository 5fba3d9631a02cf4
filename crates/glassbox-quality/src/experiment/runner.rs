//! Runs an experiment in the background: each dataset item through the model (or its
//! recorded output), scored, saved page by page so progress shows while it runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use glassbox_enrich::Enricher;
use glassbox_eval::{JudgeInputs, Sample, chat_completions_text};
use glassbox_model::{
    DatasetItem, Experiment, ExperimentResult, ExperimentStatus, Message, Span, SpanId, SpanKind,
    TraceId,
};
use glassbox_store::{NewExperiment, Page, Store, StoreError};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::spec::{ExperimentMode, ExperimentSpec, JUDGE_SCORE, Plan};
use crate::client::{GatewayClient, Purpose};
use crate::text;

/// Items read and saved per page.
const PAGE_ITEMS: usize = 100;

/// The reason an experiment did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The request is invalid.
    #[error("{0}")]
    Invalid(String),
    /// No dataset has the requested name.
    #[error("dataset {0:?} not found")]
    UnknownDataset(String),
    /// The dataset has no item.
    #[error("dataset {0:?} has no items")]
    EmptyDataset(String),
    /// The experiment calls a model but the gateway is off.
    #[error("the gateway is off, so no model can be called; enable it or use mode = replay")]
    NoGateway,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Starts experiments and runs them in the background.
#[derive(Clone)]
pub struct ExperimentRunner {
    store: Arc<dyn Store>,
    client: Arc<GatewayClient>,
    enricher: Arc<Enricher>,
}

impl ExperimentRunner {
    /// Creates a runner that calls models through `client` and prices calls with `enricher`.
    pub fn new(
        store: Arc<dyn Store>,
        client: Arc<GatewayClient>,
        enricher: Arc<Enricher>,
    ) -> ExperimentRunner {
        ExperimentRunner {
            store,
            client,
            enricher,
        }
    }

    /// Checks the request, creates the experiment and starts it; returns it as created.
    pub async fn start(&self, spec: ExperimentSpec) -> Result<Experiment, StartError> {
        let plan = spec.plan().map_err(StartError::Invalid)?;
        if plan.access.is_some() && !self.client.is_connected() {
            return Err(StartError::NoGateway);
        }
        let dataset_name = plan.spec.dataset.clone();
        let dataset = self
            .store
            .dataset(dataset_name.clone())
            .await?
            .ok_or_else(|| StartError::UnknownDataset(dataset_name.clone()))?;
        if dataset.item_count == 0 {
            return Err(StartError::EmptyDataset(dataset_name));
        }

        let experiment = self
            .store
            .create_experiment(NewExperiment {
                name: plan.spec.display_name(),
                dataset_name,
                config: serde_json::to_value(&plan.spec).unwrap_or(Value::Null),
            })
            .await?;
        let runner = self.clone();
        let id = experiment.id.clone();
        tokio::spawn(async move { runner.run(id, Arc::new(plan)).await });
        Ok(experiment)
    }

    async fn run(self, id: String, plan: Arc<Plan>) {
        tracing::info!(experiment_id = %id, dataset = %plan.spec.dataset, "experiment started");
        let outcome = self.run_pages(&id, &plan).await;
        let (status, error) = match &outcome {
            Ok(items) => {
                tracing::info!(experiment_id = %id, items, "experiment completed");
                (ExperimentStatus::Completed, None)
            }
            Err(error) => {
                tracing::error!(experiment_id = %id, %error, "experiment failed");
                (ExperimentStatus::Failed, Some(error.to_string()))
            }
        };
        if let Err(error) = self
            .store
            .finish_experiment(id.clone(), status, error)
            .await
        {
            tracing::error!(experiment_id = %id, %error, "failed to record the end of an experiment");
        }
    }

    /// Runs every page of items; returns how many items ran.
    async fn run_pages(&self, id: &str, plan: &Arc<Plan>) -> Result<u64, StoreError> {
        let mut cursor = None;
        let mut done = 0;
        loop {
            let page = Page {
                limit: PAGE_ITEMS,
                cursor,
            };
            let Some((items, next)) = self
                .store
                .list_dataset_items(plan.spec.dataset.clone(), page)
                .await?
            else {
                return Err(StoreError::NotFound(format!(
                    "dataset {:?} was deleted while the experiment ran",
                    plan.spec.dataset
                )));
            };
            done += items.len() as u64;
            let results = self.run_items(id, plan, items).await;
            self.store
                .save_experiment_results(id.to_owned(), results)
                .await?;
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(done),
            }
        }
    }

    async fn run_items(
        &self,
        id: &str,
        plan: &Arc<Plan>,
        items: Vec<DatasetItem>,
    ) -> Vec<ExperimentResult> {
        let permits = Arc::new(Semaphore::new(plan.spec.concurrency));
        let mut tasks = JoinSet::new();
        for (index, item) in items.into_iter().enumerate() {
            let (runner, plan, permits) = (self.clone(), Arc::clone(plan), Arc::clone(&permits));
            let id = id.to_owned();
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await.ok();
                (index, runner.run_item(&id, &plan, item).await)
            });
        }
        let mut results: Vec<(usize, ExperimentResult)> = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(result) => results.push(result),
                Err(error) => {
                    tracing::error!(experiment_id = %id, %error, "an experiment item task failed")
                }
            }
        }
        results.sort_by_key(|(index, _)| *index);
        results.into_iter().map(|(_, result)| result).collect()
    }

    /// Produces one item's output and scores it; failures become the result's error.
    async fn run_item(&self, id: &str, plan: &Plan, item: DatasetItem) -> ExperimentResult {
        let mut result = ExperimentResult {
            experiment_id: id.to_owned(),
            item_id: item.id.clone(),
            output: None,
            error: None,
            scores: BTreeMap::new(),
            latency_ms: None,
            cost_usd: None,
            input_tokens: None,
            output_tokens: None,
            trace_id: None,
        };
        let output = match plan.spec.mode {
            ExperimentMode::Model => self.call_model(id, plan, &item, &mut result).await,
            ExperimentMode::Replay => recorded_output(&item),
        };
        let output = match output {
            Ok(output) => output,
            Err(error) => {
                result.error = Some(error);
                return result;
            }
        };
        result.output = Some(Value::String(output.clone()));

        let expected = item.expected_output.as_ref().map(expected_text);
        let mut errors = Vec::new();
        for (name, scorer) in &plan.scorers {
            let sample = Sample {
                output: &output,
                expected: expected.as_deref(),
                latency_ms: result.latency_ms,
                cost_usd: result.cost_usd,
            };
            match scorer.score(&sample) {
                Ok(score) => {
                    result.scores.insert(name.clone(), score.value);
                }
                Err(error) => errors.push(format!("{name}: {error}")),
            }
        }
        if let Some(judge) = &plan.judge {
            let input = input_text(&item.input);
            let inputs = JudgeInputs {
                input: &input,
                output: &output,
                expected: expected.as_deref(),
            };
            match judge
                .judge(&self.client, inputs, Purpose::Experiment(id))
                .await
            {
                Ok(judgment) => {
                    result.scores.insert(JUDGE_SCORE.to_owned(), judgment.score);
                }
                Err(error) => errors.push(format!("{JUDGE_SCORE}: {error}")),
            }
        }
        if !errors.is_empty() {
            result.error = Some(errors.join("; "));
        }
        result
    }

    async fn call_model(
        &self,
        id: &str,
        plan: &Plan,
        item: &DatasetItem,
        result: &mut ExperimentResult,
    ) -> Result<String, String> {
        let Some(access) = &plan.access else {
            return Err("no model configured".to_owned());
        };
        let messages = input_messages(&item.input, plan.spec.system_prompt.as_deref())?;
        let mut body = json!({"messages": messages});
        if let Some(temperature) = plan.spec.temperature {
            body["temperature"] = json!(temperature);
        }

        let reply = self
            .client
            .chat(access, body, Purpose::Experiment(id))
            .await
            .map_err(|error| error.to_string())?;
        result.latency_ms = Some(reply.latency_ms);
        result.input_tokens = reply.input_tokens;
        result.output_tokens = reply.output_tokens;
        result.trace_id = Some(reply.trace_id);
        result.cost_usd = self.price(&access.model, reply.input_tokens, reply.output_tokens);
        chat_completions_text(&reply.body).map_err(|error| error.to_string())
    }

    /// Prices a call with the server's prices, as the gateway's span of it is priced.
    fn price(&self, model: &str, input: Option<u64>, output: Option<u64>) -> Option<f64> {
        let mut span = Span::new(TraceId([0; 16]), SpanId([0; 8]), "experiment");
        span.kind = SpanKind::Llm;
        span.request_model = Some(model.to_owned());
        span.usage.input = input;
        span.usage.output = output;
        span.start_time_unix_nano = now_nanos();
        self.enricher.reprice(&mut span);
        span.cost_usd
    }
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
        })
}

/// Turns an item's input into Chat Completions messages: a string becomes one user message,
/// a messages array (or `{"messages": [...]}`) is sent as it is, and any other JSON value is
/// sent as its text.
fn input_messages(input: &Value, system_prompt: Option<&str>) -> Result<Vec<Value>, String> {
    let mut messages = Vec::new();
    if let Some(system) = system_prompt {
        messages.push(json!({"role": "system", "content": system}));
    }
    let given = match input {
        Value::String(text) => vec![json!({"role": "user", "content": text})],
        Value::Array(list) => list.clone(),
        Value::Object(object) => match object.get("messages") {
            Some(Value::Array(list)) => list.clone(),
            _ => vec![json!({"role": "user", "content": input.to_string()})],
        },
        other => vec![json!({"role": "user", "content": other.to_string()})],
    };
    if given
        .iter()
        .any(|message| message.get("role").and_then(Value::as_str).is_none())
    {
        return Err("the item's input messages need a role each".to_owned());
    }
    messages.extend(given);
    Ok(messages)
}

/// Returns the item's input as text for a judge.
fn input_text(input: &Value) -> String {
    match input {
        Value::String(text) => text.clone(),
        other => match serde_json::from_value::<Vec<Message>>(messages_of(other).clone()) {
            Ok(messages) => text::conversation(&messages),
            Err(_) => other.to_string(),
        },
    }
}

fn messages_of(value: &Value) -> &Value {
    value.get("messages").unwrap_or(value)
}

/// Returns the expected output as text: a string as it is, messages as their output text, any
/// other value as JSON.
fn expected_text(expected: &Value) -> String {
    match expected {
        Value::String(text) => text.clone(),
        other => match serde_json::from_value::<Vec<Message>>(messages_of(other).clone()) {
            Ok(messages) => text::output(&messages),
            Err(_) => other.to_string(),
        },
    }
}

/// Returns the output replayed for an item: `metadata.output`.
fn recorded_output(item: &DatasetItem) -> Result<String, String> {
    match item.metadata.get("output") {
        Some(output) => Ok(expected_text(output)),
        None => Err("the item has no recorded output (metadata.output) to replay".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_become_messages() {
        let messages = input_messages(&json!("Hi"), Some("Be brief.")).unwrap();
        assert_eq!(
            messages,
            [
                json!({"role": "system", "content": "Be brief."}),
                json!({"role": "user", "content": "Hi"})
            ]
        );
        let given = json!({"messages": [{"role": "user", "content": "Q"}]});
        assert_eq!(
            input_messages(&given, None).unwrap(),
            [json!({"role": "user", "content": "Q"})]
        );
        let error = input_messages(&json!([{"content": "no role"}]), None).unwrap_err();
        assert!(error.contains("role"), "{error}");
    }

    #[test]
    fn expected_messages_become_text() {
        let messages = json!([{"role": "assistant", "content": "Paris"}]);
        assert_eq!(expected_text(&messages), "Paris");
        assert_eq!(expected_text(&json!({"a": 1})), "{\"a\":1}");
        assert_eq!(expected_text(&json!("x")), "x");
    }
}
