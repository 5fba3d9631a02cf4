//! The OTLP/HTTP receiver: `/v1/traces`, `/v1/logs`, `/v1/metrics`, and the same paths under
//! `/api/public/otel` for senders configured for Langfuse.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use glassbox_otlp::{DecodeError, Encoding};
use http_body_util::BodyExt;
use prost::Message;
use serde_json::json;

use crate::convert::Rejections;
use crate::rpc::RpcStatus;
use crate::service::{Ingest, IngestError, Signal};
use crate::writer::WriteError;

/// gRPC status codes used in failure bodies.
const CODE_INVALID_ARGUMENT: i32 = 3;
const CODE_RESOURCE_EXHAUSTED: i32 = 8;
const CODE_UNAVAILABLE: i32 = 14;

/// Seconds a throttled sender is asked to wait.
const RETRY_AFTER_SECONDS: &str = "1";

/// Builds the OTLP/HTTP routes.
pub fn router(ingest: Ingest) -> Router {
    let routes = Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/logs", post(logs))
        .route("/v1/metrics", post(metrics));
    Router::new()
        .merge(routes.clone())
        .nest("/api/public/otel", routes)
        .with_state(ingest)
}

async fn traces(State(ingest): State<Ingest>, headers: HeaderMap, body: Body) -> Response {
    export(ingest, headers, body, Signal::Traces).await
}

async fn logs(State(ingest): State<Ingest>, headers: HeaderMap, body: Body) -> Response {
    export(ingest, headers, body, Signal::Logs).await
}

async fn metrics(State(ingest): State<Ingest>, headers: HeaderMap, body: Body) -> Response {
    export(ingest, headers, body, Signal::Metrics).await
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

async fn export(ingest: Ingest, headers: HeaderMap, body: Body, signal: Signal) -> Response {
    let encoding = match Encoding::from_content_type(header_text(&headers, header::CONTENT_TYPE)) {
        Ok(encoding) => encoding,
        Err(error) => return failure(Encoding::Json, &IngestError::Decode(error)),
    };
    match receive(&ingest, &headers, body, signal, encoding).await {
        Ok(rejections) => success(encoding, signal, &rejections),
        Err(error) => failure(encoding, &error),
    }
}

async fn receive(
    ingest: &Ingest,
    headers: &HeaderMap,
    body: Body,
    signal: Signal,
    encoding: Encoding,
) -> Result<Rejections, IngestError> {
    let limit = ingest.options().max_body_bytes;
    if announces_too_large(headers, limit) {
        // The client waits for "100 Continue" before it sends the body, so it can be
        // rejected now without reading it.
        return Err(DecodeError::TooLarge { limit }.into());
    }
    let compressed = read_body(body, limit).await?;
    let bytes = glassbox_otlp::decompress(
        &compressed,
        header_text(headers, header::CONTENT_ENCODING),
        limit,
    )?;
    drop(compressed);
    // Before decoding: when the queue is full, a rejected request costs little.
    let room = ingest.writer().reserve_bytes(bytes.len()).await?;

    let submitted = match signal {
        Signal::Traces => {
            let request = glassbox_otlp::decode_traces(encoding, &bytes)
                .map_err(|error| explain_assumed_protobuf(error, headers))?;
            drop(bytes);
            ingest.submit_traces(room, &request)?
        }
        Signal::Logs => {
            let request = glassbox_otlp::decode_logs(encoding, &bytes)
                .map_err(|error| explain_assumed_protobuf(error, headers))?;
            drop(bytes);
            ingest.submit_logs(room, &request)?
        }
        Signal::Metrics => {
            let request = glassbox_otlp::decode_metrics(encoding, &bytes)
                .map_err(|error| explain_assumed_protobuf(error, headers))?;
            drop(bytes);
            ingest.submit_metrics(room, &request)?
        }
    };
    submitted.wait().await
}

/// Returns true when the request waits for `100 Continue` and its `Content-Length` is over
/// `limit`. A body counts against the limit before decompression too.
fn announces_too_large(headers: &HeaderMap, limit: usize) -> bool {
    let expects_continue = header_text(headers, header::EXPECT)
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("100-continue"));
    let length = header_text(headers, header::CONTENT_LENGTH)
        .and_then(|value| value.trim().parse::<u64>().ok());
    expects_continue && length.is_some_and(|length| length > limit as u64)
}

/// Adds to a protobuf error that protobuf was only assumed, when the request named no content
/// type: a sender of OTLP/JSON without the header would otherwise read a puzzling message.
fn explain_assumed_protobuf(error: DecodeError, headers: &HeaderMap) -> DecodeError {
    match error {
        DecodeError::InvalidProtobuf(message) if !headers.contains_key(header::CONTENT_TYPE) => {
            DecodeError::InvalidProtobuf(format!(
                "{message} (the request has no Content-Type header, so protobuf was assumed; \
                 send Content-Type: application/json for OTLP/JSON)"
            ))
        }
        other => other,
    }
}

