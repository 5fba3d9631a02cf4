//! Storage of Glassbox records behind the [`Store`] trait.
//!
//! Writes arrive as [`WriteBatch`]es from the one batch writer; a batch is committed in one
//! transaction, so a caller acknowledged after [`Store::write`] returned may rely on its data
//! being durable. Reads serve the HTTP API. The embedded backend is SQLite ([`SqliteStore`]).

#![warn(missing_docs)]

mod batch;
mod error;
mod query;
pub mod sqlite;

use async_trait::async_trait;
use glassbox_model::{Span, TraceId, TraceSummary};

pub use batch::{LogRecordRow, WriteBatch, WriteSummary};
pub use error::StoreError;
pub use query::{Cursor, Page, SessionSummary, SpanFilter, TraceFilter};
pub use sqlite::{SqliteOptions, SqliteStore};

/// A trace with every stored span, ordered by start time.
#[derive(Debug, Clone)]
pub struct TraceDetail {
    /// The summary.
    pub trace: TraceSummary,
    /// The spans.
    pub spans: Vec<Span>,
}

/// Storage of spans, traces, metric points and log records.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Commits a batch in one transaction. When this returns `Ok`, the batch is durable.
    async fn write(&self, batch: WriteBatch) -> Result<WriteSummary, StoreError>;

    /// Lists trace summaries matching the filter, newest first.
    async fn list_traces(
        &self,
        filter: TraceFilter,
        page: Page,
    ) -> Result<(Vec<TraceSummary>, Option<Cursor>), StoreError>;

    /// Returns one trace with all its spans, or `None` when no span of it is stored.
    async fn trace(&self, trace_id: TraceId) -> Result<Option<TraceDetail>, StoreError>;

    /// Lists single spans matching the filter, newest first.
    async fn list_spans(
        &self,
        filter: SpanFilter,
        page: Page,
    ) -> Result<(Vec<Span>, Option<Cursor>), StoreError>;

    /// Lists sessions with their totals, most recently active first.
    async fn list_sessions(
        &self,
        filter: TraceFilter,
        page: Page,
    ) -> Result<(Vec<SessionSummary>, Option<Cursor>), StoreError>;

    /// Returns the traces of one session in start order, or `None` for an unknown session.
    async fn session(
        &self,
        session_id: String,
    ) -> Result<Option<(SessionSummary, Vec<TraceSummary>)>, StoreError>;

    /// Flushes background work (the full-text index) and checkpoints the write-ahead log.
    async fn flush(&self) -> Result<(), StoreError>;
}
