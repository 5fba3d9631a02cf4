//! Bad requests and broken upstreams: a clear error in the provider's format, the call still
//! recorded, and the gateway still serving.

use std::io::Write;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
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
async fn raw_upstream(responses: Vec<Vec<u8>>) -> String {
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
            stream.write_all(&response).await.unwrap();
        }
    });
    base
}

/// Returns an upstream configuration named `raw` for the models `raw-*` at `base_url`.
fn raw_config(base_url: String) -> GatewayConfig {
    GatewayConfig {
        upstreams: vec![glassbox_gateway::UpstreamConfig {
            name: "raw".to_owned(),
            dialect: glassbox_gateway::Dialect::Openai,
            base_url,
            provider: None,
            models: vec!["raw-*".to_owned()],
            api_key_env: None,
            stream_usage: true,
        }],
        ..GatewayConfig::default()
    }
}

#[tokio::test]
async fn unusual_upstream_responses_are_passed_on_and_recorded() {
    let responses: [&[u8]; 3] = [
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 3\r\n\
          transfer-encoding: chunked\r\n\r\n9\r\n{\"id\":\"x\"\r\n1\r\n}\r\n0\r\n\r\n",
        b"HTTP/1.1 2OO OK\r\n\r\n",
    ];
    let base = raw_upstream(responses.map(<[u8]>::to_vec).to_vec()).await;
    let harness = Harness::with(raw_config(base), MockOptions::default()).await;
    let call = json!({"model": "raw-1", "messages": [{"role": "user", "content": "hi"}]});

    // A response without a body is recorded as complete, not as a client that went away.
    let (response, trace) = traced_chat(&harness, &call).await;
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    let span = harness.spans(&trace, 1).await.remove(0);
    assert_eq!(span.error_type, None);

    // A length beside chunked framing is not the body's and does not reach the client.
    let (response, _) = traced_chat(&harness, &call).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "{\"id\":\"x\"}");

    let (response, trace) = traced_chat(&harness, &call).await;
    let error = error_of(response, 502).await;
    assert_eq!(error["error"]["code"], "upstream_invalid_response");
    let span = harness.spans(&trace, 1).await.remove(0);
    assert_eq!(
        span.error_type.as_deref(),
        Some("upstream_invalid_response")
    );
}

/// Posts a chat call in a new trace and returns the response and the trace id.
async fn traced_chat(harness: &Harness, call: &Value) -> (reqwest::Response, String) {
    let (trace, traceparent) = trace_context();
    let headers = [("traceparent", traceparent.as_str())];
    let response = harness.post("/v1/chat/completions", &headers, call).await;
    (response, trace)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Frames `body` as a chunked response body in two chunks, split at its middle.
fn two_chunks(body: &[u8]) -> Vec<u8> {
    let (first, second) = body.split_at(body.len() / 2);
    let mut framed = Vec::new();
    for chunk in [first, second] {
        framed.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        framed.extend_from_slice(chunk);
        framed.extend_from_slice(b"\r\n");
    }
    framed.extend_from_slice(b"0\r\n\r\n");
    framed
}

#[tokio::test]
async fn compressed_responses_are_recorded_decoded() {
    let completion = json!({
        "id": "chatcmpl-z", "object": "chat.completion", "model": "raw-1",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "Packed reply"}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    });
    let body = gzip(completion.to_string().as_bytes());
    let mut whole = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    whole.extend_from_slice(&body);

    let events = [
        json!({"id": "c", "model": "raw-1", "usage": null,
               "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Packed "}}]}),
        json!({"id": "c", "model": "raw-1", "usage": null,
               "choices": [{"index": 0, "delta": {"content": "stream"}, "finish_reason": "stop"}]}),
        json!({"id": "c", "model": "raw-1", "choices": [],
               "usage": {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}}),
    ];
    let mut text: String = events
        .iter()
        .map(|event| format!("data: {event}\n\n"))
        .collect();
    text.push_str("data: [DONE]\n\n");
    let mut stream = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
        content-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n"
        .to_vec();
    stream.extend_from_slice(&two_chunks(&gzip(text.as_bytes())));

    let brotli = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
        content-encoding: br\r\ncontent-length: 4\r\n\r\n\x0b\x01\x80\x03"
        .to_vec();

    let base = raw_upstream(vec![whole, stream, brotli]).await;
    let harness = Harness::with(raw_config(base), MockOptions::default()).await;
    let call = |stream: bool| {
        json!({"model": "raw-1", "stream": stream,
               "messages": [{"role": "user", "content": "hi"}]})
    };

    let (response, trace) = traced_chat(&harness, &call(false)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(response.bytes().await.unwrap(), body);
    let span = harness.spans(&trace, 1).await.remove(0);
    assert_eq!(span.status, SpanStatus::Ok);
    let output = serde_json::to_value(span.output_messages.unwrap()).unwrap();
    assert!(output.to_string().contains("Packed reply"), "{output}");
    assert_eq!(span.usage.input, Some(5));
    assert_eq!(span.usage.output, Some(2));

    let (response, trace) = traced_chat(&harness, &call(true)).await;
    assert_eq!(response.status(), 200);
    // The compressed stream cannot be edited, so it reaches the client as it came.
    assert_eq!(response.bytes().await.unwrap(), gzip(text.as_bytes()));
    let span = harness.spans(&trace, 1).await.remove(0);
    assert_eq!(span.status, SpanStatus::Ok);
    let output = serde_json::to_value(span.output_messages.unwrap()).unwrap();
    assert!(output.to_string().contains("Packed stream"), "{output}");
    assert_eq!(span.usage.input, Some(4));
    assert_eq!(span.usage.output, Some(3));
    assert!(!span.tokens_estimated);
    assert!(span.ttft_ms.is_some());

    let (response, trace) = traced_chat(&harness, &call(false)).await;
    assert_eq!(response.status(), 200);
    let span = harness.spans(&trace, 1).await.remove(0);
    assert_eq!(span.error_type.as_deref(), Some("invalid_response"));
    let message = span.status_message.unwrap();
    assert!(message.contains("\"br\""), "{message}");
}
