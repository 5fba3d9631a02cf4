//! Queries and upkeep of metric points: OTLP data points and scraped infrastructure metrics.

use serde_json::{Map, Value};

/// The points one chart or value reads.
#[derive(Debug, Clone, Default)]
pub struct PointQuery {
    /// The metric name.
    pub name: String,
    /// Start of the range, nanoseconds since the Unix epoch, inclusive.
    pub from_unix_nano: u64,
    /// End of the range, exclusive.
    pub to_unix_nano: u64,
    /// Labels a point must carry with these values.
    pub labels: Vec<(String, String)>,
}

/// The points of one label set, averaged per time step.
#[derive(Debug, Clone, PartialEq)]
pub struct PointSeries {
    /// The labels shared by the points.
    pub labels: Map<String, Value>,
    /// The steps in time order; steps without points are absent.
    pub steps: Vec<PointStep>,
}

/// The values of one series in one time step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointStep {
    /// Start of the step.
    pub start_unix_nano: u64,
    /// Mean of the values.
    pub mean: f64,
    /// Time of the latest point of the step.
    pub last_unix_nano: u64,
    /// Value of the latest point of the step.
    pub last: f64,
}

/// One metric name seen in a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricName {
    /// The name.
    pub name: String,
    /// The instrument type of its latest point.
    pub kind: String,
    /// Its unit, when the points carried one.
    pub unit: Option<String>,
    /// Points stored in the range.
    pub points: u64,
}

/// The counts of one retention pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionSummary {
    /// Points older than the retention, deleted.
    pub deleted: u64,
    /// Points replaced by downsampled ones.
    pub merged: u64,
    /// Downsampled points written in their place.
    pub written: u64,
}
