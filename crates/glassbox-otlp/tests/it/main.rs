//! Decoding of real OTLP payloads recorded from instrumentation libraries.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

use glassbox_otlp::{DecodeError, Encoding, decode_logs, decode_traces, decompress};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

/// Payload pairs whose `.json` and `.pb` come from the same run (one shared expected file).
fn same_run_pairs() -> Vec<(PathBuf, PathBuf)> {
    let mut pairs = Vec::new();
    for corpus in ["otlp", "otlp-priced"] {
        for folder in fs::read_dir(fixtures().join(corpus)).unwrap() {
            for entry in fs::read_dir(folder.unwrap().path()).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let Some(stem) = name.strip_suffix(".expected.json") else {
                    continue;
                };
                if stem.ends_with(".pb") || stem.ends_with(".json") {
                    continue;
                }
                let json = path.with_file_name(format!("{stem}.json"));
                let pb = path.with_file_name(format!("{stem}.pb"));
                if json.exists() && pb.exists() {
                    pairs.push((json, pb));
                }
            }
        }
    }
    pairs
}

#[test]
fn json_and_protobuf_of_one_run_decode_equal() {
    let pairs = same_run_pairs();
    assert!(pairs.len() > 40, "found only {} pairs", pairs.len());
    for (json, pb) in pairs {
        let name = json.display().to_string();
        let json_body = fs::read(&json).unwrap();
        let pb_body = fs::read(&pb).unwrap();
        if name.contains("__logs__") {
            let from_json = decode_logs(Encoding::Json, &json_body).unwrap();
            let from_pb = decode_logs(Encoding::Protobuf, &pb_body).unwrap();
            let count = |request: &opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest| {
                request.resource_logs.iter().flat_map(|r| &r.scope_logs).map(|s| s.log_records.len()).sum::<usize>()
            };
            assert!(count(&from_json) > 0, "{name}");
            // The two log exporters may batch records differently; compare only when both
            // hold the same number of records.
            if count(&from_json) == count(&from_pb) {
                assert_eq!(from_json, from_pb, "{name}");
            }
        } else {
            let from_json = decode_traces(Encoding::Json, &json_body).unwrap();
            let from_pb = decode_traces(Encoding::Protobuf, &pb_body).unwrap();
            assert_eq!(from_json, from_pb, "{name}");
        }
    }
}

#[test]
fn gzip_protobuf_payload_decodes() {
    let path = fixtures().join("otlp/langfuse/langfuse__chat__traces__01.pb.gz");
    let body = decompress(&fs::read(path).unwrap(), Some("gzip"), 1 << 20).unwrap();
    let request = decode_traces(Encoding::Protobuf, &body).unwrap();
    assert!(!request.resource_spans.is_empty());
}

#[test]
fn truncated_protobuf_is_invalid() {
    let path = fixtures().join("otlp/otel-openai-v2/otel-openai-v2__chat__traces__01.pb");
    let body = fs::read(path).unwrap();
    let error = decode_traces(Encoding::Protobuf, &body[..body.len() / 2]).unwrap_err();
    assert!(matches!(error, DecodeError::InvalidProtobuf(_)), "{error}");
}

#[test]
fn json_error_names_the_field() {
    let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abc","spanId":"0102030405060708"}]}]}]}"#;
    let error = decode_traces(Encoding::Json, body).unwrap_err().to_string();
    assert_eq!(
        error,
        "invalid JSON body: resourceSpans[0].scopeSpans[0].spans[0].traceId: must be a hex string (OTLP/JSON ids are not base64)"
    );
}

#[test]
fn json_id_of_wrong_length_is_rejected() {
    let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102","spanId":"0102030405060708"}]}]}]}"#;
    let error = decode_traces(Encoding::Json, body).unwrap_err().to_string();
    assert!(
        error.contains("traceId: must be 16 bytes (32 hex characters), got 4 characters"),
        "{error}"
    );
}

#[test]
fn json_accepts_numbers_and_enum_names() {
    let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","kind":"SPAN_KIND_CLIENT","startTimeUnixNano":1700000000000000000,"status":{"code":2},"attributes":[{"key":"n","value":{"intValue":7}}]}]}]}]}"#;
    let request = decode_traces(Encoding::Json, body).unwrap();
    let span = &request.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.kind, 3);
    assert_eq!(span.start_time_unix_nano, 1_700_000_000_000_000_000);
    assert_eq!(span.status.as_ref().unwrap().code, 2);
}

#[test]
fn json_nesting_beyond_limit_is_rejected() {
    let mut value = r#"{"stringValue":"x"}"#.to_owned();
    for _ in 0..35 {
        value = format!(r#"{{"arrayValue":{{"values":[{value}]}}}}"#);
    }
    let body = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"attributes":[{{"key":"deep","value":{value}}}]}}]}}]}}]}}"#
    );
    let error = decode_traces(Encoding::Json, body.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(error.contains("nested deeper than 32 levels"), "{error}");
}

#[test]
fn malformed_json_is_invalid() {
    let error = decode_traces(Encoding::Json, b"{\"resourceSpans\": [").unwrap_err();
    assert!(matches!(error, DecodeError::InvalidJson(_)));
}
