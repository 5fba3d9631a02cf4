//! Anthropic's formats: messages, streamed or not, tool use and token counting.

use glassbox_mock::{CACHED_TOKENS, MockOptions, TOOL_CALL_OUTPUT_TOKENS};
use serde_json::{Value, json};

use crate::{header, post, read_stream, start};

const VERSION: (&str, &str) = ("anthropic-version", "2023-06-01");

fn message_body(text: &str) -> Value {
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "system": "You are terse.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
    })
}

fn with_tool(mut body: Value) -> Value {
    body["tools"] = json!([{
        "name": "get_weather",
        "description": "Weather of a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }]);
    body
}

#[tokio::test]
async fn message_object_with_cache_read() {
    let server = start(MockOptions::default()).await;

    let response = post(
        &server,
        "/v1/messages",
        &message_body("Hi [cached]"),
        &[VERSION],
    )
    .await;

    assert_eq!(response.status(), 200);
    assert!(header(&response, "request-id").starts_with("req_"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(
        body["content"],
        json!([{"type": "text", "text": "Mock reply to: Hi [cached]"}])
    );
    assert_eq!(body["stop_reason"], "end_turn");
    assert_eq!(body["stop_sequence"], Value::Null);
    assert_eq!(
        body["usage"],
        json!({
            "input_tokens": 5,
            "output_tokens": 5,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": CACHED_TOKENS,
        })
    );
}

#[tokio::test]
async fn message_stream_events() {
    let server = start(MockOptions {
        chunks: 4,
        ..MockOptions::default()
    })
    .await;
    let mut body = message_body("Hello there");
    body["stream"] = json!(true);

    let response = post(&server, "/v1/messages", &body, &[VERSION]).await;

    assert_eq!(
        header(&response, "content-type"),
        "text/event-stream; charset=utf-8"
    );
    let stream = read_stream(response).await;
    assert!(!stream.truncated);
    let names: Vec<&str> = stream
        .events
        .iter()
        .map(|e| e.name.as_deref().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    let events: Vec<Value> = stream.events.iter().map(|e| e.json()).collect();
    for (event, name) in events.iter().zip(&names) {
        assert_eq!(event["type"], *name);
    }
    assert_eq!(events[0]["message"]["usage"]["input_tokens"], 5);
    assert_eq!(events[0]["message"]["content"], json!([]));
    assert_eq!(
        events[1]["content_block"],
        json!({"type": "text", "text": ""})
    );
    let text: String = events[3..7]
        .iter()
        .map(|e| {
            assert_eq!(e["delta"]["type"], "text_delta");
            e["delta"]["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(text, "Mock reply to: Hello there");
    assert_eq!(events[8]["delta"]["stop_reason"], "end_turn");
    assert_eq!(events[8]["usage"]["output_tokens"], 5);
}

#[tokio::test]
async fn message_tool_use() {
    let server = start(MockOptions::default()).await;
    let body = with_tool(message_body("Use a tool for Paris"));

    let body: Value = post(&server, "/v1/messages", &body, &[VERSION])
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(body["stop_reason"], "tool_use");
    let block = &body["content"][0];
    assert_eq!(block["type"], "tool_use");
    assert!(block["id"].as_str().unwrap().starts_with("toolu_"));
    assert_eq!(block["name"], "get_weather");
    assert_eq!(block["input"], json!({"city": "mock"}));
    assert_eq!(body["usage"]["output_tokens"], TOOL_CALL_OUTPUT_TOKENS);
}

#[tokio::test]
async fn message_tool_use_stream() {
    let server = start(MockOptions::default()).await;
    let mut body = with_tool(message_body("use a tool"));
    body["stream"] = json!(true);

    let stream = read_stream(post(&server, "/v1/messages", &body, &[VERSION]).await).await;

    let events: Vec<Value> = stream.events.iter().map(|e| e.json()).collect();
    let start = &events[1]["content_block"];
    assert_eq!(start["type"], "tool_use");
    assert_eq!(start["name"], "get_weather");
    assert_eq!(start["input"], json!({}));
    let json: String = events
        .iter()
        .filter(|e| e["type"] == "content_block_delta")
        .map(|e| {
            assert_eq!(e["delta"]["type"], "input_json_delta");
            e["delta"]["partial_json"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(json, r#"{"city":"mock"}"#);
    let delta = events
        .iter()
        .find(|e| e["type"] == "message_delta")
        .unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
}

#[tokio::test]
async fn count_tokens_counts_all_texts() {
    let server = start(MockOptions::default()).await;

    let response = post(
        &server,
        "/v1/messages/count_tokens",
        &message_body("How many tokens is this"),
        &[VERSION],
    )
    .await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"input_tokens": 8}));
}
