//! Input and output messages of a span, from every convention.
//!
//! Sources, first present wins for each list (on OpenInference spans, 2 comes before 1):
//! 1. `gen_ai.input.messages` / `gen_ai.output.messages` (JSON strings or structured OTLP
//!    values, parts format or provider shapes), with `gen_ai.system_instructions` as a first
//!    `system` message unless the input already starts with the same system text;
//! 2. flattened numbered keys of OpenInference and OpenLLMetry ([`flattened`]);
//! 3. the Vercel AI SDK's `ai.prompt.messages` / `ai.prompt` and response text and tool calls;
//! 4. Pydantic AI's `events` attribute ([`events`]);
//! 5. Langfuse's observation input and output, on generations only (other observations hold
//!    function arguments and return values, not messages);
//! 6. Pydantic AI's `pydantic_ai.all_messages` and the pre-1.28 `gen_ai.prompt` /
//!    `gen_ai.completion` JSON attributes.
//!
//! OpenInference can add `gen_ai.*` attributes next to its own, but that translation is
//! lossy (a tool result that was JSON text comes back re-serialized), so its own flattened
//! keys win on its spans.
//!
//! A value that does not parse leaves the list `None`; the raw attribute stays on the span.
//!
//! Not handled yet: OpenInference `input.value` / `output.value` on spans without flattened
//! messages, and OpenLIT's pre-1.28 `gen_ai.content.prompt` / `gen_ai.content.completion` span
//! events.

pub mod events;
pub mod flattened;
pub mod shapes;

use std::borrow::Cow;

use glassbox_model::{Message, SpanKind};
use serde_json::Value;

use crate::lookup::{Attributes, parse_json_container, unquote_json_string};
use crate::names;
use shapes::{messages_from_value, text_of, tool_call_from_value};

/// The content of a span.
#[derive(Debug, Default)]
pub struct Content {
    /// Messages sent to the model.
    pub input: Option<Vec<Message>>,
    /// Messages returned by the model.
    pub output: Option<Vec<Message>>,
    /// Finish reasons found next to the output messages, in order.
    pub finish_reasons: Vec<String>,
}

/// Reads the content of a span.
pub fn content(attributes: &Attributes<'_>, kind: SpanKind) -> Content {
    let mut content = Content::default();
    if is_openinference(attributes) {
        fill_flattened(&mut content, attributes);
        fill_genai(&mut content, attributes);
    } else {
        fill_genai(&mut content, attributes);
        fill_flattened(&mut content, attributes);
    }

    fill_vercel(&mut content, attributes);
    fill_pydantic_events(&mut content, attributes);
    if kind == SpanKind::Llm {
        fill_langfuse(&mut content, attributes);
    }
    for key in &names::INPUT_MESSAGES[1..] {
        fill_with(&mut content.input, || list_attribute(attributes, key));
    }
    for key in &names::OUTPUT_MESSAGES[1..] {
        fill_with(&mut content.output, || list_attribute(attributes, key));
    }

    add_system_instructions(&mut content.input, attributes);
    content
}

/// Tells whether OpenInference produced the span.
pub fn is_openinference(attributes: &Attributes<'_>) -> bool {
    attributes.text(names::OPENINFERENCE_SPAN_KIND).is_some()
}

/// Reads the OpenTelemetry `gen_ai.input.messages` / `gen_ai.output.messages` attributes.
fn fill_genai(content: &mut Content, attributes: &Attributes<'_>) {
    fill_with(&mut content.input, || {
        list_attribute(attributes, names::INPUT_MESSAGES[0])
    });
    if content.output.is_some() {
        return;
    }
    if let Some(value) = attributes.structured(names::OUTPUT_MESSAGES[0]) {
        content.output = messages_from_value(&value);
        if content.finish_reasons.is_empty() {
            content.finish_reasons = finish_reasons_of(&value);
        }
    }
}

fn fill_flattened(content: &mut Content, attributes: &Attributes<'_>) {
    let flat = flattened::flattened(attributes.map());
    fill(&mut content.input, flat.input);
    fill(&mut content.output, flat.output);
    if content.finish_reasons.is_empty() {
        content.finish_reasons = flat.finish_reasons;
    }
}

/// Reads a whole list of messages from one attribute.
fn list_attribute(attributes: &Attributes<'_>, key: &str) -> Option<Vec<Message>> {
    messages_from_value(attributes.structured(key)?.as_ref())
}

