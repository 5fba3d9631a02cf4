//! Decoding of OTLP request bodies into the `opentelemetry-proto` message types.
//!
//! The receivers hand every body through [`decompress`] (gzip, capped) and then one of the
//! decode functions. Protobuf goes through `prost`; OTLP/JSON through our own decoder, which
//! follows the OTLP deviations from proto3 JSON and names the offending field in every error.

#![warn(missing_docs)]

mod body;
mod error;
mod json;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

pub use body::{DEFAULT_MAX_BODY_BYTES, Encoding, decompress};
pub use error::DecodeError;
pub use json::{MAX_VALUE_DEPTH, decode_logs_json, decode_metrics_json, decode_traces_json};

/// Decodes a trace export body in the given encoding.
pub fn decode_traces(
    encoding: Encoding,
    body: &[u8],
) -> Result<ExportTraceServiceRequest, DecodeError> {
    match encoding {
        Encoding::Protobuf => decode_protobuf(body),
        Encoding::Json => decode_traces_json(body),
    }
}

/// Decodes a logs export body in the given encoding.
pub fn decode_logs(
    encoding: Encoding,
    body: &[u8],
) -> Result<ExportLogsServiceRequest, DecodeError> {
    match encoding {
        Encoding::Protobuf => decode_protobuf(body),
        Encoding::Json => decode_logs_json(body),
    }
}

/// Decodes a metrics export body in the given encoding.
pub fn decode_metrics(
    encoding: Encoding,
    body: &[u8],
) -> Result<ExportMetricsServiceRequest, DecodeError> {
    match encoding {
        Encoding::Protobuf => decode_protobuf(body),
        Encoding::Json => decode_metrics_json(body),
    }
}

fn decode_protobuf<T: Message + Default>(body: &[u8]) -> Result<T, DecodeError> {
    T::decode(body).map_err(|error| DecodeError::InvalidProtobuf(error.to_string()))
}
