//! Errors that make a span unusable.

/// Why a span was rejected. Every other oddity is tolerated: the span is kept with the
/// canonical field left empty and the raw attribute preserved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    /// The trace id has the wrong length.
    #[error("trace_id must be 16 bytes, got {got} (span {span_name:?})")]
    TraceIdLength {
        /// The length found.
        got: usize,
        /// The span name, to find the span in the sender's code.
        span_name: String,
    },
    /// The trace id is all zero bytes, which OTLP defines as invalid.
    #[error("trace_id must not be all zero (span {span_name:?})")]
    TraceIdZero {
        /// The span name.
        span_name: String,
    },
    /// The span id has the wrong length.
    #[error("span_id must be 8 bytes, got {got} (span {span_name:?})")]
    SpanIdLength {
        /// The length found.
        got: usize,
        /// The span name.
        span_name: String,
    },
    /// The span id is all zero bytes, which OTLP defines as invalid.
    #[error("span_id must not be all zero (span {span_name:?})")]
    SpanIdZero {
        /// The span name.
        span_name: String,
    },
    /// The parent span id is neither empty (a root span) nor 8 bytes.
    #[error("parent_span_id must be empty or 8 bytes, got {got} (span {span_name:?})")]
    ParentSpanIdLength {
        /// The length found.
        got: usize,
        /// The span name.
        span_name: String,
    },
}
