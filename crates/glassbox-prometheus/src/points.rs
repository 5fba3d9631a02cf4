//! Construction of metric points: the raw points of every family under its own names, and
//! the builders the canonical mapping shares.
//!
//! `detail` uses the keys of the OTLP ingest path: `is_monotonic` and `temporality` (the
//! OTLP `AggregationTemporality` number) for sums, `temporality`, `explicit_bounds`,
//! `bucket_counts`, `min` and `max` for histograms, and `quantiles` for summaries.

use std::collections::HashMap;

use glassbox_model::{MetricKind, MetricPoint};
use serde_json::{Map, Value, json};

use crate::family::{Exposition, Family, FamilyKind, Sample};
use crate::histogram::{self, Series, SeriesNames, to_count};
use crate::index::{LabelKey, SampleIndex, label_key};
use crate::line::parse_float;
use crate::server::ServerKind;

/// OTLP `AggregationTemporality` of cumulative sums and histograms.
const TEMPORALITY_CUMULATIVE: i32 = 2;
/// OTLP `AggregationTemporality` for gauge histograms, which are neither delta nor
/// cumulative.
const TEMPORALITY_UNSPECIFIED: i32 = 0;

/// Label added to every point with the scrape target's name.
pub(crate) const TARGET_LABEL: &str = "target";
/// Label added to every point with the [`ServerKind`] name.
pub(crate) const SERVER_KIND_LABEL: &str = "server.kind";

/// The scrape a point comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scrape<'a> {
    pub(crate) target: &'a str,
    pub(crate) server: ServerKind,
    pub(crate) time_unix_nano: u64,
}

impl Scrape<'_> {
    /// Builds the labels of a point: the given pairs, then `target` and `server.kind`. A
    /// sample label with one of those two names is kept as `exported_<name>`, as the
    /// Prometheus server does.
    pub(crate) fn labels<'l>(
        &self,
        pairs: impl IntoIterator<Item = (&'l str, &'l str)>,
    ) -> Map<String, Value> {
        let mut labels = Map::new();
        for (name, value) in pairs {
            let key = if name == TARGET_LABEL || name == SERVER_KIND_LABEL {
                format!("exported_{name}")
            } else {
                name.to_owned()
            };
            labels.insert(key, Value::String(value.to_owned()));
        }
        labels.insert(TARGET_LABEL.to_owned(), json!(self.target));
        labels.insert(SERVER_KIND_LABEL.to_owned(), json!(self.server.as_str()));
        labels
    }

    /// Builds a point without value, count or detail.
    pub(crate) fn point(
        &self,
        name: &str,
        kind: MetricKind,
        unit: Option<&str>,
        labels: Map<String, Value>,
    ) -> MetricPoint {
        MetricPoint {
            name: name.to_owned(),
            kind,
            unit: unit.map(str::to_owned),
            service_name: None,
            labels,
            start_time_unix_nano: None,
            time_unix_nano: self.time_unix_nano,
            value: None,
            count: None,
            detail: Map::new(),
        }
    }

    /// Returns the time of a sample: its own timestamp when it has one, else the scrape time.
    fn sample_time(&self, timestamp_ms: Option<i64>) -> u64 {
        timestamp_ms
            .and_then(|milliseconds| u64::try_from(milliseconds).ok())
            .and_then(|milliseconds| milliseconds.checked_mul(1_000_000))
            .unwrap_or(self.time_unix_nano)
    }
}

/// Converts a `_created` value, in seconds since the Unix epoch, to nanoseconds. Whole
/// seconds and the fraction are converted apart, because a float cannot represent today's
/// time in nanoseconds exactly. The fraction is rounded to microseconds, which is about the
/// precision of a float of today's time in seconds.
pub(crate) fn created_to_unix_nano(seconds: f64) -> Option<u64> {
    if !seconds.is_finite() || seconds <= 0.0 || seconds >= (u64::MAX / 1_000_000_000) as f64 {
        return None;
    }
    let whole = seconds.trunc();
    let microseconds = ((seconds - whole) * 1e6).round() as u64;
    Some(whole as u64 * 1_000_000_000 + microseconds * 1_000)
}

