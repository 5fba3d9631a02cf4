//! The OTLP/gRPC receiver: the trace, logs and metrics `Export` services, gzip accepted.

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
use tonic::codec::CompressionEncoding;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

use crate::service::{Ingest, IngestError};
use crate::writer::WriteError;

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
            Status::unavailable(message)
        }
        IngestError::Write(_) => {
            tracing::warn!(error = %message, "OTLP gRPC export failed");
            Status::unavailable(message)
        }
    }
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let rejections = self
            .ingest
            .export_traces(request.get_ref())
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
            .export_logs(request.get_ref())
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
            .export_metrics(request.get_ref())
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
