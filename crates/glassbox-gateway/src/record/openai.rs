//! OpenAI-style calls: chat completions, text completions, embeddings and the Responses API,
//! whole or streamed.

use std::collections::BTreeMap;
use std::time::Duration;

use glassbox_model::Message;
use glassbox_semconv::messages::shapes::{message_from_value, messages_from_value, text_of};
use serde_json::Value;

use super::reply::{MessageParts, Reply, error_of, openai_usage, string};
use crate::endpoint::Endpoint;
use crate::sse::Event;

/// Returns the messages a request sends.
pub fn input_messages(endpoint: Endpoint, body: &Value) -> Option<Vec<Message>> {
    match endpoint {
        Endpoint::ChatCompletions => body.get("messages").and_then(messages_from_value),
        Endpoint::Completions => body.get("prompt").map(user_texts),
        Endpoint::Embeddings => body.get("input").map(user_texts),
        Endpoint::Responses => responses_input(body),
        _ => None,
    }
}

/// Reads a whole JSON response.
pub fn read_body(endpoint: Endpoint, body: &Value, reply: &mut Reply) {
    reply.identity_from(body);
    if let Some(usage) = body.get("usage").filter(|usage| usage.is_object()) {
        reply.usage = openai_usage(usage);
    }
    match endpoint {
        Endpoint::ChatCompletions => chat_choices(body, reply),
        Endpoint::Completions => completion_choices(body, reply),
        Endpoint::Responses => responses_output(body, reply),
        _ => {}
    }
    reply.complete = true;
}

fn chat_choices(body: &Value, reply: &mut Reply) {
    for choice in array(body, "choices") {
        if let Some(message) = choice.get("message").and_then(message_from_value) {
            reply.output.push(message);
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            reply.finish(reason);
        }
    }
}

fn completion_choices(body: &Value, reply: &mut Reply) {
    for choice in array(body, "choices") {
        if let Some(text) = choice.get("text").and_then(Value::as_str) {
            reply.output.push(Message::text("assistant", text));
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            reply.finish(reason);
        }
    }
}

fn responses_output(body: &Value, reply: &mut Reply) {
    let items = array(body, "output");
    let mut calls_tool = false;
    for item in items {
        calls_tool |= item.get("type").and_then(Value::as_str) == Some("function_call");
        if let Some(message) = message_from_value(item) {
            reply.output.push(message);
        }
    }
    match body.get("status").and_then(Value::as_str) {
        Some("completed") if calls_tool => reply.finish("tool_calls"),
        Some("completed") => reply.finish("stop"),
        Some("incomplete") => {
            let reason = body
                .get("incomplete_details")
                .and_then(|details| string(details, "reason"))
                .unwrap_or_else(|| "incomplete".to_owned());
            reply.finish(&reason);
        }
        Some(other) => reply.finish(other),
        None => {}
    }
    if let Some(error) = body.get("error").filter(|error| error.is_object()) {
        reply.error = error_of(&serde_json::json!({ "error": error }));
    }
}

/// Assembles a stream event by event.
#[derive(Debug, Default)]
pub struct Assembler {
    choices: BTreeMap<u64, MessageParts>,
}

impl Assembler {
    /// Reads one event that arrived at `at`.
    pub fn event(&mut self, endpoint: Endpoint, event: &Event, at: Duration, reply: &mut Reply) {
        if event.data == "[DONE]" {
            reply.complete = true;
            return;
        }
        let Ok(data) = serde_json::from_str::<Value>(&event.data) else {
            reply.malformed |= !event.data.trim().is_empty();
            return;
        };
        if endpoint == Endpoint::Responses {
            responses_event(event.name.as_deref(), &data, at, reply);
            return;
        }
        if let Some(error) = error_of(&data) {
            reply.error = Some(error);
            return;
        }
        reply.identity_from(&data);
        if let Some(usage) = data.get("usage").filter(|usage| usage.is_object()) {
            reply.usage = openai_usage(usage);
        }
        for choice in array(&data, "choices") {
            self.choice_delta(choice, at, reply);
        }
    }

    fn choice_delta(&mut self, choice: &Value, at: Duration, reply: &mut Reply) {
        let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0);
        let parts = self.choices.entry(index).or_default();
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            reply.finish(reason);
        }
        // Text completions put the text in the choice; chat puts it in a delta.
        if let Some(text) = choice.get("text").and_then(Value::as_str) {
            add_text(parts, text, at, reply);
            return;
        }
        let Some(delta) = choice.get("delta") else {
            return;
        };
        if let Some(role) = delta.get("role").and_then(Value::as_str) {
            parts.role = Some(role.to_owned());
        }
        for key in ["content", "refusal"] {
            if let Some(text) = delta.get(key).and_then(Value::as_str) {
                add_text(parts, text, at, reply);
            }
        }
        for call in array(delta, "tool_calls") {
            tool_call_delta(parts, call);
            reply.output_at(at);
        }
    }

    /// Moves the assembled messages into the reply.
    pub fn finish(self, reply: &mut Reply) {
        if reply.output.is_empty() {
            reply.output = self
                .choices
                .into_values()
                .map(MessageParts::into_message)
                .collect();
        }
    }
}

fn add_text(parts: &mut MessageParts, text: &str, at: Duration, reply: &mut Reply) {
    if !text.is_empty() {
        parts.text.push_str(text);
        reply.output_at(at);
    }
}