/// Builds a cumulative histogram point from one series.
pub(crate) fn histogram_point(
    scrape: &Scrape<'_>,
    name: &str,
    unit: Option<&str>,
    series: &Series<'_>,
    labels: Map<String, Value>,
    created: Option<f64>,
) -> MetricPoint {
    let mut point = scrape.point(name, MetricKind::Histogram, unit, labels);
    point.time_unix_nano = scrape.sample_time(series.timestamp_ms);
    point.start_time_unix_nano = created.and_then(created_to_unix_nano);
    point.value = series.sum.filter(|sum| !sum.is_nan());
    point.count = series.total().map(to_count);
    point.detail = histogram_detail(series, TEMPORALITY_CUMULATIVE);
    point
}

fn histogram_detail(series: &Series<'_>, temporality: i32) -> Map<String, Value> {
    let (bounds, counts) = series.buckets.otlp_buckets();
    let mut detail = Map::new();
    detail.insert("temporality".to_owned(), json!(temporality));
    detail.insert("explicit_bounds".to_owned(), json!(bounds));
    detail.insert("bucket_counts".to_owned(), json!(counts));
    detail.insert("min".to_owned(), Value::Null);
    detail.insert("max".to_owned(), Value::Null);
    detail
}

/// Converts every family of a page into points under the names the page uses.
///
/// Python's `prometheus_client` writes a counter's or histogram's `_created` series as a gauge
/// family of its own in format 0.0.4, and in the family in OpenMetrics. Both only give the
/// start time of the series, so such gauge families become no points of their own.
pub(crate) fn raw_points(
    exposition: &Exposition,
    index: &SampleIndex<'_>,
    scrape: &Scrape<'_>,
) -> Vec<MetricPoint> {
    let mut points = Vec::new();
    for family in &exposition.families {
        if is_created_family(exposition, family) {
            continue;
        }
        match family.kind {
            FamilyKind::Counter => counter_points(family, index, scrape, &mut points),
            FamilyKind::Histogram => histogram_points(family, index, scrape, &mut points),
            FamilyKind::GaugeHistogram => gauge_histogram_points(family, scrape, &mut points),
            FamilyKind::Summary => summary_points(family, index, scrape, &mut points),
            FamilyKind::Gauge | FamilyKind::Info | FamilyKind::StateSet | FamilyKind::Untyped => {
                gauge_points(family, scrape, &mut points);
            }
        }
    }
    points
}

/// Returns true for a gauge family `X_created` beside a counter, histogram or summary `X`
/// (or `X_total`).
fn is_created_family(exposition: &Exposition, family: &Family) -> bool {
    let Some(base) = family.name.strip_suffix("_created") else {
        return false;
    };
    family.kind == FamilyKind::Gauge
        && exposition.families.iter().any(|other| {
            matches!(
                other.kind,
                FamilyKind::Counter | FamilyKind::Histogram | FamilyKind::Summary
            ) && (other.name == base || other.name.strip_suffix("_total") == Some(base))
        })
}

fn gauge_points(family: &Family, scrape: &Scrape<'_>, points: &mut Vec<MetricPoint>) {
    for sample in &family.samples {
        let labels = scrape.labels(pairs(sample));
        let mut point = scrape.point(
            &sample.name,
            MetricKind::Gauge,
            family.unit.as_deref(),
            labels,
        );
        point.time_unix_nano = scrape.sample_time(sample.timestamp_ms);
        point.value = number(sample.value);
        points.push(point);
    }
}

/// Builds one monotonic cumulative sum per sample; `_created` samples give the start time.
fn counter_points(
    family: &Family,
    index: &SampleIndex<'_>,
    scrape: &Scrape<'_>,
    points: &mut Vec<MetricPoint>,
) {
    for sample in &family.samples {
        if sample.name != family.name && sample.name.ends_with("_created") {
            continue;
        }
        let base = sample.name.strip_suffix("_total").unwrap_or(&sample.name);
        let created = index.created(base, &label_key(sample, &[]));

        let labels = scrape.labels(pairs(sample));
        let mut point = scrape.point(
            &sample.name,
            MetricKind::Sum,
            family.unit.as_deref(),
            labels,
        );
        point.time_unix_nano = scrape.sample_time(sample.timestamp_ms);
        point.start_time_unix_nano = created.and_then(created_to_unix_nano);
        point.value = number(sample.value);
        point.detail.insert("is_monotonic".to_owned(), json!(true));
        point
            .detail
            .insert("temporality".to_owned(), json!(TEMPORALITY_CUMULATIVE));
        points.push(point);
    }
}

