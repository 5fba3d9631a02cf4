//! Small builders of OTLP requests for tests.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;

pub fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

pub fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

/// A chat span with GenAI attributes; `trace` and `span` seed the ids.
pub fn chat_span(trace: u64, span: u64, parent: Option<u64>, start_ns: u64) -> Span {
    let mut trace_id = vec![0u8; 8];
    trace_id.extend_from_slice(&(trace + 1).to_be_bytes());
    Span {
        trace_id,
        span_id: (span + 1).to_be_bytes().to_vec(),
        parent_span_id: parent
            .map(|p| (p + 1).to_be_bytes().to_vec())
            .unwrap_or_default(),
        name: "chat gpt-4o".into(),
        kind: 3,
        start_time_unix_nano: start_ns,
        end_time_unix_nano: start_ns + 250_000_000,
        attributes: vec![
            text("gen_ai.operation.name", "chat"),
            text("gen_ai.provider.name", "openai"),
            text("gen_ai.request.model", "gpt-4o"),
            int("gen_ai.usage.input_tokens", 100),
            int("gen_ai.usage.output_tokens", 20),
            text(
                "gen_ai.input.messages",
                r#"[{"role":"user","parts":[{"type":"text","content":"Where is the blue widget?"}]}]"#,
            ),
        ],
        status: Some(Status {
            code: 0,
            message: String::new(),
        }),
        ..Default::default()
    }
}

/// Wraps spans in a request from service `service`.
pub fn request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![text("service.name", service)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

pub fn encode(request: &ExportTraceServiceRequest) -> Vec<u8> {
    request.encode_to_vec()
}

/// Returns the hex trace id that `chat_span(trace, ..)` uses.
pub fn trace_hex(trace: u64) -> String {
    format!("0000000000000000{:016x}", trace + 1)
}

/// Returns the hex span id that `chat_span(_, span, ..)` uses.
pub fn span_hex(span: u64) -> String {
    format!("{:016x}", span + 1)
}

/// Posts a protobuf body to `{base}/v1/traces` with optional extra headers.
pub async fn post(
    base: &str,
    body: Vec<u8>,
    content_type: &str,
    encoding: Option<&str>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/v1/traces"))
        .header("content-type", content_type)
        .body(body);
    if let Some(encoding) = encoding {
        request = request.header("content-encoding", encoding);
    }
    request.send().await.unwrap()
}