fn fill(slot: &mut Option<Vec<Message>>, value: Option<Vec<Message>>) {
    if slot.is_none() {
        *slot = value;
    }
}

fn fill_with(slot: &mut Option<Vec<Message>>, read: impl FnOnce() -> Option<Vec<Message>>) {
    if slot.is_none() {
        *slot = read();
    }
}

/// Collects `finish_reason` of each output message in the parts format.
fn finish_reasons_of(value: &Value) -> Vec<String> {
    let Some(items) = value.as_array() else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| item.get("finish_reason").and_then(Value::as_str))
        .filter(|reason| !reason.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Prepends system instructions given apart from the history, counting them once when the
/// input already starts with the same system message.
fn add_system_instructions(input: &mut Option<Vec<Message>>, attributes: &Attributes<'_>) {
    let Some(value) = attributes.get(names::SYSTEM_INSTRUCTIONS) else {
        return;
    };
    let parsed = match value {
        Value::String(text) => parse_json_container(text).map(Cow::Owned),
        _ => Some(Cow::Borrowed(value)),
    };
    let text = match parsed {
        Some(parsed) => text_of(&parsed),
        None => value.as_str().map(str::to_owned),
    };
    let Some(text) = text else {
        return;
    };
    let messages = input.get_or_insert_with(Vec::new);
    let repeated = messages
        .first()
        .is_some_and(|first| first.role == "system" && first.content.as_deref() == Some(&text));
    if !repeated {
        messages.insert(0, Message::text("system", text));
    }
}

/// Reads the Vercel AI SDK prompt and response.
fn fill_vercel(content: &mut Content, attributes: &Attributes<'_>) {
    fill_with(&mut content.input, || {
        vercel_prompt(attributes.structured(names::VERCEL_PROMPT)?.as_ref())
    });
    fill_with(&mut content.output, || vercel_response(attributes));
}

/// Reads `ai.prompt`: `{system, prompt, messages}`.
fn vercel_prompt(value: &Value) -> Option<Vec<Message>> {
    let object = value.as_object()?;
    let mut messages = Vec::new();
    if let Some(system) = object.get("system").and_then(Value::as_str) {
        messages.push(Message::text("system", system));
    }
    match object.get("messages") {
        Some(list @ Value::Array(_)) => messages.extend(messages_from_value(list)?),
        _ => {
            let prompt = object.get("prompt")?;
            messages.push(Message::text("user", text_of(prompt)?));
        }
    }
    Some(messages)
}

/// Reads the response text and tool calls into one assistant message.
fn vercel_response(attributes: &Attributes<'_>) -> Option<Vec<Message>> {
    let text = attributes.first_text(names::VERCEL_RESPONSE_TEXT);
    let calls = names::VERCEL_RESPONSE_TOOL_CALLS
        .iter()
        .find_map(|key| attributes.structured(key));
    if text.is_none() && calls.is_none() {
        return None;
    }
    let tool_calls = calls
        .as_deref()
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(tool_call_from_value).collect())
        .unwrap_or_default();
    Some(vec![Message {
        role: "assistant".to_owned(),
        content: text.map(str::to_owned),
        tool_calls,
        tool_call_id: None,
    }])
}

fn fill_pydantic_events(content: &mut Content, attributes: &Attributes<'_>) {
    if content.input.is_some() && content.output.is_some() {
        return;
    }
    let Some(value) = attributes.structured(names::PYDANTIC_EVENTS) else {
        return;
    };
    let Some((input, output, finish_reasons)) = events::pydantic_events(&value) else {
        return;
    };
    if input.is_empty() && output.is_empty() {
        return;
    }
    fill(&mut content.input, Some(input));
    fill(&mut content.output, Some(output));
    if content.finish_reasons.is_empty() {
        content.finish_reasons = finish_reasons;
    }
}

/// Reads Langfuse generation input and output, in OpenAI shapes or as bare text.
fn fill_langfuse(content: &mut Content, attributes: &Attributes<'_>) {
    fill_with(&mut content.input, || {
        langfuse_messages(attributes.text(names::LANGFUSE_INPUT)?, "user")
    });
    fill_with(&mut content.output, || {
        langfuse_messages(attributes.text(names::LANGFUSE_OUTPUT)?, "assistant")
    });
}

