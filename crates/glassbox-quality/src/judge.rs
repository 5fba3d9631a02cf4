//! The LLM judge: a prompt template sent to a configured model, whose reply is parsed into a
//! score in `[0, 1]`.

use glassbox_eval::{
    ChatRequestOptions, JudgeError, JudgeInputs, JudgeScale, JudgeTemplate,
    chat_completions_request, chat_completions_text, parse_verdict,
};
use serde::{Deserialize, Serialize};

use crate::client::{CallError, GatewayClient, ModelAccess, Purpose};

/// The system prompt of a judge call unless the configuration sets one.
const DEFAULT_SYSTEM_PROMPT: &str = "You are a strict evaluator of AI assistant responses. \
Reply with a JSON object only.";

/// Configuration of an LLM judge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeConfig {
    /// The judge model and how to reach it.
    #[serde(flatten)]
    pub access: ModelAccess,
    /// The user prompt with `{{input}}`, `{{output}}` and `{{expected}}` placeholders. The
    /// default requests `{"score": 0..1, "reason": "..."}`, and compares with the expected
    /// output when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// The lowest score the template requests. Default 0.
    #[serde(default)]
    pub scale_min: f64,
    /// The highest score the template requests. Default 1.
    #[serde(default = "one")]
    pub scale_max: f64,
    /// Sends `response_format: {"type": "json_object"}`. Default true.
    #[serde(default = "yes")]
    pub json_mode: bool,
}

fn one() -> f64 {
    1.0
}

fn yes() -> bool {
    true
}

/// A judge whose template and scale are checked.
#[derive(Debug, Clone)]
pub struct Judge {
    access: ModelAccess,
    template: Option<JudgeTemplate>,
    system_prompt: String,
    scale: JudgeScale,
    options: ChatRequestOptions,
}

/// A judge's score with the call that produced it.
#[derive(Debug, Clone)]
pub struct Judgment {
    /// The score normalized to `[0, 1]`.
    pub score: f64,
    /// The judge's reason, when it gave one.
    pub reason: Option<String>,
    /// The trace of the judge call.
    pub trace_id: glassbox_model::TraceId,
}

/// A judgment that failed: the call, or the reading of the reply.
#[derive(Debug, thiserror::Error)]
pub enum JudgeFailure {
    /// The model call failed.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The reply carried no usable score, or the prompt could not be built.
    #[error("judge {model}: {error}")]
    Verdict {
        /// The judge model.
        model: String,
        /// The problem.
        error: JudgeError,
    },
}

impl Judge {
    /// Checks the configuration; the error names the wrong setting.
    pub fn new(config: &JudgeConfig) -> Result<Judge, String> {
        if config.access.model.trim().is_empty() {
            return Err("judge.model must not be empty".to_owned());
        }
        let template = config
            .template
            .as_deref()
            .map(JudgeTemplate::new)
            .transpose()
            .map_err(|error| format!("judge.template: {error}"))?;
        let scale = JudgeScale::new(config.scale_min, config.scale_max)
            .map_err(|error| format!("judge.scale_min/scale_max: {error}"))?;
        Ok(Judge {
            access: config.access.clone(),
            template,
            system_prompt: config
                .system_prompt
                .clone()
                .unwrap_or_else(|| DEFAULT_SYSTEM_PROMPT.to_owned()),
            scale,
            options: ChatRequestOptions {
                json_mode: config.json_mode,
            },
        })
    }

    /// Returns the judge model's name.
    pub fn model(&self) -> &str {
        &self.access.model
    }

    /// Asks the judge to score `output` for `input`, against `expected` when given.
    pub async fn judge(
        &self,
        client: &GatewayClient,
        inputs: JudgeInputs<'_>,
        purpose: Purpose<'_>,
    ) -> Result<Judgment, JudgeFailure> {
        let verdict_error = |error| JudgeFailure::Verdict {
            model: self.access.model.clone(),
            error,
        };
        let template = match (&self.template, inputs.expected.is_some()) {
            (Some(template), _) => template.clone(),
            (None, true) => JudgeTemplate::with_reference(),
            (None, false) => JudgeTemplate::without_reference(),
        };
        let prompt = template.render(&inputs).map_err(verdict_error)?;
        let body = chat_completions_request(
            &self.access.model,
            &self.system_prompt,
            &prompt,
            &self.options,
        );

        let reply = client.chat(&self.access, body, purpose).await?;
        let text = chat_completions_text(&reply.body).map_err(verdict_error)?;
        let verdict = parse_verdict(&text, &self.scale).map_err(verdict_error)?;
        Ok(Judgment {
            score: verdict.score,
            reason: verdict.reason,
            trace_id: reply.trace_id,
        })
    }
}
