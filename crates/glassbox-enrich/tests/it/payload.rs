//! Reading the recorded trace bodies (protobuf, gzip-compressed protobuf, OTLP/JSON) and
//! normalizing their spans.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;
use glassbox_model::Span;
use glassbox_semconv::normalize_span;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

/// Decodes a trace export request from a body file, gunzipping `.gz` files.
pub fn traces(path: &Path) -> Result<ExportTraceServiceRequest, String> {
    let raw =
        std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let extension = path.extension().and_then(|extension| extension.to_str());
    let body = if extension == Some("gz") {
        let mut body = Vec::new();
        GzDecoder::new(raw.as_slice())
            .read_to_end(&mut body)
            .map_err(|error| format!("cannot gunzip {}: {error}", path.display()))?;
        body
    } else {
        raw
    };
    if extension == Some("json") {
        return glassbox_otlp::decode_traces_json(&body)
            .map_err(|error| format!("invalid OTLP/JSON in {}: {error}", path.display()));
    }
    ExportTraceServiceRequest::decode(body.as_slice())
        .map_err(|error| format!("invalid protobuf in {}: {error}", path.display()))
}

/// Normalizes every span of a request; spans that normalization rejects are skipped.
pub fn normalized_spans(request: &ExportTraceServiceRequest) -> Vec<Span> {
    let mut spans = Vec::new();
    for resource_spans in &request.resource_spans {
        for scope_spans in &resource_spans.scope_spans {
            for span in &scope_spans.spans {
                if let Ok(normalized) = normalize_span(
                    resource_spans.resource.as_ref(),
                    scope_spans.scope.as_ref(),
                    span,
                ) {
                    spans.push(normalized);
                }
            }
        }
    }
    spans
}
