//! Turning one proxied call into a span.
//!
//! The request path only collects bytes and times into a [`CallRecord`]; everything here runs
//! later, on the recorder task: parsing the request and the response (whole or event by
//! event), pricing, the capture mode and the removal of credentials.

pub mod anthropic;
pub mod capture;
mod encoding;
pub mod openai;
pub mod reply;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use glassbox_analyze::AnalyzerConfig;
use glassbox_enrich::Enricher;
use glassbox_model::{Span, SpanStatus};
use serde_json::Value;

use crate::config::{CaptureMode, Dialect};
use crate::endpoint::Endpoint;
use crate::headers::CallContext;
use crate::sse;
use crate::upstream::{Secret, Upstream};
use reply::{Reply, error_of};

/// Maximum size of the upstream error body kept on a span, in bytes.
const MAX_ERROR_BODY: usize = 8 * 1024;
/// The request parameters recorded as `gen_ai.request.*` attributes.
const REQUEST_PARAMETERS: [(&str, &str); 9] = [
    ("temperature", "gen_ai.request.temperature"),
    ("top_p", "gen_ai.request.top_p"),
    ("top_k", "gen_ai.request.top_k"),
    ("max_tokens", "gen_ai.request.max_tokens"),
    ("max_completion_tokens", "gen_ai.request.max_tokens"),
    ("max_output_tokens", "gen_ai.request.max_tokens"),
    ("frequency_penalty", "gen_ai.request.frequency_penalty"),
    ("presence_penalty", "gen_ai.request.presence_penalty"),
    ("seed", "gen_ai.request.seed"),
];

/// Everything the request path learned about one call.
#[derive(Debug)]
pub struct CallRecord {
    /// The endpoint called.
    pub endpoint: Endpoint,
    /// The upstream chosen, when one was.
    pub upstream: Option<Arc<Upstream>>,
    /// The model name sent upstream, or the client's when the call went nowhere.
    pub model: Option<String>,
    /// Trace position and the gateway headers' fields.
    pub context: CallContext,
    /// When the gateway received the request, in nanoseconds since the Unix epoch.
    pub started_unix_nano: u64,
    /// The client's request body; empty when it was not read.
    pub request_body: Bytes,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// The response as received from the upstream.
    pub response: Captured,
    /// The way the call ended.
    pub outcome: Outcome,
    /// Times measured by the gateway.
    pub timings: Timings,
    /// Credentials the request carried, removed from anything recorded.
    pub secrets: Vec<Secret>,
}

/// The upstream's response bytes with their arrival times.
///
/// The bytes are copied out of the connection's buffers: keeping a slice would keep the whole
/// read buffer it came from alive while the call waits to be recorded.
#[derive(Debug, Default)]
pub struct Captured {
    /// The HTTP status sent to the client.
    pub status: u16,
    /// Whether the body is an event stream.
    pub event_stream: bool,
    /// The upstream's `content-encoding`, when it compressed the body anyway.
    pub encoding: Option<String>,
    /// The body bytes kept.
    pub body: Vec<u8>,
    /// Each chunk's arrival time, from the start of the call, and its end offset in `body`.
    pub arrivals: Vec<(Duration, usize)>,
    /// Whether chunks were left out because the response passed the capture limit.
    pub truncated: bool,
}

impl Captured {
    /// Keeps a chunk that arrived at `at`.
    pub fn push(&mut self, at: Duration, chunk: &[u8]) {
        self.body.extend_from_slice(chunk);
        self.arrivals.push((at, self.body.len()));
    }

    /// Returns the chunks in order with their arrival times.
    pub fn chunks(&self) -> impl Iterator<Item = (Duration, &[u8])> {
        let mut start = 0;
        self.arrivals.iter().map(move |&(at, end)| {
            let chunk = &self.body[start..end];
            start = end;
            (at, chunk)
        })
    }
}

/// The way a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The upstream's response reached the client whole.
    Completed,
    /// The upstream's body broke off.
    UpstreamBroke(String),
    /// The client went away before the response was complete.
    ClientGone,
    /// The gateway responded with an error of its own.
    Rejected {
        /// A short code, such as `upstream_timeout`.
        code: &'static str,
        /// The message sent to the client.
        message: String,
    },
}

/// Times of one call, from the moment the gateway received it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// Until the last byte was handed to the client.
    pub total: Duration,
    /// Spent waiting on the upstream: from sending the request to its last byte.
    pub upstream: Option<Duration>,
}

/// Settings of the recorder.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// The capture mode of recorded messages.
    pub capture: CaptureMode,
    /// The `service.name` of recorded spans.
    pub service_name: String,
    /// The analyzers that run on each recorded call, and the masking before storage.
    pub analyzers: Arc<AnalyzerConfig>,
}

