//! Malformed and hostile requests: each gets a clear 4xx, the server keeps serving and
//! nothing accepted before is lost.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use glassbox_ingest::rpc::RpcStatus;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, any_value};
use prost::Message;
use serde_json::Value;

use crate::otlp::{chat_span, encode, int, post, request, span_hex, trace_hex};
use crate::server::Server;

const PROTOBUF: &str = "application/x-protobuf";

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

async fn status_message(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = response.bytes().await.unwrap();
    let message = if content_type.contains("json") {
        let json: Value = serde_json::from_slice(&body).unwrap();
        json["message"].as_str().unwrap().to_owned()
    } else {
        RpcStatus::decode(body.as_ref()).unwrap().message
    };
    (status, message)
}

/// Sends one good span first, so every test can check it survives.
async fn server_with_one_span() -> Server {
    let server = Server::start_in_temp(&[("GLASSBOX_INGEST__MAX_BODY_BYTES", "4194304")]);
    let body = encode(&request(
        "before",
        vec![chat_span(1, 1, None, 1_700_000_000_000_000_000)],
    ));
    assert_eq!(
        post(&server.otlp_http, body, PROTOBUF, None).await.status(),
        200
    );
    server
}

async fn assert_still_serving(server: &mut Server) {
    assert!(server.is_running(), "server exited");
    let trace = server
        .get_json(&format!("/api/v1/traces/{}", trace_hex(1)))
        .await;
    assert_eq!(trace["spans"][0]["span_id"], span_hex(1));
    let body = encode(&request(
        "after",
        vec![chat_span(2, 2, None, 1_700_000_000_000_000_000)],
    ));
    assert_eq!(
        post(&server.otlp_http, body, PROTOBUF, None).await.status(),
        200
    );
}

#[tokio::test]
async fn truncated_protobuf_is_400() {
    let mut server = server_with_one_span().await;
    let body = encode(&request("svc", vec![chat_span(3, 3, None, 1)]));
    let response = post(
        &server.otlp_http,
        body[..body.len() - 7].to_vec(),
        PROTOBUF,
        None,
    )
    .await;
    let (status, message) = status_message(response).await;
    assert_eq!(status, 400);
    assert!(message.starts_with("invalid protobuf body"), "{message}");
    assert_still_serving(&mut server).await;
}

#[tokio::test]
async fn invalid_json_is_400() {
    let mut server = server_with_one_span().await;
    let response = post(
        &server.api,
        b"{\"resourceSpans\": [".to_vec(),
        "application/json",
        None,
    )
    .await;
    let (status, message) = status_message(response).await;
    assert_eq!(status, 400);
    assert!(message.starts_with("invalid JSON body"), "{message}");
    assert_still_serving(&mut server).await;
}

#[tokio::test]
async fn unsupported_content_type_is_415() {
    let mut server = server_with_one_span().await;
    let response = post(&server.otlp_http, b"hello".to_vec(), "text/plain", None).await;
    let (status, message) = status_message(response).await;
    assert_eq!(status, 415);
    assert!(message.contains("text/plain"), "{message}");
    assert_still_serving(&mut server).await;
}

#[tokio::test]
async fn corrupt_gzip_is_400() {
    let mut server = server_with_one_span().await;
    let mut body = gzip(&encode(&request("svc", vec![chat_span(3, 3, None, 1)])));
    let middle = body.len() / 2;
    body[middle] ^= 0xff;
    body.truncate(body.len() - 4);
    let response = post(&server.otlp_http, body, PROTOBUF, Some("gzip")).await;
    let (status, message) = status_message(response).await;
    assert_eq!(status, 400);
    assert!(message.starts_with("invalid gzip body"), "{message}");
    assert_still_serving(&mut server).await;
}

#[tokio::test]
async fn gzip_bomb_is_413() {
    let mut server = server_with_one_span().await;
    let bomb = gzip(&vec![0u8; 64 * 1024 * 1024]);
    assert!(bomb.len() < 512 * 1024);
    let response = post(&server.otlp_http, bomb, PROTOBUF, Some("gzip")).await;
    let (status, message) = status_message(response).await;
    assert_eq!(status, 413);
    assert!(message.contains("4194304 bytes"), "{message}");
    assert_still_serving(&mut server).await;
}

#[tokio::test]
async fn oversized_plain_body_is_413() {
    let mut server = server_with_one_span().await;
    let response = post(
        &server.otlp_http,
        vec![0u8; 5 * 1024 * 1024],
        PROTOBUF,
        None,
    )
    .await;
    assert_eq!(response.status(), 413);
    assert_still_serving(&mut server).await;
}

