//! Export of generated traces. Spans are grouped into OTLP requests by resource and scope, as
//! SDKs send them. Two sinks deliver the requests: OTLP/HTTP protobuf to a server on this
//! machine, and the ingest pipeline of the server the demo runs in.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use glassbox_ingest::{Ingest, IngestError, WriteError};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use reqwest::{StatusCode, Url};

use crate::demo::catalog::services::Scope;
use crate::demo::trace::{DemoSpan, DemoTrace, Place, text};

/// `Span.flags`: the W3C sampled flag, and the bit saying that whether the parent is remote
/// is known (it is not).
const SPAN_FLAGS: u32 = 0x101;
/// Attempts of one request while the server throttles.
const MAX_ATTEMPTS: u32 = 30;
/// Longest wait between two attempts, whatever `Retry-After` requests.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
/// Wait between two attempts when the server names none.
const DEFAULT_RETRY_WAIT: Duration = Duration::from_secs(1);
/// Time after which an HTTP request counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The spans of one scope.
type ScopeGroup = (&'static Scope, Vec<Span>);

/// Builds one export request from whole traces: spans grouped by resource (service, version
/// and host) and then by scope, in the order they first appear.
pub fn request(traces: &[DemoTrace]) -> ExportTraceServiceRequest {
    let mut resources: Vec<(Place, Vec<ScopeGroup>)> = Vec::new();
    for trace in traces {
        for demo_span in &trace.spans {
            let resource = position_or_push(
                &mut resources,
                |(place, _)| *place == demo_span.place,
                || (demo_span.place, Vec::new()),
            );
            let scopes = &mut resources[resource].1;
            let scope = position_or_push(
                scopes,
                |(scope, _)| *scope == demo_span.scope,
                || (demo_span.scope, Vec::new()),
            );
            scopes[scope].1.push(otlp_span(trace.trace_id, demo_span));
        }
    }
    ExportTraceServiceRequest {
        resource_spans: resources
            .into_iter()
            .map(|(place, scopes)| resource_spans(place, scopes))
            .collect(),
    }
}

fn position_or_push<T>(
    items: &mut Vec<T>,
    matches: impl Fn(&T) -> bool,
    new: impl FnOnce() -> T,
) -> usize {
    if let Some(position) = items.iter().position(matches) {
        return position;
    }
    items.push(new());
    items.len() - 1
}

fn resource_spans(place: Place, scopes: Vec<ScopeGroup>) -> ResourceSpans {
    let service = place.service;
    let attributes = vec![
        text("service.name", service.name),
        text("service.version", service.version),
        text("service.namespace", "brightwater"),
        text("service.instance.id", place.host),
        text("host.name", place.host),
        text("deployment.environment.name", "production"),
        text("telemetry.sdk.language", "python"),
        text("telemetry.sdk.name", "opentelemetry"),
        text("telemetry.sdk.version", "1.37.0"),
    ];
    ResourceSpans {
        resource: Some(Resource {
            attributes,
            ..Resource::default()
        }),
        scope_spans: scopes
            .into_iter()
            .map(|(scope, spans)| ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: scope.name.to_owned(),
                    version: scope.version.to_owned(),
                    ..InstrumentationScope::default()
                }),
                spans,
                schema_url: String::new(),
            })
            .collect(),
        schema_url: String::new(),
    }
}

fn otlp_span(trace_id: [u8; 16], span: &DemoSpan) -> Span {
    Span {
        trace_id: trace_id.to_vec(),
        span_id: span.span_id.to_vec(),
        parent_span_id: span.parent.map(|id| id.to_vec()).unwrap_or_default(),
        flags: SPAN_FLAGS,
        name: span.name.clone(),
        kind: span.kind as i32,
        start_time_unix_nano: span.start,
        end_time_unix_nano: span.end,
        attributes: span.attributes.clone(),
        events: span.events.clone(),
        status: Some(Status {
            code: span.status as i32,
            message: span.status_message.clone(),
        }),
        ..Span::default()
    }
}

/// The destination of export requests.
#[derive(Clone)]
pub enum Sink {
    /// OTLP/HTTP protobuf to a Glassbox on this machine.
    Http(HttpSink),
    /// The ingest pipeline of the server this process runs.
    InProcess(Ingest),
}

/// The server's response to a delivered request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Committed, except the spans the server rejected as invalid.
    Accepted {
        /// Spans rejected in a partial success.
        rejected_spans: u64,
    },
    /// The server is shutting down and accepts nothing more.
    Closed,
}

impl Sink {
    /// Delivers a request, waiting and retrying while the server throttles.
    pub async fn send(&self, request: &ExportTraceServiceRequest) -> anyhow::Result<Delivery> {
        match self {
            Sink::Http(sink) => sink.send(request).await,
            Sink::InProcess(ingest) => send_in_process(ingest, request).await,
        }
    }
}

async fn send_in_process(
    ingest: &Ingest,
    request: &ExportTraceServiceRequest,
) -> anyhow::Result<Delivery> {
    for _ in 0..MAX_ATTEMPTS {
        match ingest.export_traces(None, request).await {
            Ok(rejections) => {
                let rejected_spans = u64::try_from(rejections.count).unwrap_or(0);
                return Ok(Delivery::Accepted { rejected_spans });
            }
            Err(IngestError::Write(
                WriteError::QueueFull { .. } | WriteError::QueueBytesFull { .. },
            )) => {
                tokio::time::sleep(DEFAULT_RETRY_WAIT).await;
            }
            Err(IngestError::Write(WriteError::Closed)) => return Ok(Delivery::Closed),
            Err(error) => return Err(anyhow::Error::new(error).context("failed to ingest")),
        }
    }
    bail!("the write queue stayed full after {MAX_ATTEMPTS} attempts")
}

