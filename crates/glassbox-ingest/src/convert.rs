//! Conversion of decoded OTLP requests into write batches, with the records that had to be
//! rejected and why.

use glassbox_analyze::AnalyzerConfig;
use glassbox_enrich::Enricher;
use glassbox_model::{MetricKind, MetricPoint, SpanId, TraceId};
use glassbox_semconv::attributes::{any_value_to_json, attributes_to_map};
use glassbox_store::{LogRecordRow, WriteBatch};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use serde_json::{Map, Value, json};

/// Reasons shown in a partial-success message at most; the count covers all of them.
const MAX_REASONS: usize = 5;

/// Most attributes accepted on one span, far above the OpenTelemetry SDKs' default limit of
/// 128. A span with more is rejected whole rather than stored with an arbitrary subset.
pub const MAX_SPAN_ATTRIBUTES: usize = 10_000;

/// Most events accepted on one span (streaming instrumentations add one per chunk).
pub const MAX_SPAN_EVENTS: usize = 10_000;

/// Records that could not be accepted, for the OTLP partial-success response.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rejections {
    /// How many records the request carried.
    pub total: i64,
    /// How many records were rejected.
    pub count: i64,
    /// The first few reasons, each naming the record.
    pub reasons: Vec<String>,
}

impl Rejections {
    fn add(&mut self, reason: String) {
        self.count += 1;
        if self.reasons.len() < MAX_REASONS {
            self.reasons.push(reason);
        }
    }

    /// Returns true when the request carried records and every one was rejected.
    pub fn all_rejected(&self) -> bool {
        self.count > 0 && self.count == self.total
    }

    /// Returns the message for `partial_success.error_message`.
    pub fn message(&self) -> String {
        let mut message = self.reasons.join("; ");
        let unlisted = self.count - self.reasons.len() as i64;
        if unlisted > 0 {
            message.push_str(&format!("; and {unlisted} more"));
        }
        message
    }
}

/// Normalizes, enriches and analyzes every span of a trace export; invalid spans are
/// rejected one by one. With masking configured, PII and secrets are masked here, before
/// anything is stored.
pub fn traces_to_batch(
    request: &ExportTraceServiceRequest,
    enricher: &Enricher,
    analyzers: &AnalyzerConfig,
) -> (WriteBatch, Rejections) {
    let mut batch = WriteBatch::default();
    let mut rejections = Rejections::default();
    for resource_spans in &request.resource_spans {
        let resource = resource_spans.resource.as_ref();
        for scope_spans in &resource_spans.scope_spans {
            let scope = scope_spans.scope.as_ref();
            for span in &scope_spans.spans {
                rejections.total += 1;
                if let Some(reason) = oversized(span) {
                    rejections.add(reason);
                    continue;
                }
                match glassbox_semconv::normalize_span(resource, scope, span) {
                    Ok(mut normalized) => {
                        enricher.enrich(&mut normalized);
                        glassbox_analyze::annotate(&mut normalized, analyzers);
                        batch.spans.push(normalized);
                    }
                    Err(error) => rejections.add(error.to_string()),
                }
            }
        }
    }
    (batch, rejections)
}

fn oversized(span: &opentelemetry_proto::tonic::trace::v1::Span) -> Option<String> {
    let name = span.name.chars().take(80).collect::<String>();
    if span.attributes.len() > MAX_SPAN_ATTRIBUTES {
        return Some(format!(
            "span {name:?} has {} attributes, more than the limit of {MAX_SPAN_ATTRIBUTES}",
            span.attributes.len()
        ));
    }
    if span.events.len() > MAX_SPAN_EVENTS {
        return Some(format!(
            "span {name:?} has {} events, more than the limit of {MAX_SPAN_EVENTS}",
            span.events.len()
        ));
    }
    None
}

