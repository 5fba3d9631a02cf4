//! Whole-span tests for conventions without recorded payloads, and for the id and type rules.

use glassbox_model::{CostStatus, SpanKind, SpanStatus};
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span as OtlpSpan, Status};
use serde_json::json;

use super::*;

fn value(json: serde_json::Value) -> AnyValue {
    let inner = match json {
        serde_json::Value::Bool(flag) => any_value::Value::BoolValue(flag),
        serde_json::Value::Number(number) if number.is_i64() => {
            any_value::Value::IntValue(number.as_i64().unwrap_or_default())
        }
        serde_json::Value::Number(number) => {
            any_value::Value::DoubleValue(number.as_f64().unwrap_or_default())
        }
        serde_json::Value::Array(items) => any_value::Value::ArrayValue(ArrayValue {
            values: items.into_iter().map(value).collect(),
        }),
        serde_json::Value::String(text) => any_value::Value::StringValue(text),
        other => any_value::Value::StringValue(other.to_string()),
    };
    AnyValue { value: Some(inner) }
}

fn otlp_span(name: &str, attributes: serde_json::Value) -> OtlpSpan {
    let attributes = attributes
        .as_object()
        .unwrap()
        .iter()
        .map(|(key, json)| KeyValue {
            key: key.clone(),
            value: Some(value(json.clone())),
            ..Default::default()
        })
        .collect();
    OtlpSpan {
        trace_id: vec![7; 16],
        span_id: vec![3; 8],
        name: name.to_owned(),
        start_time_unix_nano: 1_000_000_000,
        end_time_unix_nano: 2_000_000_000,
        attributes,
        ..Default::default()
    }
}

fn normalize(span: &OtlpSpan) -> Span {
    normalize_span(None, None, span).unwrap()
}

