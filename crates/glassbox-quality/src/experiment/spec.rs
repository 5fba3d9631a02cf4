//! What an experiment runs: the dataset, the model or the replayed outputs, the scorers.

use glassbox_eval::{Scorer, ScorerSpec};
use serde::{Deserialize, Serialize};

use crate::client::ModelAccess;
use crate::judge::{Judge, JudgeConfig};

/// The score name of the LLM judge in an experiment.
pub const JUDGE_SCORE: &str = "llm_judge";

/// Maximum number of items in flight at once.
const MAX_CONCURRENCY: usize = 32;

/// Where an experiment's outputs come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentMode {
    /// Each item's input is sent to the model.
    #[default]
    Model,
    /// Each item's recorded output (`metadata.output`) is scored as it is, without a call.
    Replay,
}

/// An experiment request, as the API and `glassbox experiment run` send it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSpec {
    /// A name for people; default `DATASET · MODEL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The dataset whose items are run.
    pub dataset: String,
    /// `model` (default) or `replay`.
    #[serde(default)]
    pub mode: ExperimentMode,
    /// The model called for each item, required in `model` mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The gateway upstream; by default the gateway routes by model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// The server environment variable that contains the API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// A system message put before each item's input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// The sampling temperature sent with each call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Scorers that compare each output with the item's expected output; each score is
    /// named after its scorer's `type`.
    #[serde(default)]
    pub scorers: Vec<ScorerSpec>,
    /// An LLM judge; its score is named `llm_judge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<JudgeConfig>,
    /// Items run at once, 1 to 32. Default 4.
    #[serde(default = "four")]
    pub concurrency: usize,
}

fn four() -> usize {
    4
}

/// A checked experiment request.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The request as sent, stored with the experiment.
    pub spec: ExperimentSpec,
    /// The model to call, in `model` mode.
    pub access: Option<ModelAccess>,
    /// The scorers, each with its score name.
    pub scorers: Vec<(String, Scorer)>,
    /// The judge.
    pub judge: Option<Judge>,
}

impl ExperimentSpec {
    /// Checks the request; the error names the wrong field.
    pub fn plan(self) -> Result<Plan, String> {
        if self.dataset.trim().is_empty() {
            return Err("dataset must not be empty".to_owned());
        }
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            return Err(format!(
                "concurrency {} is not between 1 and {MAX_CONCURRENCY}",
                self.concurrency
            ));
        }
        if let Some(temperature) = self.temperature
            && !(0.0..=2.0).contains(&temperature)
        {
            return Err(format!("temperature {temperature} is not between 0 and 2"));
        }
        let access = self.model_access()?;

        let mut scorers: Vec<(String, Scorer)> = Vec::new();
        for spec in &self.scorers {
            let scorer = spec.build().map_err(|error| format!("scorers: {error}"))?;
            let name = scorer.name().to_owned();
            if scorers.iter().any(|(other, _)| *other == name) {
                return Err(format!("scorers: {name} is listed twice"));
            }
            scorers.push((name, scorer));
        }
        let judge = self.judge.as_ref().map(Judge::new).transpose()?;
        if scorers.is_empty() && judge.is_none() {
            return Err("set at least one scorer or a judge".to_owned());
        }
        Ok(Plan {
            spec: self,
            access,
            scorers,
            judge,
        })
    }

    fn model_access(&self) -> Result<Option<ModelAccess>, String> {
        match (self.mode, &self.model) {
            (ExperimentMode::Model, None) => Err("model is required unless mode is replay".into()),
            (ExperimentMode::Model, Some(model)) if model.trim().is_empty() => {
                Err("model must not be empty".into())
            }
            (ExperimentMode::Model, Some(model)) => Ok(Some(ModelAccess {
                model: model.clone(),
                upstream: self.upstream.clone(),
                api_key_env: self.api_key_env.clone(),
            })),
            (ExperimentMode::Replay, _) => Ok(None),
        }
    }

    /// Returns the experiment's display name.
    pub fn display_name(&self) -> String {
        if let Some(name) = self.name.as_deref().filter(|name| !name.trim().is_empty()) {
            return name.trim().to_owned();
        }
        match (self.mode, &self.model) {
            (ExperimentMode::Model, Some(model)) => format!("{} · {model}", self.dataset),
            _ => format!("{} · replay", self.dataset),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(value: serde_json::Value) -> ExperimentSpec {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn plan_checks_each_field() {
        let cases = [
            (
                serde_json::json!({"dataset": "d", "scorers": [{"type": "exact"}]}),
                "model is required",
            ),
            (
                serde_json::json!({"dataset": "d", "model": "m"}),
                "at least one scorer",
            ),
            (
                serde_json::json!({"dataset": "d", "model": "m", "concurrency": 0, "scorers": [{"type": "exact"}]}),
                "concurrency",
            ),
            (
                serde_json::json!({"dataset": "d", "model": "m", "temperature": 3.0, "scorers": [{"type": "exact"}]}),
                "temperature",
            ),
            (
                serde_json::json!({"dataset": "d", "model": "m", "scorers": [{"type": "exact"}, {"type": "exact", "trim": true}]}),
                "listed twice",
            ),
            (
                serde_json::json!({"dataset": "", "model": "m", "scorers": [{"type": "exact"}]}),
                "dataset",
            ),
        ];
        for (value, expected) in cases {
            let error = spec(value.clone()).plan().unwrap_err();
            assert!(error.contains(expected), "{value}: {error}");
        }
    }

    #[test]
    fn replay_needs_no_model() {
        let plan = spec(serde_json::json!({"dataset": "d", "mode": "replay", "scorers": [{"type": "levenshtein"}]}))
            .plan()
            .unwrap();
        assert!(plan.access.is_none());
        assert_eq!(plan.scorers[0].0, "levenshtein");
        assert_eq!(plan.spec.display_name(), "d · replay");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let parsed = serde_json::from_value::<ExperimentSpec>(
            serde_json::json!({"dataset": "d", "modle": "m"}),
        );
        assert!(parsed.is_err());
    }
}
