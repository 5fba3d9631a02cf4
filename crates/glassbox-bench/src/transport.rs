//! Senders of export requests over OTLP/HTTP and OTLP/gRPC, one connection each.
//!
//! Bodies arrive already encoded (see `template`), so the gRPC sender uses a codec that
//! writes the bytes as they are instead of encoding a message, and decodes the
//! `ExportTraceServiceResponse` with prost as the generated client would.

use std::time::Duration;

use anyhow::Context;
use bytes::{Buf, BufMut, Bytes};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use reqwest::{StatusCode, Url};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::{Channel, Endpoint};

use crate::template::Encoding;

/// Time after which a request counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The gRPC method of trace export.
const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// The transports of OTLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// OTLP/HTTP: `POST /v1/traces`.
    Http,
    /// OTLP/gRPC: `TraceService/Export`.
    Grpc,
}

impl Transport {
    /// Returns the name used in labels and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Http => "http",
            Transport::Grpc => "grpc",
        }
    }
}

/// The receiver's response to one export request.
#[derive(Debug)]
pub enum Outcome {
    /// Committed, except `rejected_spans` reported in a partial success.
    Accepted {
        /// Spans the receiver reported as rejected.
        rejected_spans: u64,
    },
    /// Refused for now: HTTP 429 or 503, gRPC `UNAVAILABLE` or `RESOURCE_EXHAUSTED`.
    Throttled,
    /// Any other response, or none.
    Failed(String),
}

/// One connection to a receiver.
pub enum Sender {
    /// OTLP/HTTP with reqwest.
    Http(HttpSender),
    /// OTLP/gRPC with tonic.
    Grpc(GrpcSender),
}

impl Sender {
    /// Connects a sender to the receiver at `url`.
    pub async fn connect(
        transport: Transport,
        encoding: Encoding,
        url: &Url,
    ) -> anyhow::Result<Sender> {
        match transport {
            Transport::Http => Ok(Sender::Http(HttpSender::new(url, encoding)?)),
            Transport::Grpc => Ok(Sender::Grpc(GrpcSender::connect(url).await?)),
        }
    }

    /// Sends one encoded `ExportTraceServiceRequest`.
    pub async fn send(&mut self, body: Bytes) -> Outcome {
        match self {
            Sender::Http(sender) => sender.send(body).await,
            Sender::Grpc(sender) => sender.send(body).await,
        }
    }
}

/// A sender of OTLP/HTTP requests over one kept-alive connection.
pub struct HttpSender {
    client: reqwest::Client,
    url: Url,
    encoding: Encoding,
}

impl HttpSender {
    fn new(url: &Url, encoding: Encoding) -> anyhow::Result<HttpSender> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(1)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("failed to build the HTTP client")?;
        Ok(HttpSender {
            client,
            url: url.clone(),
            encoding,
        })
    }

    async fn send(&self, body: Bytes) -> Outcome {
        let content_type = match self.encoding {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        };
        let response = match self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
        {
            Ok(response) => response,
            Err(error) => return Outcome::Failed(format!("request failed: {error}")),
        };
        let status = response.status();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(error) => return Outcome::Failed(format!("failed to read the response: {error}")),
        };
        match status {
            StatusCode::OK => accepted(self.encoding, &body),
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => Outcome::Throttled,
            other => Outcome::Failed(format!("HTTP {other}: {}", excerpt(&body))),
        }
    }
}

/// Reads the partial success of a 200 response.
fn accepted(encoding: Encoding, body: &[u8]) -> Outcome {
    let rejected = match encoding {
        Encoding::Protobuf => match ExportTraceServiceResponse::decode(body) {
            Ok(response) => response
                .partial_success
                .map_or(0, |partial| partial.rejected_spans),
            Err(error) => return Outcome::Failed(format!("invalid protobuf response: {error}")),
        },
        Encoding::Json if body.is_empty() => 0,
        Encoding::Json => match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(response) => json_rejected_spans(&response),
            Err(error) => return Outcome::Failed(format!("invalid JSON response: {error}")),
        },
    };
    Outcome::Accepted {
        rejected_spans: u64::try_from(rejected).unwrap_or(0),
    }
}

/// Reads `partialSuccess.rejectedSpans`, a string in OTLP/JSON but a number from some senders.
fn json_rejected_spans(response: &serde_json::Value) -> i64 {
    let value = &response["partialSuccess"]["rejectedSpans"];
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
        .unwrap_or(0)
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(200).collect()
}

/// A sender of OTLP/gRPC requests over one HTTP/2 connection.
pub struct GrpcSender {
    client: tonic::client::Grpc<Channel>,
}

impl GrpcSender {
    async fn connect(url: &Url) -> anyhow::Result<GrpcSender> {
        let channel = Endpoint::from_shared(url.to_string())
            .with_context(|| format!("invalid gRPC address {url}"))?
            .timeout(REQUEST_TIMEOUT)
            .connect()
            .await
            .with_context(|| format!("failed to connect to {url}"))?;
        Ok(GrpcSender {
            client: tonic::client::Grpc::new(channel),
        })
    }

    async fn send(&mut self, body: Bytes) -> Outcome {
        if let Err(error) = self.client.ready().await {
            return Outcome::Failed(format!("gRPC connection failed: {error}"));
        }
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(EXPORT_PATH);
        let result = self
            .client
            .unary(tonic::Request::new(body), path, RawCodec)
            .await;
        match result {
            Ok(response) => Outcome::Accepted {
                rejected_spans: response.into_inner().partial_success.map_or(0, |partial| {
                    u64::try_from(partial.rejected_spans).unwrap_or(0)
                }),
            },
            Err(status)
                if matches!(
                    status.code(),
                    tonic::Code::Unavailable | tonic::Code::ResourceExhausted
                ) =>
            {
                Outcome::Throttled
            }
            Err(status) => {
                Outcome::Failed(format!("gRPC {:?}: {}", status.code(), status.message()))
            }
        }
    }
}

/// Sends pre-encoded request bytes and decodes the trace export response.
#[derive(Debug, Clone, Copy)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: Bytes,
        destination: &mut EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        destination.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        source: &mut DecodeBuf<'_>,
    ) -> Result<Option<ExportTraceServiceResponse>, tonic::Status> {
        let bytes = source.copy_to_bytes(source.remaining());
        ExportTraceServiceResponse::decode(bytes)
            .map(Some)
            .map_err(|error| tonic::Status::internal(format!("invalid response: {error}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_partial_success_as_string_or_number() {
        let text = serde_json::json!({"partialSuccess": {"rejectedSpans": "3"}});
        assert_eq!(json_rejected_spans(&text), 3);
        let number = serde_json::json!({"partialSuccess": {"rejectedSpans": 4}});
        assert_eq!(json_rejected_spans(&number), 4);
        assert_eq!(json_rejected_spans(&serde_json::json!({})), 0);
    }
}