fn tool_call_delta(parts: &mut MessageParts, call: &Value) {
    let index = call.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
    while parts.tool_calls.len() <= index {
        parts.tool_calls.push((None, String::new(), String::new()));
    }
    let slot = &mut parts.tool_calls[index];
    if let Some(id) = string(call, "id") {
        slot.0 = Some(id);
    }
    let function = call.get("function");
    if let Some(name) = function.and_then(|function| string(function, "name")) {
        slot.1.push_str(&name);
    }
    if let Some(arguments) = function
        .and_then(|f| f.get("arguments"))
        .and_then(Value::as_str)
    {
        slot.2.push_str(arguments);
    }
}

/// Reads a Responses API stream event; the final event carries the whole response.
fn responses_event(name: Option<&str>, data: &Value, at: Duration, reply: &mut Reply) {
    let kind = name.or_else(|| data.get("type").and_then(Value::as_str));
    match kind {
        Some("response.output_text.delta" | "response.function_call_arguments.delta") => {
            reply.output_at(at)
        }
        Some("response.created") => {
            if let Some(response) = data.get("response") {
                reply.identity_from(response);
            }
        }
        Some("response.completed" | "response.incomplete" | "response.failed") => {
            if let Some(response) = data.get("response") {
                read_body(Endpoint::Responses, response, reply);
            }
        }
        Some("error") => {
            let message = string(data, "message").unwrap_or_default();
            let code = string(data, "code").unwrap_or_else(|| "error".to_owned());
            reply.error = Some((code, message));
        }
        _ => {}
    }
}

fn responses_input(body: &Value) -> Option<Vec<Message>> {
    let mut messages = Vec::new();
    if let Some(instructions) = body.get("instructions").and_then(Value::as_str) {
        messages.push(Message::text("system", instructions));
    }
    match body.get("input") {
        Some(Value::String(text)) => messages.push(Message::text("user", text.as_str())),
        Some(input @ Value::Array(_)) => messages.extend(messages_from_value(input)?),
        _ => {}
    }
    (!messages.is_empty()).then_some(messages)
}

/// Turns a prompt or embedding input (a string or a list of strings) into user messages;
/// token-id inputs carry no text and are skipped.
fn user_texts(value: &Value) -> Vec<Message> {
    let texts: Vec<String> = match value {
        Value::Array(items) => items.iter().filter_map(text_of).collect(),
        other => text_of(other).into_iter().collect(),
    };
    texts
        .into_iter()
        .map(|text| Message::text("user", text))
        .collect()
}

fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(data: &str) -> Event {
        Event {
            name: None,
            data: data.to_owned(),
        }
    }

    #[test]
    fn chat_stream_reassembles_text_and_tool_calls() {
        let mut stream = Assembler::default();
        let mut reply = Reply::default();
        let events = [
            r#"{"id":"c1","model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#,
            r#"{"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"}}]}"#,
            r#"{"id":"c1","choices":[{"index":0,"delta":{"content":"lo"}}]}"#,
            r#"{"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"lookup","arguments":"{\"q\":"}}]}}]}"#,
            r#"{"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"x\"}"}}]},"finish_reason":"tool_calls"}]}"#,
            r#"{"id":"c1","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}"#,
            "[DONE]",
        ];
        for (offset, data) in events.iter().enumerate() {
            let at = Duration::from_millis(10 * offset as u64);
            stream.event(Endpoint::ChatCompletions, &event(data), at, &mut reply);
        }
        stream.finish(&mut reply);

        assert!(reply.complete);
        assert_eq!(reply.first_token_at, Some(Duration::from_millis(10)));
        assert_eq!(reply.model.as_deref(), Some("gpt-4o-2024-08-06"));
        assert_eq!(reply.output[0].content.as_deref(), Some("Hello"));
        assert_eq!(reply.output[0].tool_calls[0].name, "lookup");
        assert_eq!(reply.output[0].tool_calls[0].arguments, json!({"q": "x"}));
        assert_eq!(reply.finish_reasons, vec!["tool_calls"]);
        assert_eq!(reply.usage.total, Some(13));
    }

    #[test]
    fn malformed_data_is_noted() {
        let mut stream = Assembler::default();
        let mut reply = Reply::default();
        stream.event(
            Endpoint::ChatCompletions,
            &event("{not json"),
            Duration::ZERO,
            &mut reply,
        );
        assert!(reply.malformed);
    }

    #[test]
    fn responses_body_and_input() {
        let body = json!({
            "id": "resp_1", "model": "gpt-4.1", "status": "completed",
            "output": [{"type": "message", "role": "assistant",
                        "content": [{"type": "output_text", "text": "Hi there"}]}],
            "usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}
        });
        let mut reply = Reply::default();
        read_body(Endpoint::Responses, &body, &mut reply);
        assert_eq!(reply.output[0].content.as_deref(), Some("Hi there"));
        assert_eq!(reply.finish_reasons, vec!["stop"]);
        let input = input_messages(
            Endpoint::Responses,
            &json!({"instructions": "Be brief", "input": "Hello"}),
        )
        .unwrap();
        assert_eq!(input.len(), 2);
        assert_eq!(input[0].role, "system");
    }

    #[test]
    fn embeddings_and_completions_inputs_become_user_messages() {
        let input = input_messages(Endpoint::Embeddings, &json!({"input": ["a", "b"]})).unwrap();
        assert_eq!(input.len(), 2);
        let input = input_messages(Endpoint::Completions, &json!({"prompt": "Say hi"})).unwrap();
        assert_eq!(input[0].content.as_deref(), Some("Say hi"));
        let input = input_messages(Endpoint::Embeddings, &json!({"input": [[1, 2, 3]]})).unwrap();
        assert!(input.is_empty());
    }
}