/// Converts a logs export: every record is stored, and GenAI events also become content
/// patches for their spans. With masking configured, the records' bodies and attributes and
/// the patches' messages are masked before anything is stored; the store analyzes the
/// content once it joins its span.
pub fn logs_to_batch(
    request: &ExportLogsServiceRequest,
    analyzers: &AnalyzerConfig,
) -> (WriteBatch, Rejections) {
    let mut batch = WriteBatch::default();
    let mut rejections = Rejections::default();
    let mut sequence = 0u64;
    for resource_logs in &request.resource_logs {
        let resource = resource_logs.resource.as_ref();
        let resource_attributes = resource
            .map(|r| attributes_to_map(&r.attributes))
            .unwrap_or_default();
        let service_name = service_name(&resource_attributes);
        for scope_logs in &resource_logs.scope_logs {
            let scope = scope_logs.scope.as_ref();
            let first_sequence = sequence;
            for record in &scope_logs.log_records {
                sequence += 1;
                rejections.total += 1;
                match log_row(record, &resource_attributes, &service_name) {
                    Ok(row) => batch.log_records.push(row),
                    Err(reason) => rejections.add(reason),
                }
            }
            // Whole scope batches, because some records name their span only by position.
            batch
                .content_patches
                .extend(glassbox_semconv::log_records_content(
                    resource,
                    scope,
                    &scope_logs.log_records,
                    first_sequence,
                ));
        }
    }
    if analyzers.masks() {
        mask_logs(&mut batch, analyzers);
    }
    (batch, rejections)
}

/// Masks PII and secrets in log records and content patches.
fn mask_logs(batch: &mut WriteBatch, analyzers: &AnalyzerConfig) {
    for record in &mut batch.log_records {
        glassbox_analyze::mask_json(&mut record.body, analyzers);
        for value in record.attributes.values_mut() {
            glassbox_analyze::mask_json(value, analyzers);
        }
    }
    for patch in &mut batch.content_patches {
        glassbox_analyze::mask_messages(&mut patch.input_messages, analyzers);
        glassbox_analyze::mask_messages(&mut patch.output_messages, analyzers);
    }
}

fn service_name(resource_attributes: &Map<String, Value>) -> Option<String> {
    resource_attributes
        .get("service.name")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn log_row(
    record: &LogRecord,
    resource_attributes: &Map<String, Value>,
    service_name: &Option<String>,
) -> Result<LogRecordRow, String> {
    let trace_id = optional_id(&record.trace_id, TraceId::from_slice)?;
    let span_id = optional_id(&record.span_id, SpanId::from_slice)?;
    let time = if record.time_unix_nano != 0 {
        record.time_unix_nano
    } else {
        record.observed_time_unix_nano
    };
    Ok(LogRecordRow {
        time_unix_nano: time,
        trace_id,
        span_id,
        severity_number: record.severity_number,
        severity_text: non_empty(&record.severity_text),
        event_name: non_empty(&record.event_name),
        service_name: service_name.clone(),
        body: record
            .body
            .as_ref()
            .map_or(Value::Null, |body| any_value_to_json(body, 0)),
        attributes: attributes_to_map(&record.attributes),
        resource_attributes: resource_attributes.clone(),
    })
}

fn optional_id<T: ToString, E: ToString>(
    bytes: &[u8],
    parse: impl Fn(&[u8]) -> Result<T, E>,
) -> Result<Option<String>, String> {
    if bytes.is_empty() {
        return Ok(None);
    }
    parse(bytes)
        .map(|id| Some(id.to_string()))
        .map_err(|error| format!("log record: {}", error.to_string()))
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

/// Converts a metrics export into metric points, one per data point.
pub fn metrics_to_batch(request: &ExportMetricsServiceRequest) -> (WriteBatch, Rejections) {
    let mut batch = WriteBatch::default();
    let mut rejections = Rejections::default();
    for resource_metrics in &request.resource_metrics {
        let resource_attributes = resource_metrics
            .resource
            .as_ref()
            .map(|r| attributes_to_map(&r.attributes))
            .unwrap_or_default();
        let service = service_name(&resource_attributes);
        for scope_metrics in &resource_metrics.scope_metrics {
            for metric in &scope_metrics.metrics {
                rejections.total += 1;
                let context = PointContext {
                    name: &metric.name,
                    unit: non_empty(&metric.unit),
                    service: service.clone(),
                    resource_attributes: &resource_attributes,
                };
                match &metric.data {
                    Some(data) => batch.metric_points.extend(points_of(&context, data)),
                    None => rejections.add(format!("metric {:?} has no data", metric.name)),
                }
            }
        }
    }
    (batch, rejections)
}

struct PointContext<'a> {
    name: &'a str,
    unit: Option<String>,
    service: Option<String>,
    resource_attributes: &'a Map<String, Value>,
}

impl PointContext<'_> {
    fn point(
        &self,
        kind: MetricKind,
        attributes: &[KeyValue],
        start: u64,
        time: u64,
    ) -> MetricPoint {
        let mut labels = attributes_to_map(attributes);
        for (key, value) in self.resource_attributes {
            labels.insert(format!("resource.{key}"), value.clone());
        }
        MetricPoint {
            name: self.name.to_owned(),
            kind,
            unit: self.unit.clone(),
            service_name: self.service.clone(),
            labels,
            start_time_unix_nano: (start != 0).then_some(start),
            time_unix_nano: time,
            value: None,
            count: None,
            detail: Map::new(),
        }
    }
}

