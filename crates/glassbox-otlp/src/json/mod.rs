//! OTLP/JSON: proto3 JSON with the OTLP deviations (hex ids, lowerCamelCase names, 64-bit
//! integers as strings or numbers, enums as integers or names, unknown fields ignored).

mod common;
mod logs;
mod metrics;
mod reader;
mod traces;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde_json::Value;

pub use common::MAX_VALUE_DEPTH;

use crate::error::DecodeError;
use reader::Object;

/// Decodes an OTLP/JSON trace export body.
pub fn decode_traces_json(body: &[u8]) -> Result<ExportTraceServiceRequest, DecodeError> {
    let document = parse(body)?;
    traces::request(&Object::root(&document)?)
}

/// Decodes an OTLP/JSON logs export body.
pub fn decode_logs_json(body: &[u8]) -> Result<ExportLogsServiceRequest, DecodeError> {
    let document = parse(body)?;
    logs::request(&Object::root(&document)?)
}

/// Decodes an OTLP/JSON metrics export body.
pub fn decode_metrics_json(body: &[u8]) -> Result<ExportMetricsServiceRequest, DecodeError> {
    let document = parse(body)?;
    metrics::request(&Object::root(&document)?)
}

fn parse(body: &[u8]) -> Result<Value, DecodeError> {
    serde_json::from_slice(body).map_err(|error| DecodeError::InvalidJson(error.to_string()))
}
