//! Message shapes of the providers and conventions, read from JSON values.
//!
//! One reader covers:
//! - OpenTelemetry parts: `{role, parts: [{type: "text", content}, {type: "tool_call", id,
//!   name, arguments}, {type: "tool_call_response", id, response | result}]}`;
//! - OpenAI chat: `{role, content: string | [{type: "text", text}], tool_calls: [{id,
//!   function: {name, arguments}}], tool_call_id}` and the legacy `function_call`;
//! - OpenAI Responses items: `{type: "message", role, content: [{type: "output_text", text}]}`,
//!   `{type: "function_call", call_id, name, arguments}`, `{type: "function_call_output",
//!   call_id, output}`;
//! - Anthropic content blocks: `text`, `tool_use {id, name, input}`, `tool_result
//!   {tool_use_id, content}`;
//! - Vercel AI SDK parts: `tool-call {toolCallId, toolName, args | input}` and `tool-result`.
//!
//! Images, audio, files and reasoning parts carry no message text and are skipped.

use glassbox_model::{Message, ToolCall};
use serde_json::{Map, Value};

use crate::lookup::{non_empty_str, parse_json_container};

/// Part types that carry message text in `content` or `text`.
const TEXT_PARTS: &[&str] = &["text", "input_text", "output_text"];
/// Part types that request a tool call.
const TOOL_CALL_PARTS: &[&str] = &["tool_call", "tool_use", "tool-call", "function_call"];
/// Part types that carry the result of a tool call.
const TOOL_RESULT_PARTS: &[&str] = &[
    "tool_call_response",
    "tool_result",
    "tool-result",
    "function_call_output",
];
/// Keys that hold a tool call id, in the order they are read.
const TOOL_CALL_ID_KEYS: &[&str] = &["call_id", "id", "toolCallId", "tool_use_id"];
/// Keys that hold a tool result, in the order they are read.
const TOOL_RESULT_KEYS: &[&str] = &["response", "result", "content", "output"];

/// Reads a list of messages from an array of messages, an object with a `messages` array, or
/// one message object. Returns `None` for any other value.
pub fn messages_from_value(value: &Value) -> Option<Vec<Message>> {
    match value {
        Value::Array(items) => Some(items.iter().filter_map(message_from_value).collect()),
        Value::Object(object) => match object.get("messages") {
            Some(Value::Array(items)) => {
                Some(items.iter().filter_map(message_from_value).collect())
            }
            _ => message_from_object(object, None).map(|message| vec![message]),
        },
        _ => None,
    }
}

/// Reads one message object; `None` when the value is not an object or has no role.
pub fn message_from_value(value: &Value) -> Option<Message> {
    message_from_object(value.as_object()?, None)
}

/// Reads one message object, using `default_role` when the object names none.
pub fn message_from_object(
    object: &Map<String, Value>,
    default_role: Option<&str>,
) -> Option<Message> {
    let role = object
        .get("role")
        .and_then(non_empty_str)
        .or_else(|| item_role(object))
        .or(default_role)?;

    let mut builder = Builder::default();
    match object.get("type").and_then(Value::as_str) {
        Some(kind) if TOOL_CALL_PARTS.contains(&kind) || TOOL_RESULT_PARTS.contains(&kind) => {
            builder.add_part(&Value::Object(object.clone()));
        }
        _ => builder.add_message_fields(object),
    }
    Some(builder.finish(role))
}

/// Returns the text of a list of parts, or of a plain string.
pub fn text_of(value: &Value) -> Option<String> {
    let mut builder = Builder::default();
    builder.add_content(value);
    builder.text()
}

/// Reads a tool call from any of the shapes above.
pub fn tool_call_from_value(value: &Value) -> Option<ToolCall> {
    let object = value.as_object()?;
    let function = object.get("function").and_then(Value::as_object);
    let name = function
        .and_then(|function| function.get("name"))
        .or_else(|| object.get("name"))
        .or_else(|| object.get("toolName"))
        .and_then(non_empty_str)?;
    let arguments = function
        .and_then(|function| function.get("arguments"))
        .or_else(|| object.get("arguments"))
        .or_else(|| object.get("input"))
        .or_else(|| object.get("args"));
    Some(ToolCall {
        id: first_str(object, TOOL_CALL_ID_KEYS),
        name: name.to_owned(),
        arguments: arguments.map_or(Value::Null, tool_arguments),
    })
}

/// Turns tool call arguments into a JSON object when they are JSON text, else keeps them.
pub fn tool_arguments(value: &Value) -> Value {
    match value {
        Value::String(text) => parse_json_container(text).unwrap_or_else(|| value.clone()),
        _ => value.clone(),
    }
}

/// Returns the role of a Responses API item that names no role.
fn item_role(object: &Map<String, Value>) -> Option<&'static str> {
    match object.get("type").and_then(Value::as_str)? {
        "function_call" => Some("assistant"),
        "function_call_output" => Some("tool"),
        _ => None,
    }
}

fn first_str(object: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|key| object.get(*key).and_then(non_empty_str))
        .map(str::to_owned)
}

/// Collects the text, tool calls and tool call id of one message.
#[derive(Default)]
struct Builder {
    texts: Vec<String>,
    tool_calls: Vec<ToolCall>,
    tool_call_id: Option<String>,
}