#[test]
fn vercel_v4_do_generate_span() {
    let span = otlp_span(
        "ai.generateText.doGenerate",
        json!({
            "ai.operationId": "ai.generateText.doGenerate",
            "ai.model.provider": "openai.chat",
            "ai.model.id": "gpt-4o-mini",
            "ai.usage.promptTokens": 12,
            "ai.usage.completionTokens": 7,
            "ai.finishReason": "stop",
            "ai.prompt.messages": "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}]}]",
            "ai.result.text": "Hello",
        }),
    );
    let found = normalize(&span);
    assert_eq!(found.kind, SpanKind::Llm);
    assert_eq!(found.operation.as_deref(), Some("chat"));
    assert_eq!(found.provider.as_deref(), Some("openai"));
    assert_eq!(found.request_model.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(found.usage.total, Some(19));
    assert_eq!(found.streaming, Some(false));
    assert_eq!(found.finish_reasons, ["stop"]);
    assert_eq!(
        found.output_messages.unwrap()[0].content.as_deref(),
        Some("Hello")
    );
}

#[test]
fn vercel_v6_do_stream_span() {
    let span = otlp_span(
        "ai.streamText.doStream",
        json!({
            "ai.operationId": "ai.streamText.doStream",
            "ai.model.provider": "anthropic.messages",
            "ai.model.id": "claude-3-5-haiku-20241022",
            "ai.response.model": "claude-3-5-haiku-20241022",
            "ai.usage.inputTokens": 25,
            "ai.usage.outputTokens": 15,
            "ai.usage.inputTokenDetails.cacheReadTokens": 4,
            "ai.usage.inputTokenDetails.cacheWriteTokens": 0,
            "ai.response.msToFirstChunk": 84.5,
            "ai.response.finishReason": "stop",
            "ai.telemetry.metadata.userId": "user-7",
            "ai.telemetry.metadata.sessionId": "session-9",
        }),
    );
    let found = normalize(&span);
    assert_eq!(found.provider.as_deref(), Some("anthropic"));
    assert_eq!(found.streaming, Some(true));
    assert_eq!(found.ttft_ms, Some(84.5));
    assert_eq!(found.usage.input, Some(25));
    assert_eq!(found.usage.cached_input, Some(4));
    assert_eq!(found.user_id.as_deref(), Some("user-7"));
    assert_eq!(found.session_id.as_deref(), Some("session-9"));
    assert!(!found.metadata.contains_key("userId"));
}

#[test]
fn vercel_tool_call_span() {
    let span = otlp_span(
        "ai.toolCall",
        json!({"ai.operationId": "ai.toolCall", "ai.toolCall.name": "get_weather", "ai.toolCall.id": "c1"}),
    );
    let found = normalize(&span);
    assert_eq!(found.kind, SpanKind::Tool);
    assert_eq!(found.operation.as_deref(), Some("execute_tool"));
    assert_eq!(found.tool_name.as_deref(), Some("get_weather"));
}

#[test]
fn pydantic_ai_v1_chat_span_with_events() {
    let events = json!([
        {"event.name": "gen_ai.system.message", "role": "system", "content": "Be terse.", "gen_ai.message.index": 0},
        {"event.name": "gen_ai.user.message", "role": "user", "content": "Weather?", "gen_ai.message.index": 1},
        {"event.name": "gen_ai.choice", "index": 0, "message": {"role": "assistant", "content": "Mild."}, "finish_reason": "stop"}
    ]);
    let span = otlp_span(
        "chat gpt-4o",
        json!({
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 30,
            "gen_ai.usage.output_tokens": 3,
            "events": events.to_string(),
            "logfire.tags": ["pydantic-ai"],
        }),
    );
    let found = normalize(&span);
    assert_eq!(found.kind, SpanKind::Llm);
    assert_eq!(found.input_messages.unwrap().len(), 2);
    assert_eq!(
        found.output_messages.unwrap()[0].content.as_deref(),
        Some("Mild.")
    );
    assert_eq!(found.finish_reasons, ["stop"]);
    assert_eq!(found.tags, ["pydantic-ai"]);
}

#[test]
fn pydantic_ai_tool_and_agent_spans() {
    let tool = otlp_span(
        "running tool",
        json!({"gen_ai.tool.name": "get_weather", "gen_ai.tool.call.id": "call_1"}),
    );
    let found = normalize(&tool);
    assert_eq!(found.kind, SpanKind::Tool);
    assert_eq!(found.tool_name.as_deref(), Some("get_weather"));

    let agent = otlp_span(
        "agent run",
        json!({"gen_ai.operation.name": "invoke_agent", "agent_name": "helper", "model_name": "gpt-4o"}),
    );
    let found = normalize(&agent);
    assert_eq!(found.kind, SpanKind::Agent);
    assert_eq!(found.request_model.as_deref(), Some("gpt-4o"));
}

#[test]
fn openllmetry_flat_span() {
    let span = otlp_span(
        "openai.chat",
        json!({
            "llm.request.type": "chat",
            "gen_ai.system": "OpenAI",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.prompt_tokens": 19,
            "gen_ai.usage.completion_tokens": 17,
            "llm.usage.total_tokens": 36,
            "llm.is_streaming": false,
            "gen_ai.prompt.name": "weather-template",
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "Weather?",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "Mild.",
            "gen_ai.completion.0.finish_reason": "stop",
        }),
    );
    let found = normalize(&span);
    assert_eq!(found.operation.as_deref(), Some("chat"));
    assert_eq!(found.provider.as_deref(), Some("openai"));
    assert_eq!(found.usage.input, Some(19));
    assert_eq!(found.usage.total, Some(36));
    assert_eq!(found.input_messages.unwrap().len(), 1);
    assert_eq!(found.finish_reasons, ["stop"]);
}

#[test]
fn invalid_ids_are_rejected_with_their_size() {
    let mut span = otlp_span("chat gpt-4o", json!({}));
    span.trace_id = vec![1, 2, 3];
    let error = normalize_span(None, None, &span).unwrap_err();
    assert_eq!(
        error.to_string(),
        "trace_id must be 16 bytes, got 3 (span \"chat gpt-4o\")"
    );

    let mut span = otlp_span("chat gpt-4o", json!({}));
    span.trace_id = vec![0; 16];
    assert!(matches!(
        normalize_span(None, None, &span),
        Err(NormalizeError::TraceIdZero { .. })
    ));

    let mut span = otlp_span("chat gpt-4o", json!({}));
    span.span_id = vec![0; 8];
    assert!(matches!(
        normalize_span(None, None, &span),
        Err(NormalizeError::SpanIdZero { .. })
    ));

    let mut span = otlp_span("chat gpt-4o", json!({}));
    span.span_id = vec![1; 9];
    assert!(matches!(
        normalize_span(None, None, &span),
        Err(NormalizeError::SpanIdLength { got: 9, .. })
    ));

    let mut span = otlp_span("chat gpt-4o", json!({}));
    span.parent_span_id = vec![1; 4];
    let error = normalize_span(None, None, &span).unwrap_err();
    assert_eq!(
        error.to_string(),
        "parent_span_id must be empty or 8 bytes, got 4 (span \"chat gpt-4o\")"
    );
}

#[test]
fn odd_attribute_types_keep_the_span() {
    let span = otlp_span(
        "chat",
        json!({
            "gen_ai.operation.name": "chat",
            "gen_ai.usage.input_tokens": "nineteen",
            "gen_ai.usage.output_tokens": 17.5,
            "gen_ai.input.messages": "[{\"role\": \"user\", \"parts\": [",
            "gen_ai.request.model": 42,
            "gen_ai.response.finish_reasons": true,
            "gen_ai.request.stream": "yes",
        }),
    );
    let found = normalize(&span);
    assert_eq!(found.kind, SpanKind::Llm);
    assert_eq!(found.usage.input, None);
    assert_eq!(found.usage.output, None);
    assert_eq!(found.input_messages, None);
    assert_eq!(found.request_model, None);
    assert!(found.finish_reasons.is_empty());
    assert_eq!(found.streaming, None);
    assert_eq!(
        found.attributes["gen_ai.usage.input_tokens"],
        json!("nineteen")
    );
}

#[test]
fn resource_scope_status_and_cost() {
    let resource = Resource {
        attributes: vec![KeyValue {
            key: "service.name".into(),
            value: Some(value(json!("checkout"))),
            ..Default::default()
        }],
        ..Default::default()
    };
    let scope = InstrumentationScope {
        name: "openlit.instrumentation.openai".into(),
        ..Default::default()
    };

    let mut span = otlp_span(
        "chat gpt-4o",
        json!({"gen_ai.operation.name": "chat", "gen_ai.usage.cost": 0.5, "error.type": "RateLimitError"}),
    );
    span.status = Some(Status {
        message: "rate limited".into(),
        code: 2,
    });

    let found = normalize_span(Some(&resource), Some(&scope), &span).unwrap();
    assert_eq!(found.service_name.as_deref(), Some("checkout"));
    assert_eq!(
        found.scope_name.as_deref(),
        Some("openlit.instrumentation.openai")
    );
    assert_eq!(found.status, SpanStatus::Error);
    assert_eq!(found.status_message.as_deref(), Some("rate limited"));
    assert_eq!(found.error_type.as_deref(), Some("RateLimitError"));
    assert_eq!(found.cost_status, Some(CostStatus::Reported));
    assert_eq!(found.resource_attributes["service.name"], json!("checkout"));
}
