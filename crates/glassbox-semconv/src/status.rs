//! Span outcome: status, status message and error type.
//!
//! A span is an error when its OTLP status is ERROR, when it carries `error.type` (which the
//! OpenTelemetry conventions set only on failure), or when Langfuse marks the observation
//! with level `ERROR`. The error type is `error.type` as sent, else the `exception.type` of
//! the span's first exception event; neither is cleaned up.

use glassbox_model::SpanStatus;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::span::Event;
use opentelemetry_proto::tonic::trace::v1::{Status, status::StatusCode};

use crate::lookup::Attributes;
use crate::names;

/// The outcome fields of a span.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The status.
    pub status: SpanStatus,
    /// The status description, or Langfuse's status message.
    pub message: Option<String>,
    /// The error type as sent.
    pub error_type: Option<String>,
}

/// Returns the outcome of a span.
pub fn outcome(attributes: &Attributes<'_>, status: Option<&Status>, events: &[Event]) -> Outcome {
    let error_type = attributes
        .text(names::ERROR_TYPE)
        .map(str::to_owned)
        .or_else(|| first_exception_type(events));

    let code = status.map_or(StatusCode::Unset as i32, |status| status.code);
    let failed = code == StatusCode::Error as i32
        || attributes.text(names::LANGFUSE_LEVEL) == Some("ERROR")
        || attributes.text(names::ERROR_TYPE).is_some();
    let span_status = if failed {
        SpanStatus::Error
    } else if code == StatusCode::Ok as i32 {
        SpanStatus::Ok
    } else {
        SpanStatus::Unset
    };

    let message = status
        .map(|status| status.message.as_str())
        .filter(|message| !message.is_empty())
        .or_else(|| attributes.text(names::LANGFUSE_STATUS_MESSAGE))
        .map(str::to_owned);

    Outcome {
        status: span_status,
        message,
        error_type,
    }
}

fn first_exception_type(events: &[Event]) -> Option<String> {
    let exception = events
        .iter()
        .find(|event| event.name == names::EXCEPTION_EVENT)?;
    let value = exception
        .attributes
        .iter()
        .find(|attribute| attribute.key == names::EXCEPTION_TYPE)?
        .value
        .as_ref()?;
    match &value.value {
        Some(any_value::Value::StringValue(text)) if !text.is_empty() => Some(text.clone()),
        _ => None,
    }
}
