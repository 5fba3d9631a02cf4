//! Bad requests and broken upstreams: a clear error in the provider's format, the call still
//! recorded, and the gateway still serving.

use std::time::Duration;

use glassbox_gateway::GatewayConfig;
use glassbox_mock::MockOptions;
use glassbox_model::SpanStatus;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{Harness, loopback, trace_context};

async fn error_of(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["x-glassbox-error"], "true");
    response.json().await.unwrap()
}

#[tokio::test]
async fn rejected_requests_get_provider_errors_and_are_recorded() {
    let mut config = GatewayConfig::default();
    config.openai.models = vec!["gpt-*".to_owned()];
    config.max_body_bytes = 4096;
    let harness = Harness::with(config, MockOptions::default()).await;

    let cases: [(&str, Vec<u8>, u16, &str); 4] = [
        (
            "/v1/chat/completions",
            b"{not json".to_vec(),
            400,
            "invalid_json",
        ),
        (
            "/v1/chat/completions",
            br#"{"messages":[]}"#.to_vec(),
            400,
            "missing_model",
        ),
        (
            "/v1/chat/completions",
            br#"{"model":"mystery-1"}"#.to_vec(),
            404,
            "model_not_found",
        ),
        (
            "/v1/chat/completions",
            format!(r#"{{"model":"gpt-4o","pad":"{}"}}"#, "x".repeat(8192)).into_bytes(),
            413,
            "request_too_large",
        ),
    ];
    for (path, body, status, code) in cases {
        let (trace, traceparent) = trace_context();
        let response = harness
            .post_raw(path, &[("traceparent", &traceparent)], body)
            .await;
        let error = error_of(response, status).await;
        assert_eq!(error["error"]["code"], code, "{error}");
        assert!(!error["error"]["message"].as_str().unwrap().is_empty());
        let span = harness.spans(&trace, 1).await.remove(0);
        assert_eq!(span.status, SpanStatus::Error);
        assert_eq!(span.error_type.as_deref(), Some(code));
    }
    let (trace, traceparent) = trace_context();
    let headers = [
        ("traceparent", traceparent.as_str()),
        ("x-glassbox-upstream", "openai"),
    ];
    let body = br#"{"model":"mystery-1"}"#.to_vec();
    let response = harness
        .post_raw("/v1/chat/completions", &headers, body)
        .await;
    let error = error_of(response, 404).await;
    assert_eq!(error["error"]["code"], "model_not_found", "{error}");
    let span = harness.spans(&trace, 1).await.remove(0);
    assert_eq!(
        span.attributes.get("glassbox.gateway.upstream"),
        Some(&json!("openai"))
    );
    assert!(harness.mock.log().requests().is_empty());

    let error = error_of(
        harness
            .post_raw("/v1/messages", &[], br#"{"max_tokens":5}"#.to_vec())
            .await,
        400,
    )
    .await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "invalid_request_error");

    let ok = harness
        .post(
            "/v1/chat/completions",
            &[],
            &json!({"model": "gpt-4o", "messages": []}),
        )
        .await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn unreachable_and_slow_upstreams_get_502_and_504() {
    let closed = loopback().await;
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let config = GatewayConfig {
        response_timeout_secs: 1,
        upstreams: vec![glassbox_gateway::UpstreamConfig {
            name: "gone".to_owned(),
            dialect: glassbox_gateway::Dialect::Openai,
            base_url: format!("http://127.0.0.1:{port}/v1"),
            provider: None,
            models: vec!["gone-*".to_owned()],
            api_key_env: None,
            stream_usage: true,
        }],
        ..GatewayConfig::default()
    };
    let harness = Harness::with(config, MockOptions::default()).await;

    let (trace, traceparent) = trace_context();
    let response = harness
        .post(
            "/v1/chat/completions",
            &[("traceparent", &traceparent)],
            &json!({"model": "gone-1", "messages": []}),
        )
        .await;
    let error = error_of(response, 502).await;
    assert_eq!(error["error"]["code"], "upstream_unreachable");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("upstream \"gone\""), "{message}");
    let span = harness.spans(&trace, 1).await.remove(0);
    assert_eq!(span.error_type.as_deref(), Some("upstream_unreachable"));
    assert_eq!(span.provider.as_deref(), Some("gone"));

    let (trace, traceparent) = trace_context();
    let response = harness
        .post(
            "/v1/chat/completions",
            &[
                ("traceparent", &traceparent),
                ("x-mock-behavior", "delay_ms=3000"),
            ],
            &json!({"model": "gpt-4o", "messages": []}),
        )
        .await;
    let error = error_of(response, 504).await;
    assert_eq!(error["error"]["code"], "upstream_timeout");
    let span = harness.spans(&trace, 1).await.remove(0);
    assert_eq!(span.error_type.as_deref(), Some("upstream_timeout"));
}

#[tokio::test]
async fn stream_cut_halfway_reaches_the_client_and_is_recorded() {
    let harness = Harness::start().await;
    let (trace, traceparent) = trace_context();
    let response = harness
        .post(
            "/v1/chat/completions",
            &[
                ("traceparent", &traceparent),
                ("x-mock-behavior", "cut_after=3"),
            ],
            &json!({"model": "gpt-4o", "stream": true,
                    "messages": [{"role": "user", "content": "one two three four five"}]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.text().await.is_err(),
        "the client must see the cut"
    );
    let span = harness.spans(&trace, 1).await.remove(0);
    assert_eq!(span.status, SpanStatus::Error);
    assert_eq!(span.error_type.as_deref(), Some("upstream_broke_off"));
}

#[tokio::test]
async fn malformed_events_pass_through_and_mark_the_span() {
    let harness = Harness::start().await;
    let (trace, traceparent) = trace_context();
    let response = harness
        .post(
            "/v1/chat/completions",
            &[
                ("traceparent", &traceparent),
                ("x-mock-behavior", "malformed"),
            ],
            &json!({"model": "gpt-4o", "stream": true, "messages": []}),
        )
        .await;
    let body = response.text().await.unwrap();
    let direct = harness
        .post_direct(
            "/v1/chat/completions",
            &[("x-mock-behavior", "malformed")],
            &json!({"model": "gpt-4o", "stream": true, "messages": []}),
        )
        .await
        .text()
        .await
        .unwrap();
    let malformed = |body: &str| {
        body.lines()
            .filter(|line| line.starts_with("data: ") && !line.contains("[DONE]"))
            .filter(|line| serde_json::from_str::<Value>(&line[6..]).is_err())
            .count()
    };
    assert_eq!(malformed(&body), 1);
    assert_eq!(malformed(&direct), 1);
    let span = harness.spans(&trace, 1).await.remove(0);
    assert_eq!(span.error_type.as_deref(), Some("invalid_response"));
}

#[tokio::test]
async fn client_that_disconnects_mid_stream_is_recorded() {
    let mock = MockOptions {
        chunk_delay: Duration::from_millis(200),
        ..MockOptions::default()
    };
    let harness = Harness::with(GatewayConfig::default(), mock).await;
    let (trace, traceparent) = trace_context();
    let mut response = harness
        .post(
            "/v1/chat/completions",
            &[("traceparent", &traceparent)],
            &json!({"model": "gpt-4o", "stream": true,
                    "messages": [{"role": "user", "content": "a long answer please"}]}),
        )
        .await;
    assert!(response.chunk().await.unwrap().is_some());
    drop(response);

    let span = harness.spans(&trace, 1).await.remove(0);
    assert_eq!(span.error_type.as_deref(), Some("client_disconnected"));
    assert!(span.output_messages.is_some());
    assert!(span.tokens_estimated);
    assert!(span.usage.output.unwrap() > 0);
    assert!(span.cost_usd.unwrap() > 0.0);
    let ok = harness
        .post(
            "/v1/chat/completions",
            &[],
            &json!({"model": "gpt-4o", "messages": []}),
        )
        .await;
    assert_eq!(ok.status(), 200);
}

/// Starts an upstream that sends `responses` in turn, one per request, as raw bytes, and closes
/// each connection after its response. Returns its OpenAI-style base URL.
async fn raw_upstream(responses: &'static [&'static [u8]]) -> String {
    let listener = loopback().await;
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        for response in responses {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut received = Vec::new();
            let mut buffer = [0; 4096];
            while !received.windows(4).any(|window| window == b"\r\n\r\n") {
                let read = stream.read(&mut buffer).await.unwrap();
                received.extend_from_slice(&buffer[..read]);
            }
            stream.write_all(response).await.unwrap();
        }
    });
    base
}

