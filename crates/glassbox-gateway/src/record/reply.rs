//! The content of a call's response, read from a JSON body or event by event from a stream.

use std::time::Duration;

use glassbox_model::{Message, TokenUsage, ToolCall};
use glassbox_semconv::messages::shapes::tool_arguments;
use serde_json::Value;

/// The parts of a response that go on the span.
#[derive(Debug, Default)]
pub struct Reply {
    /// The provider's response id.
    pub id: Option<String>,
    /// The model named in the response.
    pub model: Option<String>,
    /// The messages returned.
    pub output: Vec<Message>,
    /// Finish reasons as the provider gave them.
    pub finish_reasons: Vec<String>,
    /// Token counts, OpenTelemetry definitions.
    pub usage: TokenUsage,
    /// When the first output arrived, from the start of the call; streams only.
    pub first_token_at: Option<Duration>,
    /// Whether the response reached its proper end (for streams, the final event).
    pub complete: bool,
    /// An error the provider reported: its type and message.
    pub error: Option<(String, String)>,
    /// Whether some event could not be read.
    pub malformed: bool,
    /// The reason the body could not be decoded, when the upstream compressed it in a way the
    /// gateway cannot read.
    pub undecodable: Option<String>,
}

impl Reply {
    /// Notes the arrival of output at `at`, keeping the first.
    pub fn output_at(&mut self, at: Duration) {
        self.first_token_at.get_or_insert(at);
    }

    /// Sets id and model from an object that has them, keeping the first seen.
    pub fn identity_from(&mut self, object: &Value) {
        if self.id.is_none() {
            self.id = string(object, "id");
        }
        if self.model.is_none() {
            self.model = string(object, "model");
        }
    }

    /// Adds a finish reason once.
    pub fn finish(&mut self, reason: &str) {
        if !reason.is_empty() && !self.finish_reasons.iter().any(|known| known == reason) {
            self.finish_reasons.push(reason.to_owned());
        }
    }
}

/// Reads an error object in either provider's shape: `{"error": {"type", "code", "message"}}`.
/// OpenAI's `code` (`rate_limit_exceeded`) is more specific than its `type` (`requests`), so
/// it wins.
pub fn error_of(body: &Value) -> Option<(String, String)> {
    let error = body.get("error")?;
    let message = string(error, "message")
        .or_else(|| error.as_str().map(str::to_owned))
        .unwrap_or_default();
    let kind = string(error, "code")
        .or_else(|| string(error, "type"))
        .unwrap_or_else(|| "error".to_owned());
    Some((kind, message))
}

/// Reads OpenAI usage in the chat, completions, embeddings or Responses names.
pub fn openai_usage(usage: &Value) -> TokenUsage {
    let input = count(usage, "prompt_tokens").or_else(|| count(usage, "input_tokens"));
    let output = count(usage, "completion_tokens").or_else(|| count(usage, "output_tokens"));
    let input_details = usage
        .get("prompt_tokens_details")
        .or_else(|| usage.get("input_tokens_details"));
    let output_details = usage
        .get("completion_tokens_details")
        .or_else(|| usage.get("output_tokens_details"));
    TokenUsage {
        input,
        output,
        cached_input: input_details.and_then(|details| count(details, "cached_tokens")),
        cache_write_input: None,
        reasoning: output_details.and_then(|details| count(details, "reasoning_tokens")),
        total: count(usage, "total_tokens"),
    }
}

/// Reads Anthropic usage, where `input_tokens` leaves out cache reads and writes; the result
/// counts them in, as the OpenTelemetry definition does.
pub fn anthropic_usage(usage: &Value, into: &mut TokenUsage) {
    let cache_read = count(usage, "cache_read_input_tokens");
    let cache_write = count(usage, "cache_creation_input_tokens");
    if let Some(input) = count(usage, "input_tokens") {
        into.input = Some(input + cache_read.unwrap_or(0) + cache_write.unwrap_or(0));
        into.cached_input = cache_read.or(into.cached_input);
        into.cache_write_input = cache_write.or(into.cache_write_input);
    }
    if let Some(output) = count(usage, "output_tokens") {
        into.output = Some(output);
    }
}

/// Builds a message from text and tool calls gathered piece by piece.
#[derive(Debug, Default, Clone)]
pub struct MessageParts {
    /// The role; `assistant` when none was sent.
    pub role: Option<String>,
    /// The text so far.
    pub text: String,
    /// Tool calls: id, name and argument text so far.
    pub tool_calls: Vec<(Option<String>, String, String)>,
}

impl MessageParts {
    /// Returns the finished message.
    pub fn into_message(self) -> Message {
        Message {
            role: self.role.unwrap_or_else(|| "assistant".to_owned()),
            content: (!self.text.is_empty()).then_some(self.text),
            tool_calls: self
                .tool_calls
                .into_iter()
                .map(|(id, name, arguments)| ToolCall {
                    id,
                    name,
                    arguments: tool_arguments(&Value::String(arguments)),
                })
                .collect(),
            tool_call_id: None,
        }
    }
}

/// Returns a string field.
pub fn string(object: &Value, key: &str) -> Option<String> {
    object
        .get(key)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

/// Returns a non-negative integer field.
pub fn count(object: &Value, key: &str) -> Option<u64> {
    object.get(key).and_then(Value::as_u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn openai_usage_reads_both_name_sets() {
        let chat = openai_usage(&json!({
            "prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 2}
        }));
        assert_eq!(chat.input, Some(10));
        assert_eq!(chat.cached_input, Some(4));
        assert_eq!(chat.reasoning, Some(2));
        let responses = openai_usage(&json!({
            "input_tokens": 8, "output_tokens": 3, "total_tokens": 11,
            "input_tokens_details": {"cached_tokens": 0}
        }));
        assert_eq!((responses.input, responses.output), (Some(8), Some(3)));
    }

    #[test]
    fn anthropic_input_includes_the_cache() {
        let mut usage = TokenUsage::default();
        anthropic_usage(
            &json!({"input_tokens": 10, "cache_read_input_tokens": 100,
                    "cache_creation_input_tokens": 20, "output_tokens": 1}),
            &mut usage,
        );
        assert_eq!(usage.input, Some(130));
        assert_eq!(usage.cached_input, Some(100));
        assert_eq!(usage.cache_write_input, Some(20));
        anthropic_usage(&json!({"output_tokens": 42}), &mut usage);
        assert_eq!((usage.input, usage.output), (Some(130), Some(42)));
    }

    #[test]
    fn errors_of_both_providers() {
        let openai = json!({"error": {"message": "slow down", "type": "requests",
                                      "code": "rate_limit_exceeded"}});
        assert_eq!(
            error_of(&openai),
            Some(("rate_limit_exceeded".to_owned(), "slow down".to_owned()))
        );
        let anthropic = json!({"type": "error", "error": {"type": "overloaded_error",
                                                           "message": "busy"}});
        assert_eq!(
            error_of(&anthropic),
            Some(("overloaded_error".to_owned(), "busy".to_owned()))
        );
    }
}
