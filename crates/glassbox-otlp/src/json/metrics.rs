//! OTLP/JSON decoding of `ExportMetricsServiceRequest`, every data point type included.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, exponential_histogram_data_point, metric, number_data_point,
    summary_data_point,
};

use super::common::{attribute_list, attributes, resource, scope};
use super::reader::{Object, json_error, parse_i64};
use crate::error::DecodeError;

const TEMPORALITIES: &[&str] = &[
    "AGGREGATION_TEMPORALITY_UNSPECIFIED",
    "AGGREGATION_TEMPORALITY_DELTA",
    "AGGREGATION_TEMPORALITY_CUMULATIVE",
];

/// Decodes the request from its JSON root object.
pub(crate) fn request(root: &Object<'_>) -> Result<ExportMetricsServiceRequest, DecodeError> {
    let resource_metrics = root
        .objects("resourceMetrics")?
        .iter()
        .map(resource_metrics)
        .collect::<Result<_, _>>()?;
    Ok(ExportMetricsServiceRequest { resource_metrics })
}

fn resource_metrics(object: &Object<'_>) -> Result<ResourceMetrics, DecodeError> {
    Ok(ResourceMetrics {
        resource: resource(object)?,
        scope_metrics: object
            .objects("scopeMetrics")?
            .iter()
            .map(scope_metrics)
            .collect::<Result<_, _>>()?,
        schema_url: object.string("schemaUrl")?,
    })
}

fn scope_metrics(object: &Object<'_>) -> Result<ScopeMetrics, DecodeError> {
    Ok(ScopeMetrics {
        scope: scope(object)?,
        metrics: object
            .objects("metrics")?
            .iter()
            .map(metric)
            .collect::<Result<_, _>>()?,
        schema_url: object.string("schemaUrl")?,
    })
}

fn metric(object: &Object<'_>) -> Result<Metric, DecodeError> {
    Ok(Metric {
        name: object.string("name")?,
        description: object.string("description")?,
        unit: object.string("unit")?,
        metadata: attribute_list(object, "metadata")?,
        data: data(object)?,
    })
}

fn data(object: &Object<'_>) -> Result<Option<metric::Data>, DecodeError> {
    if let Some(gauge) = object.object("gauge")? {
        return Ok(Some(metric::Data::Gauge(Gauge {
            data_points: points(&gauge, number_point)?,
        })));
    }
    if let Some(sum) = object.object("sum")? {
        return Ok(Some(metric::Data::Sum(Sum {
            data_points: points(&sum, number_point)?,
            aggregation_temporality: sum.enumeration("aggregationTemporality", TEMPORALITIES)?,
            is_monotonic: sum.bool("isMonotonic")?,
        })));
    }
    if let Some(histogram) = object.object("histogram")? {
        return Ok(Some(metric::Data::Histogram(Histogram {
            data_points: points(&histogram, histogram_point)?,
            aggregation_temporality: histogram
                .enumeration("aggregationTemporality", TEMPORALITIES)?,
        })));
    }
    if let Some(histogram) = object.object("exponentialHistogram")? {
        return Ok(Some(metric::Data::ExponentialHistogram(
            ExponentialHistogram {
                data_points: points(&histogram, exponential_point)?,
                aggregation_temporality: histogram
                    .enumeration("aggregationTemporality", TEMPORALITIES)?,
            },
        )));
    }
    if let Some(summary) = object.object("summary")? {
        return Ok(Some(metric::Data::Summary(Summary {
            data_points: points(&summary, summary_point)?,
        })));
    }
    Ok(None)
}

