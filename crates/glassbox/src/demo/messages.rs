//! Chat messages and the two ways instrumentations record them: the OpenTelemetry GenAI
//! parts format as one JSON string, and OpenInference's flattened attributes.

use serde_json::{Value, json};

use opentelemetry_proto::tonic::common::v1::KeyValue;

use crate::demo::rng::Rng;
use crate::demo::trace::text;

/// A part of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Text.
    Text(String),
    /// A tool call requested by the model.
    ToolCall {
        /// The call id, which the tool result repeats.
        id: String,
        /// The tool name.
        name: String,
        /// The arguments as a JSON object.
        arguments: Value,
    },
    /// The result of a tool call.
    ToolResult {
        /// The id of the call.
        id: String,
        /// The result as JSON.
        result: Value,
    },
}

/// A chat message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: &'static str,
    /// The parts, in order.
    pub parts: Vec<Part>,
}

impl Message {
    /// Creates a system message.
    pub fn system(content: &str) -> Message {
        Message::text("system", content)
    }

    /// Creates a user message.
    pub fn user(content: &str) -> Message {
        Message::text("user", content)
    }

    /// Creates an assistant message with text only.
    pub fn assistant(content: &str) -> Message {
        Message::text("assistant", content)
    }

    fn text(role: &'static str, content: &str) -> Message {
        Message {
            role,
            parts: vec![Part::Text(content.to_owned())],
        }
    }

    /// Creates a tool result message.
    pub fn tool_result(id: &str, result: Value) -> Message {
        Message {
            role: "tool",
            parts: vec![Part::ToolResult {
                id: id.to_owned(),
                result,
            }],
        }
    }

    /// Returns the concatenated text parts.
    pub fn content(&self) -> String {
        self.parts
            .iter()
            .filter_map(|part| match part {
                Part::Text(text) => Some(text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Returns the number of characters the message adds to a prompt.
    pub fn characters(&self) -> usize {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.len(),
                Part::ToolCall {
                    name, arguments, ..
                } => name.len() + arguments.to_string().len(),
                Part::ToolResult { result, .. } => result.to_string().len(),
            })
            .sum()
    }
}

/// Returns a random tool call id in OpenAI's style.
pub fn openai_call_id(rng: &mut Rng) -> String {
    format!("call_{}", alphanumeric(rng, 24))
}

/// Returns a random tool call id in Anthropic's style.
pub fn anthropic_call_id(rng: &mut Rng) -> String {
    format!("toolu_01{}", alphanumeric(rng, 22))
}

/// Returns `length` random letters and digits.
pub fn alphanumeric(rng: &mut Rng, length: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..length)
        .map(|_| char::from(rng.choose(ALPHABET)))
        .collect()
}

/// Encodes messages in the OpenTelemetry GenAI parts format. `finish_reason` is set on
/// output messages.
pub fn parts_json(messages: &[Message], finish_reason: Option<&str>) -> String {
    let list: Vec<Value> = messages
        .iter()
        .map(|message| {
            let parts: Vec<Value> = message.parts.iter().map(part_json).collect();
            let mut object = json!({"role": message.role, "parts": parts});
            if let Some(reason) = finish_reason {
                object["finish_reason"] = json!(reason);
            }
            object
        })
        .collect();
    Value::Array(list).to_string()
}

fn part_json(part: &Part) -> Value {
    match part {
        Part::Text(content) => json!({"type": "text", "content": content}),
        Part::ToolCall {
            id,
            name,
            arguments,
        } => json!({"type": "tool_call", "id": id, "name": name, "arguments": arguments}),
        Part::ToolResult { id, result } => {
            json!({"type": "tool_call_response", "id": id, "response": result})
        }
    }
}

/// Flattens messages into OpenInference attributes under `prefix`
/// (`llm.input_messages` or `llm.output_messages`).
pub fn openinference_attributes(prefix: &str, messages: &[Message]) -> Vec<KeyValue> {
    let mut attributes = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        let key = |field: &str| format!("{prefix}.{index}.message.{field}");
        attributes.push(text(&key("role"), message.role));
        let content = message.content();
        if !content.is_empty() {
            attributes.push(text(&key("content"), &content));
        }
        let mut calls = 0;
        for part in &message.parts {
            match part {
                Part::ToolCall {
                    id,
                    name,
                    arguments,
                } => {
                    let call = |field: &str| key(&format!("tool_calls.{calls}.tool_call.{field}"));
                    attributes.push(text(&call("id"), id));
                    attributes.push(text(&call("function.name"), name));
                    attributes.push(text(&call("function.arguments"), &arguments.to_string()));
                    calls += 1;
                }
                Part::ToolResult { id, result } => {
                    attributes.push(text(&key("tool_call_id"), id));
                    attributes.push(text(&key("content"), &result.to_string()));
                }
                Part::Text(_) => {}
            }
        }
    }
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_json_uses_the_otel_shape() {
        let call = Message {
            role: "assistant",
            parts: vec![Part::ToolCall {
                id: "call_1".into(),
                name: "lookup_order".into(),
                arguments: json!({"order_id": "BW-1"}),
            }],
        };
        let encoded = parts_json(&[Message::user("hi"), call], None);
        let value: Value = serde_json::from_str(&encoded).unwrap_or_default();
        assert_eq!(value[0]["parts"][0]["type"], "text");
        assert_eq!(value[0]["parts"][0]["content"], "hi");
        assert_eq!(value[1]["parts"][0]["type"], "tool_call");
        assert_eq!(value[1]["parts"][0]["arguments"]["order_id"], "BW-1");
    }

    #[test]
    fn openinference_flattens_by_index() {
        let attributes = openinference_attributes(
            "llm.input_messages",
            &[Message::system("be brief"), Message::user("hello")],
        );
        let keys: Vec<&str> = attributes.iter().map(|pair| pair.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "llm.input_messages.0.message.role",
                "llm.input_messages.0.message.content",
                "llm.input_messages.1.message.role",
                "llm.input_messages.1.message.content",
            ]
        );
    }
}
