//! Checks on the end of a model call: an empty output, or an output cut off at the token
//! limit.

use glassbox_model::{Message, Span, SpanStatus};

/// Finish reasons that mean the output hit a token limit, lowercase: OpenAI and vLLM
/// `length`, Anthropic and Bedrock `max_tokens`, Gemini `MAX_TOKENS`, the OpenAI Responses
/// API `max_output_tokens`, and Anthropic `model_context_window_exceeded`.
const LENGTH_REASONS: [&str; 4] = [
    "length",
    "max_tokens",
    "max_output_tokens",
    "model_context_window_exceeded",
];

/// Finish reasons that mean the model called a tool, lowercase.
const TOOL_REASONS: [&str; 4] = ["tool_calls", "tool_use", "function_call", "tool_call"];

/// Returns the index and text of the first finish reason that means a token limit.
pub(crate) fn truncation(span: &Span) -> Option<(usize, &str)> {
    span.finish_reasons
        .iter()
        .enumerate()
        .find(|(_, reason)| {
            LENGTH_REASONS
                .iter()
                .any(|length| reason.eq_ignore_ascii_case(length))
        })
        .map(|(index, reason)| (index, reason.as_str()))
}

/// Returns true when a finished call returned neither text nor a tool call.
///
/// The output must have been captured as at least one message, and the span must not have
/// failed. An empty list is taken for missing content, because some instrumentations record
/// the request without the response. A call whose finish reason names a tool call is never
/// empty, because its tool call was then lost by the instrumentation rather than missing from
/// the response.
pub(crate) fn is_empty_output(span: &Span) -> bool {
    let Some(messages) = &span.output_messages else {
        return false;
    };
    let called_tool = span.finish_reasons.iter().any(|reason| {
        TOOL_REASONS
            .iter()
            .any(|tool| reason.eq_ignore_ascii_case(tool))
    });
    span.status != SpanStatus::Error
        && !called_tool
        && !messages.is_empty()
        && messages.iter().all(is_empty_message)
}

fn is_empty_message(message: &Message) -> bool {
    let has_text = message
        .content
        .as_deref()
        .is_some_and(|text| !text.trim().is_empty());
    !has_text && message.tool_calls.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_model::{SpanId, SpanKind, ToolCall, TraceId};
    use serde_json::json;

    fn span(output: Option<Vec<Message>>, reasons: &[&str]) -> Span {
        let mut span = Span::new(TraceId([1; 16]), SpanId([2; 8]), "chat");
        span.kind = SpanKind::Llm;
        span.output_messages = output;
        span.finish_reasons = reasons.iter().map(|reason| (*reason).to_owned()).collect();
        span
    }

    #[test]
    fn truncation_reasons() {
        for reason in ["length", "max_tokens", "MAX_TOKENS", "max_output_tokens"] {
            let span = span(None, &["stop", reason]);
            assert_eq!(truncation(&span), Some((1, reason)), "{reason}");
        }
        for reasons in [&["stop"][..], &["end_turn"], &["STOP"], &[]] {
            assert_eq!(truncation(&span(None, reasons)), None, "{reasons:?}");
        }
    }

    #[test]
    fn empty_outputs() {
        let blank = Message::text("assistant", "  \n");
        assert!(is_empty_output(&span(Some(vec![blank]), &["stop"])));

        let mut no_content = Message::text("assistant", "");
        no_content.content = None;
        assert!(is_empty_output(&span(Some(vec![no_content]), &["stop"])));
    }

    #[test]
    fn outputs_that_are_not_empty() {
        let text = Message::text("assistant", "Hello");
        assert!(!is_empty_output(&span(Some(vec![text]), &["stop"])));

        let mut tool = Message::text("assistant", "");
        tool.tool_calls.push(ToolCall {
            id: None,
            name: "search".to_owned(),
            arguments: json!({"q": "x"}),
        });
        assert!(!is_empty_output(&span(Some(vec![tool]), &["tool_calls"])));

        let lost_tool_call = Message::text("assistant", "");
        assert!(!is_empty_output(&span(
            Some(vec![lost_tool_call]),
            &["tool_calls"]
        )));
        assert!(!is_empty_output(&span(None, &["stop"])));
        assert!(!is_empty_output(&span(Some(Vec::new()), &["stop"])));

        let mut failed = span(Some(vec![Message::text("assistant", "")]), &[]);
        failed.status = SpanStatus::Error;
        assert!(!is_empty_output(&failed));
    }
}
