//! The OTLP/gRPC receiver: the trace, logs and metrics `Export` services, gzip accepted.
//!
//! tonic decodes a request before its handler runs. [`ReserveLayer`] therefore reads each
//! export request's body and reserves its bytes in the write queue first, so that a full
//! queue costs a rejected request only its reading, as over OTLP/HTTP.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tonic::codec::CompressionEncoding;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

use crate::rpc::{ProtoAny, ProtoDuration, RETRY_INFO_TYPE_URL, RetryInfo, RpcStatus};
use crate::service::{Ingest, IngestError};
use crate::writer::{Reservation, WriteError};

/// Paths of the OTLP export services, whose requests take room in the write queue.
const EXPORT_PATH_PREFIX: &str = "/opentelemetry.proto.collector.";
/// Bytes of the gRPC frame header before each message: a compression flag and a length.
const FRAME_HEADER_BYTES: usize = 5;
/// Seconds a throttled sender is asked to wait, in the status's `RetryInfo`.
const RETRY_DELAY_SECONDS: i64 = 1;

/// Builds the gRPC routes of the three services.
pub fn routes(ingest: Ingest) -> Routes {
    let limit = ingest.options().max_body_bytes;
    let receiver = Receiver { ingest };
    let traces = TraceServiceServer::new(receiver.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit);
    let logs = LogsServiceServer::new(receiver.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit);
    let metrics = MetricsServiceServer::new(receiver)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit);
    Routes::new(traces).add_service(logs).add_service(metrics)
}

#[derive(Clone)]
struct Receiver {
    ingest: Ingest,
}

/// A tower layer for the gRPC server that reserves queue room for export requests before they
/// are decoded.
#[derive(Clone)]
pub struct ReserveLayer {
    ingest: Ingest,
}

impl ReserveLayer {
    /// Creates the layer over the receivers' shared state.
    pub fn new(ingest: Ingest) -> ReserveLayer {
        ReserveLayer { ingest }
    }
}

impl<S> tower::Layer<S> for ReserveLayer {
    type Service = Reserve<S>;

    fn layer(&self, inner: S) -> Reserve<S> {
        Reserve {
            inner,
            ingest: self.ingest.clone(),
        }
    }
}

/// The service of [`ReserveLayer`].
#[derive(Clone)]
pub struct Reserve<S> {
    inner: S,
    ingest: Ingest,
}

/// Room reserved for a request before decoding, passed to its handler in the request's
/// extensions, which must be cloneable.
#[derive(Clone)]
struct ReservedRoom(Arc<Mutex<Option<Reservation>>>);

impl ReservedRoom {
    fn take(&self) -> Option<Reservation> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

type GrpcRequest = tonic::codegen::http::Request<tonic::body::Body>;
type GrpcResponse = tonic::codegen::http::Response<tonic::body::Body>;

impl<S> tower::Service<GrpcRequest> for Reserve<S>
where
    S: tower::Service<GrpcRequest, Response = GrpcResponse, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = GrpcResponse;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<GrpcResponse, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: GrpcRequest) -> Self::Future {
        // The clone that was not polled ready stays behind, as tower requires.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let ingest = self.ingest.clone();
        Box::pin(async move {
            if !request.uri().path().starts_with(EXPORT_PATH_PREFIX) {
                return inner.call(request).await;
            }
            match reserve(&ingest, request).await {
                Ok(request) => inner.call(request).await,
                Err(status) => Ok(status.into_http()),
            }
        })
    }
}

/// Reads the body of an export request and reserves its bytes. Returns the request with the
/// body read and the room in its extensions, or else the status that rejects it.
async fn reserve(ingest: &Ingest, request: GrpcRequest) -> Result<GrpcRequest, Status> {
    let (mut parts, body) = request.into_parts();
    let limit = ingest.options().max_body_bytes;
    let bytes = match Limited::new(body, limit.saturating_add(FRAME_HEADER_BYTES))
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(status_of(IngestError::Decode(
                glassbox_otlp::DecodeError::TooLarge { limit },
            )));
        }
        Err(error) => {
            return Err(Status::cancelled(format!(
                "failed to read the request: {error}"
            )));
        }
    };

    let room = ingest
        .writer()
        .reserve_bytes(bytes.len())
        .await
        .map_err(|error| status_of(IngestError::Write(error)))?;
    parts
        .extensions
        .insert(ReservedRoom(Arc::new(Mutex::new(Some(room)))));
    Ok(GrpcRequest::from_parts(
        parts,
        tonic::body::Body::new(Full::new(bytes)),
    ))
}

/// Takes the room that [`ReserveLayer`] reserved for a request, if it ran.
fn reserved<T>(request: &Request<T>) -> Option<Reservation> {
    request
        .extensions()
        .get::<ReservedRoom>()
        .and_then(ReservedRoom::take)
}

fn status_of(error: IngestError) -> Status {
    let message = error.to_string();
    match error {
        IngestError::Decode(glassbox_otlp::DecodeError::TooLarge { .. })
        | IngestError::Write(WriteError::BatchTooLarge { .. }) => {
            Status::resource_exhausted(message)
        }
        IngestError::Decode(_) | IngestError::AllRejected(_) => Status::invalid_argument(message),
        IngestError::Write(WriteError::QueueFull { .. } | WriteError::QueueBytesFull { .. }) => {
            // Expected under load, and the sender retries: no warning per request.
            tracing::debug!(error = %message, "OTLP gRPC export throttled");
            throttled(message)
        }
        IngestError::Write(_) => {
            tracing::warn!(error = %message, "OTLP gRPC export failed");
            Status::unavailable(message)
        }
    }
}

/// Returns `UNAVAILABLE` with a `RetryInfo` detail, which OTLP exporters honour as the delay
/// before their retry.
fn throttled(message: String) -> Status {
    let retry_info = RetryInfo {
        retry_delay: Some(ProtoDuration {
            seconds: RETRY_DELAY_SECONDS,
            nanos: 0,
        }),
    };
    let details = RpcStatus {
        code: tonic::Code::Unavailable as i32,
        message: message.clone(),
        details: vec![ProtoAny {
            type_url: RETRY_INFO_TYPE_URL.to_owned(),
            value: retry_info.encode_to_vec(),
        }],
    };
    Status::with_details(
        tonic::Code::Unavailable,
        message,
        details.encode_to_vec().into(),
    )
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let rejections = self
            .ingest
            .export_traces(reserved(&request), request.get_ref())
            .await
            .map_err(status_of)?;
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: (rejections.count > 0).then(|| ExportTracePartialSuccess {
                rejected_spans: rejections.count,
                error_message: rejections.message(),
            }),
        }))
    }
}

#[tonic::async_trait]
impl LogsService for Receiver {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let rejections = self
            .ingest
            .export_logs(reserved(&request), request.get_ref())
            .await
            .map_err(status_of)?;
        Ok(Response::new(ExportLogsServiceResponse {
            partial_success: (rejections.count > 0).then(|| ExportLogsPartialSuccess {
                rejected_log_records: rejections.count,
                error_message: rejections.message(),
            }),
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let rejections = self
            .ingest
            .export_metrics(reserved(&request), request.get_ref())
            .await
            .map_err(status_of)?;
        Ok(Response::new(ExportMetricsServiceResponse {
            partial_success: (rejections.count > 0).then(|| ExportMetricsPartialSuccess {
                rejected_data_points: rejections.count,
                error_message: rejections.message(),
            }),
        }))
    }
}
