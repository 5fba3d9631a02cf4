//! Model calls through Glassbox's own gateway, so judge and experiment calls are priced and
//! traced like any other call, and marked so that no evaluator scores them.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use glassbox_model::{SpanId, TraceId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The metadata key that marks calls made by an online evaluator; its value is the
/// evaluator's name. Spans carrying it are never evaluated.
pub const EVALUATOR_METADATA: &str = "glassbox-evaluator";

/// The metadata key that marks calls made by an experiment; its value is the experiment id.
pub const EXPERIMENT_METADATA: &str = "glassbox-experiment";

/// How long one model call may take before it counts as failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// Largest response body read from the gateway.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// The model a judge or an experiment calls, and how to reach it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelAccess {
    /// The model name sent in the request.
    pub model: String,
    /// The gateway upstream to use (`x-glassbox-upstream`); by default the gateway routes by
    /// model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// The environment variable of the server process that contains the API key, sent as a
    /// bearer token. Without it, the upstream's configured key (if any) is used. The key
    /// itself is never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
}

/// The reason for a call, recorded in its span's metadata.
#[derive(Debug, Clone, Copy)]
pub enum Purpose<'a> {
    /// An online evaluator of this name.
    Evaluator(&'a str),
    /// The experiment with this id.
    Experiment(&'a str),
}

/// A successful Chat Completions call.
#[derive(Debug, Clone)]
pub struct ChatReply {
    /// The response body.
    pub body: Value,
    /// Wall time of the call in milliseconds.
    pub latency_ms: f64,
    /// `usage.prompt_tokens`, when the response carried it.
    pub input_tokens: Option<u64>,
    /// `usage.completion_tokens`, when the response carried it.
    pub output_tokens: Option<u64>,
    /// The trace the gateway recorded the call in.
    pub trace_id: TraceId,
}

/// A model call that failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// The server has no gateway, or it has not started listening yet.
    #[error("the gateway is not available; enable it with gateway.enabled = true")]
    NoGateway,
    /// The variable named by `api_key_env` is not set.
    #[error("environment variable {0} (api_key_env) is not set in the server's environment")]
    MissingKey(String),
    /// The request did not complete.
    #[error("the call to model {model} failed: {reason}")]
    Transport {
        /// The model called.
        model: String,
        /// The cause.
        reason: String,
    },
    /// The gateway or the provider responded with an error status.
    #[error("model {model} returned HTTP {status}: {message}")]
    Status {
        /// The model called.
        model: String,
        /// The HTTP status.
        status: u16,
        /// The start of the error body.
        message: String,
    },
}

/// Sends Chat Completions requests to the gateway of this server.
#[derive(Debug)]
pub struct GatewayClient {
    base_url: OnceLock<String>,
    http: reqwest::Client,
}

impl Default for GatewayClient {
    fn default() -> Self {
        GatewayClient::new()
    }
}

impl GatewayClient {
    /// Creates a client whose gateway address is set later with [`GatewayClient::connect`].
    pub fn new() -> GatewayClient {
        GatewayClient {
            base_url: OnceLock::new(),
            http: reqwest::Client::new(),
        }
    }

    /// Sets the gateway's base URL (`http://127.0.0.1:7317`) once the server listens.
    pub fn connect(&self, base_url: String) {
        let _ = self.base_url.set(base_url.trim_end_matches('/').to_owned());
    }

    /// Returns true once the gateway address is known.
    pub fn is_connected(&self) -> bool {
        self.base_url.get().is_some()
    }

    /// Sends a Chat Completions request body for `access`, in a new trace marked with
    /// `purpose`.
    pub async fn chat(
        &self,
        access: &ModelAccess,
        mut body: Value,
        purpose: Purpose<'_>,
    ) -> Result<ChatReply, CallError> {
        let base_url = self.base_url.get().ok_or(CallError::NoGateway)?;
        body["model"] = Value::String(access.model.clone());
        let trace_id = TraceId(fastrand::u128(..).to_be_bytes());
        let span_id = SpanId(fastrand::u64(1..).to_be_bytes());

        let mut request = self
            .http
            .post(format!("{base_url}/v1/chat/completions"))
            .timeout(CALL_TIMEOUT)
            .header("traceparent", format!("00-{trace_id}-{span_id}-01"))
            .json(&body);
        request = match purpose {
            Purpose::Evaluator(name) => {
                request.header(format!("x-glassbox-metadata-{EVALUATOR_METADATA}"), name)
            }
            Purpose::Experiment(id) => {
                request.header(format!("x-glassbox-metadata-{EXPERIMENT_METADATA}"), id)
            }
        };
        if let Some(upstream) = &access.upstream {
            request = request.header("x-glassbox-upstream", upstream);
        }
        if let Some(variable) = &access.api_key_env {
            let key =
                std::env::var(variable).map_err(|_| CallError::MissingKey(variable.clone()))?;
            request = request.bearer_auth(key);
        }

        let started = Instant::now();
        let response = request
            .send()
            .await
            .map_err(|error| transport(access, &error))?;
        let status = response.status().as_u16();
        let bytes = read_limited(response, access).await?;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        if !(200..300).contains(&status) {
            return Err(CallError::Status {
                model: access.model.clone(),
                status,
                message: excerpt(&String::from_utf8_lossy(&bytes)),
            });
        }
        let body: Value = serde_json::from_slice(&bytes).map_err(|error| CallError::Transport {
            model: access.model.clone(),
            reason: format!("the response is not JSON: {error}"),
        })?;
        Ok(ChatReply {
            input_tokens: body.pointer("/usage/prompt_tokens").and_then(Value::as_u64),
            output_tokens: body
                .pointer("/usage/completion_tokens")
                .and_then(Value::as_u64),
            body,
            latency_ms,
            trace_id,
        })
    }
}

async fn read_limited(
    mut response: reqwest::Response,
    access: &ModelAccess,
) -> Result<Vec<u8>, CallError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| transport(access, &error))?
    {
        if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(CallError::Transport {
                model: access.model.clone(),
                reason: format!("the response is larger than {MAX_RESPONSE_BYTES} bytes"),
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn transport(access: &ModelAccess, error: &reqwest::Error) -> CallError {
    let reason = if error.is_timeout() {
        format!("no response within {} s", CALL_TIMEOUT.as_secs())
    } else {
        error.to_string()
    };
    CallError::Transport {
        model: access.model.clone(),
        reason,
    }
}

/// Returns the first 300 characters of an error body.
fn excerpt(text: &str) -> String {
    let mut short: String = text.chars().take(300).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}
