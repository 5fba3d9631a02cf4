//! The request body: what the gateway reads from it before forwarding, and the two changes it
//! may make (the model name without its upstream prefix, and a request for stream usage).
//!
//! Reading skips every field but three, so large prompts cost little on the request path. A
//! body is rewritten only when it must be, and then as little as possible.

use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::Value;

/// The fields of a request body that the gateway reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestInfo {
    /// The `model` field.
    pub model: Option<String>,
    /// The `stream` field.
    pub stream: bool,
    /// Whether the client itself asked for `stream_options.include_usage`.
    pub client_wants_usage: bool,
    /// Whether the body has a `stream_options` object at all.
    pub has_stream_options: bool,
}

/// The reason a request body cannot be forwarded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The body does not parse, or a field has the wrong type.
    #[error("the request body is not valid JSON for this endpoint: {0}")]
    Invalid(String),
    /// The body names no model.
    #[error("the request body has no \"model\"; name the model to call")]
    MissingModel,
}

#[derive(Deserialize)]
struct Peek {
    #[serde(default)]
    model: Option<Value>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

/// Reads the fields the gateway needs; `model_required` makes a missing model an error.
pub fn peek(body: &[u8], model_required: bool) -> Result<RequestInfo, BodyError> {
    // serde would read a JSON array as a struct's fields in order, with a confusing message.
    let first = body.iter().find(|byte| !byte.is_ascii_whitespace());
    if first.is_some_and(|byte| *byte != b'{')
        && let Ok(other) = serde_json::from_slice::<Value>(body)
    {
        return Err(BodyError::Invalid(format!(
            "the body must be a JSON object, got {}",
            type_name(&other)
        )));
    }
    let peek: Peek =
        serde_json::from_slice(body).map_err(|error| BodyError::Invalid(error.to_string()))?;
    let model = match peek.model {
        Some(Value::String(model)) if !model.trim().is_empty() => Some(model),
        Some(Value::String(_)) | Some(Value::Null) | None => None,
        Some(other) => {
            return Err(BodyError::Invalid(format!(
                "\"model\" must be a string, got {}",
                type_name(&other)
            )));
        }
    };
    if model_required && model.is_none() {
        return Err(BodyError::MissingModel);
    }
    Ok(RequestInfo {
        model,
        stream: peek.stream.unwrap_or(false),
        client_wants_usage: peek
            .stream_options
            .as_ref()
            .and_then(|options| options.include_usage)
            .unwrap_or(false),
        has_stream_options: peek.stream_options.is_some(),
    })
}

/// The changes to make before forwarding.
#[derive(Debug, Clone, Default)]
pub struct Rewrite {
    /// The model name to send instead of the client's.
    pub model: Option<String>,
    /// Add `stream_options.include_usage: true`.
    pub ask_usage: bool,
}

/// Applies `rewrite` to `body`; returns the body unchanged when there is nothing to do.
pub fn rewrite(body: Bytes, info: &RequestInfo, rewrite: &Rewrite) -> Result<Bytes, BodyError> {
    if rewrite.model.is_none() && !rewrite.ask_usage {
        return Ok(body);
    }
    if rewrite.model.is_none() && !info.has_stream_options {
        return Ok(insert_usage_option(&body));
    }
    let mut value: Value =
        serde_json::from_slice(&body).map_err(|error| BodyError::Invalid(error.to_string()))?;
    let Some(object) = value.as_object_mut() else {
        return Err(BodyError::Invalid(
            "the body must be a JSON object".to_owned(),
        ));
    };
    if let Some(model) = &rewrite.model {
        object.insert("model".to_owned(), Value::String(model.clone()));
    }
    if rewrite.ask_usage {
        let options = object
            .entry("stream_options")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Some(options) = options.as_object_mut() {
            options.insert("include_usage".to_owned(), Value::Bool(true));
        }
    }
    serde_json::to_vec(&value)
        .map(Bytes::from)
        .map_err(|error| BodyError::Invalid(error.to_string()))
}

/// Adds the option right after the opening brace, leaving the client's bytes as they were.
/// Only called when the body parsed as an object without `stream_options`.
fn insert_usage_option(body: &[u8]) -> Bytes {
    const OPTION: &[u8] = br#""stream_options":{"include_usage":true}"#;
    let Some(open) = body.iter().position(|byte| *byte == b'{') else {
        return Bytes::copy_from_slice(body);
    };
    let rest = &body[open + 1..];
    let empty = rest
        .iter()
        .find(|byte| !byte.is_ascii_whitespace())
        .is_some_and(|byte| *byte == b'}');

    let mut out = BytesMut::with_capacity(body.len() + OPTION.len() + 1);
    out.extend_from_slice(&body[..=open]);
    out.extend_from_slice(OPTION);
    if !empty {
        out.extend_from_slice(b",");
    }
    out.extend_from_slice(rest);
    out.freeze()
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peek_reads_three_fields() {
        let info = peek(
            br#"{"messages":[{"role":"user","content":"hi"}],"model":"gpt-4o","stream":true}"#,
            true,
        )
        .unwrap();
        assert_eq!(info.model.as_deref(), Some("gpt-4o"));
        assert!(info.stream);
        assert!(!info.client_wants_usage);
        assert!(!info.has_stream_options);
    }

    #[test]
    fn peek_errors_name_the_problem() {
        assert!(matches!(
            peek(b"not json", true),
            Err(BodyError::Invalid(_))
        ));
        assert_eq!(
            peek(br#"{"messages":[]}"#, true),
            Err(BodyError::MissingModel)
        );
        let error = peek(br#"{"model":42}"#, true).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("\"model\" must be a string, got a number")
        );
        assert!(matches!(peek(b"[1,2]", true), Err(BodyError::Invalid(_))));
    }

    #[test]
    fn peek_rejects_bodies_that_are_not_objects() {
        for (body, kind) in [
            (&b"[1,2]"[..], "an array"),
            (b" \"gpt-4o\"", "a string"),
            (b"42", "a number"),
        ] {
            let error = peek(body, true).unwrap_err().to_string();
            assert!(
                error.contains(&format!("must be a JSON object, got {kind}")),
                "{error}"
            );
        }
    }

    #[test]
    fn usage_option_is_inserted_without_touching_the_rest() {
        let body = Bytes::from_static(br#"{ "model":"gpt-4o", "stream":true }"#);
        let info = peek(&body, true).unwrap();
        let out = rewrite(
            body,
            &info,
            &Rewrite {
                model: None,
                ask_usage: true,
            },
        )
        .unwrap();
        assert_eq!(
            &out[..],
            br#"{"stream_options":{"include_usage":true}, "model":"gpt-4o", "stream":true }"#
        );
        let parsed: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(parsed["stream_options"]["include_usage"], true);
    }

    #[test]
    fn existing_options_and_prefixes_are_rewritten() {
        let body = Bytes::from_static(
            br#"{"model":"vllm/qwen3","stream":true,"stream_options":{"include_obfuscation":false}}"#,
        );
        let info = peek(&body, true).unwrap();
        let out = rewrite(
            body,
            &info,
            &Rewrite {
                model: Some("qwen3".to_owned()),
                ask_usage: true,
            },
        )
        .unwrap();
        let parsed: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(parsed["model"], "qwen3");
        assert_eq!(parsed["stream_options"]["include_usage"], true);
        assert_eq!(parsed["stream_options"]["include_obfuscation"], false);
    }

    #[test]
    fn nothing_to_do_keeps_the_same_bytes() {
        let body = Bytes::from_static(br#"{"model":"gpt-4o"}"#);
        let info = peek(&body, true).unwrap();
        let out = rewrite(body.clone(), &info, &Rewrite::default()).unwrap();
        assert_eq!(out, body);
    }
}
