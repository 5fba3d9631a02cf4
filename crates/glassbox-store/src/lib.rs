//! Storage of Glassbox records behind the [`Store`] trait.
//!
//! Writes arrive as [`WriteBatch`]es from the one batch writer; a batch is committed in one
//! transaction, so a caller acknowledged after [`WriteStore::write`] returned may rely on its data
//! being durable. Reads serve the HTTP API. The embedded backend is SQLite ([`SqliteStore`]).

#![warn(missing_docs)]

pub mod background;
mod batch;
mod drift;
mod error;
mod metrics;
mod points;
mod quality;
mod query;
pub mod sketch;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use glassbox_model::{Span, SpanKind, TraceId, TraceSummary};

pub use batch::{LogRecordRow, WriteBatch, WriteSummary};
pub use drift::{DEFAULT_DRIFT_SAMPLE_SPANS, DriftFilter, DriftSamples, FlagRateFilter, FlagRates};
pub use error::StoreError;
pub use metrics::{
    Aggregate, FinishReasonCount, FunctionStats, GroupAggregate, GroupBy, MetricsFilter, Series,
    TopTotal, UserTotal,
};
pub use points::{MetricName, PointQuery, PointSeries, PointStep, RetentionSummary};
pub use quality::{
    DatasetItemPage, ExperimentDetail, NewDatasetItem, NewExperiment, NewScore, QualityStore,
    ScoreAggregate, ScoreFilter, ScoreGroup, ScoreGroupBy, ScoreMetricsFilter, new_id,
};
pub use query::{Cursor, Page, SessionSummary, SpanFilter, TraceFilter, TraceOrder};
pub use sqlite::{SqliteOptions, SqliteStore};

/// A trace with every stored span, ordered by start time.
#[derive(Debug, Clone)]
pub struct TraceDetail {
    /// The summary.
    pub trace: TraceSummary,
    /// The spans.
    pub spans: Vec<Span>,
}

/// A function that the store runs on a span whose content it changed itself, when message
/// content that arrived apart from the span joined it. The server passes the analyzers, so
/// the joined content gets flags like any other.
#[derive(Clone)]
pub struct ContentHook(pub Arc<dyn Fn(&mut Span) + Send + Sync>);

impl std::fmt::Debug for ContentHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContentHook")
    }
}

/// A function that recomputes the cost fields of a stored span after a price change.
pub type Repricer = Arc<dyn Fn(&mut Span) + Send + Sync>;

/// The write side: what the batch writer and maintenance commands need.
#[async_trait]
pub trait WriteStore: Send + Sync + 'static {
    /// Commits a batch in one transaction. When this returns `Ok`, the batch is durable.
    async fn write(&self, batch: WriteBatch) -> Result<WriteSummary, StoreError>;

    /// Flushes background work (the full-text index) and checkpoints the write-ahead log.
    async fn flush(&self) -> Result<(), StoreError>;

    /// Recomputes the cost of the model spans that started in `[from, to)` (nanoseconds),
    /// optionally of one model only, then the trace totals and rollups they feed. Returns how
    /// many spans changed.
    async fn reprice(
        &self,
        from_unix_nano: u64,
        to_unix_nano: u64,
        model: Option<String>,
        repricer: Repricer,
    ) -> Result<u64, StoreError>;

    /// Deletes metric points older than `delete_before` and downsamples those older than
    /// `downsample_before` to one point per step of `step_seconds` (nanosecond times).
    async fn retain_metric_points(
        &self,
        delete_before: u64,
        downsample_before: u64,
        step_seconds: i64,
    ) -> Result<RetentionSummary, StoreError>;

    /// Recomputes the rollups of `[from, to)` (nanoseconds, widened to whole hours) from the
    /// stored spans; returns how many spans were read.
    async fn rebuild_rollups(
        &self,
        from_unix_nano: u64,
        to_unix_nano: u64,
    ) -> Result<u64, StoreError>;
}