/// Reads JSON in OpenAI shapes. Text that is not a JSON array or object becomes one message
/// with the given role, because a streamed Langfuse output is a bare string.
fn langfuse_messages(text: &str, bare_text_role: &str) -> Option<Vec<Message>> {
    match parse_json_container(text) {
        Some(value) => messages_from_value(&value),
        None => Some(vec![Message::text(
            bare_text_role,
            unquote_json_string(text),
        )]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn content_of(value: Value, kind: SpanKind) -> Content {
        let map: Map<String, Value> = serde_json::from_value(value).unwrap();
        content(&Attributes::new(&map), kind)
    }

    #[test]
    fn system_instructions_count_once() {
        let found = content_of(
            json!({
                "gen_ai.system_instructions": "[{\"type\": \"text\", \"content\": \"Be terse.\"}]",
                "gen_ai.input.messages": "[{\"role\": \"system\", \"parts\": [{\"type\": \"text\", \"content\": \"Be terse.\"}]}, {\"role\": \"user\", \"parts\": [{\"type\": \"text\", \"content\": \"Hi\"}]}]",
            }),
            SpanKind::Llm,
        );
        assert_eq!(found.input.unwrap().len(), 2);
    }

    #[test]
    fn system_instructions_alone_become_first_message() {
        let found = content_of(
            json!({
                "gen_ai.system_instructions": [{"type": "text", "content": "Be terse."}],
                "gen_ai.input.messages": [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}],
            }),
            SpanKind::Llm,
        );
        let input = found.input.unwrap();
        assert_eq!(input[0].role, "system");
        assert_eq!(input[1].content.as_deref(), Some("Hi"));
    }

    #[test]
    fn broken_json_leaves_messages_unset() {
        let found = content_of(
            json!({"gen_ai.input.messages": "[{\"role\": \"user\""}),
            SpanKind::Llm,
        );
        assert!(found.input.is_none());
    }

    #[test]
    fn vercel_prompt_and_response() {
        let found = content_of(
            json!({
                "ai.prompt.messages": "[{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Weather?\"}]}]",
                "ai.response.text": "Mild.",
                "ai.response.toolCalls": "[{\"toolCallType\": \"function\", \"toolCallId\": \"c1\", \"toolName\": \"f\", \"input\": \"{\\\"a\\\": 1}\"}]",
            }),
            SpanKind::Llm,
        );
        assert_eq!(found.input.unwrap()[0].content.as_deref(), Some("Weather?"));
        let output = found.output.unwrap();
        assert_eq!(output[0].content.as_deref(), Some("Mild."));
        assert_eq!(output[0].tool_calls[0].arguments, json!({"a": 1}));
    }

    #[test]
    fn vercel_v4_prompt_object() {
        let found = content_of(
            json!({
                "ai.prompt": "{\"system\": \"Be terse.\", \"prompt\": \"Weather?\"}",
                "ai.result.text": "Mild.",
            }),
            SpanKind::Llm,
        );
        let input = found.input.unwrap();
        assert_eq!(input[0].role, "system");
        assert_eq!(input[1].content.as_deref(), Some("Weather?"));
        assert_eq!(found.output.unwrap()[0].content.as_deref(), Some("Mild."));
    }

    #[test]
    fn langfuse_content_only_on_generations() {
        let attributes = json!({
            "langfuse.observation.input": "{\"args\": [\"x\"], \"kwargs\": {}}",
            "langfuse.observation.output": "done",
        });
        let tool = content_of(attributes.clone(), SpanKind::Tool);
        assert!(tool.input.is_none());
        assert!(tool.output.is_none());
        let generation = content_of(attributes, SpanKind::Llm);
        assert_eq!(generation.output.unwrap()[0].role, "assistant");
    }

    #[test]
    fn pydantic_v2_messages() {
        let found = content_of(
            json!({
                "gen_ai.input.messages": "[{\"role\": \"user\", \"parts\": [{\"type\": \"text\", \"content\": \"Hi\"}]}]",
                "gen_ai.output.messages": "[{\"role\": \"assistant\", \"parts\": [{\"type\": \"text\", \"content\": \"Hello\"}], \"finish_reason\": \"stop\"}]",
            }),
            SpanKind::Llm,
        );
        assert_eq!(found.output.unwrap()[0].content.as_deref(), Some("Hello"));
        assert_eq!(found.finish_reasons, ["stop"]);
    }
}