/// Builds the span of one call.
pub fn build_span(mut record: CallRecord, options: &RecordOptions, enricher: &Enricher) -> Span {
    let mut span = base_span(&record, options);
    let request = serde_json::from_slice::<Value>(&record.request_body).ok();
    if let Some(request) = &request {
        read_request(&mut span, record.endpoint, request);
    }

    let reply = match encoding::decode(&mut record.response) {
        Ok(()) => read_response(&record),
        Err(reason) => Reply {
            undecodable: Some(reason),
            ..Reply::default()
        },
    };
    apply_reply(&mut span, &record, reply);
    set_timings(&mut span, &record);

    enrich(&mut span, &record.outcome, enricher);
    capture::scrub(&mut span, &record.secrets);
    // Before capture drops any content, so a call recorded without its messages still
    // carries its flags.
    glassbox_analyze::annotate(&mut span, &options.analyzers);
    capture::apply(&mut span, options.capture);
    span
}

/// Prices the span. A stream cut off after some output has cost tokens, which providers bill,
/// so it is priced like a success: the enricher leaves failed calls alone otherwise.
fn enrich(span: &mut Span, outcome: &Outcome, enricher: &Enricher) {
    let cut_off = matches!(outcome, Outcome::UpstreamBroke(_) | Outcome::ClientGone);
    if !(cut_off && span.output_messages.is_some()) {
        enricher.enrich(span);
        return;
    }
    let status = span.status;
    span.status = SpanStatus::Ok;
    enricher.enrich(span);
    span.status = status;
}

fn base_span(record: &CallRecord, options: &RecordOptions) -> Span {
    let operation = record.endpoint.operation();
    let name = match &record.model {
        Some(model) => format!("{operation} {model}"),
        None => operation.to_owned(),
    };
    let context = &record.context;
    let mut span = Span::new(context.trace_id, context.span_id, name);
    span.parent_span_id = context.parent_span_id;
    span.kind = record.endpoint.kind();
    span.service_name = Some(options.service_name.clone());
    span.scope_name = Some("glassbox.gateway".to_owned());
    span.operation = Some(operation.to_owned());
    span.request_model.clone_from(&record.model);
    span.streaming = Some(record.stream);
    span.user_id.clone_from(&context.user_id);
    span.session_id.clone_from(&context.session_id);
    span.tags.clone_from(&context.tags);
    span.metadata.clone_from(&context.metadata);
    span.resource_attributes.insert(
        "service.name".to_owned(),
        Value::String(options.service_name.clone()),
    );
    // A call rejected before routing still names the API it was made to.
    span.provider = Some(record.endpoint.dialect().as_str().to_owned());
    if let Some(upstream) = &record.upstream {
        span.provider = Some(upstream.provider.clone());
        attribute(
            &mut span,
            "gen_ai.provider.name",
            upstream.provider.as_str(),
        );
        attribute(&mut span, "server.address", upstream.host.as_str());
        attribute(
            &mut span,
            "glassbox.gateway.upstream",
            upstream.name.as_str(),
        );
    }
    attribute(&mut span, "gen_ai.operation.name", operation);
    span
}

fn read_request(span: &mut Span, endpoint: Endpoint, request: &Value) {
    span.input_messages = match endpoint.dialect() {
        Dialect::Openai => openai::input_messages(endpoint, request),
        Dialect::Anthropic => anthropic::input_messages(request),
    };
    if span.user_id.is_none() {
        span.user_id = match endpoint.dialect() {
            Dialect::Openai => reply::string(request, "user"),
            Dialect::Anthropic => anthropic::user_id(request),
        };
    }
    for (field, name) in REQUEST_PARAMETERS {
        if let Some(value) = request.get(field).filter(|value| value.is_number()) {
            span.attributes.insert(name.to_owned(), value.clone());
        }
    }
    if requests_json(request) {
        span.attributes
            .insert("gen_ai.output.type".to_owned(), Value::from("json"));
    }
}

/// Returns true when an OpenAI-style request requests JSON output: `response_format` of Chat
/// Completions, or `text.format` of the Responses API, of type `json_object` or
/// `json_schema`.
fn requests_json(request: &Value) -> bool {
    let format = request
        .pointer("/response_format/type")
        .or_else(|| request.pointer("/text/format/type"))
        .and_then(Value::as_str);
    matches!(format, Some("json_object" | "json_schema"))
}

/// Reads the response, whole or event by event.
fn read_response(record: &CallRecord) -> Reply {
    let mut reply = Reply::default();
    let captured = &record.response;
    if captured.body.is_empty() {
        return reply;
    }
    if captured.event_stream && captured.status < 400 {
        read_stream(record.endpoint, captured, &mut reply);
        return reply;
    }
    match serde_json::from_slice::<Value>(&captured.body) {
        Ok(body) if captured.status >= 400 => reply.error = error_of(&body),
        Ok(body) => match record.endpoint.dialect() {
            Dialect::Openai => openai::read_body(record.endpoint, &body, &mut reply),
            Dialect::Anthropic => anthropic::read_body(&body, &mut reply),
        },
        Err(_) => reply.malformed = captured.status < 400 && !captured.truncated,
    }
    reply
}