/// Reads a body of at most `limit` bytes. A larger body is still read and discarded, up to
/// `limit` bytes more, because a client cut off while sending gets a broken connection instead
/// of the 413 response and would retry the same body forever. Beyond that the connection closes.
async fn read_body(mut body: Body, limit: usize) -> Result<Vec<u8>, DecodeError> {
    let mut bytes = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| DecodeError::Read(error.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len());
        if total <= limit {
            bytes.extend_from_slice(&data);
        } else if total > limit.saturating_mul(2) {
            break;
        }
    }
    if total > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    Ok(bytes)
}

fn success(encoding: Encoding, signal: Signal, rejections: &Rejections) -> Response {
    let body = match encoding {
        Encoding::Protobuf => protobuf_response(signal, rejections),
        Encoding::Json => json_response(signal, rejections),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, encoding.content_type())],
        body,
    )
        .into_response()
}

fn protobuf_response(signal: Signal, rejections: &Rejections) -> Vec<u8> {
    use opentelemetry_proto::tonic::collector::{logs, metrics, trace};

    let rejected = rejections.count > 0;
    match signal {
        Signal::Traces => trace::v1::ExportTraceServiceResponse {
            partial_success: rejected.then(|| trace::v1::ExportTracePartialSuccess {
                rejected_spans: rejections.count,
                error_message: rejections.message(),
            }),
        }
        .encode_to_vec(),
        Signal::Logs => logs::v1::ExportLogsServiceResponse {
            partial_success: rejected.then(|| logs::v1::ExportLogsPartialSuccess {
                rejected_log_records: rejections.count,
                error_message: rejections.message(),
            }),
        }
        .encode_to_vec(),
        Signal::Metrics => metrics::v1::ExportMetricsServiceResponse {
            partial_success: rejected.then(|| metrics::v1::ExportMetricsPartialSuccess {
                rejected_data_points: rejections.count,
                error_message: rejections.message(),
            }),
        }
        .encode_to_vec(),
    }
}

fn json_response(signal: Signal, rejections: &Rejections) -> Vec<u8> {
    if rejections.count == 0 {
        return b"{}".to_vec();
    }
    let count_field = match signal {
        Signal::Traces => "rejectedSpans",
        Signal::Logs => "rejectedLogRecords",
        Signal::Metrics => "rejectedDataPoints",
    };
    json!({
        "partialSuccess": {
            count_field: rejections.count.to_string(),
            "errorMessage": rejections.message(),
        }
    })
    .to_string()
    .into_bytes()
}

/// Maps an ingest error to its HTTP status, gRPC code and whether the sender should retry.
fn classify(error: &IngestError) -> (StatusCode, i32, bool) {
    match error {
        IngestError::Decode(DecodeError::TooLarge { .. }) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            CODE_RESOURCE_EXHAUSTED,
            false,
        ),
        IngestError::Decode(
            DecodeError::UnsupportedContentType(_) | DecodeError::UnsupportedEncoding(_),
        ) => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            CODE_INVALID_ARGUMENT,
            false,
        ),
        IngestError::Decode(_) | IngestError::AllRejected(_) => {
            (StatusCode::BAD_REQUEST, CODE_INVALID_ARGUMENT, false)
        }
        IngestError::Write(WriteError::BatchTooLarge { .. }) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            CODE_RESOURCE_EXHAUSTED,
            false,
        ),
        IngestError::Write(WriteError::QueueFull { .. } | WriteError::QueueBytesFull { .. }) => {
            (StatusCode::TOO_MANY_REQUESTS, CODE_UNAVAILABLE, true)
        }
        IngestError::Write(WriteError::Closed | WriteError::Store(_)) => {
            (StatusCode::SERVICE_UNAVAILABLE, CODE_UNAVAILABLE, true)
        }
    }
}

fn failure(encoding: Encoding, error: &IngestError) -> Response {
    let (status, code, retry) = classify(error);
    let message = error.to_string();
    if status.is_server_error() {
        tracing::warn!(%status, error = %message, "OTLP export failed");
    } else {
        tracing::debug!(%status, error = %message, "OTLP export rejected");
    }
    let body = match encoding {
        Encoding::Protobuf => RpcStatus {
            code,
            message,
            details: Vec::new(),
        }
        .encode_to_vec(),
        Encoding::Json => json!({"code": code, "message": message})
            .to_string()
            .into_bytes(),
    };
    let mut response = (
        status,
        [(header::CONTENT_TYPE, encoding.content_type())],
        body,
    )
        .into_response();
    if retry {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECONDS),
        );
    }
    response
}
