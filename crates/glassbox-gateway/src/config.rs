//! Gateway settings as they appear in the configuration file, and their checks.
//!
//! Two upstreams always exist: `openai` (the OpenAI dialect, at `openai_base_url`) and
//! `anthropic` (the Anthropic dialect, at `anthropic_base_url`). More come from
//! `[[gateway.upstreams]]` entries, which are tried first, in order.

use serde::{Deserialize, Serialize};

/// The part of their messages that recorded calls keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureMode {
    /// Messages are stored as sent and received.
    #[default]
    Full,
    /// No messages are stored; tokens, cost, timings and status still are.
    Metadata,
    /// Roles, tool names and message sizes are stored, every text is replaced by a marker.
    Redacted,
}

impl CaptureMode {
    /// Returns the lowercase name used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureMode::Full => "full",
            CaptureMode::Metadata => "metadata",
            CaptureMode::Redacted => "redacted",
        }
    }
}

/// The API an upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// OpenAI's API and every server compatible with it (vLLM, Ollama, llama.cpp, TGI, ...):
    /// `/chat/completions`, `/completions`, `/embeddings`, `/responses`, `/models` under a base
    /// URL that ends in `/v1`.
    Openai,
    /// Anthropic's Messages API: `/v1/messages` and `/v1/messages/count_tokens` under a base
    /// URL without `/v1`.
    Anthropic,
}

impl Dialect {
    /// Returns the lowercase name used in configuration and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Openai => "openai",
            Dialect::Anthropic => "anthropic",
        }
    }
}

/// The `[gateway]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Serve the gateway endpoints on the main port. Default true;
    /// variable `GLASSBOX_GATEWAY__ENABLED`.
    pub enabled: bool,
    /// The capture mode of recorded calls: `full`, `metadata` or `redacted`.
    /// Default `full`; variable `GLASSBOX_GATEWAY__CAPTURE`.
    pub capture: CaptureMode,
    /// Largest request body accepted, in bytes; larger ones get 413. Default 33554432 (32 MiB);
    /// variable `GLASSBOX_GATEWAY__MAX_BODY_BYTES`.
    pub max_body_bytes: usize,
    /// Response bytes kept for recording one call; a longer response still reaches the client
    /// whole, but its recorded content stops there. Default 8388608 (8 MiB);
    /// variable `GLASSBOX_GATEWAY__MAX_CAPTURE_BYTES`.
    pub max_capture_bytes: usize,
    /// Seconds to wait for a connection to an upstream. Default 10;
    /// variable `GLASSBOX_GATEWAY__CONNECT_TIMEOUT_SECS`.
    pub connect_timeout_secs: u64,
    /// Seconds to wait for an upstream's response headers. A non-streamed call sends its
    /// headers only when the whole response is ready, so this bounds it. Default 600;
    /// variable `GLASSBOX_GATEWAY__RESPONSE_TIMEOUT_SECS`.
    pub response_timeout_secs: u64,
    /// Seconds an upstream may stay silent in the middle of a response body. Default 300;
    /// variable `GLASSBOX_GATEWAY__IDLE_TIMEOUT_SECS`.
    pub idle_timeout_secs: u64,
    /// The `service.name` of recorded spans. Default `glassbox-gateway`;
    /// variable `GLASSBOX_GATEWAY__SERVICE_NAME`.
    pub service_name: String,
    /// Calls that may wait to be recorded; past this, calls still succeed and the loss is
    /// counted in `/api/v1/health`. Default 8192; variable `GLASSBOX_GATEWAY__RECORD_QUEUE`.
    pub record_queue: usize,
    /// Request and response body bytes of the calls waiting to be recorded; past this, calls
    /// still succeed and the loss is counted. It bounds the recorder's memory when prompts
    /// and responses are large. The default has room for two calls of the largest request
    /// body accepted by default. Default 67108864 (64 MiB);
    /// variable `GLASSBOX_GATEWAY__RECORD_QUEUE_BYTES`.
    pub record_queue_bytes: usize,
    /// Settings of the built-in `openai` upstream.
    pub openai: BuiltinUpstream,
    /// Settings of the built-in `anthropic` upstream.
    pub anthropic: BuiltinUpstream,
    /// More upstreams (`[[gateway.upstreams]]`), tried before the built-in ones.
    pub upstreams: Vec<UpstreamConfig>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            enabled: true,
            capture: CaptureMode::Full,
            max_body_bytes: 32 * 1024 * 1024,
            max_capture_bytes: 8 * 1024 * 1024,
            connect_timeout_secs: 10,
            response_timeout_secs: 600,
            idle_timeout_secs: 300,
            service_name: "glassbox-gateway".to_owned(),
            record_queue: 8192,
            record_queue_bytes: 64 << 20,
            openai: BuiltinUpstream::default(),
            anthropic: BuiltinUpstream::default(),
            upstreams: Vec::new(),
        }
    }
}