#[tokio::test]
async fn unusual_upstream_responses_are_passed_on_and_recorded() {
    let base = raw_upstream(&[
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 3\r\n\
          transfer-encoding: chunked\r\n\r\n9\r\n{\"id\":\"x\"\r\n1\r\n}\r\n0\r\n\r\n",
        b"HTTP/1.1 2OO OK\r\n\r\n",
    ])
    .await;
    let config = GatewayConfig {
        upstreams: vec![glassbox_gateway::UpstreamConfig {
            name: "raw".to_owned(),
            dialect: glassbox_gateway::Dialect::Openai,
            base_url: base,
            provider: None,
            models: vec!["raw-*".to_owned()],
            api_key_env: None,
            stream_usage: true,
        }],
        ..GatewayConfig::default()
    };
    let harness = Harness::with(config, MockOptions::default()).await;
    let call = json!({"model": "raw-1", "messages": [{"role": "user", "content": "hi"}]});

    // A response without a body is recorded as complete, not as a client that went away.
    let (trace, traceparent) = trace_context();
    let headers = [("traceparent", traceparent.as_str())];
    let response = harness.post("/v1/chat/completions", &headers, &call).await;
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    let span = harness.spans(&trace, 1).await.remove(0);
    assert_eq!(span.error_type, None);

    // A length beside chunked framing is not the body's and does not reach the client.
    let (_, traceparent) = trace_context();
    let headers = [("traceparent", traceparent.as_str())];
    let response = harness.post("/v1/chat/completions", &headers, &call).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "{\"id\":\"x\"}");

    let (trace, traceparent) = trace_context();
    let headers = [("traceparent", traceparent.as_str())];
    let response = harness.post("/v1/chat/completions", &headers, &call).await;
    let error = error_of(response, 502).await;
    assert_eq!(error["error"]["code"], "upstream_invalid_response");
    let span = harness.spans(&trace, 1).await.remove(0);
    assert_eq!(
        span.error_type.as_deref(),
        Some("upstream_invalid_response")
    );
}