impl Builder {
    fn add_message_fields(&mut self, object: &Map<String, Value>) {
        if let Some(content) = object.get("content") {
            self.add_content(content);
        }
        if let Some(Value::Array(parts)) = object.get("parts") {
            parts.iter().for_each(|part| self.add_part(part));
        }
        if let Some(Value::Array(calls)) = object.get("tool_calls") {
            self.tool_calls
                .extend(calls.iter().filter_map(tool_call_from_value));
        }
        if let Some(call) = object.get("function_call").and_then(tool_call_from_value) {
            self.tool_calls.push(call);
        }
        if let Some(id) = object.get("tool_call_id").and_then(non_empty_str) {
            self.tool_call_id = Some(id.to_owned());
        }
    }

    fn add_content(&mut self, content: &Value) {
        match content {
            Value::String(text) => self.texts.push(text.clone()),
            Value::Array(parts) => parts.iter().for_each(|part| self.add_part(part)),
            Value::Object(_) => self.add_part(content),
            _ => {}
        }
    }

    fn add_part(&mut self, part: &Value) {
        let object = match part {
            Value::String(text) => return self.texts.push(text.clone()),
            Value::Object(object) => object,
            _ => return,
        };
        let kind = object.get("type").and_then(Value::as_str);
        match kind {
            Some(kind) if TOOL_CALL_PARTS.contains(&kind) => {
                self.tool_calls.extend(tool_call_from_value(part));
            }
            Some(kind) if TOOL_RESULT_PARTS.contains(&kind) => self.add_tool_result(object),
            Some(kind) if !TEXT_PARTS.contains(&kind) => {}
            _ => {
                let text = object.get("content").or_else(|| object.get("text"));
                if let Some(text) = text.and_then(Value::as_str) {
                    self.texts.push(text.to_owned());
                }
            }
        }
    }

    fn add_tool_result(&mut self, object: &Map<String, Value>) {
        if self.tool_call_id.is_none() {
            self.tool_call_id = first_str(object, TOOL_CALL_ID_KEYS);
        }
        let Some(result) = TOOL_RESULT_KEYS.iter().find_map(|key| object.get(*key)) else {
            return;
        };
        match result {
            Value::String(text) => self.texts.push(text.clone()),
            Value::Array(_) => {
                if let Some(text) = text_of(result) {
                    self.texts.push(text);
                }
            }
            Value::Null => {}
            other => self.texts.push(other.to_string()),
        }
    }

    fn text(&self) -> Option<String> {
        (!self.texts.is_empty()).then(|| self.texts.join("\n"))
    }

    fn finish(self, role: &str) -> Message {
        Message {
            role: role.to_owned(),
            content: self.text(),
            tool_calls: self.tool_calls,
            tool_call_id: self.tool_call_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn otel_parts_with_tool_calls() {
        let value = json!([{"role": "assistant", "parts": [
            {"type": "text", "content": "Let me look."},
            {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Oslo"}}
        ]}]);
        let messages = messages_from_value(&value).unwrap();
        assert_eq!(messages[0].content.as_deref(), Some("Let me look."));
        assert_eq!(messages[0].tool_calls[0].name, "get_weather");
        assert_eq!(messages[0].tool_calls[0].arguments, json!({"city": "Oslo"}));
    }

    #[test]
    fn tool_response_as_text_blocks() {
        let value = json!({"role": "user", "parts": [{"type": "tool_call_response", "id": "toolu_1",
            "response": [{"type": "text", "text": "18 degrees"}]}]});
        let message = message_from_value(&value).unwrap();
        assert_eq!(message.content.as_deref(), Some("18 degrees"));
        assert_eq!(message.tool_call_id.as_deref(), Some("toolu_1"));
    }

    #[test]
    fn openai_chat_message_with_string_arguments() {
        let value = json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}}]});
        let message = message_from_value(&value).unwrap();
        assert_eq!(message.content, None);
        assert_eq!(message.tool_calls[0].arguments, json!({"a": 1}));
        assert_eq!(message.tool_calls[0].id.as_deref(), Some("call_1"));
    }

    #[test]
    fn responses_output_item() {
        let value = json!({"id": "msg_1", "type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": "Shelf three."}]});
        let message = message_from_value(&value).unwrap();
        assert_eq!(message.content.as_deref(), Some("Shelf three."));
    }

    #[test]
    fn responses_function_call_items() {
        let value = json!([
            {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "done"}
        ]);
        let messages = messages_from_value(&value).unwrap();
        assert_eq!(messages[0].role, "assistant");
        assert_eq!(messages[0].tool_calls[0].id.as_deref(), Some("call_1"));
        assert_eq!(messages[1].role, "tool");
        assert_eq!(messages[1].content.as_deref(), Some("done"));
    }

    #[test]
    fn vercel_parts() {
        let value = json!({"role": "assistant", "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool-call", "toolCallId": "c1", "toolName": "f", "args": {"x": 1}}]});
        let message = message_from_value(&value).unwrap();
        assert_eq!(message.content.as_deref(), Some("Checking."));
        assert_eq!(message.tool_calls[0].name, "f");
        assert_eq!(message.tool_calls[0].id.as_deref(), Some("c1"));
    }

    #[test]
    fn images_carry_no_text() {
        let value = json!({"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.invalid/a.png"}},
            {"type": "text", "text": "What is this?"}]});
        let message = message_from_value(&value).unwrap();
        assert_eq!(message.content.as_deref(), Some("What is this?"));
    }
}