fn points<T>(
    object: &Object<'_>,
    decode: fn(&Object<'_>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    object.objects("dataPoints")?.iter().map(decode).collect()
}

fn number_point(object: &Object<'_>) -> Result<NumberDataPoint, DecodeError> {
    Ok(NumberDataPoint {
        attributes: attributes(object)?,
        start_time_unix_nano: object.u64("startTimeUnixNano")?,
        time_unix_nano: object.u64("timeUnixNano")?,
        exemplars: exemplars(object)?,
        flags: object.u32("flags")?,
        value: number_value(object)?,
    })
}

fn number_value(object: &Object<'_>) -> Result<Option<number_data_point::Value>, DecodeError> {
    if let Some((raw, path)) = object.raw("asInt") {
        let number = parse_i64(raw).ok_or_else(|| json_error(&path, "must be a 64-bit integer"))?;
        return Ok(Some(number_data_point::Value::AsInt(number)));
    }
    Ok(object
        .optional_f64("asDouble")?
        .map(number_data_point::Value::AsDouble))
}

fn histogram_point(object: &Object<'_>) -> Result<HistogramDataPoint, DecodeError> {
    Ok(HistogramDataPoint {
        attributes: attributes(object)?,
        start_time_unix_nano: object.u64("startTimeUnixNano")?,
        time_unix_nano: object.u64("timeUnixNano")?,
        count: object.u64("count")?,
        sum: object.optional_f64("sum")?,
        bucket_counts: object.u64_list("bucketCounts")?,
        explicit_bounds: object.f64_list("explicitBounds")?,
        exemplars: exemplars(object)?,
        flags: object.u32("flags")?,
        min: object.optional_f64("min")?,
        max: object.optional_f64("max")?,
    })
}

fn exponential_point(object: &Object<'_>) -> Result<ExponentialHistogramDataPoint, DecodeError> {
    Ok(ExponentialHistogramDataPoint {
        attributes: attributes(object)?,
        start_time_unix_nano: object.u64("startTimeUnixNano")?,
        time_unix_nano: object.u64("timeUnixNano")?,
        count: object.u64("count")?,
        sum: object.optional_f64("sum")?,
        scale: object.i32("scale")?,
        zero_count: object.u64("zeroCount")?,
        positive: object
            .object("positive")?
            .map(|b| buckets(&b))
            .transpose()?,
        negative: object
            .object("negative")?
            .map(|b| buckets(&b))
            .transpose()?,
        flags: object.u32("flags")?,
        exemplars: exemplars(object)?,
        min: object.optional_f64("min")?,
        max: object.optional_f64("max")?,
        zero_threshold: object.f64("zeroThreshold")?,
    })
}

fn buckets(object: &Object<'_>) -> Result<exponential_histogram_data_point::Buckets, DecodeError> {
    Ok(exponential_histogram_data_point::Buckets {
        offset: object.i32("offset")?,
        bucket_counts: object.u64_list("bucketCounts")?,
    })
}

fn summary_point(object: &Object<'_>) -> Result<SummaryDataPoint, DecodeError> {
    let quantile_values = object
        .objects("quantileValues")?
        .iter()
        .map(|quantile| {
            Ok(summary_data_point::ValueAtQuantile {
                quantile: quantile.f64("quantile")?,
                value: quantile.f64("value")?,
            })
        })
        .collect::<Result<_, DecodeError>>()?;
    Ok(SummaryDataPoint {
        attributes: attributes(object)?,
        start_time_unix_nano: object.u64("startTimeUnixNano")?,
        time_unix_nano: object.u64("timeUnixNano")?,
        count: object.u64("count")?,
        sum: object.f64("sum")?,
        quantile_values,
        flags: object.u32("flags")?,
    })
}

fn exemplars(object: &Object<'_>) -> Result<Vec<Exemplar>, DecodeError> {
    object
        .objects("exemplars")?
        .iter()
        .map(|item| {
            let value = match item.raw("asInt") {
                Some((raw, path)) => {
                    Some(exemplar::Value::AsInt(parse_i64(raw).ok_or_else(|| {
                        json_error(&path, "must be a 64-bit integer")
                    })?))
                }
                None => item
                    .optional_f64("asDouble")?
                    .map(exemplar::Value::AsDouble),
            };
            Ok(Exemplar {
                filtered_attributes: attribute_list(item, "filteredAttributes")?,
                time_unix_nano: item.u64("timeUnixNano")?,
                span_id: item.hex_id("spanId", 8)?,
                trace_id: item.hex_id("traceId", 16)?,
                value,
            })
        })
        .collect()
}
