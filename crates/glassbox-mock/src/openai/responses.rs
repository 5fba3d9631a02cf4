//! `POST /v1/responses`: a `response` object with one output message, or its stream of named
//! events, each numbered by `sequence_number`.
//!
//! The stream follows OpenAI's order: `response.created`, `response.in_progress`,
//! `response.output_item.added`, `response.content_part.added`, one
//! `response.output_text.delta` per piece, `response.output_text.done`,
//! `response.content_part.done`, `response.output_item.done`, and `response.completed`
//! (`response.incomplete` when a finish directive cut the output short).
//!
//! The mock never returns a function call here, even when the request declares tools.

use serde_json::{Value, json};

use super::CREATED;
use crate::error::MockError;
use crate::reply::{Finish, Prompt, Reply, Usage, split_pieces};
use crate::server::{Call, Payload};
use crate::sse::Frame;
use crate::tokens::content_text;

pub(crate) fn handle(call: &Call<'_>) -> Result<Payload, MockError> {
    let prompt = read_prompt(call.body)?;
    let reply = Reply::new(&prompt, call.behavior);
    let pieces = split_pieces(reply.streamed_text(), call.options.chunks);

    if call.is_stream() {
        let frames = stream_frames(call, &reply, &pieces);
        Ok(call.stream(frames, Some("response.output_text.delta")))
    } else {
        Ok(call.generated(finished_response(call, &reply), pieces.len()))
    }
}

/// Reads `instructions` and `input`, a string or a list of message and tool-output items.
fn read_prompt(body: &Value) -> Result<Prompt, MockError> {
    let mut prompt = Prompt::default();
    if let Some(instructions) = body.get("instructions").and_then(Value::as_str) {
        prompt.add_text(instructions);
    }

    match body.get("input") {
        Some(Value::String(text)) => prompt.add_message(true, text),
        Some(Value::Array(items)) => items.iter().for_each(|item| read_item(&mut prompt, item)),
        _ => {
            return Err(MockError::invalid(
                "missing required parameter: input (a string or a list of items)",
            ));
        }
    }
    Ok(prompt)
}

fn read_item(prompt: &mut Prompt, item: &Value) {
    if let Some(role) = item.get("role").and_then(Value::as_str) {
        let text = content_text(item.get("content").unwrap_or(&Value::Null));
        prompt.add_message(role == "user", &text);
    } else if let Some(output) = item.get("output").and_then(Value::as_str) {
        prompt.add_text(output);
    }
}

fn stream_frames(call: &Call<'_>, reply: &Reply, pieces: &[&str]) -> Vec<Frame> {
    let text = reply.streamed_text();
    let item_id = message_id(call);
    let at = |mut data: Value| {
        data["item_id"] = json!(item_id);
        data["output_index"] = json!(0);
        data["content_index"] = json!(0);
        data
    };
    let started = response(call, "in_progress", json!([]), Value::Null, Value::Null);
    let mut events = Events::default();

    events.push("response.created", json!({"response": started}), false);
    events.push("response.in_progress", json!({"response": started}), false);
    let item = json!({"output_index": 0, "item": message(call, "", "in_progress")});
    events.push("response.output_item.added", item, false);
    let part = at(json!({"part": output_text("")}));
    events.push("response.content_part.added", part, false);
    for piece in pieces {
        let delta = at(json!({"delta": piece, "logprobs": []}));
        events.push("response.output_text.delta", delta, true);
    }
    let done = at(json!({"text": text, "logprobs": []}));
    events.push("response.output_text.done", done, false);
    events.push(
        "response.content_part.done",
        at(json!({"part": output_text(text)})),
        false,
    );
    let item = json!({"output_index": 0, "item": message(call, text, item_status(reply))});
    events.push("response.output_item.done", item, false);

    let finished = json!({"response": finished_response(call, reply)});
    events.push(final_event(reply.finish), finished, false);
    events.frames
}

/// Frames numbered in the order they are pushed.
#[derive(Default)]
struct Events {
    frames: Vec<Frame>,
}

impl Events {
    fn push(&mut self, name: &str, mut data: Value, delta: bool) {
        data["type"] = json!(name);
        data["sequence_number"] = json!(self.frames.len());
        self.frames.push(Frame::event(name, &data, delta));
    }
}

fn final_event(finish: Finish) -> &'static str {
    match incomplete_reason(finish) {
        Some(_) => "response.incomplete",
        None => "response.completed",
    }
}

fn incomplete_reason(finish: Finish) -> Option<&'static str> {
    match finish {
        Finish::Length => Some("max_output_tokens"),
        Finish::ContentFilter => Some("content_filter"),
        Finish::Stop | Finish::ToolUse => None,
    }
}

fn item_status(reply: &Reply) -> &'static str {
    match incomplete_reason(reply.finish) {
        Some(_) => "incomplete",
        None => "completed",
    }
}

fn finished_response(call: &Call<'_>, reply: &Reply) -> Value {
    let output = json!([message(call, reply.streamed_text(), item_status(reply))]);
    let details = incomplete_reason(reply.finish).map(|reason| json!({"reason": reason}));
    let status = if details.is_some() {
        "incomplete"
    } else {
        "completed"
    };
    let details = details.unwrap_or(Value::Null);
    response(call, status, output, usage(&reply.usage), details)
}

fn response(
    call: &Call<'_>,
    status: &str,
    output: Value,
    usage: Value,
    incomplete: Value,
) -> Value {
    let from_request = |key: &str| call.body.get(key).cloned().unwrap_or(Value::Null);
    json!({
        "id": format!("resp_{}", call.id),
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "error": null,
        "incomplete_details": incomplete,
        "instructions": from_request("instructions"),
        "max_output_tokens": from_request("max_output_tokens"),
        "model": call.model(),
        "output": output,
        "parallel_tool_calls": true,
        "previous_response_id": from_request("previous_response_id"),
        "reasoning": {"effort": null, "summary": null},
        "service_tier": "default",
        "store": true,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": null,
        "metadata": {},
    })
}

fn message(call: &Call<'_>, text: &str, status: &str) -> Value {
    let content = if status == "in_progress" {
        json!([])
    } else {
        json!([output_text(text)])
    };
    json!({
        "id": message_id(call),
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    })
}

fn message_id(call: &Call<'_>) -> String {
    format!("msg_{}", call.id)
}

fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

fn usage(usage: &Usage) -> Value {
    json!({
        "input_tokens": usage.total_input(),
        "input_tokens_details": {"cached_tokens": usage.cached_input},
        "output_tokens": usage.output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.total(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behavior::Behavior;
    use crate::reply::Output;

    #[test]
    fn read_prompt_of_items() {
        let body = json!({
            "model": "gpt-4o",
            "instructions": "Be brief.",
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "Hi there"}]},
                {"type": "function_call_output", "call_id": "c1", "output": "sunny and warm"},
            ],
        });

        let reply = Reply::new(&read_prompt(&body).unwrap(), &Behavior::default());

        assert_eq!(reply.usage.uncached_input, 7);
        assert_eq!(
            reply.output,
            Output::Text("Mock reply to: Hi there".to_owned())
        );
    }

    #[test]
    fn read_prompt_requires_input() {
        assert!(read_prompt(&json!({"model": "gpt-4o"})).is_err());
    }

    #[test]
    fn incomplete_on_length() {
        assert_eq!(final_event(Finish::Length), "response.incomplete");
        assert_eq!(final_event(Finish::Stop), "response.completed");
        assert_eq!(
            incomplete_reason(Finish::ContentFilter),
            Some("content_filter")
        );
    }
}