/// A sender of OTLP/HTTP protobuf requests to a loopback address.
#[derive(Clone)]
pub struct HttpSink {
    client: reqwest::Client,
    url: Url,
}

impl HttpSink {
    /// Checks that `target` is an `http://` URL of this machine and builds the sender. The
    /// path `/v1/traces` is added unless the URL already ends with it.
    pub fn new(target: &str) -> anyhow::Result<HttpSink> {
        let url = traces_url(target)?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("failed to build the HTTP client")?;
        Ok(HttpSink { client, url })
    }

    /// Returns the URL requests go to.
    pub fn url(&self) -> &Url {
        &self.url
    }

    async fn send(&self, request: &ExportTraceServiceRequest) -> anyhow::Result<Delivery> {
        let body = request.encode_to_vec();
        for _ in 0..MAX_ATTEMPTS {
            let response = self
                .client
                .post(self.url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/x-protobuf")
                .body(body.clone())
                .send()
                .await
                .with_context(|| {
                    format!(
                        "failed to send to {}; is `glassbox serve` running there?",
                        self.url
                    )
                })?;
            let status = response.status();
            match status {
                StatusCode::OK => {
                    let bytes = response
                        .bytes()
                        .await
                        .context("failed to read the response")?;
                    let rejected_spans = rejected_spans(&bytes)?;
                    return Ok(Delivery::Accepted { rejected_spans });
                }
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                    tokio::time::sleep(retry_after(response.headers())).await;
                }
                _ => {
                    let bytes = response.bytes().await.unwrap_or_default();
                    let message = rpc_message(&bytes);
                    bail!(
                        "export to {} failed with HTTP {status}: {message}",
                        self.url
                    );
                }
            }
        }
        bail!(
            "{} still throttled the request after {MAX_ATTEMPTS} attempts",
            self.url
        )
    }
}

/// Reads `Retry-After` in seconds; HTTP dates and missing values give the default wait.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse::<u64>().ok())
        .map_or(DEFAULT_RETRY_WAIT, Duration::from_secs)
        .min(MAX_RETRY_WAIT)
}

fn rejected_spans(body: &[u8]) -> anyhow::Result<u64> {
    let response =
        ExportTraceServiceResponse::decode(body).context("invalid OTLP response body")?;
    let rejected = response
        .partial_success
        .map_or(0, |partial| partial.rejected_spans);
    Ok(u64::try_from(rejected).unwrap_or(0))
}

fn rpc_message(body: &[u8]) -> String {
    match glassbox_ingest::rpc::RpcStatus::decode(body) {
        Ok(status) if !status.message.is_empty() => status.message,
        _ => String::from_utf8_lossy(body).chars().take(200).collect(),
    }
}

/// Parses the target and checks that it is a plain HTTP address on this machine: the demo
/// sends made-up data and must never reach another host.
pub fn traces_url(target: &str) -> anyhow::Result<Url> {
    let mut url = Url::parse(target).with_context(|| {
        format!("invalid --target {target:?}: expected a URL such as http://127.0.0.1:4318")
    })?;
    if url.scheme() != "http" {
        bail!(
            "invalid --target {target:?}: only http:// is supported; Glassbox listens without TLS"
        );
    }
    if !is_loopback(&url) {
        bail!(
            "invalid --target {target:?}: the demo only sends to this machine \
             (127.0.0.0/8, ::1 or localhost)"
        );
    }
    if !url.path().ends_with("/v1/traces") {
        let path = format!("{}/v1/traces", url.path().trim_end_matches('/'));
        url.set_path(&path);
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let unbracketed = host.trim_start_matches('[').trim_end_matches(']');
    match unbracketed.parse::<IpAddr>() {
        Ok(address) => address.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_targets_are_accepted() {
        let cases = [
            ("http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"),
            (
                "http://127.8.9.10:7317/",
                "http://127.8.9.10:7317/v1/traces",
            ),
            ("http://[::1]:4318", "http://[::1]:4318/v1/traces"),
            (
                "http://localhost:4318/v1/traces",
                "http://localhost:4318/v1/traces",
            ),
            (
                "http://LOCALHOST:7317/api/public/otel",
                "http://localhost:7317/api/public/otel/v1/traces",
            ),
        ];
        for (target, expected) in cases {
            let url = traces_url(target);
            assert_eq!(
                url.map(|url| url.to_string()).ok().as_deref(),
                Some(expected),
                "{target}"
            );
        }
    }

    #[test]
    fn other_targets_are_rejected() {
        for target in [
            "http://10.0.0.5:4318",
            "http://192.168.1.2:4318",
            "http://example.com:4318",
            "http://localhost.example.com:4318",
            "http://[::2]:4318",
            "http://0.0.0.0:4318",
            "https://127.0.0.1:4318",
            "127.0.0.1:4318",
        ] {
            assert!(traces_url(target).is_err(), "{target} was accepted");
        }
    }

    #[test]
    fn retry_after_is_read_and_capped() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), DEFAULT_RETRY_WAIT);
        headers.insert(reqwest::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Duration::from_secs(3));
        headers.insert(reqwest::header::RETRY_AFTER, "3600".parse().unwrap());
        assert_eq!(retry_after(&headers), MAX_RETRY_WAIT);
    }
}
