//! Injected errors, delays and broken streams, API-key checks, invalid bodies and the log.

use std::time::{Duration, Instant};

use glassbox_mock::{BEHAVIOR_HEADER, MockOptions};
use serde_json::{Value, json};

use crate::{get, header, post, read_stream, start};

const VERSION: (&str, &str) = ("anthropic-version", "2023-06-01");

fn chat(stream: bool) -> Value {
    json!({
        "model": "gpt-4o-mini",
        "stream": stream,
        "messages": [{"role": "user", "content": "Tell me something nice today"}],
    })
}

fn message(stream: bool) -> Value {
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 50,
        "stream": stream,
        "messages": [{"role": "user", "content": "Tell me something nice today"}],
    })
}

#[tokio::test]
async fn rate_limit_in_both_formats() {
    let server = start(MockOptions::default()).await;
    let behavior = (BEHAVIOR_HEADER, "error=429; retry_after=7");

    let openai = post(&server, "/v1/chat/completions", &chat(false), &[behavior]).await;
    let anthropic = post(
        &server,
        "/v1/messages",
        &message(false),
        &[behavior, VERSION],
    )
    .await;

    assert_eq!(openai.status(), 429);
    assert_eq!(header(&openai, "retry-after"), "7");
    let body: Value = openai.json().await.unwrap();
    assert_eq!(body["error"]["type"], "requests");
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert_eq!(body["error"]["param"], Value::Null);
    assert!(body["error"]["message"].is_string());
    assert_eq!(anthropic.status(), 429);
    assert_eq!(header(&anthropic, "retry-after"), "7");
    assert!(header(&anthropic, "request-id").starts_with("req_"));
    let body: Value = anthropic.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "rate_limit_error");
}

#[tokio::test]
async fn injected_error_types() {
    let server = start(MockOptions::default()).await;
    let cases = [
        (500, "server_error", "api_error"),
        (400, "invalid_request_error", "invalid_request_error"),
        (401, "invalid_request_error", "authentication_error"),
    ];

    for (status, openai_type, anthropic_type) in cases {
        let directive = format!("error={status}");
        let behavior = (BEHAVIOR_HEADER, directive.as_str());
        let openai = post(&server, "/v1/chat/completions", &chat(true), &[behavior]).await;
        let anthropic = post(&server, "/v1/messages", &message(true), &[behavior]).await;

        assert_eq!(openai.status(), status);
        assert_eq!(anthropic.status(), status);
        let openai: Value = openai.json().await.unwrap();
        let anthropic: Value = anthropic.json().await.unwrap();
        assert_eq!(openai["error"]["type"], openai_type, "status {status}");
        assert_eq!(
            anthropic["error"]["type"], anthropic_type,
            "status {status}"
        );
    }
}

#[tokio::test]
async fn invalid_bodies_get_400() {
    let server = start(MockOptions::default()).await;
    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://{}{path}", server.addr());

    let not_json = client
        .post(url("/v1/chat/completions"))
        .body("{oops")
        .send()
        .await
        .unwrap();
    let no_model = post(&server, "/v1/messages", &json!({"messages": []}), &[]).await;

    assert_eq!(not_json.status(), 400);
    let body: Value = not_json.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(no_model.status(), 400);
    let body: Value = no_model.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn unknown_directive_gets_400() {
    let server = start(MockOptions::default()).await;

    let response = post(
        &server,
        "/v1/chat/completions",
        &chat(false),
        &[(BEHAVIOR_HEADER, "explode")],
    )
    .await;

    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("explode")
    );
}

#[tokio::test]
async fn api_key_checked_per_provider() {
    let server = start(MockOptions {
        expected_api_key: Some("sk-test".to_owned()),
        ..MockOptions::default()
    })
    .await;

    let good_openai = post(
        &server,
        "/v1/chat/completions",
        &chat(false),
        &[("authorization", "Bearer sk-test")],
    )
    .await;
    let bad_openai = post(
        &server,
        "/v1/chat/completions",
        &chat(false),
        &[("authorization", "Bearer sk-other")],
    )
    .await;
    let good_anthropic = post(
        &server,
        "/v1/messages",
        &message(false),
        &[("x-api-key", "sk-test")],
    )
    .await;
    let bearer_anthropic = post(
        &server,
        "/v1/messages",
        &message(false),
        &[("authorization", "Bearer sk-test")],
    )
    .await;
    let missing_anthropic = post(&server, "/v1/messages", &message(false), &[]).await;

    assert_eq!(good_openai.status(), 200);
    assert_eq!(bad_openai.status(), 401);
    let body: Value = bad_openai.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_api_key");
    assert!(
        !body.to_string().contains("sk-other"),
        "the key is not echoed"
    );
    assert_eq!(good_anthropic.status(), 200);
    assert_eq!(bearer_anthropic.status(), 200);
    assert_eq!(missing_anthropic.status(), 401);
    let body: Value = missing_anthropic.json().await.unwrap();
    assert_eq!(body["error"]["type"], "authentication_error");
}

#[tokio::test]
async fn cut_after_truncates_stream() {
    let server = start(MockOptions::default()).await;
    let behavior = (BEHAVIOR_HEADER, "cut_after=3");

    let openai = post(&server, "/v1/chat/completions", &chat(true), &[behavior]).await;
    let openai = read_stream(openai).await;
    let anthropic = post(&server, "/v1/messages", &message(true), &[behavior]).await;
    let anthropic = read_stream(anthropic).await;

    assert!(openai.truncated, "the body ends with an error");
    assert_eq!(openai.events.len(), 3);
    assert!(openai.events.iter().all(|e| e.data != "[DONE]"));
    assert!(anthropic.truncated);
    assert_eq!(anthropic.events.len(), 3);
}