#[tokio::test]
async fn wrong_id_length_rejects_only_that_span() {
    let mut server = server_with_one_span().await;
    let mut bad = chat_span(4, 4, None, 1_700_000_000_000_000_000);
    bad.trace_id = vec![1, 2, 3];
    let good = chat_span(5, 5, None, 1_700_000_000_000_000_000);
    let response = post(
        &server.otlp_http,
        encode(&request("svc", vec![bad, good])),
        PROTOBUF,
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    let answer = ExportTraceServiceResponse::decode(response.bytes().await.unwrap()).unwrap();
    let partial = answer.partial_success.unwrap();
    assert_eq!(partial.rejected_spans, 1);
    assert!(
        partial
            .error_message
            .contains("trace_id must be 16 bytes, got 3"),
        "{}",
        partial.error_message
    );
    assert!(
        partial.error_message.contains("chat gpt-4o"),
        "{}",
        partial.error_message
    );
    let trace = server
        .get_json(&format!("/api/v1/traces/{}", trace_hex(5)))
        .await;
    assert_eq!(trace["trace"]["span_count"], 1);
    assert_still_serving(&mut server).await;
}

#[tokio::test]
async fn request_of_only_invalid_spans_is_400() {
    let mut server = server_with_one_span().await;
    let mut bad = chat_span(6, 6, None, 1);
    bad.span_id = vec![9; 4];
    let response = post(
        &server.otlp_http,
        encode(&request("svc", vec![bad])),
        PROTOBUF,
        None,
    )
    .await;
    let (status, message) = status_message(response).await;
    assert_eq!(status, 400);
    assert!(
        message.contains("span_id must be 8 bytes, got 4"),
        "{message}"
    );
    assert_still_serving(&mut server).await;
}

#[tokio::test]
async fn json_id_of_wrong_length_is_400() {
    let mut server = server_with_one_span().await;
    let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abcd","spanId":"0102030405060708","name":"x"}]}]}]}"#;
    let (status, message) =
        status_message(post(&server.api, body.to_vec(), "application/json", None).await).await;
    assert_eq!(status, 400);
    assert!(
        message.contains("resourceSpans[0].scopeSpans[0].spans[0].traceId"),
        "{message}"
    );
    assert_still_serving(&mut server).await;
}

#[tokio::test]
async fn invalid_utf8_in_protobuf_is_400() {
    let mut server = server_with_one_span().await;
    let mut span = chat_span(7, 7, None, 1);
    span.name = "NAMEMARK".into();
    let mut body = encode(&request("svc", vec![span]));
    let at = body
        .windows(8)
        .position(|window| window == b"NAMEMARK")
        .unwrap();
    body[at] = 0xff;
    body[at + 1] = 0xfe;
    let (status, message) =
        status_message(post(&server.otlp_http, body, PROTOBUF, None).await).await;
    assert_eq!(status, 400);
    assert!(message.contains("UTF-8"), "{message}");
    assert_still_serving(&mut server).await;
}

#[tokio::test]
async fn hundred_thousand_attributes_are_rejected() {
    let mut server = server_with_one_span().await;
    let mut span = chat_span(8, 8, None, 1);
    span.attributes = (0..100_000)
        .map(|index| int(&format!("k{index}"), index))
        .collect();
    let (status, message) = status_message(
        post(
            &server.otlp_http,
            encode(&request("svc", vec![span])),
            PROTOBUF,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        message.contains("100000 attributes, more than the limit of 10000"),
        "{message}"
    );
    assert_still_serving(&mut server).await;
}

#[tokio::test]
async fn deeply_nested_value_is_400() {
    let mut server = server_with_one_span().await;
    let mut value = AnyValue {
        value: Some(any_value::Value::IntValue(1)),
    };
    for _ in 0..200 {
        value = AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue {
                values: vec![value],
            })),
        };
    }
    let mut span = chat_span(9, 9, None, 1);
    span.attributes[0].value = Some(value);
    let (status, message) = status_message(
        post(
            &server.otlp_http,
            encode(&request("svc", vec![span])),
            PROTOBUF,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(message.contains("recursion limit"), "{message}");
    assert_still_serving(&mut server).await;
}

#[tokio::test]
async fn moderately_nested_value_is_kept() {
    let mut server = server_with_one_span().await;
    let mut value = AnyValue {
        value: Some(any_value::Value::IntValue(1)),
    };
    for _ in 0..20 {
        value = AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue {
                values: vec![value],
            })),
        };
    }
    let mut span = chat_span(10, 10, None, 1_700_000_000_000_000_000);
    span.attributes
        .push(opentelemetry_proto::tonic::common::v1::KeyValue {
            key: "nested".into(),
            value: Some(value),
            ..Default::default()
        });
    assert_eq!(
        post(
            &server.otlp_http,
            encode(&request("svc", vec![span])),
            PROTOBUF,
            None
        )
        .await
        .status(),
        200
    );
    let trace = server
        .get_json(&format!("/api/v1/traces/{}", trace_hex(10)))
        .await;
    let mut nested = &trace["spans"][0]["attributes"]["nested"];
    for _ in 0..20 {
        nested = &nested[0];
    }
    assert_eq!(nested, 1);
    assert_still_serving(&mut server).await;
}

#[tokio::test]
async fn wrong_method_and_path_are_rejected() {
    let mut server = server_with_one_span().await;
    let response = reqwest::get(format!("{}/v1/traces", server.otlp_http))
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let response = reqwest::get(format!("{}/api/v1/nothing", server.api))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["error"]["code"], "not_found");
    assert_still_serving(&mut server).await;
}
