//! The part the HTTP and gRPC receivers share: limits, conversion and the write.

use std::sync::Arc;

use glassbox_analyze::AnalyzerConfig;
use glassbox_enrich::Enricher;
use glassbox_otlp::DecodeError;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use glassbox_store::WriteBatch;

use crate::convert::{self, Rejections};
use crate::writer::{BatchWriter, Commit, Reservation, WriteError};

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

    /// Returns `reserved` grown to `bytes`. When the queue has no room for the growth now, it
    /// returns a new reservation for all of them, which may wait as
    /// [`BatchWriter::reserve_bytes`] does.
    async fn room_for(
        &self,
        reserved: Option<Reservation>,
        bytes: usize,
    ) -> Result<Reservation, WriteError> {
        if let Some(mut room) = reserved
            && self.writer.grow_bytes(&mut room, bytes)
        {
            return Ok(room);
        }
        // A reservation that could not grow was dropped above, so its room is free again.
        self.writer.reserve_bytes(bytes).await
    }

    fn enqueue(
        &self,
        reservation: Reservation,
        batch: WriteBatch,
        rejections: Rejections,
    ) -> Result<Submitted, IngestError> {
        if rejections.all_rejected() {
            return Err(IngestError::AllRejected(rejections.message()));
        }
        let commit = self.writer.enqueue(reservation, batch)?;
        Ok(Submitted { commit, rejections })
    }

    /// Normalizes and commits a trace export; returns the spans that were rejected.
    /// `reserved` is room a receiver took before decoding the request, grown here to its
    /// decoded size.
    pub async fn export_traces(
        &self,
        reserved: Option<Reservation>,
        request: &ExportTraceServiceRequest,
    ) -> Result<Rejections, IngestError> {
        let room = self.room_for(reserved, request.encoded_len()).await?;
        self.submit_traces(room, request)?.wait().await
    }

    /// Normalizes a trace export and queues it in room already reserved for the request's
    /// bytes.
    pub fn submit_traces(
        &self,
        mut room: Reservation,
        request: &ExportTraceServiceRequest,
    ) -> Result<Submitted, IngestError> {
        let spans = request
            .resource_spans
            .iter()
            .flat_map(|resource| &resource.scope_spans)
            .map(|scope| scope.spans.len())
            .sum();
        self.writer.reserve_records(&mut room, spans)?;
        let (batch, rejections) =
            convert::traces_to_batch(request, &self.enricher, &self.analyzers);
        self.enqueue(room, batch, rejections)
    }

    /// Commits a logs export, GenAI events included; returns the records that were rejected.
    /// `reserved` is room a receiver took before decoding the request, grown here to its
    /// decoded size.
    pub async fn export_logs(
        &self,
        reserved: Option<Reservation>,
        request: &ExportLogsServiceRequest,
    ) -> Result<Rejections, IngestError> {
        let room = self.room_for(reserved, request.encoded_len()).await?;
        self.submit_logs(room, request)?.wait().await
    }

    /// Converts a logs export and queues it in room already reserved for the request's bytes.
    pub fn submit_logs(
        &self,
        mut room: Reservation,
        request: &ExportLogsServiceRequest,
    ) -> Result<Submitted, IngestError> {
        let records = request
            .resource_logs
            .iter()
            .flat_map(|resource| &resource.scope_logs)
            .map(|scope| scope.log_records.len())
            .sum();
        self.writer.reserve_records(&mut room, records)?;
        let (batch, rejections) = convert::logs_to_batch(request, &self.analyzers);
        self.enqueue(room, batch, rejections)
    }

    /// Commits a metrics export; returns the data points that were rejected.
    /// `reserved` is room a receiver took before decoding the request, grown here to its
    /// decoded size.
    pub async fn export_metrics(
        &self,
        reserved: Option<Reservation>,
        request: &ExportMetricsServiceRequest,
    ) -> Result<Rejections, IngestError> {
        let room = self.room_for(reserved, request.encoded_len()).await?;
        self.submit_metrics(room, request)?.wait().await
    }

    /// Converts a metrics export and queues it in room already reserved for the request's
    /// bytes. Conversion is cheap here, so the points take their room once converted.
    pub fn submit_metrics(
        &self,
        room: Reservation,
        request: &ExportMetricsServiceRequest,
    ) -> Result<Submitted, IngestError> {
        let (batch, rejections) = convert::metrics_to_batch(request);
        self.enqueue(room, batch, rejections)
    }
}

/// An export request queued for its commit.
#[derive(Debug)]
pub struct Submitted {
    commit: Commit,
    rejections: Rejections,
}

impl Submitted {
    /// Waits for the commit; returns the records that were rejected before it.
    pub async fn wait(self) -> Result<Rejections, IngestError> {
        self.commit.wait().await?;
        Ok(self.rejections)
    }
}