fn histogram_points(
    family: &Family,
    index: &SampleIndex<'_>,
    scrape: &Scrape<'_>,
    points: &mut Vec<MetricPoint>,
) {
    for series in histogram::group(&SeriesNames::histogram(&family.name), &family.samples) {
        let created = index.created(&family.name, &series.key());
        let labels = scrape.labels(series.labels.iter().copied());
        points.push(histogram_point(
            scrape,
            &family.name,
            family.unit.as_deref(),
            &series,
            labels,
            created,
        ));
    }
}

fn gauge_histogram_points(family: &Family, scrape: &Scrape<'_>, points: &mut Vec<MetricPoint>) {
    for series in histogram::group(&SeriesNames::gauge_histogram(&family.name), &family.samples) {
        let labels = scrape.labels(series.labels.iter().copied());
        let mut point = histogram_point(
            scrape,
            &family.name,
            family.unit.as_deref(),
            &series,
            labels,
            None,
        );
        point.detail = histogram_detail(&series, TEMPORALITY_UNSPECIFIED);
        points.push(point);
    }
}

/// The samples of one summary series.
#[derive(Default)]
struct SummarySeries<'a> {
    labels: LabelKey<'a>,
    quantiles: Vec<(f64, f64)>,
    sum: Option<f64>,
    count: Option<f64>,
    timestamp_ms: Option<i64>,
}

fn summary_points(
    family: &Family,
    index: &SampleIndex<'_>,
    scrape: &Scrape<'_>,
    points: &mut Vec<MetricPoint>,
) {
    for series in group_summary(family) {
        let created = index.created(&family.name, &series.labels);
        let labels = scrape.labels(series.labels.iter().copied());
        let mut point = scrape.point(
            &family.name,
            MetricKind::Summary,
            family.unit.as_deref(),
            labels,
        );
        point.time_unix_nano = scrape.sample_time(series.timestamp_ms);
        point.start_time_unix_nano = created.and_then(created_to_unix_nano);
        point.value = series.sum.and_then(number);
        point.count = series.count.map(to_count);

        let quantiles: Vec<Value> = series
            .quantiles
            .iter()
            .map(|(quantile, value)| json!({"quantile": quantile, "value": number(*value)}))
            .collect();
        point
            .detail
            .insert("quantiles".to_owned(), Value::Array(quantiles));
        points.push(point);
    }
}

fn group_summary(family: &Family) -> Vec<SummarySeries<'_>> {
    let sum_name = format!("{}_sum", family.name);
    let count_name = format!("{}_count", family.name);
    let mut series: Vec<SummarySeries<'_>> = Vec::new();
    let mut positions: HashMap<LabelKey<'_>, usize> = HashMap::new();
    for sample in &family.samples {
        let key = label_key(sample, &["quantile"]);
        let position = *positions.entry(key.clone()).or_insert_with(|| {
            series.push(SummarySeries {
                labels: key,
                ..SummarySeries::default()
            });
            series.len() - 1
        });
        let entry = &mut series[position];
        entry.timestamp_ms = entry.timestamp_ms.or(sample.timestamp_ms);
        if sample.name == sum_name {
            entry.sum = Some(sample.value);
        } else if sample.name == count_name {
            entry.count = Some(sample.value);
        } else if let Some(quantile) = sample.label("quantile").and_then(parse_float) {
            entry.quantiles.push((quantile, sample.value));
        }
    }
    for entry in &mut series {
        entry
            .quantiles
            .sort_by(|left, right| left.0.total_cmp(&right.0));
    }
    series
}

fn pairs(sample: &Sample) -> impl Iterator<Item = (&str, &str)> {
    sample
        .labels
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
}

