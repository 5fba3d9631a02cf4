//! Anthropic Messages calls, whole or streamed, and token counting.

use std::collections::BTreeMap;
use std::time::Duration;

use glassbox_model::Message;
use glassbox_semconv::messages::shapes::{message_from_object, messages_from_value, text_of};
use serde_json::{Map, Value};

use super::reply::{MessageParts, Reply, anthropic_usage, error_of, string};
use crate::sse::Event;

/// Returns the messages a request sends, the system prompt first.
pub fn input_messages(body: &Value) -> Option<Vec<Message>> {
    let mut messages = Vec::new();
    if let Some(system) = body.get("system").and_then(text_of) {
        messages.push(Message::text("system", system));
    }
    if let Some(sent) = body.get("messages").and_then(messages_from_value) {
        messages.extend(sent);
    }
    (!messages.is_empty()).then_some(messages)
}

/// Returns `metadata.user_id`, Anthropic's end-user field.
pub fn user_id(body: &Value) -> Option<String> {
    body.get("metadata")
        .and_then(|meta| string(meta, "user_id"))
}

/// Reads a whole message response.
pub fn read_body(body: &Value, reply: &mut Reply) {
    reply.identity_from(body);
    if let Some(usage) = body.get("usage") {
        anthropic_usage(usage, &mut reply.usage);
    }
    if let Some(content) = body.get("content") {
        let mut object = Map::new();
        object.insert("role".to_owned(), Value::String("assistant".to_owned()));
        object.insert("content".to_owned(), content.clone());
        reply.output.extend(message_from_object(&object, None));
    }
    if let Some(reason) = body.get("stop_reason").and_then(Value::as_str) {
        reply.finish(reason);
    }
    reply.complete = true;
}

/// Assembles a stream event by event: text and tool-use blocks by index.
#[derive(Debug, Default)]
pub struct Assembler {
    blocks: BTreeMap<u64, Block>,
}

#[derive(Debug)]
enum Block {
    Text(String),
    ToolUse {
        id: Option<String>,
        name: String,
        input: String,
    },
    Other,
}

impl Assembler {
    /// Reads one event that arrived at `at`.
    pub fn event(&mut self, event: &Event, at: Duration, reply: &mut Reply) {
        let Ok(data) = serde_json::from_str::<Value>(&event.data) else {
            reply.malformed |= !event.data.trim().is_empty();
            return;
        };
        let kind = event
            .name
            .as_deref()
            .or_else(|| data.get("type").and_then(Value::as_str));
        match kind {
            Some("message_start") => message_start(&data, reply),
            Some("content_block_start") => self.block_start(&data),
            Some("content_block_delta") => self.block_delta(&data, at, reply),
            Some("message_delta") => message_delta(&data, reply),
            Some("message_stop") => reply.complete = true,
            Some("error") => reply.error = error_of(&data),
            _ => {}
        }
    }

    fn block_start(&mut self, data: &Value) {
        let index = index_of(data);
        let block = data.get("content_block").cloned().unwrap_or(Value::Null);
        let started = match block.get("type").and_then(Value::as_str) {
            Some("text") => Block::Text(string(&block, "text").unwrap_or_default()),
            Some("tool_use") => Block::ToolUse {
                id: string(&block, "id"),
                name: string(&block, "name").unwrap_or_default(),
                input: String::new(),
            },
            _ => Block::Other,
        };
        self.blocks.insert(index, started);
    }

    fn block_delta(&mut self, data: &Value, at: Duration, reply: &mut Reply) {
        let Some(delta) = data.get("delta") else {
            return;
        };
        let block = self.blocks.entry(index_of(data)).or_insert(Block::Other);
        match (block, delta.get("type").and_then(Value::as_str)) {
            (Block::Text(text), Some("text_delta")) => {
                text.push_str(delta.get("text").and_then(Value::as_str).unwrap_or(""));
                reply.output_at(at);
            }
            (Block::ToolUse { input, .. }, Some("input_json_delta")) => {
                let part = delta.get("partial_json").and_then(Value::as_str);
                input.push_str(part.unwrap_or(""));
                reply.output_at(at);
            }
            // Thinking and other deltas carry no message text, but they are output.
            _ => reply.output_at(at),
        }
    }