/// Traces, spans and sessions.
#[async_trait]
pub trait TraceStore: Send + Sync + 'static {
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

    /// Returns up to `limit` spans of `kind` stored after the position `after`, in storage
    /// order, and the position the reader has reached: the last span returned, or the end of
    /// the stretch searched when spans of other kinds filled it. Positions only grow, so a
    /// reader that continues from the returned position reads every later span once; a span
    /// that is resent keeps its position.
    async fn spans_after(
        &self,
        after: i64,
        kind: SpanKind,
        limit: usize,
    ) -> Result<(Vec<Span>, i64), StoreError>;

    /// Returns the position of the latest stored span, 0 when none is stored.
    async fn last_span_position(&self) -> Result<i64, StoreError>;
}

/// Aggregates over spans.
#[async_trait]
pub trait MetricsStore: Send + Sync + 'static {
    /// Totals per group over a range, largest count first.
    async fn summary(
        &self,
        filter: MetricsFilter,
        group_by: Option<GroupBy>,
    ) -> Result<Vec<GroupAggregate>, StoreError>;

    /// Totals per group and time step (`step_seconds`, a multiple of 60).
    async fn timeseries(
        &self,
        filter: MetricsFilter,
        group_by: Option<GroupBy>,
        step_seconds: i64,
    ) -> Result<Vec<Series>, StoreError>;

    /// Statistics of the application's own functions (non-model spans) by service and name.
    async fn functions(&self, filter: MetricsFilter) -> Result<Vec<FunctionStats>, StoreError>;

    /// Totals per user id over the traces that started in the filter's range, most model
    /// calls first, at most `limit`. The user is the trace's, so calls of a trace whose root
    /// span alone names the user count too. The filter's service, model, provider, user,
    /// session and tag select traces that contain them; its kinds are ignored.
    async fn top_users(
        &self,
        filter: MetricsFilter,
        limit: usize,
    ) -> Result<Vec<UserTotal>, StoreError>;

    /// Application spans (all kinds but `llm` and `embedding`) per service and name, longest
    /// total time first, at most `limit`. The filter's kinds are ignored.
    async fn top_functions(
        &self,
        filter: MetricsFilter,
        limit: usize,
    ) -> Result<Vec<TopTotal>, StoreError>;

    /// Metric points of one name, averaged per label set and step of `step_seconds`.
    async fn metric_series(
        &self,
        query: PointQuery,
        step_seconds: i64,
    ) -> Result<Vec<PointSeries>, StoreError>;

    /// Metric names with points in `[from, to)` (nanoseconds), alphabetically.
    async fn metric_names(&self, from: u64, to: u64) -> Result<Vec<MetricName>, StoreError>;

    /// Finish reasons of the spans of kind `llm` by model, most frequent first.
    async fn finish_reasons(
        &self,
        filter: MetricsFilter,
    ) -> Result<Vec<FinishReasonCount>, StoreError>;

    /// Samples for drift reports of the spans of kind `llm` in the filter's window, per
    /// (service, model) group, ordered by service, then model. Only the latest
    /// `max_per_group` spans of a group, and scores of each name, are read.
    async fn drift_samples(&self, filter: DriftFilter) -> Result<Vec<DriftSamples>, StoreError>;

    /// Spans of kind `llm` and flagged spans of kind `llm` per step of `step_seconds` (a
    /// positive multiple of 60), steps starting at `from` rounded down to the minute.
    async fn flag_rates(
        &self,
        filter: FlagRateFilter,
        step_seconds: i64,
    ) -> Result<FlagRates, StoreError>;
}

/// Small documents of settings that the server changes at run time (custom prices).
#[async_trait]
pub trait SettingsStore: Send + Sync + 'static {
    /// Returns a setting's JSON value, `None` when never set.
    async fn setting(&self, key: String) -> Result<Option<serde_json::Value>, StoreError>;

    /// Replaces a setting's value.
    async fn put_setting(&self, key: String, value: serde_json::Value) -> Result<(), StoreError>;
}

/// Every query family; what the server holds.
pub trait Store: WriteStore + TraceStore + MetricsStore + SettingsStore + QualityStore {}

impl<T: WriteStore + TraceStore + MetricsStore + SettingsStore + QualityStore> Store for T {}
