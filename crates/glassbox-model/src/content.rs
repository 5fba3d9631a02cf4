//! Content that arrives apart from its span, such as GenAI events sent as OTLP log records.

use serde::{Deserialize, Serialize};

use crate::ids::{SpanId, TraceId};
use crate::message::Message;

/// Which span a piece of detached content belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentTarget {
    /// The record carried the span's trace and span ids.
    Span {
        /// The trace id.
        trace_id: TraceId,
        /// The span id.
        span_id: SpanId,
    },
    /// The record carried no ids but named the provider's response id (`gen_ai.response.id`),
    /// which the span carries too.
    ResponseId(String),
}

/// Message content and finish reasons that belong to a span but arrived in a log record.
///
/// The store applies a patch to its span whichever of the two arrives first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanContentPatch {
    /// The span the content belongs to.
    pub target: ContentTarget,
    /// The record's time in nanoseconds since the Unix epoch; patches apply in this order,
    /// then in `sequence` order.
    pub time_unix_nano: u64,
    /// Order of the record within its request.
    pub sequence: u64,
    /// The event name (`gen_ai.user.message`, `gen_ai.choice`, ...).
    pub event_name: String,
    /// Input messages the record adds.
    pub input_messages: Vec<Message>,
    /// Output messages the record adds.
    pub output_messages: Vec<Message>,
    /// Finish reasons the record adds.
    pub finish_reasons: Vec<String>,
    /// Whether the record replaces the span's message lists instead of appending to them,
    /// as a record that carries a whole call (`gen_ai.client.inference.operation.details`) does.
    pub replaces: bool,
}

impl SpanContentPatch {
    /// Returns true when the patch adds nothing.
    pub fn is_empty(&self) -> bool {
        self.input_messages.is_empty()
            && self.output_messages.is_empty()
            && self.finish_reasons.is_empty()
    }
}
