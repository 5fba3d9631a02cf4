//! Anthropic Messages calls through the gateway.

use std::time::Duration;

use glassbox_gateway::GatewayConfig;
use glassbox_mock::{CACHE_MARKER, CACHED_TOKENS, MockOptions};
use glassbox_model::{SpanKind, SpanStatus};
use serde_json::{Value, json};

use crate::harness::{Harness, trace_context, without_ids};

const VERSION: (&str, &str) = ("anthropic-version", "2023-06-01");

fn message(stream: bool) -> Value {
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 256,
        "system": format!("Context {CACHE_MARKER}"),
        "messages": [{"role": "user", "content": "Summarize the report please"}],
        "stream": stream
    })
}

#[tokio::test]
async fn message_is_unchanged_and_counts_cache_reads_as_input() {
    let harness = Harness::start().await;
    let (trace, traceparent) = trace_context();
    let headers = [
        VERSION,
        ("x-api-key", "sk-ant-test-key"),
        ("traceparent", &traceparent),
    ];
    let through: Value = harness
        .post("/v1/messages", &headers, &message(false))
        .await
        .json()
        .await
        .unwrap();
    let direct: Value = harness
        .post_direct("/v1/messages", &headers, &message(false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(without_ids(through.clone()), without_ids(direct));
    assert_eq!(
        harness.mock.log().requests()[0].header("x-api-key"),
        Some("sk-ant-test-key")
    );

    let span = harness.spans(&trace, 1).await.remove(0);
    let raw_input = through["usage"]["input_tokens"].as_u64().unwrap();
    assert_eq!(span.provider.as_deref(), Some("anthropic"));
    assert_eq!(span.usage.input, Some(raw_input + CACHED_TOKENS));
    assert_eq!(span.usage.cached_input, Some(CACHED_TOKENS));
    assert_eq!(
        span.usage.output,
        through["usage"]["output_tokens"].as_u64()
    );
    assert_eq!(span.input_messages.as_ref().unwrap()[0].role, "system");
    assert_eq!(span.finish_reasons, vec!["end_turn"]);
    assert!(span.cost_usd.unwrap() > 0.0);
}

#[tokio::test]
async fn stream_passes_through_and_is_reassembled() {
    let mock = MockOptions {
        first_token_delay: Duration::from_millis(40),
        ..MockOptions::default()
    };
    let harness = Harness::with(GatewayConfig::default(), mock).await;
    let (trace, traceparent) = trace_context();
    let headers = [VERSION, ("traceparent", traceparent.as_str())];
    let response = harness.post("/v1/messages", &headers, &message(true)).await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert!(body.contains("event: message_stop"), "{body}");
    let text: String = body
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .filter_map(|event| event["delta"]["text"].as_str().map(str::to_owned))
        .collect();

    let span = harness.spans(&trace, 1).await.remove(0);
    assert_eq!(span.kind, SpanKind::Llm);
    assert_eq!(span.status, SpanStatus::Ok);
    assert_eq!(
        span.output_messages.unwrap()[0].content.as_deref(),
        Some(text.as_str())
    );
    assert!(span.ttft_ms.unwrap() >= 40.0);
    assert_eq!(span.usage.cached_input, Some(CACHED_TOKENS));
}

#[tokio::test]
async fn count_tokens_is_forwarded_and_recorded_as_other() {
    let harness = Harness::start().await;
    let (trace, traceparent) = trace_context();
    let response = harness
        .post(
            "/v1/messages/count_tokens",
            &[VERSION, ("traceparent", &traceparent)],
            &json!({"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "a b c"}]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["input_tokens"], 3);
    let span = harness.spans(&trace, 1).await.remove(0);
    assert_eq!(span.kind, SpanKind::Other);
    assert_eq!(span.operation.as_deref(), Some("count_tokens"));
}

#[tokio::test]
async fn upstream_errors_reach_the_client_unchanged() {
    let harness = Harness::start().await;
    let (trace, traceparent) = trace_context();
    let headers = [
        VERSION,
        ("traceparent", traceparent.as_str()),
        ("x-mock-behavior", "error=429; retry_after=7"),
    ];
    let through = harness
        .post("/v1/messages", &headers, &message(false))
        .await;
    let direct = harness
        .post_direct("/v1/messages", &headers, &message(false))
        .await;
    assert_eq!(through.status(), 429);
    assert_eq!(through.headers()["retry-after"], "7");
    assert!(through.headers().get("x-glassbox-error").is_none());
    assert_eq!(direct.status(), 429);
    let mut through: Value = through.json().await.unwrap();
    let mut direct: Value = direct.json().await.unwrap();
    // Request ids count up per call to the mock.
    through.as_object_mut().unwrap().remove("request_id");
    direct.as_object_mut().unwrap().remove("request_id");
    assert_eq!(through, direct);

    let span = harness.spans(&trace, 1).await.remove(0);
    assert_eq!(span.status, SpanStatus::Error);
    assert_eq!(span.error_type.as_deref(), Some("rate_limit_error"));
    assert_eq!(span.attributes["http.response.status_code"], 429);
    assert!(
        span.attributes["error.body"]
            .as_str()
            .unwrap()
            .contains("rate_limit_error")
    );
}
