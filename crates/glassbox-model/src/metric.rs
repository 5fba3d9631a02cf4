//! Metric points: OTLP data points and, later, scraped infrastructure metrics.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The instrument type of a metric point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// A value sampled at a point in time.
    Gauge,
    /// A sum over time, monotonic (a counter) or not.
    Sum,
    /// A histogram with explicit bucket bounds.
    Histogram,
    /// A histogram with exponential buckets.
    ExponentialHistogram,
    /// Quantiles computed by the sender.
    Summary,
}

impl MetricKind {
    /// Returns the lowercase name used in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Gauge => "gauge",
            MetricKind::Sum => "sum",
            MetricKind::Histogram => "histogram",
            MetricKind::ExponentialHistogram => "exponential_histogram",
            MetricKind::Summary => "summary",
        }
    }
}

/// One data point of a metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    /// The metric name.
    pub name: String,
    /// The instrument type.
    pub kind: MetricKind,
    /// The unit as sent (`s`, `{token}`, `By`).
    pub unit: Option<String>,
    /// The `service.name` resource attribute.
    pub service_name: Option<String>,
    /// Point attributes, with resource attributes under `resource.` keys.
    pub labels: Map<String, Value>,
    /// Start of the aggregation interval, for sums and histograms.
    pub start_time_unix_nano: Option<u64>,
    /// Time of the point in nanoseconds since the Unix epoch.
    pub time_unix_nano: u64,
    /// The value of a gauge or sum, or the sum of a histogram or summary.
    pub value: Option<f64>,
    /// The number of observations, for histograms and summaries.
    pub count: Option<u64>,
    /// Instrument details: temporality, monotonicity, buckets, quantiles.
    pub detail: Map<String, Value>,
}
