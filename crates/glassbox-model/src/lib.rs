//! Canonical records of Glassbox.
//!
//! Every ingest path (OTLP, the gateway, collectors) turns its input into these records, and
//! every reader (API, UI, alerts) reads them back. Absent values are `None`, never a made-up zero.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod content;
pub mod dataset;
pub mod error_class;
pub mod experiment;
pub mod flag;
pub mod ids;
pub mod message;
pub mod metric;
pub mod score;
pub mod span;
pub mod trace;

pub use content::{ContentTarget, SpanContentPatch};
pub use dataset::{Dataset, DatasetItem};
pub use error_class::{ErrorClass, classify_error};
pub use experiment::{Experiment, ExperimentResult, ExperimentStatus, ExperimentTotals};
pub use flag::{Analyzer, Flag, Location, Part};
pub use ids::{InvalidId, SpanId, TraceId};
pub use message::{Message, ToolCall};
pub use metric::{MetricKind, MetricPoint};
pub use score::{Score, ScoreDataType, ScoreSource, ScoreValue};
pub use span::{CostStatus, Span, SpanEvent, SpanKind, SpanStatus, TokenUsage};
pub use trace::TraceSummary;
