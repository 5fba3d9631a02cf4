//! Replays every recorded payload over OTLP/HTTP (protobuf and JSON) and OTLP/gRPC, then
//! checks the normalized fields through the API against the expected files.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use glassbox_otlp::{DecodeError, Encoding};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use serde_json::Value;
use tonic::codec::CompressionEncoding;

use crate::server::Server;

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

/// One recorded request body.
#[derive(Debug, Clone)]
pub struct Payload {
    pub path: PathBuf,
    pub encoding: Encoding,
    pub gzip: bool,
    pub signal: &'static str,
}

impl Payload {
    fn from_path(path: PathBuf) -> Option<Payload> {
        let name = path.file_name()?.to_str()?.to_owned();
        if name.ends_with(".decoded.json") || name.ends_with(".expected.json") {
            return None;
        }
        let (encoding, gzip) = if name.ends_with(".pb.gz") {
            (Encoding::Protobuf, true)
        } else if name.ends_with(".pb") {
            (Encoding::Protobuf, false)
        } else if name.ends_with(".json") {
            (Encoding::Json, false)
        } else {
            return None;
        };
        let signal = ["traces", "logs", "metrics"]
            .into_iter()
            .find(|signal| name.contains(&format!("__{signal}__")))?;
        Some(Payload {
            path,
            encoding,
            gzip,
            signal,
        })
    }

    pub fn is_langfuse(&self) -> bool {
        self.path.to_string_lossy().contains("/langfuse/")
    }

    /// Returns the body as it goes on the wire.
    pub fn body(&self) -> Vec<u8> {
        fs::read(&self.path).unwrap()
    }

    /// Returns the body decompressed.
    pub fn plain_body(&self) -> Vec<u8> {
        let body = self.body();
        if self.gzip {
            glassbox_otlp::decompress(&body, Some("gzip"), 64 << 20).unwrap()
        } else {
            body
        }
    }
}

/// Every payload of both recordings.
pub fn all_payloads() -> Vec<Payload> {
    let mut payloads = Vec::new();
    for corpus in ["otlp", "otlp-priced"] {
        let mut folders: Vec<_> = fs::read_dir(fixtures_dir().join(corpus))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        folders.sort();
        for folder in folders {
            let mut files: Vec<_> = fs::read_dir(folder)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            payloads.extend(files.into_iter().filter_map(Payload::from_path));
        }
    }
    payloads
}

