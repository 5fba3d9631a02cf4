//! Reading the recorded request bodies: protobuf, gzip-compressed protobuf and OTLP/JSON.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

/// Reads a body file, gunzipping `.gz` files.
fn read_body(path: &Path) -> Result<Vec<u8>, String> {
    let raw =
        std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    if path.extension().is_some_and(|extension| extension == "gz") {
        let mut body = Vec::new();
        GzDecoder::new(raw.as_slice())
            .read_to_end(&mut body)
            .map_err(|error| format!("cannot gunzip {}: {error}", path.display()))?;
        return Ok(body);
    }
    Ok(raw)
}

fn is_json(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension == "json")
}

/// Decodes a trace export request from a body file.
pub fn traces(path: &Path) -> Result<ExportTraceServiceRequest, String> {
    let body = read_body(path)?;
    if is_json(path) {
        return glassbox_otlp::decode_traces_json(&body)
            .map_err(|error| format!("invalid OTLP/JSON in {}: {error}", path.display()));
    }
    ExportTraceServiceRequest::decode(body.as_slice())
        .map_err(|error| format!("invalid protobuf in {}: {error}", path.display()))
}

/// Decodes a log export request from a body file.
pub fn logs(path: &Path) -> Result<ExportLogsServiceRequest, String> {
    let body = read_body(path)?;
    if is_json(path) {
        return glassbox_otlp::decode_logs_json(&body)
            .map_err(|error| format!("invalid OTLP/JSON in {}: {error}", path.display()));
    }
    ExportLogsServiceRequest::decode(body.as_slice())
        .map_err(|error| format!("invalid protobuf in {}: {error}", path.display()))
}
