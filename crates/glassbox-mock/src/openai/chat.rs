//! `POST /v1/chat/completions`: a `chat.completion` object, or a stream of
//! `chat.completion.chunk` objects that ends with `data: [DONE]`.
//!
//! A stream opens with a chunk that carries the role, then one chunk per piece of text (or of
//! tool-call arguments), then a chunk with the finish reason. With
//! `stream_options.include_usage`, every chunk has `"usage": null` and a last chunk with no
//! choices carries the usage; without it, the stream has no usage at all.

use serde_json::{Value, json};

use super::{CREATED, completion_usage, finish_reason, includes_usage, with_null_usage};
use crate::error::MockError;
use crate::reply::{Output, Prompt, Reply, Tool, split_pieces};
use crate::server::{Call, Payload};
use crate::sse::Frame;
use crate::tokens::content_text;

/// Fingerprint sent in every completion, as OpenAI names the backend configuration.
const FINGERPRINT: &str = "fp_glassbox_mock";

pub(crate) fn handle(call: &Call<'_>) -> Result<Payload, MockError> {
    let messages = call
        .body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| MockError::invalid("missing required parameter: messages (an array)"))?;

    let prompt = read_prompt(messages, call.body.get("tools"));
    let reply = Reply::new(&prompt, call.behavior);
    let pieces = split_pieces(reply.streamed_text(), call.options.chunks);

    if call.is_stream() {
        Ok(call.stream(stream_frames(call, &reply, &pieces), None))
    } else {
        Ok(call.generated(completion(call, &reply), pieces.len()))
    }
}

fn read_prompt(messages: &[Value], tools: Option<&Value>) -> Prompt {
    let mut prompt = Prompt::default();
    for message in messages {
        let text = content_text(message.get("content").unwrap_or(&Value::Null));
        let from_user = message.get("role").and_then(Value::as_str) == Some("user");
        prompt.add_message(from_user, &text);
    }
    prompt.first_tool = tools.and_then(first_tool);
    prompt
}

/// Reads `tools[0].function`, the only tool kind the mock calls.
fn first_tool(tools: &Value) -> Option<Tool> {
    let function = tools.get(0)?.get("function")?;
    Some(Tool {
        name: function.get("name")?.as_str()?.to_owned(),
        parameters: function.get("parameters").cloned().unwrap_or(Value::Null),
    })
}

fn completion(call: &Call<'_>, reply: &Reply) -> Value {
    let mut message = json!({
        "role": "assistant",
        "content": null,
        "refusal": null,
        "annotations": [],
    });
    match &reply.output {
        Output::Text(text) => message["content"] = json!(text),
        Output::ToolCall { name, arguments } => {
            message["tool_calls"] = json!([{
                "id": format!("call_{}", call.id),
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }]);
        }
    }

    json!({
        "id": format!("chatcmpl-{}", call.id),
        "object": "chat.completion",
        "created": CREATED,
        "model": call.model(),
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish_reason(reply.finish),
        }],
        "usage": completion_usage(&reply.usage),
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    })
}

fn stream_frames(call: &Call<'_>, reply: &Reply, pieces: &[&str]) -> Vec<Frame> {
    let include_usage = includes_usage(call.body);
    let chunk = |choices: Value| with_null_usage(chunk_object(call, choices), include_usage);
    let choice = |delta: Value, finish: Option<&str>| json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]);

    let mut frames = vec![Frame::data(
        &chunk(choice(opening_delta(call, reply), None)),
        false,
    )];
    for piece in pieces {
        let delta = piece_delta(reply, piece);
        frames.push(Frame::data(&chunk(choice(delta, None)), true));
    }
    let finish = finish_reason(reply.finish);
    frames.push(Frame::data(&chunk(choice(json!({}), Some(finish))), false));

    if include_usage {
        let mut last = chunk(json!([]));
        last["usage"] = completion_usage(&reply.usage);
        frames.push(Frame::data(&last, false));
    }
    frames.push(Frame::done());
    frames
}

fn chunk_object(call: &Call<'_>, choices: Value) -> Value {
    json!({
        "id": format!("chatcmpl-{}", call.id),
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": call.model(),
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
        "choices": choices,
    })
}

/// Builds the first delta: the role, with an empty text or the tool call's id and name.
fn opening_delta(call: &Call<'_>, reply: &Reply) -> Value {
    match &reply.output {
        Output::Text(_) => json!({"role": "assistant", "content": "", "refusal": null}),
        Output::ToolCall { name, .. } => json!({
            "role": "assistant",
            "content": null,
            "tool_calls": [{
                "index": 0,
                "id": format!("call_{}", call.id),
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }],
        }),
    }
}

fn piece_delta(reply: &Reply, piece: &str) -> Value {
    match &reply.output {
        Output::Text(_) => json!({"content": piece}),
        Output::ToolCall { .. } => {
            json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_prompt_counts_all_messages() {
        let messages = json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "What is Rust?"}]},
        ]);

        let prompt = read_prompt(messages.as_array().unwrap(), None);
        let reply = Reply::new(&prompt, &Default::default());

        assert_eq!(reply.usage.uncached_input, 5);
        assert_eq!(
            reply.output,
            Output::Text("Mock reply to: What is Rust?".to_owned())
        );
    }

    #[test]
    fn first_tool_reads_function() {
        let tools = json!([{"type": "function", "function": {
            "name": "lookup",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        }}]);

        let tool = first_tool(&tools).unwrap();

        assert_eq!(tool.name, "lookup");
        assert_eq!(tool.parameters["properties"]["q"]["type"], "string");
        assert!(first_tool(&json!([])).is_none());
    }
}
