//! Outputs that do not parse although the request asked for JSON.
//!
//! JSON output was requested when one of these request attributes requests it:
//! - `gen_ai.output.type` is `json` (OpenTelemetry GenAI conventions 1.31 and later);
//! - `gen_ai.openai.request.response_format`, `openai.request.response_format` or
//!   `gen_ai.request.response_format` is `json_object`, `json_schema` or `json`, as a string
//!   or as an object with that `type`;
//! - a parameter object has such a `response_format`, a Gemini `response_mime_type` of
//!   `application/json`, an Ollama `format` of `json`, or a Pydantic AI `output_mode` of
//!   `native` or `prompted`. The parameter objects are `llm.invocation_parameters`
//!   (OpenInference), `langfuse.observation.model.parameters` and `model_request_parameters`
//!   (Pydantic AI), each as a JSON string or an object;
//! - `ai.settings.output` of the Vercel AI SDK is `object`, `array`, `enum` or `no-schema`.
//!
//! The text of each output message with text must then be one JSON value, optionally inside
//! one fenced code block (```` ```json ````). Text around the fence, or a reply that only
//! calls a tool, is not accepted or checked respectively.

use std::ops::Range;

use serde::de::IgnoredAny;
use serde_json::{Map, Value};

/// Attributes whose value is a response format.
const RESPONSE_FORMAT_KEYS: [&str; 3] = [
    "gen_ai.openai.request.response_format",
    "openai.request.response_format",
    "gen_ai.request.response_format",
];

/// Attributes whose value is an object of request parameters.
const PARAMETER_KEYS: [&str; 3] = [
    "llm.invocation_parameters",
    "langfuse.observation.model.parameters",
    "model_request_parameters",
];

/// Values of `ai.settings.output` whose output is JSON text.
const VERCEL_JSON_OUTPUTS: [&str; 4] = ["object", "array", "enum", "no-schema"];

/// Maximum depth of the search in a parameter object, for settings nested as in
/// `{"generation_config": {"response_mime_type": ...}}`.
const MAX_PARAMETER_DEPTH: usize = 3;

/// Returns true when the span's request attributes ask for JSON output.
pub(crate) fn json_requested(attributes: &Map<String, Value>) -> bool {
    let output_type = attributes
        .get("gen_ai.output.type")
        .and_then(Value::as_str)
        .is_some_and(|value| value.eq_ignore_ascii_case("json"));
    let response_format = RESPONSE_FORMAT_KEYS
        .iter()
        .filter_map(|key| attributes.get(*key))
        .any(|value| is_json_format(&structured(value)));
    let parameters = PARAMETER_KEYS
        .iter()
        .filter_map(|key| attributes.get(*key))
        .any(|value| parameters_request_json(&structured(value), MAX_PARAMETER_DEPTH));
    let vercel = attributes
        .get("ai.settings.output")
        .and_then(Value::as_str)
        .is_some_and(|value| VERCEL_JSON_OUTPUTS.contains(&value));
    output_type || response_format || parameters || vercel
}

/// Parses a string that contains a JSON object or array; returns other values as they are.
fn structured(value: &Value) -> Value {
    match value {
        Value::String(text) if text.trim_start().starts_with(['{', '[']) => {
            serde_json::from_str(text).unwrap_or_else(|_| value.clone())
        }
        _ => value.clone(),
    }
}

/// Returns true for `json_object`, `json_schema` or `json`, or an object whose `type` is one.
fn is_json_format(value: &Value) -> bool {
    let name = match value {
        Value::String(name) => Some(name.as_str()),
        Value::Object(object) => object.get("type").and_then(Value::as_str),
        _ => None,
    };
    name.is_some_and(|name| {
        ["json_object", "json_schema", "json"]
            .iter()
            .any(|json| name.eq_ignore_ascii_case(json))
    })
}

fn parameters_request_json(value: &Value, depth: usize) -> bool {
    let Some(object) = value.as_object() else {
        return false;
    };
    object
        .iter()
        .any(|(key, value)| parameter_requests_json(key, value))
        || (depth > 1
            && object
                .values()
                .any(|nested| parameters_request_json(nested, depth - 1)))
}

fn parameter_requests_json(key: &str, value: &Value) -> bool {
    let text = value.as_str().unwrap_or_default();
    match key {
        "response_format" | "responseFormat" => is_json_format(&structured(value)),
        "response_mime_type" | "responseMimeType" => text.eq_ignore_ascii_case("application/json"),
        "format" => text.eq_ignore_ascii_case("json"),
        "output_mode" => text == "native" || text == "prompted",
        _ => false,
    }
}

