//! Messages flattened into numbered attribute keys.
//!
//! OpenInference writes `llm.input_messages.<i>.message.<field>` and
//! `llm.output_messages.<i>.message.<field>`, with tool calls under
//! `tool_calls.<j>.tool_call.{id,function.name,function.arguments}` and content parts under
//! `contents.<j>.message_content.{type,text}`. Its Anthropic instrumentation lists each
//! `tool_use` block twice (in `tool_calls` and in `contents`), so `contents` tool calls are
//! used only when `tool_calls` is empty.
//!
//! OpenLLMetry writes `gen_ai.prompt.<i>.<field>` and `gen_ai.completion.<i>.<field>`, with
//! tool calls under `tool_calls.<j>.{id,name,arguments}`. Only keys whose segment after the
//! prefix is a number are messages: `gen_ai.prompt.name` and `gen_ai.prompt.version` are
//! OpenTelemetry prompt-template attributes.
//!
//! Not handled yet: OpenInference's legacy completion keys (`llm.prompts.<i>.prompt.text`,
//! `llm.choices.<i>.completion.text`) and multimodal part URLs.

use std::collections::BTreeMap;

use glassbox_model::{Message, ToolCall};
use serde_json::{Map, Value};

use super::shapes::{text_of, tool_arguments};
use crate::lookup::{non_empty_str, parse_json_container};
use crate::names;

/// The messages and finish reasons found in flattened keys.
#[derive(Debug, Default)]
pub struct Flattened {
    /// Input messages, when any key carried one.
    pub input: Option<Vec<Message>>,
    /// Output messages, when any key carried one.
    pub output: Option<Vec<Message>>,
    /// Finish reasons of OpenLLMetry completions, in index order.
    pub finish_reasons: Vec<String>,
}

/// The list that a flattened key belongs to.
#[derive(Clone, Copy)]
enum List {
    /// OpenInference `llm.input_messages`.
    InputMessages,
    /// OpenInference `llm.output_messages`.
    OutputMessages,
    /// OpenLLMetry `gen_ai.prompt`.
    Prompts,
    /// OpenLLMetry `gen_ai.completion`.
    Completions,
}

/// One message collected from its keys.
#[derive(Default)]
struct FlatMessage {
    role: Option<String>,
    content: Option<String>,
    tool_call_id: Option<String>,
    finish_reason: Option<String>,
    tool_calls: BTreeMap<usize, FlatToolCall>,
    part_texts: BTreeMap<usize, String>,
    part_tool_calls: BTreeMap<usize, FlatToolCall>,
}

#[derive(Default)]
struct FlatToolCall {
    id: Option<String>,
    name: Option<String>,
    arguments: Option<Value>,
}

/// Collects flattened messages with one pass over the attribute keys.
pub fn flattened(map: &Map<String, Value>) -> Flattened {
    let mut lists: [BTreeMap<usize, FlatMessage>; 4] = Default::default();
    for (key, value) in map {
        let Some((list, index, field)) = split_key(key) else {
            continue;
        };
        let message = lists[list as usize].entry(index).or_default();
        match list {
            List::InputMessages | List::OutputMessages => {
                if let Some(field) = field.strip_prefix("message.") {
                    set_openinference_field(message, field, value);
                }
            }
            List::Prompts | List::Completions => {
                set_openllmetry_field(message, field, value);
            }
        }
    }

    let [oi_input, oi_output, prompts, completions] = lists;
    let finish_reasons = completions
        .values()
        .filter_map(|message| message.finish_reason.clone())
        .collect();
    Flattened {
        input: build(oi_input, "user").or_else(|| build(prompts, "user")),
        output: build(oi_output, "assistant").or_else(|| build(completions, "assistant")),
        finish_reasons,
    }
}

/// Splits `<prefix><index>.<field>` into its list, index and field.
fn split_key(key: &str) -> Option<(List, usize, &str)> {
    const PREFIXES: [(&str, List); 4] = [
        (names::OPENINFERENCE_INPUT_PREFIX, List::InputMessages),
        (names::OPENINFERENCE_OUTPUT_PREFIX, List::OutputMessages),
        (names::OPENLLMETRY_PROMPT_PREFIX, List::Prompts),
        (names::OPENLLMETRY_COMPLETION_PREFIX, List::Completions),
    ];
    let (rest, list) = PREFIXES
        .iter()
        .find_map(|(prefix, list)| key.strip_prefix(prefix).map(|rest| (rest, *list)))?;
    let (index, field) = split_index(rest)?;
    Some((list, index, field))
}

/// Splits `<digits>.<rest>`; any other first segment gives `None`.
fn split_index(text: &str) -> Option<(usize, &str)> {
    let (digits, rest) = text.split_once('.')?;
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, rest))
}

fn set_openinference_field(message: &mut FlatMessage, field: &str, value: &Value) {
    if let Some(rest) = field.strip_prefix("tool_calls.") {
        if let Some((index, rest)) = split_index(rest) {
            let call = message.tool_calls.entry(index).or_default();
            set_openinference_tool_call(call, rest, value);
        }
        return;
    }
    if let Some(rest) = field.strip_prefix("contents.") {
        if let Some((index, rest)) = split_index(rest) {
            set_openinference_part(message, index, rest, value);
        }
        return;
    }
    set_common_field(message, field, value);
}

fn set_openinference_tool_call(call: &mut FlatToolCall, field: &str, value: &Value) {
    match field {
        "tool_call.id" => call.id = text(value),
        "tool_call.function.name" => call.name = text(value),
        "tool_call.function.arguments" => call.arguments = Some(tool_arguments(value)),
        _ => {}
    }
}

