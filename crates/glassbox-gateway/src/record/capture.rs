//! The capture mode applied to recorded messages, and the removal of credentials from
//! anything recorded.

use glassbox_model::{Message, Span};
use serde_json::Value;

use crate::config::CaptureMode;
use crate::upstream::Secret;

/// The text that replaces a credential found in recorded text.
const SCRUBBED: &str = "[credential removed]";

/// Applies the capture mode to a span whose tokens and cost are already known.
pub fn apply(span: &mut Span, mode: CaptureMode) {
    match mode {
        CaptureMode::Full => {}
        CaptureMode::Metadata => {
            span.input_messages = None;
            span.output_messages = None;
        }
        CaptureMode::Redacted => {
            for messages in [&mut span.input_messages, &mut span.output_messages]
                .into_iter()
                .flatten()
            {
                messages.iter_mut().for_each(redact);
            }
        }
    }
}

fn redact(message: &mut Message) {
    if let Some(text) = &message.content {
        message.content = Some(format!("[redacted: {} characters]", text.chars().count()));
    }
    for call in &mut message.tool_calls {
        call.arguments = Value::String("[redacted]".to_owned());
    }
}

/// Replaces every occurrence of the secrets in the span's messages, status message and
/// attributes.
pub fn scrub(span: &mut Span, secrets: &[Secret]) {
    if secrets.is_empty() {
        return;
    }
    for messages in [&mut span.input_messages, &mut span.output_messages]
        .into_iter()
        .flatten()
    {
        for message in messages.iter_mut() {
            if let Some(text) = &mut message.content {
                scrub_text(text, secrets);
            }
            for call in &mut message.tool_calls {
                scrub_value(&mut call.arguments, secrets);
            }
        }
    }
    if let Some(text) = &mut span.status_message {
        scrub_text(text, secrets);
    }
    for value in span.attributes.values_mut() {
        scrub_value(value, secrets);
    }
}

fn scrub_text(text: &mut String, secrets: &[Secret]) {
    for secret in secrets {
        if text.contains(secret.expose()) {
            *text = text.replace(secret.expose(), SCRUBBED);
        }
    }
}

fn scrub_value(value: &mut Value, secrets: &[Secret]) {
    match value {
        Value::String(text) => scrub_text(text, secrets),
        Value::Array(items) => items.iter_mut().for_each(|item| scrub_value(item, secrets)),
        Value::Object(map) => map.values_mut().for_each(|item| scrub_value(item, secrets)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_model::{SpanId, ToolCall, TraceId};
    use serde_json::json;

    fn span() -> Span {
        let mut span = Span::new(TraceId([1; 16]), SpanId([1; 8]), "chat");
        span.input_messages = Some(vec![Message::text("user", "my key is sk-secret-value")]);
        span.output_messages = Some(vec![Message {
            role: "assistant".to_owned(),
            content: None,
            tool_calls: vec![ToolCall {
                id: None,
                name: "store".to_owned(),
                arguments: json!({"key": "sk-secret-value"}),
            }],
            tool_call_id: None,
        }]);
        span.attributes
            .insert("error.body".to_owned(), json!("bad key sk-secret-value"));
        span
    }

    #[test]
    fn secrets_are_scrubbed_everywhere() {
        let mut span = span();
        scrub(&mut span, &[Secret::new("sk-secret-value")]);
        let text = serde_json::to_string(&span).unwrap();
        assert!(!text.contains("sk-secret-value"), "{text}");
        assert!(text.contains(SCRUBBED));
    }

    #[test]
    fn redacted_keeps_roles_and_sizes() {
        let mut span = span();
        apply(&mut span, CaptureMode::Redacted);
        let input = span.input_messages.unwrap();
        assert_eq!(input[0].role, "user");
        assert_eq!(
            input[0].content.as_deref(),
            Some("[redacted: 25 characters]")
        );
        let output = span.output_messages.unwrap();
        assert_eq!(output[0].tool_calls[0].name, "store");
        assert_eq!(output[0].tool_calls[0].arguments, json!("[redacted]"));
    }

    #[test]
    fn metadata_drops_messages() {
        let mut span = span();
        apply(&mut span, CaptureMode::Metadata);
        assert!(span.input_messages.is_none());
        assert!(span.output_messages.is_none());
    }
}
