//! OpenAI-style calls through the gateway: responses identical to direct calls, spans with the
//! right tokens, cost, TTFT and content.

use std::time::Duration;

use glassbox_gateway::{CaptureMode, GatewayConfig};
use glassbox_mock::MockOptions;
use glassbox_model::{CostStatus, Part, SpanKind, SpanStatus};
use serde_json::{Value, json};

use crate::harness::{Harness, data_lines, trace_context, without_ids};

fn chat(stream: bool) -> Value {
    json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello to the gateway"}
        ],
        "temperature": 0.2,
        "stream": stream
    })
}

#[tokio::test]
async fn chat_answer_is_unchanged_and_recorded() {
    let harness = Harness::start().await;
    let (trace, traceparent) = trace_context();
    let headers = [
        ("authorization", "Bearer sk-test-client-key"),
        ("traceparent", traceparent.as_str()),
        ("x-glassbox-user-id", "user-42"),
        ("x-glassbox-session-id", "session-9"),
        ("x-glassbox-tags", "beta,checkout"),
        ("x-glassbox-metadata-tenant", "acme"),
    ];

    let through = harness
        .post("/v1/chat/completions", &headers, &chat(false))
        .await;
    assert_eq!(through.status(), 200);
    let through: Value = through.json().await.unwrap();
    let direct: Value = harness
        .post_direct("/v1/chat/completions", &headers, &chat(false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(without_ids(through.clone()), without_ids(direct));

    let forwarded = &harness.mock.log().requests()[0];
    assert_eq!(
        forwarded.header("authorization"),
        Some("Bearer sk-test-client-key")
    );
    assert!(
        forwarded
            .headers
            .keys()
            .all(|name| !name.as_str().starts_with("x-glassbox-"))
    );

    let spans = harness.spans(&trace, 1).await;
    let span = &spans[0];
    let upstream_parent = format!("00-{trace}-{}-01", span.span_id);
    assert_eq!(
        forwarded.header("traceparent"),
        Some(upstream_parent.as_str())
    );
    assert_eq!(span.kind, SpanKind::Llm);
    assert_eq!(span.name, "chat gpt-4o-mini");
    assert_eq!(span.parent_span_id.unwrap().to_string(), "00f067aa0ba902b7");
    assert_eq!(span.provider.as_deref(), Some("openai"));
    assert_eq!(span.request_model.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(span.response_id.as_deref(), through["id"].as_str());
    assert_eq!(span.status, SpanStatus::Ok);
    assert_eq!(span.usage.input, Some(8));
    assert_eq!(span.usage.output, Some(8));
    assert!(!span.tokens_estimated);
    assert_eq!(span.cost_status, Some(CostStatus::Computed));
    let expected_cost = 8.0 * 0.15e-6 + 8.0 * 0.6e-6;
    assert!(
        (span.cost_usd.unwrap() - expected_cost).abs() < 1e-12,
        "{:?}",
        span.cost_usd
    );
    assert_eq!(span.finish_reasons, vec!["stop"]);
    assert_eq!(span.streaming, Some(false));
    assert_eq!(span.ttft_ms, None);
    assert_eq!(span.user_id.as_deref(), Some("user-42"));
    assert_eq!(span.session_id.as_deref(), Some("session-9"));
    assert_eq!(span.tags, vec!["beta", "checkout"]);
    assert_eq!(span.metadata["tenant"], "acme");
    assert_eq!(span.attributes["gen_ai.request.temperature"], 0.2);
    assert_eq!(span.attributes["http.response.status_code"], 200);
    let input = span.input_messages.as_ref().unwrap();
    assert_eq!(
        input[1].content.as_deref(),
        Some("Say hello to the gateway")
    );
    let output = span.output_messages.as_ref().unwrap();
    assert_eq!(
        output[0].content.as_deref(),
        through["choices"][0]["message"]["content"].as_str()
    );
    assert!(
        span.attributes["glassbox.gateway.overhead_ms"]
            .as_f64()
            .unwrap()
            >= 0.0
    );

    let stored = serde_json::to_string(span).unwrap();
    assert!(!stored.contains("sk-test-client-key"));
}

#[tokio::test]
async fn stream_without_usage_is_unchanged_yet_recorded_with_usage() {
    let mock = MockOptions {
        first_token_delay: Duration::from_millis(60),
        chunk_delay: Duration::from_millis(5),
        ..MockOptions::default()
    };
    let harness = Harness::with(GatewayConfig::default(), mock).await;
    let (trace, traceparent) = trace_context();
    let headers = [("traceparent", traceparent.as_str())];

    let through = harness
        .post("/v1/chat/completions", &headers, &chat(true))
        .await;
    assert_eq!(through.status(), 200);
    assert!(
        through.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let through = through.text().await.unwrap();
    let direct = harness
        .post_direct("/v1/chat/completions", &headers, &chat(true))
        .await
        .text()
        .await
        .unwrap();
    let ids = |body: &str| -> Vec<Value> {
        data_lines(body)
            .iter()
            .map(|data| match serde_json::from_str::<Value>(data) {
                Ok(value) => without_ids(value),
                Err(_) => Value::String(data.clone()),
            })
            .collect()
    };
    assert_eq!(ids(&through), ids(&direct));
    assert!(!through.contains("usage"), "{through}");

    let forwarded = harness.mock.log().requests()[0].json().unwrap();
    assert_eq!(forwarded["stream_options"]["include_usage"], true);

    let span = harness.spans(&trace, 1).await.remove(0);
    assert_eq!(span.streaming, Some(true));
    assert_eq!(span.usage.input, Some(8));
    assert_eq!(span.usage.output, Some(8));
    assert!(!span.tokens_estimated);
    let ttft = span.ttft_ms.unwrap();
    assert!((60.0..1_000.0).contains(&ttft), "ttft {ttft}");
    assert!(span.duration_ms() > ttft);
    assert!(span.time_per_output_token_ms.is_some());
    let reply: String = data_lines(&through)
        .iter()
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .filter_map(|chunk| {
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        span.output_messages.unwrap()[0].content.as_deref(),
        Some(reply.as_str())
    );
}

#[tokio::test]
async fn stream_with_usage_keeps_the_usage_chunk() {
    let harness = Harness::start().await;
    let (trace, traceparent) = trace_context();
    let mut body = chat(true);
    body["stream_options"] = json!({"include_usage": true});
    let through = harness
        .post(
            "/v1/chat/completions",
            &[("traceparent", &traceparent)],
            &body,
        )
        .await
        .text()
        .await
        .unwrap();
    let usage = data_lines(&through)
        .iter()
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .find(|chunk| chunk["usage"].is_object())
        .expect("the usage chunk");
    assert_eq!(usage["usage"]["prompt_tokens"], 8);
    let span = harness.spans(&trace, 1).await.remove(0);
    assert_eq!(span.usage.total, Some(16));
}

#[tokio::test]
async fn streamed_tool_call_is_reassembled() {
    let harness = Harness::start().await;
    let (trace, traceparent) = trace_context();
    let body = json!({
        "model": "gpt-4o",
        "stream": true,
        "messages": [{"role": "user", "content": "Please use a tool for Paris"}],
        "tools": [{"type": "function", "function": {"name": "weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    });
    let response = harness
        .post(
            "/v1/chat/completions",
            &[("traceparent", &traceparent)],
            &body,
        )
        .await;
    assert_eq!(response.status(), 200);
    response.text().await.unwrap();
    let span = harness.spans(&trace, 1).await.remove(0);
    let output = span.output_messages.unwrap();
    assert_eq!(output[0].tool_calls[0].name, "weather");
    assert_eq!(output[0].tool_calls[0].arguments, json!({"city": "mock"}));
    assert_eq!(span.finish_reasons, vec!["tool_calls"]);
}

#[tokio::test]
async fn embeddings_completions_and_responses_are_recorded() {
    let harness = Harness::start().await;
    let calls = [
        (
            "/v1/embeddings",
            json!({"model": "text-embedding-3-small", "input": ["one two", "three"]}),
            SpanKind::Embedding,
            "embeddings",
        ),
        (
            "/v1/completions",
            json!({"model": "gpt-3.5-turbo-instruct", "prompt": "Once upon a time"}),
            SpanKind::Llm,
            "text_completion",
        ),
        (
            "/v1/responses",
            json!({"model": "gpt-4.1", "instructions": "Be brief", "input": "Hi there", "stream": true}),
            SpanKind::Llm,
            "chat",
        ),
    ];
    for (path, body, kind, operation) in calls {
        let (trace, traceparent) = trace_context();
        let response = harness
            .post(path, &[("traceparent", &traceparent)], &body)
            .await;
        assert_eq!(response.status(), 200, "{path}");
        response.bytes().await.unwrap();
        let span = harness.spans(&trace, 1).await.remove(0);
        assert_eq!(span.kind, kind, "{path}");
        assert_eq!(span.operation.as_deref(), Some(operation), "{path}");
        assert_eq!(
            span.status,
            SpanStatus::Ok,
            "{path}: {:?}",
            span.status_message
        );
        assert!(span.usage.input.unwrap() > 0, "{path}");
        assert!(!span.tokens_estimated, "{path}");
        assert!(span.cost_usd.unwrap() > 0.0, "{path}");
        if kind == SpanKind::Llm {
            assert!(span.output_messages.is_some(), "{path}");
        }
    }
}

#[tokio::test]
async fn models_are_forwarded() {
    let harness = Harness::start().await;
    let response = harness
        .client
        .get(format!("{}/v1/models", harness.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "list");
}

#[tokio::test]
async fn recorded_calls_are_analyzed_even_without_content() {
    let body = json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Mail the invoice to ada.lovelace@analytical-engines.co.uk"}]
    });
    for capture in [CaptureMode::Full, CaptureMode::Metadata] {
        let config = GatewayConfig {
            capture,
            ..GatewayConfig::default()
        };
        let harness = Harness::with(config, MockOptions::default()).await;
        let (trace, traceparent) = trace_context();
        let headers = [("traceparent", traceparent.as_str())];

        let response = harness.post("/v1/chat/completions", &headers, &body).await;
        assert_eq!(response.status(), 200);

        let span = harness.spans(&trace, 1).await.remove(0);
        let input_findings: Vec<&str> = span
            .flags
            .iter()
            .filter(|flag| flag.location.part == Part::Input)
            .map(|flag| flag.finding.as_str())
            .collect();
        assert_eq!(input_findings, ["email"], "capture {}", capture.as_str());
        assert_eq!(
            span.input_messages.is_some(),
            capture == CaptureMode::Full,
            "capture {}",
            capture.as_str()
        );
    }
}

#[tokio::test]
async fn json_requests_are_checked_for_json_output() {
    let harness = Harness::start().await;
    for format in ["json_object", "json_schema", "text"] {
        let (trace, traceparent) = trace_context();
        let body = json!({
            "model": "gpt-4o-mini",
            "response_format": {"type": format},
            "messages": [{"role": "user", "content": "List three colors as JSON"}]
        });

        let response = harness
            .post(
                "/v1/chat/completions",
                &[("traceparent", traceparent.as_str())],
                &body,
            )
            .await;
        assert_eq!(response.status(), 200);

        let span = harness.spans(&trace, 1).await.remove(0);
        let invalid_json = span.flags.iter().any(|flag| flag.finding == "invalid_json");
        assert_eq!(invalid_json, format != "text", "response_format {format}");
    }
}
