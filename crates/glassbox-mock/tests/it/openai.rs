//! OpenAI's formats: chat, legacy completions, embeddings, Responses and models.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use glassbox_mock::{CACHED_TOKENS, MockOptions, TOOL_CALL_OUTPUT_TOKENS};
use serde_json::{Value, json};

use crate::{get, header, post, read_stream, start};

fn chat_body(text: &str) -> Value {
    json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": text},
        ],
    })
}

fn weather_tool() -> Value {
    json!([{"type": "function", "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }}])
}

#[tokio::test]
async fn chat_completion_object() {
    let server = start(MockOptions::default()).await;

    let response = post(
        &server,
        "/v1/chat/completions",
        &chat_body("Hello there"),
        &[],
    )
    .await;

    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "application/json");
    assert!(header(&response, "x-request-id").starts_with("req_"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Mock reply to: Hello there"
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["usage"]["prompt_tokens"], 5);
    assert_eq!(body["usage"]["completion_tokens"], 5);
    assert_eq!(body["usage"]["total_tokens"], 10);
    assert_eq!(body["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
    assert_eq!(
        body["usage"]["completion_tokens_details"]["reasoning_tokens"],
        0
    );
}

#[tokio::test]
async fn chat_cached_marker() {
    let server = start(MockOptions::default()).await;

    let response = post(
        &server,
        "/v1/chat/completions",
        &chat_body("[cached] hi"),
        &[],
    )
    .await;

    let body: Value = response.json().await.unwrap();
    assert_eq!(body["usage"]["prompt_tokens"], 5 + CACHED_TOKENS);
    assert_eq!(
        body["usage"]["prompt_tokens_details"]["cached_tokens"],
        CACHED_TOKENS
    );
}

#[tokio::test]
async fn chat_stream_without_usage() {
    let server = start(MockOptions::default()).await;
    let mut body = chat_body("Tell me a long story please");
    body["stream"] = json!(true);

    let response = post(&server, "/v1/chat/completions", &body, &[]).await;

    assert_eq!(
        header(&response, "content-type"),
        "text/event-stream; charset=utf-8"
    );
    let stream = read_stream(response).await;
    assert!(!stream.truncated);
    let (last, chunks) = stream.events.split_last().unwrap();
    assert_eq!(last.data, "[DONE]");
    assert_eq!(
        chunks.len(),
        1 + 8 + 1,
        "role chunk, 8 pieces, finish chunk"
    );

    let chunks: Vec<Value> = chunks.iter().map(|event| event.json()).collect();
    for chunk in &chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert!(chunk.get("usage").is_none(), "usage in {chunk}");
    }
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks[1..9]
        .iter()
        .map(|c| c["choices"][0]["delta"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Mock reply to: Tell me a long story please");
    assert_eq!(chunks[9]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[9]["choices"][0]["delta"], json!({}));
}

#[tokio::test]
async fn chat_stream_with_usage() {
    let server = start(MockOptions::default()).await;
    let mut body = chat_body("Hi");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});

    let stream = read_stream(post(&server, "/v1/chat/completions", &body, &[]).await).await;

    let (done, chunks) = stream.events.split_last().unwrap();
    assert_eq!(done.data, "[DONE]");
    let chunks: Vec<Value> = chunks.iter().map(|event| event.json()).collect();
    let (usage_chunk, others) = chunks.split_last().unwrap();
    for chunk in others {
        assert_eq!(chunk["usage"], Value::Null, "chunk {chunk}");
        assert!(chunk.get("usage").is_some());
        assert_eq!(chunk["choices"].as_array().unwrap().len(), 1);
    }
    assert_eq!(usage_chunk["choices"], json!([]));
    assert_eq!(usage_chunk["usage"]["prompt_tokens"], 4);
    assert_eq!(usage_chunk["usage"]["completion_tokens"], 4);
    assert_eq!(usage_chunk["usage"]["total_tokens"], 8);
}

#[tokio::test]
async fn chat_tool_call() {
    let server = start(MockOptions::default()).await;
    let mut body = chat_body("Please use a tool for Paris");
    body["tools"] = weather_tool();

    let response = post(&server, "/v1/chat/completions", &body, &[]).await;

    let body: Value = response.json().await.unwrap();
    let choice = &body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], Value::Null);
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(call["type"], "function");
    assert!(call["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(call["function"]["arguments"], r#"{"city":"mock"}"#);
    assert_eq!(body["usage"]["completion_tokens"], TOOL_CALL_OUTPUT_TOKENS);
}

#[tokio::test]
async fn chat_tool_call_stream() {
    let server = start(MockOptions::default()).await;
    let mut body = chat_body("use a tool");
    body["tools"] = weather_tool();
    body["stream"] = json!(true);

    let stream = read_stream(post(&server, "/v1/chat/completions", &body, &[]).await).await;

    let chunks: Vec<Value> = stream.events[..stream.events.len() - 1]
        .iter()
        .map(|event| event.json())
        .collect();
    let first = &chunks[0]["choices"][0]["delta"]["tool_calls"][0];
    assert_eq!(first["function"]["name"], "get_weather");
    assert_eq!(first["function"]["arguments"], "");
    let fragments: Vec<&str> = chunks[1..chunks.len() - 1]
        .iter()
        .map(|c| {
            c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(fragments.len() > 1, "arguments arrive in several chunks");
    assert_eq!(fragments.concat(), r#"{"city":"mock"}"#);
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "tool_calls"
    );
}

#[tokio::test]
async fn completions_object_and_stream() {
    let server = start(MockOptions::default()).await;
    let mut body = json!({"model": "gpt-3.5-turbo-instruct", "prompt": "Say this is a test"});

    let plain: Value = post(&server, "/v1/completions", &body, &[])
        .await
        .json()
        .await
        .unwrap();
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let stream = read_stream(post(&server, "/v1/completions", &body, &[]).await).await;

    assert_eq!(plain["object"], "text_completion");
    assert_eq!(
        plain["choices"][0]["text"],
        "Mock reply to: Say this is a test"
    );
    assert_eq!(plain["usage"]["prompt_tokens"], 5);
    assert_eq!(plain["usage"]["completion_tokens"], 8);
    let events = &stream.events;
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| e.json())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"].get(0))
        .map(|choice| choice["text"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Mock reply to: Say this is a test");
    let usage_chunk = chunks.last().unwrap();
    assert_eq!(usage_chunk["choices"], json!([]));
    assert_eq!(usage_chunk["usage"]["total_tokens"], 13);
}

#[tokio::test]
async fn embeddings_float_and_base64() {
    let server = start(MockOptions::default()).await;
    let request = |format: &str| {
        json!({
            "model": "text-embedding-3-small",
            "input": ["one two", "three"],
            "encoding_format": format,
            "dimensions": 4,
        })
    };

    let floats: Value = post(&server, "/v1/embeddings", &request("float"), &[])
        .await
        .json()
        .await
        .unwrap();
    let encoded: Value = post(&server, "/v1/embeddings", &request("base64"), &[])
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(floats["object"], "list");
    assert_eq!(
        floats["usage"],
        json!({"prompt_tokens": 3, "total_tokens": 3})
    );
    assert_eq!(floats["data"][1]["index"], 1);
    let vector: Vec<f64> = floats["data"][0]["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(vector.len(), 4);
    let bytes = STANDARD
        .decode(encoded["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    let decoded: Vec<f64> = bytes
        .chunks_exact(4)
        .map(|b| f64::from(f32::from_le_bytes(b.try_into().unwrap())))
        .collect();
    assert_eq!(decoded, vector);
}

#[tokio::test]
async fn responses_object() {
    let server = start(MockOptions::default()).await;
    let body = json!({"model": "gpt-4o", "instructions": "Be brief.", "input": "Hi [cached]"});

    let body: Value = post(&server, "/v1/responses", &body, &[])
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(body["object"], "response");
    assert_eq!(body["status"], "completed");
    let message = &body["output"][0];
    assert_eq!(message["type"], "message");
    assert_eq!(message["content"][0]["type"], "output_text");
    assert_eq!(message["content"][0]["text"], "Mock reply to: Hi [cached]");
    let usage = &body["usage"];
    assert_eq!(usage["input_tokens"], 4 + CACHED_TOKENS);
    assert_eq!(
        usage["input_tokens_details"]["cached_tokens"],
        CACHED_TOKENS
    );
    assert_eq!(usage["output_tokens"], 5);
    assert_eq!(usage["output_tokens_details"]["reasoning_tokens"], 0);
    assert_eq!(usage["total_tokens"], 9 + CACHED_TOKENS);
}

#[tokio::test]
async fn responses_stream_events() {
    let server = start(MockOptions {
        chunks: 3,
        ..MockOptions::default()
    })
    .await;
    let body = json!({"model": "gpt-4o", "input": "Hello", "stream": true});

    let stream = read_stream(post(&server, "/v1/responses", &body, &[]).await).await;

    let names: Vec<&str> = stream
        .events
        .iter()
        .map(|e| e.name.as_deref().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    for (index, event) in stream.events.iter().enumerate() {
        let data = event.json();
        assert_eq!(data["type"], event.name.as_deref().unwrap());
        assert_eq!(data["sequence_number"], index);
    }
    let deltas: String = stream.events[4..7]
        .iter()
        .map(|e| e.json()["delta"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(deltas, "Mock reply to: Hello");
    let completed = stream.events.last().unwrap().json();
    assert_eq!(completed["response"]["status"], "completed");
    assert_eq!(completed["response"]["usage"]["output_tokens"], 4);
}

#[tokio::test]
async fn models_in_both_formats() {
    let server = start(MockOptions::default()).await;

    let openai: Value = get(&server, "/v1/models", &[]).await.json().await.unwrap();
    let anthropic: Value = get(
        &server,
        "/v1/models",
        &[("anthropic-version", "2023-06-01")],
    )
    .await
    .json()
    .await
    .unwrap();
    let one: Value = get(&server, "/v1/models/gpt-4o", &[])
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(openai["object"], "list");
    assert_eq!(openai["data"][0]["object"], "model");
    assert_eq!(anthropic["has_more"], false);
    assert_eq!(anthropic["data"][0]["type"], "model");
    assert_eq!(anthropic["first_id"], anthropic["data"][0]["id"]);
    assert_eq!(anthropic["last_id"], anthropic["data"][1]["id"]);
    assert_eq!(one["id"], "gpt-4o");
    assert_eq!(one["object"], "model");
}