    /// Moves the assembled message into the reply.
    pub fn finish(self, reply: &mut Reply) {
        let mut parts = MessageParts::default();
        for block in self.blocks.into_values() {
            match block {
                Block::Text(text) => parts.text.push_str(&text),
                Block::ToolUse { id, name, input } => parts.tool_calls.push((id, name, input)),
                Block::Other => {}
            }
        }
        if !parts.text.is_empty() || !parts.tool_calls.is_empty() {
            reply.output.push(parts.into_message());
        }
    }
}

fn message_start(data: &Value, reply: &mut Reply) {
    if let Some(message) = data.get("message") {
        reply.identity_from(message);
        if let Some(usage) = message.get("usage") {
            anthropic_usage(usage, &mut reply.usage);
        }
    }
}

fn message_delta(data: &Value, reply: &mut Reply) {
    if let Some(reason) = data
        .get("delta")
        .and_then(|delta| delta.get("stop_reason"))
        .and_then(Value::as_str)
    {
        reply.finish(reason);
    }
    if let Some(usage) = data.get("usage") {
        anthropic_usage(usage, &mut reply.usage);
    }
}

fn index_of(data: &Value) -> u64 {
    data.get("index").and_then(Value::as_u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(name: &str, data: Value) -> Event {
        Event {
            name: Some(name.to_owned()),
            data: data.to_string(),
        }
    }

    #[test]
    fn stream_reassembles_text_tool_use_and_usage() {
        let events = [
            event(
                "message_start",
                json!({"type": "message_start", "message": {"id": "msg_1",
                    "model": "claude-sonnet-4-5", "usage": {"input_tokens": 12,
                    "cache_read_input_tokens": 100, "output_tokens": 1}}}),
            ),
            event(
                "content_block_start",
                json!({"index": 0, "content_block": {"type": "text", "text": ""}}),
            ),
            event("ping", json!({"type": "ping"})),
            event(
                "content_block_delta",
                json!({"index": 0, "delta": {"type": "text_delta", "text": "Let me check"}}),
            ),
            event(
                "content_block_start",
                json!({"index": 1, "content_block": {"type": "tool_use", "id": "toolu_1",
                    "name": "weather", "input": {}}}),
            ),
            event(
                "content_block_delta",
                json!({"index": 1, "delta": {"type": "input_json_delta",
                    "partial_json": "{\"city\": \"Paris\"}"}}),
            ),
            event(
                "message_delta",
                json!({"delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 30}}),
            ),
            event("message_stop", json!({"type": "message_stop"})),
        ];
        let mut assembler = Assembler::default();
        let mut reply = Reply::default();
        for (offset, event) in events.iter().enumerate() {
            assembler.event(event, Duration::from_millis(offset as u64), &mut reply);
        }
        assembler.finish(&mut reply);

        assert!(reply.complete);
        assert_eq!(reply.first_token_at, Some(Duration::from_millis(3)));
        assert_eq!(reply.usage.input, Some(112));
        assert_eq!(reply.usage.cached_input, Some(100));
        assert_eq!(reply.usage.output, Some(30));
        assert_eq!(reply.output[0].content.as_deref(), Some("Let me check"));
        assert_eq!(
            reply.output[0].tool_calls[0].arguments,
            json!({"city": "Paris"})
        );
        assert_eq!(reply.finish_reasons, vec!["tool_use"]);
    }

    #[test]
    fn body_and_input_with_system_blocks() {
        let request = json!({"system": [{"type": "text", "text": "Be terse"}],
            "messages": [{"role": "user", "content": "Hi"}],
            "metadata": {"user_id": "u-1"}});
        let input = input_messages(&request).unwrap();
        assert_eq!(input[0].role, "system");
        assert_eq!(input[0].content.as_deref(), Some("Be terse"));
        assert_eq!(user_id(&request).as_deref(), Some("u-1"));

        let mut reply = Reply::default();
        read_body(
            &json!({"id": "msg_2", "model": "claude-haiku-4-5", "stop_reason": "end_turn",
                "content": [{"type": "text", "text": "Hello"}],
                "usage": {"input_tokens": 3, "output_tokens": 1}}),
            &mut reply,
        );
        assert_eq!(reply.output[0].content.as_deref(), Some("Hello"));
        assert_eq!(reply.usage.input, Some(3));
    }
}