fn number(value: &Option<number_data_point::Value>) -> Option<f64> {
    match value {
        Some(number_data_point::Value::AsDouble(number)) => Some(*number),
        Some(number_data_point::Value::AsInt(number)) => Some(*number as f64),
        None => None,
    }
}

fn detail(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn points_of(context: &PointContext<'_>, data: &metric::Data) -> Vec<MetricPoint> {
    match data {
        metric::Data::Gauge(gauge) => gauge
            .data_points
            .iter()
            .map(|p| {
                let mut point = context.point(MetricKind::Gauge, &p.attributes, p.start_time_unix_nano, p.time_unix_nano);
                point.value = number(&p.value);
                point
            })
            .collect(),
        metric::Data::Sum(sum) => sum
            .data_points
            .iter()
            .map(|p| {
                let mut point = context.point(MetricKind::Sum, &p.attributes, p.start_time_unix_nano, p.time_unix_nano);
                point.value = number(&p.value);
                point.detail = detail(json!({
                    "is_monotonic": sum.is_monotonic,
                    "temporality": sum.aggregation_temporality,
                }));
                point
            })
            .collect(),
        metric::Data::Histogram(histogram) => histogram
            .data_points
            .iter()
            .map(|p| {
                let mut point = context.point(MetricKind::Histogram, &p.attributes, p.start_time_unix_nano, p.time_unix_nano);
                point.value = p.sum;
                point.count = Some(p.count);
                point.detail = detail(json!({
                    "temporality": histogram.aggregation_temporality,
                    "explicit_bounds": p.explicit_bounds,
                    "bucket_counts": p.bucket_counts,
                    "min": p.min,
                    "max": p.max,
                }));
                point
            })
            .collect(),
        metric::Data::ExponentialHistogram(histogram) => histogram
            .data_points
            .iter()
            .map(|p| {
                let mut point = context.point(MetricKind::ExponentialHistogram, &p.attributes, p.start_time_unix_nano, p.time_unix_nano);
                point.value = p.sum;
                point.count = Some(p.count);
                let buckets = |b: &Option<opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets>| {
                    b.as_ref().map(|b| json!({"offset": b.offset, "bucket_counts": b.bucket_counts}))
                };
                point.detail = detail(json!({
                    "temporality": histogram.aggregation_temporality,
                    "scale": p.scale,
                    "zero_count": p.zero_count,
                    "zero_threshold": p.zero_threshold,
                    "positive": buckets(&p.positive),
                    "negative": buckets(&p.negative),
                    "min": p.min,
                    "max": p.max,
                }));
                point
            })
            .collect(),
        metric::Data::Summary(summary) => summary
            .data_points
            .iter()
            .map(|p| {
                let mut point = context.point(MetricKind::Summary, &p.attributes, p.start_time_unix_nano, p.time_unix_nano);
                point.value = Some(p.sum);
                point.count = Some(p.count);
                let quantiles: Vec<Value> = p
                    .quantile_values
                    .iter()
                    .map(|q| json!({"quantile": q.quantile, "value": q.value}))
                    .collect();
                point.detail = detail(json!({ "quantiles": quantiles }));
                point
            })
            .collect(),
    }
}