fn read_stream(endpoint: Endpoint, captured: &Captured, reply: &mut Reply) {
    let mut splitter = sse::Splitter::default();
    let mut openai = openai::Assembler::default();
    let mut anthropic = anthropic::Assembler::default();
    for (at, chunk) in captured.chunks() {
        for raw in splitter.push(chunk) {
            let event = sse::parse(&raw);
            if event.data.is_empty() {
                continue;
            }
            match endpoint.dialect() {
                Dialect::Openai => openai.event(endpoint, &event, at, reply),
                Dialect::Anthropic => anthropic.event(&event, at, reply),
            }
        }
    }
    openai.finish(reply);
    anthropic.finish(reply);
}

fn apply_reply(span: &mut Span, record: &CallRecord, reply: Reply) {
    let failure = failure(record, &reply);
    span.response_id = reply.id;
    span.response_model = reply.model;
    span.usage = reply.usage;
    span.finish_reasons = reply.finish_reasons;
    if !reply.output.is_empty() {
        span.output_messages = Some(reply.output);
    }
    if record.stream {
        span.ttft_ms = reply.first_token_at.map(millis);
    }
    let status = record.response.status;
    if status > 0 {
        span.attributes
            .insert("http.response.status_code".to_owned(), Value::from(status));
    }
    match failure {
        Some((code, message)) => {
            span.status = SpanStatus::Error;
            span.error_type = Some(code);
            span.status_message = Some(message);
            if status >= 400 && !record.response.body.is_empty() {
                keep_error_body(span, &record.response.body);
            }
        }
        None => span.status = SpanStatus::Ok,
    }
}

/// Returns the error code and message of a failed call, `None` for a success.
fn failure(record: &CallRecord, reply: &Reply) -> Option<(String, String)> {
    let status = record.response.status;
    match &record.outcome {
        Outcome::Rejected { code, message } => return Some(((*code).to_owned(), message.clone())),
        Outcome::UpstreamBroke(cause) => {
            let message = format!("the upstream's response broke off: {cause}");
            return Some(("upstream_broke_off".to_owned(), message));
        }
        Outcome::ClientGone => {
            let message = "the client disconnected before the response was complete";
            return Some(("client_disconnected".to_owned(), message.to_owned()));
        }
        Outcome::Completed => {}
    }
    if let Some(error) = &reply.error {
        return Some(error.clone());
    }
    if status >= 400 {
        return Some((
            format!("http_{status}"),
            format!("the upstream answered {status}"),
        ));
    }
    if let Some(reason) = &reply.undecodable {
        return Some(("invalid_response".to_owned(), reason.clone()));
    }
    if reply.malformed {
        let message = "the upstream's response could not be read as JSON events";
        return Some(("invalid_response".to_owned(), message.to_owned()));
    }
    let incomplete_stream = record.response.event_stream && !reply.complete;
    incomplete_stream.then(|| {
        let message = "the upstream's stream ended before its final event";
        ("stream_incomplete".to_owned(), message.to_owned())
    })
}

fn keep_error_body(span: &mut Span, body: &[u8]) {
    let end = char_boundary(body, MAX_ERROR_BODY);
    let text = String::from_utf8_lossy(&body[..end]).into_owned();
    span.attributes
        .insert("error.body".to_owned(), Value::String(text));
}

fn set_timings(span: &mut Span, record: &CallRecord) {
    let total = record.timings.total;
    span.start_time_unix_nano = record.started_unix_nano;
    span.end_time_unix_nano = record.started_unix_nano + total.as_nanos() as u64;
    if let Some(upstream) = record.timings.upstream {
        let overhead = total.saturating_sub(upstream);
        let values = [
            ("glassbox.gateway.upstream_ms", millis(upstream)),
            ("glassbox.gateway.overhead_ms", millis(overhead)),
        ];
        for (name, value) in values {
            span.attributes.insert(name.to_owned(), Value::from(value));
        }
    }
    if record.response.truncated {
        attribute(span, "glassbox.gateway.capture", "truncated");
    }
}

fn attribute(span: &mut Span, key: &str, value: &str) {
    span.attributes
        .insert(key.to_owned(), Value::String(value.to_owned()));
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Returns the longest prefix length up to `max` that does not split a UTF-8 character.
fn char_boundary(bytes: &[u8], max: usize) -> usize {
    let mut end = bytes.len().min(max);
    // A continuation byte is 0b10xx_xxxx.
    while end > 0 && end < bytes.len() && bytes[end] & 0xC0 == 0x80 {
        end -= 1;
    }
    end
}
