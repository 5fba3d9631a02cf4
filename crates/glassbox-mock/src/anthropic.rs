//! Anthropic's `POST /v1/messages` and `POST /v1/messages/count_tokens`.
//!
//! A message stream follows Anthropic's order: `message_start`, `content_block_start`, `ping`,
//! one `content_block_delta` per piece (`text_delta`, or `input_json_delta` for a tool call),
//! `content_block_stop`, `message_delta` with the stop reason and output tokens, and
//! `message_stop`. Cache reads are reported beside the input tokens, not inside them.

use serde_json::{Value, json};

use crate::error::MockError;
use crate::reply::{Finish, Output, Prompt, Reply, Tool, Usage, split_pieces};
use crate::server::{Call, Payload};
use crate::sse::Frame;
use crate::tokens::content_text;

/// Output tokens that `message_start` reports before any output, as Anthropic does.
const STARTING_OUTPUT_TOKENS: u64 = 1;

pub(crate) fn messages(call: &Call<'_>) -> Result<Payload, MockError> {
    let prompt = read_prompt(call.body)?;
    let reply = Reply::new(&prompt, call.behavior);
    let pieces = split_pieces(reply.streamed_text(), call.options.chunks);

    if call.is_stream() {
        let frames = stream_frames(call, &reply, &pieces);
        Ok(call.stream(frames, Some("content_block_delta")))
    } else {
        let content = json!([finished_block(call, &reply)]);
        let body = message(
            call,
            content,
            json!(stop_reason(reply.finish)),
            &reply.usage,
        );
        Ok(call.generated(body, pieces.len()))
    }
}

/// Counts the input tokens of a request, cached prefix included, as the real endpoint counts
/// every input token whether or not a cache would serve it.
pub(crate) fn count_tokens(call: &Call<'_>) -> Result<Payload, MockError> {
    let prompt = read_prompt(call.body)?;
    let tokens = prompt.tally.uncached_tokens() + prompt.tally.cached_tokens();
    Ok(Payload::json(json!({"input_tokens": tokens})))
}

/// Reads `system`, `messages` (text blocks, and the content of tool results) and `tools`.
fn read_prompt(body: &Value) -> Result<Prompt, MockError> {
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| MockError::invalid("messages: Field required (an array)"))?;

    let mut prompt = Prompt::default();
    if let Some(system) = body.get("system") {
        prompt.add_text(&content_text(system));
    }
    for message in messages {
        read_message(&mut prompt, message);
    }
    prompt.first_tool = body.pointer("/tools/0").and_then(read_tool);
    Ok(prompt)
}

fn read_message(prompt: &mut Prompt, message: &Value) {
    let content = message.get("content").unwrap_or(&Value::Null);
    let results = content
        .as_array()
        .into_iter()
        .flatten()
        .filter(|block| block.get("type").and_then(Value::as_str) == Some("tool_result"));
    for result in results {
        prompt.add_text(&content_text(result.get("content").unwrap_or(&Value::Null)));
    }

    let from_user = message.get("role").and_then(Value::as_str) == Some("user");
    prompt.add_message(from_user, &content_text(content));
}

fn read_tool(tool: &Value) -> Option<Tool> {
    Some(Tool {
        name: tool.get("name")?.as_str()?.to_owned(),
        parameters: tool.get("input_schema").cloned().unwrap_or(Value::Null),
    })
}

fn stop_reason(finish: Finish) -> &'static str {
    match finish {
        Finish::Stop => "end_turn",
        Finish::Length => "max_tokens",
        Finish::ContentFilter => "refusal",
        Finish::ToolUse => "tool_use",
    }
}

fn message(call: &Call<'_>, content: Value, stop_reason: Value, usage: &Usage) -> Value {
    json!({
        "id": format!("msg_{}", call.id),
        "type": "message",
        "role": "assistant",
        "model": call.model(),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": {
            "input_tokens": usage.uncached_input,
            "output_tokens": usage.output,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": usage.cached_input,
        },
    })
}

