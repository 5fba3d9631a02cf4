//! OpenAI's endpoints, and the pieces their formats share.

pub(crate) mod chat;
pub(crate) mod completions;
pub(crate) mod embeddings;
pub(crate) mod responses;

use serde_json::{Value, json};

use crate::reply::{Finish, Usage};

/// Fixed `created` time of every object, in Unix seconds, so replies are reproducible.
pub(crate) const CREATED: u64 = 1_700_000_000;

/// Usage of chat and text completions, with the detail objects that the chat API sends.
pub(crate) fn completion_usage(usage: &Usage) -> Value {
    json!({
        "prompt_tokens": usage.total_input(),
        "completion_tokens": usage.output,
        "total_tokens": usage.total(),
        "prompt_tokens_details": {"cached_tokens": usage.cached_input, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    })
}

pub(crate) fn finish_reason(finish: Finish) -> &'static str {
    match finish {
        Finish::Stop => "stop",
        Finish::Length => "length",
        Finish::ContentFilter => "content_filter",
        Finish::ToolUse => "tool_calls",
    }
}

/// Returns whether a streaming request set `stream_options.include_usage`.
pub(crate) fn includes_usage(body: &Value) -> bool {
    body.pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        == Some(true)
}

/// Adds `"usage": null` to a chunk when the stream ends with a usage chunk, as OpenAI does.
pub(crate) fn with_null_usage(mut chunk: Value, include_usage: bool) -> Value {
    if include_usage && let Some(object) = chunk.as_object_mut() {
        object.insert("usage".to_owned(), Value::Null);
    }
    chunk
}
