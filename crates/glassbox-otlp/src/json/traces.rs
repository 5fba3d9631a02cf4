//! OTLP/JSON decoding of `ExportTraceServiceRequest`.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};

use super::common::{attributes, resource, scope};
use super::reader::Object;
use crate::error::DecodeError;

const SPAN_KINDS: &[&str] = &[
    "SPAN_KIND_UNSPECIFIED",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
];

const STATUS_CODES: &[&str] = &["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];

/// Decodes the request from its JSON root object.
pub(crate) fn request(root: &Object<'_>) -> Result<ExportTraceServiceRequest, DecodeError> {
    let resource_spans = root
        .objects("resourceSpans")?
        .iter()
        .map(resource_spans)
        .collect::<Result<_, _>>()?;
    Ok(ExportTraceServiceRequest { resource_spans })
}

fn resource_spans(object: &Object<'_>) -> Result<ResourceSpans, DecodeError> {
    Ok(ResourceSpans {
        resource: resource(object)?,
        scope_spans: object
            .objects("scopeSpans")?
            .iter()
            .map(scope_spans)
            .collect::<Result<_, _>>()?,
        schema_url: object.string("schemaUrl")?,
    })
}

fn scope_spans(object: &Object<'_>) -> Result<ScopeSpans, DecodeError> {
    Ok(ScopeSpans {
        scope: scope(object)?,
        spans: object
            .objects("spans")?
            .iter()
            .map(span)
            .collect::<Result<_, _>>()?,
        schema_url: object.string("schemaUrl")?,
    })
}

fn span(object: &Object<'_>) -> Result<Span, DecodeError> {
    Ok(Span {
        trace_id: object.hex_id("traceId", 16)?,
        span_id: object.hex_id("spanId", 8)?,
        trace_state: object.string("traceState")?,
        parent_span_id: object.hex_id("parentSpanId", 8)?,
        flags: object.u32("flags")?,
        name: object.string("name")?,
        kind: object.enumeration("kind", SPAN_KINDS)?,
        start_time_unix_nano: object.u64("startTimeUnixNano")?,
        end_time_unix_nano: object.u64("endTimeUnixNano")?,
        attributes: attributes(object)?,
        dropped_attributes_count: object.u32("droppedAttributesCount")?,
        events: object
            .objects("events")?
            .iter()
            .map(event)
            .collect::<Result<_, _>>()?,
        dropped_events_count: object.u32("droppedEventsCount")?,
        links: object
            .objects("links")?
            .iter()
            .map(link)
            .collect::<Result<_, _>>()?,
        dropped_links_count: object.u32("droppedLinksCount")?,
        status: object
            .object("status")?
            .map(|status| status_of(&status))
            .transpose()?,
    })
}

fn event(object: &Object<'_>) -> Result<span::Event, DecodeError> {
    Ok(span::Event {
        time_unix_nano: object.u64("timeUnixNano")?,
        name: object.string("name")?,
        attributes: attributes(object)?,
        dropped_attributes_count: object.u32("droppedAttributesCount")?,
    })
}

fn link(object: &Object<'_>) -> Result<span::Link, DecodeError> {
    Ok(span::Link {
        trace_id: object.hex_id("traceId", 16)?,
        span_id: object.hex_id("spanId", 8)?,
        trace_state: object.string("traceState")?,
        attributes: attributes(object)?,
        dropped_attributes_count: object.u32("droppedAttributesCount")?,
        flags: object.u32("flags")?,
    })
}

fn status_of(object: &Object<'_>) -> Result<Status, DecodeError> {
    Ok(Status {
        message: object.string("message")?,
        code: object.enumeration("code", STATUS_CODES)?,
    })
}