/// Every expected file, parsed, with its path.
fn expected_files() -> Vec<(PathBuf, Value)> {
    let mut files = Vec::new();
    for corpus in ["otlp", "otlp-priced"] {
        for folder in fs::read_dir(fixtures_dir().join(corpus)).unwrap() {
            for entry in fs::read_dir(folder.unwrap().path()).unwrap() {
                let path = entry.unwrap().path();
                if path.to_string_lossy().ends_with(".expected.json") {
                    let json: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
                    files.push((path, json));
                }
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// How payloads travel to the server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transport {
    HttpProtobuf,
    HttpJson,
    Grpc,
}

impl Transport {
    fn encoding(self) -> Encoding {
        match self {
            Transport::HttpJson => Encoding::Json,
            _ => Encoding::Protobuf,
        }
    }
}

/// Sends one payload over HTTP and returns the status and body.
pub async fn post_http(base: &str, payload: &Payload) -> (u16, Vec<u8>) {
    let prefix = if payload.is_langfuse() {
        "/api/public/otel"
    } else {
        ""
    };
    let url = format!("{base}{prefix}/v1/{}", payload.signal);
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", payload.encoding.content_type())
        .body(payload.body());
    if payload.gzip {
        request = request.header("content-encoding", "gzip");
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

async fn post_grpc(address: &str, payload: &Payload) -> Result<(), tonic::Status> {
    let body = payload.plain_body();
    let decode_error = |error: DecodeError| tonic::Status::internal(error.to_string());
    match payload.signal {
        "traces" => {
            let request =
                glassbox_otlp::decode_traces(Encoding::Protobuf, &body).map_err(decode_error)?;
            let mut client = TraceServiceClient::connect(address.to_owned())
                .await
                .unwrap()
                .send_compressed(CompressionEncoding::Gzip);
            client.export(request).await.map(|_| ())
        }
        "logs" => {
            let request =
                glassbox_otlp::decode_logs(Encoding::Protobuf, &body).map_err(decode_error)?;
            let mut client = LogsServiceClient::connect(address.to_owned())
                .await
                .unwrap();
            client.export(request).await.map(|_| ())
        }
        _ => {
            let request =
                glassbox_otlp::decode_metrics(Encoding::Protobuf, &body).map_err(decode_error)?;
            let mut client = MetricsServiceClient::connect(address.to_owned())
                .await
                .unwrap()
                .send_compressed(CompressionEncoding::Gzip);
            client.export(request).await.map(|_| ())
        }
    }
}

/// Sends every payload of the transport's encoding; logs first for protobuf over HTTP (so
/// their content waits for the span) and last otherwise (so it is applied to a stored span).
async fn replay(server: &Server, transport: Transport) -> Vec<String> {
    let mut payloads: Vec<Payload> = all_payloads()
        .into_iter()
        .filter(|p| p.encoding == transport.encoding())
        .collect();
    if transport == Transport::HttpProtobuf {
        payloads.sort_by_key(|p| p.signal != "logs");
    } else if transport == Transport::HttpJson {
        payloads.sort_by_key(|p| p.signal == "logs");
    }
    let mut sent = Vec::new();
    for payload in &payloads {
        match transport {
            Transport::Grpc => post_grpc(&server.otlp_grpc, payload)
                .await
                .unwrap_or_else(|status| panic!("{}: {status}", payload.path.display())),
            Transport::HttpProtobuf => {
                let (status, body) = post_http(&server.otlp_http, payload).await;
                assert_eq!(
                    status,
                    200,
                    "{}: {}",
                    payload.path.display(),
                    String::from_utf8_lossy(&body)
                );
                assert!(
                    body.is_empty(),
                    "{}: unexpected partial success",
                    payload.path.display()
                );
            }
            Transport::HttpJson => {
                let (status, body) = post_http(&server.api, payload).await;
                assert_eq!(
                    status,
                    200,
                    "{}: {}",
                    payload.path.display(),
                    String::from_utf8_lossy(&body)
                );
                assert_eq!(body, b"{}", "{}", payload.path.display());
            }
        }
        sent.push(
            payload
                .path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        );
    }
    sent
}

/// Looks spans up through the trace API, one request per trace.
struct SpanLookup<'a> {
    server: &'a Server,
    traces: HashMap<String, Value>,
}

impl SpanLookup<'_> {
    async fn span(&mut self, trace_id: &str, span_id: &str) -> Option<Value> {
        if !self.traces.contains_key(trace_id) {
            let response = reqwest::get(format!("{}/api/v1/traces/{trace_id}", self.server.api))
                .await
                .unwrap();
            let json = if response.status() == 200 {
                response.json().await.unwrap()
            } else {
                Value::Null
            };
            self.traces.insert(trace_id.to_owned(), json);
        }
        self.traces[trace_id]["spans"]
            .as_array()?
            .iter()
            .find(|span| span["span_id"] == span_id)
            .cloned()
    }
}

fn texts_equal(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            (a - b).abs() <= 1e-12 * a.abs().max(1.0)
        }
        _ => expected == actual,
    }
}

fn compare_messages(expected: &Value, actual: &Value) -> Result<(), String> {
    let (Some(expected), Some(actual)) = (expected.as_array(), actual.as_array()) else {
        return Err(format!("expected messages, got {actual}"));
    };
    let roles = |list: &Vec<Value>| {
        list.iter()
            .map(|m| m["role"].as_str().unwrap_or("?").to_owned())
            .collect::<Vec<_>>()
    };
    if roles(expected) != roles(actual) {
        return Err(format!(
            "roles {:?} != {:?}",
            roles(actual),
            roles(expected)
        ));
    }
    for (index, (want, got)) in expected.iter().zip(actual).enumerate() {
        if let Some(content) = want.get("content")
            && got.get("content") != Some(content)
        {
            {
                return Err(format!(
                    "message {index} content {:?} != {content}",
                    got.get("content")
                ));
            }
        }
        if let Some(calls) = want.get("tool_calls").and_then(Value::as_array) {
            let got_calls = got
                .get("tool_calls")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if calls.len() != got_calls.len() {
                return Err(format!(
                    "message {index}: {} tool calls, expected {}",
                    got_calls.len(),
                    calls.len()
                ));
            }
            for (want_call, got_call) in calls.iter().zip(&got_calls) {
                if want_call["name"] != got_call["name"]
                    || want_call["arguments"] != got_call["arguments"]
                {
                    return Err(format!(
                        "message {index}: tool call {got_call} != {want_call}"
                    ));
                }
            }
        }
        if let Some(id) = want.get("tool_call_id")
            && got.get("tool_call_id") != Some(id)
        {
            {
                return Err(format!(
                    "message {index}: tool_call_id {:?} != {id}",
                    got.get("tool_call_id")
                ));
            }
        }
    }
    Ok(())
}

/// Compares one expected span with the API's span; returns the mismatches.
fn compare_span(expected: &Value, actual: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (field, want) in expected.as_object().unwrap() {
        let got = actual.get(field).unwrap_or(&Value::Null);
        let problem = match field.as_str() {
            "span_id" => None,
            "expected_cost_status" => match want.as_str().unwrap() {
                "unpriced"
                    if actual["cost_status"] == "unpriced" && actual["cost_usd"].is_null() =>
                {
                    None
                }
                "reported" if actual["cost_status"] == "reported" => None,
                _ => Some(format!(
                    "cost_status {} cost_usd {}, expected {want}",
                    actual["cost_status"], actual["cost_usd"]
                )),
            },
            "ttft_ms" => match (want.as_f64(), got.as_f64()) {
                (Some(a), Some(b)) if (a - b).abs() <= 1.0 => None,
                _ => Some(format!("ttft_ms {got} != {want}")),
            },
            "input_messages" | "output_messages" => compare_messages(want, got)
                .err()
                .map(|p| format!("{field}: {p}")),
            _ if texts_equal(want, got) => None,
            _ => Some(format!("{field} {got} != {want}")),
        };
        problems.extend(problem);
    }
    problems
}

/// Checks every expected span whose payload was sent; returns the mismatches.
async fn check(server: &Server, sent: &[String], transport: Transport) -> (usize, Vec<String>) {
    let mut lookup = SpanLookup {
        server,
        traces: HashMap::new(),
    };
    let mut checked = 0;
    let mut problems = Vec::new();
    for (path, file) in expected_files() {
        let payload_files: Vec<&str> = file["payload_files"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if !payload_files
            .iter()
            .any(|name| sent.iter().any(|s| s == name))
        {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for expected in file["spans"].as_array().unwrap() {
            let trace_id = expected["trace_id"].as_str().unwrap();
            let span_id = expected["span_id"].as_str().unwrap();
            checked += 1;
            match lookup.span(trace_id, span_id).await {
                None => problems.push(format!("{transport:?} {name} span {span_id}: not found")),
                Some(actual) => {
                    for problem in compare_span(expected, &actual) {
                        problems.push(format!("{transport:?} {name} span {span_id}: {problem}"));
                    }
                }
            }
        }
    }
    (checked, problems)
}

async fn replay_and_check(transport: Transport) {
    let server = Server::start();
    let sent = replay(&server, transport).await;
    let (checked, problems) = check(&server, &sent, transport).await;
    assert!(checked > 100, "{transport:?}: only {checked} spans checked");
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[tokio::test]
async fn fixtures_over_http_protobuf() {
    replay_and_check(Transport::HttpProtobuf).await;
}

#[tokio::test]
async fn fixtures_over_http_json() {
    replay_and_check(Transport::HttpJson).await;
}

#[tokio::test]
async fn fixtures_over_grpc() {
    replay_and_check(Transport::Grpc).await;
}
