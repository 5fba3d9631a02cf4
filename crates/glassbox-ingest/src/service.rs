//! The part the HTTP and gRPC receivers share: limits, conversion and the write.

use std::sync::Arc;

use glassbox_analyze::AnalyzerConfig;
use glassbox_enrich::Enricher;
use glassbox_otlp::DecodeError;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use glassbox_store::WriteBatch;

use crate::convert::{self, Rejections};
use crate::writer::{BatchWriter, WriteError};

/// The three OTLP signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Spans.
    Traces,
    /// Log records.
    Logs,
    /// Metric data points.
    Metrics,
}

/// Limits of the receivers.
#[derive(Debug, Clone, Copy)]
pub struct IngestOptions {
    /// Largest request body accepted, after decompression, in bytes.
    pub max_body_bytes: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            max_body_bytes: glassbox_otlp::DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// The reason an export request failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The body could not be read or decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The records could not be committed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// Every record of the request was invalid; nothing was stored.
    #[error("every record was rejected: {0}")]
    AllRejected(String),
}

/// The receivers' shared state.
#[derive(Clone)]
pub struct Ingest {
    writer: BatchWriter,
    options: IngestOptions,
    enricher: Arc<Enricher>,
    analyzers: Arc<AnalyzerConfig>,
}

impl Ingest {
    /// Creates the shared state over a running batch writer, with every analyzer on and no
    /// masking.
    pub fn new(writer: BatchWriter, options: IngestOptions, enricher: Arc<Enricher>) -> Ingest {
        Ingest {
            writer,
            options,
            enricher,
            analyzers: Arc::new(AnalyzerConfig::default()),
        }
    }

    /// Replaces the analyzers that run on model spans and the masking before storage.
    pub fn with_analyzers(mut self, analyzers: AnalyzerConfig) -> Ingest {
        self.analyzers = Arc::new(analyzers);
        self
    }

    /// Returns the analyzer configuration, which the gateway's recorder shares.
    pub fn analyzers(&self) -> &Arc<AnalyzerConfig> {
        &self.analyzers
    }

    /// Returns the enricher, whose prices the API may change.
    pub fn enricher(&self) -> &Arc<Enricher> {
        &self.enricher
    }

    /// Returns the limits.
    pub fn options(&self) -> IngestOptions {
        self.options
    }

    /// Returns the batch writer, for health reporting.
    pub fn writer(&self) -> &BatchWriter {
        &self.writer
    }

    async fn commit(
        &self,
        batch: WriteBatch,
        rejections: Rejections,
    ) -> Result<Rejections, IngestError> {
        if rejections.all_rejected() {
            return Err(IngestError::AllRejected(rejections.message()));
        }
        self.writer.write(batch).await?;
        Ok(rejections)
    }

    /// Normalizes and commits a trace export; returns the spans that were rejected.
    pub async fn export_traces(
        &self,
        request: &ExportTraceServiceRequest,
    ) -> Result<Rejections, IngestError> {
        let (batch, rejections) =
            convert::traces_to_batch(request, &self.enricher, &self.analyzers);
        self.commit(batch, rejections).await
    }

    /// Commits a logs export, GenAI events included; returns the records that were rejected.
    pub async fn export_logs(
        &self,
        request: &ExportLogsServiceRequest,
    ) -> Result<Rejections, IngestError> {
        let (batch, rejections) = convert::logs_to_batch(request, &self.analyzers);
        self.commit(batch, rejections).await
    }

    /// Commits a metrics export; returns the data points that were rejected.
    pub async fn export_metrics(
        &self,
        request: &ExportMetricsServiceRequest,
    ) -> Result<Rejections, IngestError> {
        let (batch, rejections) = convert::metrics_to_batch(request);
        self.commit(batch, rejections).await
    }
}