#[tokio::test]
async fn cut_after_truncates_json_body() {
    let server = start(MockOptions::default()).await;
    let behavior = (BEHAVIOR_HEADER, "cut_after=10");

    let response = post(&server, "/v1/chat/completions", &chat(false), &[behavior]).await;

    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.is_err());
}

#[tokio::test]
async fn malformed_line_mid_stream() {
    let server = start(MockOptions::default()).await;
    let behavior = (BEHAVIOR_HEADER, "malformed");

    let stream = post(&server, "/v1/chat/completions", &chat(true), &[behavior]).await;
    let stream = read_stream(stream).await;

    assert!(!stream.truncated);
    let broken: Vec<usize> = stream
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.data != "[DONE]" && serde_json::from_str::<Value>(&e.data).is_err())
        .map(|(index, _)| index)
        .collect();
    assert_eq!(broken.len(), 1);
    assert!(broken[0] > 0, "not the first event");
    assert!(broken[0] < stream.events.len() - 1, "not the last event");
    assert_eq!(stream.events.last().unwrap().data, "[DONE]");
}

#[tokio::test]
async fn finish_directives() {
    let server = start(MockOptions::default()).await;
    let length = (BEHAVIOR_HEADER, "finish=length");
    let filter = (BEHAVIOR_HEADER, "content_filter");

    let chat_length: Value = post(&server, "/v1/chat/completions", &chat(false), &[length])
        .await
        .json()
        .await
        .unwrap();
    let chat_filter: Value = post(&server, "/v1/chat/completions", &chat(false), &[filter])
        .await
        .json()
        .await
        .unwrap();
    let message_length: Value = post(&server, "/v1/messages", &message(false), &[length])
        .await
        .json()
        .await
        .unwrap();
    let message_filter = post(&server, "/v1/messages", &message(true), &[filter]).await;
    let message_filter = read_stream(message_filter).await;
    let responses = json!({"model": "gpt-4o", "input": "Hi"});
    let response_length: Value = post(&server, "/v1/responses", &responses, &[length])
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(chat_length["choices"][0]["finish_reason"], "length");
    assert_eq!(chat_filter["choices"][0]["finish_reason"], "content_filter");
    assert_eq!(message_length["stop_reason"], "max_tokens");
    let delta = message_filter
        .events
        .iter()
        .find(|e| e.name.as_deref() == Some("message_delta"))
        .unwrap();
    assert_eq!(delta.json()["delta"]["stop_reason"], "refusal");
    assert_eq!(response_length["status"], "incomplete");
    assert_eq!(
        response_length["incomplete_details"]["reason"],
        "max_output_tokens"
    );
}

#[tokio::test]
async fn delays_hold_headers_and_deltas() {
    let server = start(MockOptions::default()).await;

    let started = Instant::now();
    let delayed = post(
        &server,
        "/v1/chat/completions",
        &chat(false),
        &[(BEHAVIOR_HEADER, "delay_ms=50")],
    )
    .await;
    let header_wait = started.elapsed();
    let started = Instant::now();
    let paced = post(
        &server,
        "/v1/chat/completions",
        &chat(true),
        &[(BEHAVIOR_HEADER, "first_token_ms=30; chunk_ms=5")],
    )
    .await;
    let stream = read_stream(paced).await;
    let stream_time = started.elapsed();

    assert_eq!(delayed.status(), 200);
    assert!(header_wait >= Duration::from_millis(50), "{header_wait:?}");
    assert!(!stream.truncated);
    // 30 ms before the first of 8 pieces, then 5 ms before each of the other 7.
    assert!(stream_time >= Duration::from_millis(65), "{stream_time:?}");
}

#[tokio::test]
async fn option_delays_apply_to_json_replies() {
    let server = start(MockOptions {
        first_token_delay: Duration::from_millis(40),
        chunk_delay: Duration::from_millis(2),
        ..MockOptions::default()
    })
    .await;

    let started = Instant::now();
    let response = post(&server, "/v1/messages", &message(false), &[]).await;

    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(54));
}

#[tokio::test]
async fn log_keeps_requests_as_received() {
    let server = start(MockOptions::default()).await;
    let headers = [("authorization", "Bearer sk-client"), ("x-custom", "kept")];

    post(&server, "/v1/chat/completions", &chat(false), &headers).await;
    get(&server, "/v1/models?limit=5", &[]).await;

    let requests = server.log().requests();
    assert_eq!(requests.len(), 2);
    let first = &requests[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.path, "/v1/chat/completions");
    assert_eq!(first.header("authorization"), Some("Bearer sk-client"));
    assert_eq!(first.header("x-custom"), Some("kept"));
    assert_eq!(first.json().unwrap(), chat(false));
    assert_eq!(requests[1].query.as_deref(), Some("limit=5"));
    assert!(requests[1].body.is_empty());
    server.log().clear();
    assert!(server.log().requests().is_empty());
}

#[tokio::test]
async fn unknown_path_gets_404() {
    let server = start(MockOptions::default()).await;

    let response = post(&server, "/v1/nothing", &json!({}), &[]).await;

    assert_eq!(response.status(), 404);
    assert!(header(&response, "x-request-id").starts_with("req_"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn shutdown_stops_server() {
    let server = start(MockOptions::default()).await;
    let addr = server.addr();

    server.shutdown().await;

    let result = reqwest::get(format!("http://{addr}/v1/models")).await;
    assert!(result.is_err());
}