/// Settings of a built-in upstream; its base URL is a top-level setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BuiltinUpstream {
    /// Model name patterns it serves (`*` matches any run of characters). Default `["*"]`:
    /// every model of its dialect that no other upstream claimed.
    pub models: Vec<String>,
    /// Environment variable holding the key to send instead of the client's. Default none:
    /// the client's own credentials pass through.
    pub api_key_env: Option<String>,
}

impl Default for BuiltinUpstream {
    fn default() -> Self {
        BuiltinUpstream {
            models: vec!["*".to_owned()],
            api_key_env: None,
        }
    }
}

/// One `[[gateway.upstreams]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// A unique name; `NAME/model` in a request and the `x-glassbox-upstream: NAME` header
    /// choose this upstream.
    pub name: String,
    /// The API it speaks: `openai` or `anthropic`.
    pub dialect: Dialect,
    /// Its base URL in the form the provider's SDK takes (OpenAI-compatible ones end in `/v1`).
    pub base_url: String,
    /// The provider name recorded on spans and used for prices. Default: the name.
    #[serde(default)]
    pub provider: Option<String>,
    /// Model name patterns it serves (`*` matches any run of characters). Default none: only
    /// the prefix and the header reach it.
    #[serde(default)]
    pub models: Vec<String>,
    /// Environment variable holding the key to send instead of the client's.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Ask for token usage in OpenAI-style streams (`stream_options.include_usage`). Turn off
    /// for a server that rejects the option. Default true.
    #[serde(default = "default_true")]
    pub stream_usage: bool,
}

fn default_true() -> bool {
    true
}

impl GatewayConfig {
    /// Checks values that parse but can never work; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let checks = [
            (
                self.max_body_bytes >= 1024,
                "gateway.max_body_bytes must be at least 1024",
            ),
            (
                self.record_queue >= 1,
                "gateway.record_queue must be at least 1",
            ),
            (
                self.connect_timeout_secs >= 1,
                "gateway.connect_timeout_secs must be at least 1",
            ),
            (
                self.response_timeout_secs >= 1,
                "gateway.response_timeout_secs must be at least 1",
            ),
            (
                self.idle_timeout_secs >= 1,
                "gateway.idle_timeout_secs must be at least 1",
            ),
        ];
        if let Some((_, message)) = checks.iter().find(|(ok, _)| !ok) {
            return Err((*message).to_owned());
        }
        self.validate_upstreams()
    }

    fn validate_upstreams(&self) -> Result<(), String> {
        let mut names = vec!["openai", "anthropic"];
        for (index, upstream) in self.upstreams.iter().enumerate() {
            let name = upstream.name.as_str();
            if name.is_empty() || name.contains('/') {
                return Err(format!(
                    "gateway.upstreams[{index}].name must be non-empty and contain no '/', got {name:?}"
                ));
            }
            if names.contains(&name) {
                return Err(format!(
                    "gateway.upstreams[{index}].name {name:?} is used twice; names must be unique"
                ));
            }
            names.push(name);
            check_base_url(&upstream.base_url)
                .map_err(|error| format!("gateway.upstreams[{index}].base_url: {error}"))?;
        }
        Ok(())
    }
}

/// Checks that a base URL is absolute HTTP(S) without a query; returns a readable reason.
pub fn check_base_url(url: &str) -> Result<(), String> {
    let parsed: http::Uri = url
        .parse()
        .map_err(|error| format!("{url:?} is not a URL: {error}"))?;
    if !matches!(parsed.scheme_str(), Some("http" | "https")) {
        return Err(format!("{url:?} must start with http:// or https://"));
    }
    if parsed.host().is_none_or(str::is_empty) {
        return Err(format!("{url:?} names no host"));
    }
    if parsed.query().is_some() || url.contains('#') {
        return Err(format!("{url:?} must have no query or fragment"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(name: &str, base_url: &str) -> UpstreamConfig {
        UpstreamConfig {
            name: name.to_owned(),
            dialect: Dialect::Openai,
            base_url: base_url.to_owned(),
            provider: None,
            models: Vec::new(),
            api_key_env: None,
            stream_usage: true,
        }
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(GatewayConfig::default().validate(), Ok(()));
    }

    #[test]
    fn duplicate_and_builtin_names_are_rejected() {
        let config = GatewayConfig {
            upstreams: vec![upstream("openai", "http://127.0.0.1:8000/v1")],
            ..GatewayConfig::default()
        };
        let error = config.validate().unwrap_err();
        assert!(error.contains("\"openai\" is used twice"), "{error}");
    }

    #[test]
    fn base_url_must_be_http() {
        let config = GatewayConfig {
            upstreams: vec![upstream("vllm", "ftp://127.0.0.1/v1")],
            ..GatewayConfig::default()
        };
        let error = config.validate().unwrap_err();
        assert!(error.contains("gateway.upstreams[0].base_url"), "{error}");
    }
}
