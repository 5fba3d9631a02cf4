//! Request and response bodies of the OpenAI Chat Completions API for judge calls.
//!
//! Only the bodies are built and read here. Sending them, with the API key, retries and
//! timeouts, is the caller's job.

use serde_json::{Value, json};

use super::JudgeError;

/// Options of a judge request beyond the model and the prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatRequestOptions {
    /// Sets `response_format` to `{"type": "json_object"}`, which OpenAI and many
    /// compatible servers support. Default true.
    pub json_mode: bool,
}

impl Default for ChatRequestOptions {
    fn default() -> Self {
        Self { json_mode: true }
    }
}

/// Builds a Chat Completions request body with a system and a user message.
///
/// The temperature is 0 so that repeated judgments of the same output agree as far as the
/// provider allows.
pub fn chat_completions_request(
    model: &str,
    system_prompt: &str,
    user_prompt: &str,
    options: &ChatRequestOptions,
) -> Value {
    let mut body = json!({
        "model": model,
        "messages": [
            {"role": "system", "content": system_prompt},
            {"role": "user", "content": user_prompt},
        ],
        "temperature": 0,
    });
    if options.json_mode {
        body["response_format"] = json!({"type": "json_object"});
    }
    body
}

/// Extracts the assistant's text from a Chat Completions response body.
///
/// Reads `choices[0].message.content`, either a string or an array of `{"type": "text",
/// "text": ...}` parts, which are joined.
///
/// # Errors
///
/// Returns [`JudgeError::ProviderError`] for an error body, [`JudgeError::Refusal`] when the
/// model refused, and [`JudgeError::InvalidResponse`] when there is no text content.
pub fn chat_completions_text(body: &Value) -> Result<String, JudgeError> {
    if let Some(error) = body.get("error").filter(|error| !error.is_null()) {
        return Err(JudgeError::ProviderError {
            message: provider_error_message(error),
        });
    }

    let message = body
        .pointer("/choices/0/message")
        .ok_or_else(|| invalid_response("no choices[0].message"))?;
    if let Some(refusal) = message.get("refusal").and_then(Value::as_str) {
        return Err(JudgeError::Refusal {
            excerpt: super::excerpt(refusal),
        });
    }

    match message.get("content") {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(Value::Array(parts)) => join_text_parts(parts),
        Some(Value::Null) | None => Err(invalid_response("choices[0].message.content is missing")),
        Some(_) => Err(invalid_response("choices[0].message.content is not text")),
    }
}

fn join_text_parts(parts: &[Value]) -> Result<String, JudgeError> {
    let texts: Vec<&str> = parts
        .iter()
        .filter(|part| part.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|part| part.get("text").and_then(Value::as_str))
        .collect();
    if texts.is_empty() {
        return Err(invalid_response(
            "choices[0].message.content has no text part",
        ));
    }
    Ok(texts.concat())
}

fn provider_error_message(error: &Value) -> String {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .or_else(|| error.as_str())
        .unwrap_or("no message");
    super::excerpt(message)
}

fn invalid_response(what: &str) -> JudgeError {
    JudgeError::InvalidResponse {
        message: what.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_body_shape() {
        let body = chat_completions_request(
            "gpt-4o-mini",
            "sys",
            "user text",
            &ChatRequestOptions::default(),
        );
        let want = json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "sys"},
                {"role": "user", "content": "user text"}
            ],
            "temperature": 0,
            "response_format": {"type": "json_object"}
        });
        assert_eq!(body, want);
    }

    #[test]
    fn request_without_json_mode() {
        let options = ChatRequestOptions { json_mode: false };
        let body = chat_completions_request("m", "s", "u", &options);
        assert!(body.get("response_format").is_none());
        assert_eq!(body["temperature"], json!(0));
    }

    #[test]
    fn extracts_string_content() {
        let body = json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "{\"score\": 0.9}", "refusal": null},
                "finish_reason": "stop"
            }],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        });
        assert_eq!(chat_completions_text(&body).unwrap(), "{\"score\": 0.9}");
    }

    #[test]
    fn joins_text_parts() {
        let body = json!({"choices": [{"message": {"content": [
            {"type": "text", "text": "Score: "},
            {"type": "image_url", "image_url": {"url": "x"}},
            {"type": "text", "text": "4/5"}
        ]}}]});
        assert_eq!(chat_completions_text(&body).unwrap(), "Score: 4/5");
    }

    #[test]
    fn response_errors() {
        let error_body = json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}});
        assert_eq!(
            chat_completions_text(&error_body).unwrap_err().to_string(),
            "judge provider returned an error: Incorrect API key provided"
        );

        let refusal = json!({"choices": [{"message": {"content": null, "refusal": "I can't help with that."}}]});
        assert!(matches!(
            chat_completions_text(&refusal),
            Err(JudgeError::Refusal { .. })
        ));

        let empty = json!({"choices": []});
        assert_eq!(
            chat_completions_text(&empty).unwrap_err().to_string(),
            "invalid judge response: no choices[0].message"
        );

        let null_content = json!({"choices": [{"message": {"content": null}}]});
        assert!(matches!(
            chat_completions_text(&null_content),
            Err(JudgeError::InvalidResponse { .. })
        ));
    }
}
