//! OTLP/JSON decoding of `ExportLogsServiceRequest`.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

use super::common::{any_value, attributes, resource, scope};
use super::reader::Object;
use crate::error::DecodeError;

const SEVERITY_NAMES: &[&str] = &[
    "SEVERITY_NUMBER_UNSPECIFIED",
    "SEVERITY_NUMBER_TRACE",
    "SEVERITY_NUMBER_TRACE2",
    "SEVERITY_NUMBER_TRACE3",
    "SEVERITY_NUMBER_TRACE4",
    "SEVERITY_NUMBER_DEBUG",
    "SEVERITY_NUMBER_DEBUG2",
    "SEVERITY_NUMBER_DEBUG3",
    "SEVERITY_NUMBER_DEBUG4",
    "SEVERITY_NUMBER_INFO",
    "SEVERITY_NUMBER_INFO2",
    "SEVERITY_NUMBER_INFO3",
    "SEVERITY_NUMBER_INFO4",
    "SEVERITY_NUMBER_WARN",
    "SEVERITY_NUMBER_WARN2",
    "SEVERITY_NUMBER_WARN3",
    "SEVERITY_NUMBER_WARN4",
    "SEVERITY_NUMBER_ERROR",
    "SEVERITY_NUMBER_ERROR2",
    "SEVERITY_NUMBER_ERROR3",
    "SEVERITY_NUMBER_ERROR4",
    "SEVERITY_NUMBER_FATAL",
    "SEVERITY_NUMBER_FATAL2",
    "SEVERITY_NUMBER_FATAL3",
    "SEVERITY_NUMBER_FATAL4",
];

/// Decodes the request from its JSON root object.
pub(crate) fn request(root: &Object<'_>) -> Result<ExportLogsServiceRequest, DecodeError> {
    let resource_logs = root
        .objects("resourceLogs")?
        .iter()
        .map(resource_logs)
        .collect::<Result<_, _>>()?;
    Ok(ExportLogsServiceRequest { resource_logs })
}

fn resource_logs(object: &Object<'_>) -> Result<ResourceLogs, DecodeError> {
    Ok(ResourceLogs {
        resource: resource(object)?,
        scope_logs: object
            .objects("scopeLogs")?
            .iter()
            .map(scope_logs)
            .collect::<Result<_, _>>()?,
        schema_url: object.string("schemaUrl")?,
    })
}

fn scope_logs(object: &Object<'_>) -> Result<ScopeLogs, DecodeError> {
    Ok(ScopeLogs {
        scope: scope(object)?,
        log_records: object
            .objects("logRecords")?
            .iter()
            .map(log_record)
            .collect::<Result<_, _>>()?,
        schema_url: object.string("schemaUrl")?,
    })
}

fn log_record(object: &Object<'_>) -> Result<LogRecord, DecodeError> {
    Ok(LogRecord {
        time_unix_nano: object.u64("timeUnixNano")?,
        observed_time_unix_nano: object.u64("observedTimeUnixNano")?,
        severity_number: object.enumeration("severityNumber", SEVERITY_NAMES)?,
        severity_text: object.string("severityText")?,
        body: object
            .object("body")?
            .map(|body| any_value(&body, 0))
            .transpose()?,
        attributes: attributes(object)?,
        dropped_attributes_count: object.u32("droppedAttributesCount")?,
        flags: object.u32("flags")?,
        trace_id: object.hex_id("traceId", 16)?,
        span_id: object.hex_id("spanId", 8)?,
        event_name: object.string("eventName")?,
    })
}