/// Builds the content block of a non-streaming reply.
fn finished_block(call: &Call<'_>, reply: &Reply) -> Value {
    match &reply.output {
        Output::Text(text) => json!({"type": "text", "text": text}),
        Output::ToolCall { name, arguments } => {
            let input: Value = serde_json::from_str(arguments).unwrap_or_else(|_| json!({}));
            json!({"type": "tool_use", "id": tool_use_id(call), "name": name, "input": input})
        }
    }
}

/// Builds the content block that `content_block_start` opens, before any delta.
fn opening_block(call: &Call<'_>, reply: &Reply) -> Value {
    match &reply.output {
        Output::Text(_) => json!({"type": "text", "text": ""}),
        Output::ToolCall { name, .. } => {
            json!({"type": "tool_use", "id": tool_use_id(call), "name": name, "input": {}})
        }
    }
}

fn tool_use_id(call: &Call<'_>) -> String {
    format!("toolu_{}", call.id)
}

fn stream_frames(call: &Call<'_>, reply: &Reply, pieces: &[&str]) -> Vec<Frame> {
    let starting_usage = Usage {
        output: STARTING_OUTPUT_TOKENS,
        ..reply.usage
    };
    let started = message(call, json!([]), Value::Null, &starting_usage);
    let opening = opening_block(call, reply);

    let mut frames = vec![
        event("message_start", json!({"message": started}), false),
        event(
            "content_block_start",
            json!({"index": 0, "content_block": opening}),
            false,
        ),
        event("ping", json!({}), false),
    ];
    for piece in pieces {
        let delta = match reply.output {
            Output::Text(_) => json!({"type": "text_delta", "text": piece}),
            Output::ToolCall { .. } => json!({"type": "input_json_delta", "partial_json": piece}),
        };
        let data = json!({"index": 0, "delta": delta});
        frames.push(event("content_block_delta", data, true));
    }

    let delta = json!({"stop_reason": stop_reason(reply.finish), "stop_sequence": null});
    let usage = json!({"output_tokens": reply.usage.output});
    frames.extend([
        event("content_block_stop", json!({"index": 0}), false),
        event(
            "message_delta",
            json!({"delta": delta, "usage": usage}),
            false,
        ),
        event("message_stop", json!({}), false),
    ]);
    frames
}

fn event(name: &str, mut data: Value, delta: bool) -> Frame {
    data["type"] = json!(name);
    Frame::event(name, &data, delta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behavior::Behavior;

    fn reply(body: Value) -> Reply {
        Reply::new(&read_prompt(&body).unwrap(), &Behavior::default())
    }

    #[test]
    fn read_prompt_counts_system_and_tool_results() {
        let reply = reply(json!({
            "model": "claude-sonnet-4-5",
            "system": [{"type": "text", "text": "Be brief."}],
            "messages": [
                {"role": "user", "content": "What is the weather?"},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "w", "input": {}},
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny today"},
                ]},
            ],
        }));

        assert_eq!(reply.usage.uncached_input, 8);
        assert_eq!(
            reply.output,
            Output::Text("Mock reply to: What is the weather?".to_owned())
        );
    }

    #[test]
    fn read_prompt_reads_first_tool() {
        let reply = reply(json!({
            "model": "claude-sonnet-4-5",
            "tools": [{"name": "w", "input_schema": {"properties": {"city": {"type": "string"}}}}],
            "messages": [{"role": "user", "content": "use a tool [cached]"}],
        }));

        assert_eq!(
            reply.output,
            Output::ToolCall {
                name: "w".to_owned(),
                arguments: r#"{"city":"mock"}"#.to_owned()
            }
        );
        assert_eq!(reply.usage.cached_input, 32);
        assert_eq!(stop_reason(reply.finish), "tool_use");
    }

    #[test]
    fn read_prompt_requires_messages() {
        assert!(read_prompt(&json!({"model": "claude-sonnet-4-5"})).is_err());
    }
}
