//! The records of one commit.

use glassbox_model::{MetricPoint, Span, SpanContentPatch};
use serde_json::{Map, Value};

/// One OTLP log record as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecordRow {
    /// Time of the event, or the observed time when the sender set none.
    pub time_unix_nano: u64,
    /// Trace id in hex, when the record carries one.
    pub trace_id: Option<String>,
    /// Span id in hex, when the record carries one.
    pub span_id: Option<String>,
    /// OTLP severity number (0 when unset).
    pub severity_number: i32,
    /// Severity text as sent.
    pub severity_text: Option<String>,
    /// The event name (`gen_ai.choice`, ...), when set.
    pub event_name: Option<String>,
    /// The `service.name` resource attribute.
    pub service_name: Option<String>,
    /// The body as JSON.
    pub body: Value,
    /// The record's attributes.
    pub attributes: Map<String, Value>,
    /// The resource attributes.
    pub resource_attributes: Map<String, Value>,
}

/// Records committed together in one transaction.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    /// Normalized spans.
    pub spans: Vec<Span>,
    /// Content detached from its span (GenAI events in log records).
    pub content_patches: Vec<SpanContentPatch>,
    /// Metric data points.
    pub metric_points: Vec<MetricPoint>,
    /// Log records.
    pub log_records: Vec<LogRecordRow>,
}

impl WriteBatch {
    /// Number of records, the unit in which the write queue is bounded.
    pub fn len(&self) -> usize {
        self.spans.len()
            + self.content_patches.len()
            + self.metric_points.len()
            + self.log_records.len()
    }

    /// Returns true when the batch carries nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves every record of `other` into this batch.
    pub fn append(&mut self, other: &mut WriteBatch) {
        self.spans.append(&mut other.spans);
        self.content_patches.append(&mut other.content_patches);
        self.metric_points.append(&mut other.metric_points);
        self.log_records.append(&mut other.log_records);
    }
}

/// Counts of what a commit stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Spans inserted for the first time.
    pub spans_inserted: u64,
    /// Spans that replaced an earlier copy with the same ids (a sender's retry).
    pub spans_replaced: u64,
    /// Content patches applied to a stored span.
    pub patches_applied: u64,
    /// Content patches kept until their span arrives.
    pub patches_pending: u64,
    /// Metric points inserted.
    pub metric_points: u64,
    /// Log records inserted.
    pub log_records: u64,
}

impl WriteSummary {
    /// Adds another summary's counts to this one.
    pub fn add(&mut self, other: WriteSummary) {
        self.spans_inserted += other.spans_inserted;
        self.spans_replaced += other.spans_replaced;
        self.patches_applied += other.patches_applied;
        self.patches_pending += other.patches_pending;
        self.metric_points += other.metric_points;
        self.log_records += other.log_records;
    }
}