/// An output text that does not parse as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidJson {
    /// The range of the text that should be JSON: the inside of the fence when there is one.
    pub range: Range<usize>,
    /// The parser's error, which names a line and column but quotes no content.
    pub error: String,
}

/// Checks one output text; returns `None` when it parses or is blank.
pub(crate) fn check(text: &str) -> Option<InvalidJson> {
    let range = json_range(text);
    let body = text.get(range.clone()).unwrap_or_default();
    if body.trim().is_empty() {
        return None;
    }
    let error = serde_json::from_str::<IgnoredAny>(body).err()?;
    Some(InvalidJson {
        range,
        error: error.to_string(),
    })
}

/// Returns the range of the JSON in `text`: inside a fence that spans the whole trimmed text
/// and is tagged `json` or not tagged, else the trimmed text.
fn json_range(text: &str) -> Range<usize> {
    let start = text.len() - text.trim_start().len();
    let end = text.trim_end().len();
    let trimmed = text.get(start..end).unwrap_or_default();

    let Some(after_fence) = trimmed.strip_prefix("```") else {
        return start..end;
    };
    let Some(newline) = after_fence.find('\n') else {
        return start..end;
    };
    let tag = after_fence[..newline].trim();
    let body = &after_fence[newline + 1..];
    let tagged_json = tag.is_empty() || tag.eq_ignore_ascii_case("json");
    match body.strip_suffix("```") {
        Some(inner) if tagged_json && !inner.contains("```") => {
            let inner_start = start + 3 + newline + 1;
            inner_start..inner_start + inner.len()
        }
        _ => start..end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn requested(attributes: Value) -> bool {
        json_requested(attributes.as_object().unwrap())
    }

    #[test]
    fn request_attributes_that_ask_for_json() {
        let cases = [
            json!({"gen_ai.output.type": "json"}),
            json!({"gen_ai.openai.request.response_format": "json_object"}),
            json!({"openai.request.response_format": "json_schema"}),
            json!({"gen_ai.request.response_format": "{\"type\": \"json_schema\", \"json_schema\": {}}"}),
            json!({"llm.invocation_parameters": "{\"model\": \"gpt-4o\", \"response_format\": {\"type\": \"json_object\"}}"}),
            json!({"llm.invocation_parameters": {"generation_config": {"response_mime_type": "application/json"}}}),
            json!({"langfuse.observation.model.parameters": "{\"format\": \"json\"}"}),
            json!({"model_request_parameters": "{\"output_mode\": \"native\"}"}),
            json!({"ai.settings.output": "object"}),
        ];
        for attributes in cases {
            assert!(requested(attributes.clone()), "{attributes}");
        }
    }

    #[test]
    fn request_attributes_that_do_not() {
        let cases = [
            json!({}),
            json!({"gen_ai.output.type": "text"}),
            json!({"gen_ai.openai.request.response_format": "text"}),
            json!({"llm.invocation_parameters": "{\"temperature\": 0.2}"}),
            json!({"llm.invocation_parameters": "{not json"}),
            json!({"output.mime_type": "application/json"}),
            json!({"model_request_parameters": "{\"output_mode\": \"tool\"}"}),
            json!({"ai.settings.output": "text"}),
        ];
        for attributes in cases {
            assert!(!requested(attributes.clone()), "{attributes}");
        }
    }

    #[test]
    fn valid_outputs() {
        let cases = [
            "{\"answer\": 42}",
            "  [1, 2, 3]\n",
            "```json\n{\"answer\": 42}\n```",
            "```\n{\"answer\": 42}\n```\n",
            "\"just a string\"",
            "",
        ];
        for text in cases {
            assert_eq!(check(text), None, "in {text:?}");
        }
    }

    #[test]
    fn invalid_outputs() {
        let cases = [
            ("{\"answer\": 42", "{\"answer\": 42"),
            ("Sure! {\"answer\": 42}", "Sure! {\"answer\": 42}"),
            ("```json\n{'answer': 42}\n```", "{'answer': 42}\n"),
            (
                "Here it is:\n```json\n{\"a\": 1}\n```",
                "Here it is:\n```json\n{\"a\": 1}\n```",
            ),
            ("```python\nprint(1)\n```", "```python\nprint(1)\n```"),
        ];
        for (text, expected) in cases {
            let invalid = check(text).unwrap_or_else(|| panic!("accepted {text:?}"));
            assert_eq!(&text[invalid.range.clone()], expected, "in {text:?}");
            assert!(invalid.error.contains("line"), "{}", invalid.error);
        }
    }
}