fn set_openinference_part(message: &mut FlatMessage, index: usize, field: &str, value: &Value) {
    if field == "message_content.text" {
        if let Some(text) = text(value) {
            message.part_texts.insert(index, text);
        }
        return;
    }
    if field.starts_with("tool_call.") {
        let call = message.part_tool_calls.entry(index).or_default();
        set_openinference_tool_call(call, field, value);
    }
}

fn set_openllmetry_field(message: &mut FlatMessage, field: &str, value: &Value) {
    if let Some(rest) = field.strip_prefix("tool_calls.") {
        if let Some((index, rest)) = split_index(rest) {
            let call = message.tool_calls.entry(index).or_default();
            match rest {
                "id" => call.id = text(value),
                "name" => call.name = text(value),
                "arguments" => call.arguments = Some(tool_arguments(value)),
                _ => {}
            }
        }
        return;
    }
    set_common_field(message, field, value);
}

fn set_common_field(message: &mut FlatMessage, field: &str, value: &Value) {
    match field {
        "role" => message.role = text(value),
        "content" => message.content = content_text(value),
        "tool_call_id" => message.tool_call_id = text(value),
        "finish_reason" => message.finish_reason = text(value),
        _ => {}
    }
}

/// Reads content that is plain text, or a JSON list of parts for multimodal messages.
fn content_text(value: &Value) -> Option<String> {
    let raw = non_empty_str(value)?;
    if raw.starts_with('[')
        && let Some(text) = parse_json_container(raw).as_ref().and_then(text_of)
    {
        return Some(text);
    }
    Some(raw.to_owned())
}

fn text(value: &Value) -> Option<String> {
    non_empty_str(value).map(str::to_owned)
}

fn build(list: BTreeMap<usize, FlatMessage>, default_role: &str) -> Option<Vec<Message>> {
    if list.is_empty() {
        return None;
    }
    Some(
        list.into_values()
            .map(|message| message.into_message(default_role))
            .collect(),
    )
}

impl FlatMessage {
    fn into_message(self, default_role: &str) -> Message {
        let content = self.content.or_else(|| {
            (!self.part_texts.is_empty())
                .then(|| self.part_texts.into_values().collect::<Vec<_>>().join("\n"))
        });
        let calls = if self.tool_calls.is_empty() {
            self.part_tool_calls
        } else {
            self.tool_calls
        };
        Message {
            role: self.role.unwrap_or_else(|| default_role.to_owned()),
            content,
            tool_calls: calls
                .into_values()
                .filter_map(FlatToolCall::into_tool_call)
                .collect(),
            tool_call_id: self.tool_call_id,
        }
    }
}

impl FlatToolCall {
    fn into_tool_call(self) -> Option<ToolCall> {
        Some(ToolCall {
            id: self.id,
            name: self.name?,
            arguments: self.arguments.unwrap_or(Value::Null),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flattened_of(value: Value) -> Flattened {
        let map: Map<String, Value> = serde_json::from_value(value).unwrap();
        flattened(&map)
    }

    #[test]
    fn openllmetry_prompts_and_completions() {
        let found = flattened_of(json!({
            "gen_ai.prompt.0.role": "system",
            "gen_ai.prompt.0.content": "Be terse.",
            "gen_ai.prompt.1.role": "user",
            "gen_ai.prompt.1.content": "Weather?",
            "gen_ai.prompt.10.role": "tool",
            "gen_ai.prompt.10.content": "18",
            "gen_ai.prompt.10.tool_call_id": "call_1",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.finish_reason": "tool_calls",
            "gen_ai.completion.0.tool_calls.0.id": "call_2",
            "gen_ai.completion.0.tool_calls.0.name": "get_weather",
            "gen_ai.completion.0.tool_calls.0.arguments": "{\"city\": \"Oslo\"}",
        }));
        let input = found.input.unwrap();
        let roles: Vec<&str> = input.iter().map(|message| message.role.as_str()).collect();
        assert_eq!(roles, ["system", "user", "tool"]);
        assert_eq!(input[2].tool_call_id.as_deref(), Some("call_1"));
        let output = found.output.unwrap();
        assert_eq!(output[0].tool_calls[0].arguments, json!({"city": "Oslo"}));
        assert_eq!(found.finish_reasons, ["tool_calls"]);
    }

    #[test]
    fn prompt_template_attributes_are_not_messages() {
        let found = flattened_of(json!({
            "gen_ai.prompt.name": "greeting",
            "gen_ai.prompt.version": "3",
            "gen_ai.prompt.variable.city": "Oslo",
        }));
        assert!(found.input.is_none());
    }

    #[test]
    fn openinference_tool_use_listed_twice_counts_once() {
        let found = flattened_of(json!({
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.contents.0.message_content.type": "text",
            "llm.output_messages.0.message.contents.0.message_content.text": "Let me look.",
            "llm.output_messages.0.message.tool_calls.0.tool_call.id": "toolu_1",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "f",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": "{}",
            "llm.output_messages.0.message.contents.1.message_content.type": "tool_use",
            "llm.output_messages.0.message.contents.1.tool_call.id": "toolu_1",
            "llm.output_messages.0.message.contents.1.tool_call.function.name": "f",
        }));
        let output = found.output.unwrap();
        assert_eq!(output[0].content.as_deref(), Some("Let me look."));
        assert_eq!(output[0].tool_calls.len(), 1);
    }

    #[test]
    fn multimodal_openllmetry_content_gives_text() {
        let found = flattened_of(json!({
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "[{\"type\": \"text\", \"text\": \"Describe\"}, {\"type\": \"image_url\"}]",
        }));
        assert_eq!(found.input.unwrap()[0].content.as_deref(), Some("Describe"));
    }
}
