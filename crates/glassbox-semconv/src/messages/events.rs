//! Messages in the deprecated per-message GenAI events.
//!
//! `gen_ai.system.message`, `gen_ai.user.message`, `gen_ai.assistant.message` and
//! `gen_ai.tool.message` (OpenLIT: `gen_ai.tools.message`) carry one input message in their
//! body: `{content, role, tool_calls, id}`, where a tool message's `id` is the tool call id.
//! `gen_ai.choice` carries one output: `{index, finish_reason, message: {role, content,
//! tool_calls}}`, and OpenLLMetry puts `tool_calls` next to `message` instead of inside it.
//! Bodies often leave out the role, which then follows from the event name.
//!
//! The same shapes arrive as log record bodies and, from Pydantic AI instrumentation
//! version 1, as objects of the span's `events` JSON attribute (with `event.name`).

use glassbox_model::Message;
use serde_json::{Map, Value};

use super::shapes::{message_from_object, tool_call_from_value};
use crate::lookup::non_empty_str;
use crate::names;

/// The content of one message event.
#[derive(Debug, Default, PartialEq)]
pub struct EventContent {
    /// The message, when the event carried text or tool calls.
    pub message: Option<Message>,
    /// Whether the message is model output (`gen_ai.choice`).
    pub is_output: bool,
    /// The choice's finish reason as sent.
    pub finish_reason: Option<String>,
}

/// Returns the role that an event name implies, or `None` for an event that is not a
/// message event.
pub fn event_role(event_name: &str) -> Option<&'static str> {
    match event_name {
        names::EVENT_SYSTEM_MESSAGE => Some("system"),
        names::EVENT_USER_MESSAGE => Some("user"),
        names::EVENT_ASSISTANT_MESSAGE | names::EVENT_CHOICE => Some("assistant"),
        names::EVENT_TOOL_MESSAGE | names::EVENT_TOOLS_MESSAGE => Some("tool"),
        _ => None,
    }
}

/// Reads a message event body; `None` when the event name is not a message event.
pub fn event_content(event_name: &str, body: Option<&Value>) -> Option<EventContent> {
    let role = event_role(event_name)?;
    let empty = Map::new();
    let body = body.and_then(Value::as_object).unwrap_or(&empty);
    if event_name == names::EVENT_CHOICE {
        return Some(choice_content(body, role));
    }
    let mut message = message_from_object(body, Some(role));
    if let Some(message) = message.as_mut()
        && message.tool_call_id.is_none()
    {
        message.tool_call_id = body.get("id").and_then(non_empty_str).map(str::to_owned);
    }
    Some(EventContent {
        message: message.filter(has_content),
        is_output: false,
        finish_reason: None,
    })
}

fn choice_content(body: &Map<String, Value>, role: &str) -> EventContent {
    let empty = Map::new();
    let inner = body
        .get("message")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut message = message_from_object(inner, Some(role));
    if let (Some(message), Some(Value::Array(calls))) = (message.as_mut(), body.get("tool_calls"))
        && message.tool_calls.is_empty()
    {
        message.tool_calls = calls.iter().filter_map(tool_call_from_value).collect();
    }
    EventContent {
        message: message.filter(has_content),
        is_output: true,
        finish_reason: body
            .get("finish_reason")
            .and_then(non_empty_str)
            .map(str::to_owned),
    }
}

/// Tells whether a message has text or tool calls. With content capture off, bodies contain
/// only roles and ids, and such a message would read as an empty one.
fn has_content(message: &Message) -> bool {
    message.content.is_some() || !message.tool_calls.is_empty()
}

/// Reads Pydantic AI's `events` attribute: a JSON array of event objects named by
/// `event.name`. Returns input messages, output messages and finish reasons.
pub fn pydantic_events(value: &Value) -> Option<(Vec<Message>, Vec<Message>, Vec<String>)> {
    let items = value.as_array()?;
    let mut input = Vec::new();
    let mut output = Vec::new();
    let mut finish_reasons = Vec::new();
    for item in items {
        let Some(name) = item
            .get(names::EVENT_NAME_ATTRIBUTE)
            .and_then(Value::as_str)
        else {
            continue;
        };
        let Some(content) = event_content(name, Some(item)) else {
            continue;
        };
        finish_reasons.extend(content.finish_reason);
        let target = if content.is_output {
            &mut output
        } else {
            &mut input
        };
        target.extend(content.message);
    }
    Some((input, output, finish_reasons))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn role_follows_event_name() {
        let body = json!({"content": "Be terse."});
        let found = event_content("gen_ai.system.message", Some(&body)).unwrap();
        assert_eq!(found.message.unwrap().role, "system");
    }

    #[test]
    fn tool_message_id_is_the_call_id() {
        let body = json!({"content": "18 degrees", "id": "call_1"});
        let message = event_content("gen_ai.tool.message", Some(&body))
            .unwrap()
            .message
            .unwrap();
        assert_eq!(message.role, "tool");
        assert_eq!(message.tool_call_id.as_deref(), Some("call_1"));
    }

    #[test]
    fn choice_with_tool_calls_beside_message() {
        let body = json!({"index": 0, "finish_reason": "tool_calls", "message": {"content": null},
            "tool_calls": [{"id": "call_1", "function": {"name": "f", "arguments": "{\"a\": 1}"}}]});
        let found = event_content("gen_ai.choice", Some(&body)).unwrap();
        assert!(found.is_output);
        assert_eq!(found.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(
            found.message.unwrap().tool_calls[0].arguments,
            json!({"a": 1})
        );
    }

    #[test]
    fn empty_bodies_give_no_message() {
        let found = event_content("gen_ai.user.message", None).unwrap();
        assert_eq!(found.message, None);
        assert!(event_content("gen_ai.evaluation.result", None).is_none());
    }

    #[test]
    fn pydantic_events_attribute() {
        let value = json!([
            {"event.name": "gen_ai.system.message", "content": "Be terse.", "role": "system"},
            {"event.name": "gen_ai.user.message", "content": "Weather?", "role": "user"},
            {"event.name": "gen_ai.choice", "index": 0, "finish_reason": "stop",
             "message": {"role": "assistant", "content": "Mild."}}
        ]);
        let (input, output, finish_reasons) = pydantic_events(&value).unwrap();
        assert_eq!(input.len(), 2);
        assert_eq!(output[0].content.as_deref(), Some("Mild."));
        assert_eq!(finish_reasons, ["stop"]);
    }
}