/// Returns a value for a raw point: NaN, which JSON cannot hold and which means "no value",
/// becomes `None`; infinities stay.
fn number(value: f64) -> Option<f64> {
    (!value.is_nan()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, parse};

    fn raw(page: &str) -> Vec<MetricPoint> {
        let exposition = parse(page, &Limits::default()).unwrap();
        let index = SampleIndex::new(&exposition);
        let scrape = Scrape {
            target: "node-1",
            server: ServerKind::Prometheus,
            time_unix_nano: 5_000_000_000,
        };
        raw_points(&exposition, &index, &scrape)
    }

    #[test]
    fn labels_clash_with_target() {
        let points = raw("up{target=\"a\",job=\"b\"} 1\n");
        let labels = &points[0].labels;
        assert_eq!(labels.get("target"), Some(&json!("node-1")));
        assert_eq!(labels.get("exported_target"), Some(&json!("a")));
        assert_eq!(labels.get("job"), Some(&json!("b")));
        assert_eq!(labels.get("server.kind"), Some(&json!("prometheus")));
    }

    #[test]
    fn counter_with_created_start_time() {
        let page = "# TYPE x counter\nx_total{a=\"1\"} 7\nx_created{a=\"1\"} 1700000000.5\n# EOF\n";
        let points = raw(page);
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].name, "x_total");
        assert_eq!(points[0].kind, MetricKind::Sum);
        assert_eq!(points[0].value, Some(7.0));
        assert_eq!(
            points[0].start_time_unix_nano,
            Some(1_700_000_000_500_000_000)
        );
        assert_eq!(points[0].detail.get("is_monotonic"), Some(&json!(true)));
        assert_eq!(points[0].detail.get("temporality"), Some(&json!(2)));
    }

    #[test]
    fn sample_timestamp_is_point_time() {
        let points = raw("up 1 1700000000123\ndown 0\n");
        assert_eq!(points[0].time_unix_nano, 1_700_000_000_123_000_000);
        assert_eq!(points[1].time_unix_nano, 5_000_000_000);
    }

    #[test]
    fn nan_gauge_has_no_value() {
        let points = raw("a NaN\nb +Inf\n");
        assert_eq!(points[0].value, None);
        assert_eq!(points[1].value, Some(f64::INFINITY));
    }

    #[test]
    fn summary_quantiles_sorted() {
        let page = "\
# TYPE rpc_us summary
rpc_us{m=\"a\",quantile=\"0.9\"} 30
rpc_us{m=\"a\",quantile=\"0.5\"} 10
rpc_us_sum{m=\"a\"} 400
rpc_us_count{m=\"a\"} 20
";
        let points = raw(page);
        assert_eq!(points.len(), 1);
        let point = &points[0];
        assert_eq!(point.kind, MetricKind::Summary);
        assert_eq!(point.value, Some(400.0));
        assert_eq!(point.count, Some(20));
        assert_eq!(point.labels.get("m"), Some(&json!("a")));
        assert_eq!(
            point.detail.get("quantiles"),
            Some(&json!([{"quantile": 0.5, "value": 10.0}, {"quantile": 0.9, "value": 30.0}]))
        );
    }

    #[test]
    fn gauge_histogram_is_not_cumulative() {
        let page = "\
# TYPE queue gaugehistogram
queue_bucket{le=\"1\"} 2
queue_bucket{le=\"+Inf\"} 3
queue_gsum 2.5
queue_gcount 3
# EOF
";
        let points = raw(page);
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].value, Some(2.5));
        assert_eq!(points[0].count, Some(3));
        assert_eq!(points[0].detail.get("temporality"), Some(&json!(0)));
        assert_eq!(points[0].detail.get("bucket_counts"), Some(&json!([2, 1])));
    }

    #[test]
    fn created_conversion() {
        assert_eq!(created_to_unix_nano(1.5), Some(1_500_000_000));
        assert_eq!(
            created_to_unix_nano(1_730_199_000.25),
            Some(1_730_199_000_250_000_000)
        );
        assert_eq!(
            created_to_unix_nano(1_730_199_000.123),
            Some(1_730_199_000_123_000_000)
        );
        assert_eq!(created_to_unix_nano(-1.0), None);
        assert_eq!(created_to_unix_nano(f64::NAN), None);
        assert_eq!(created_to_unix_nano(1e30), None);
    }
}
