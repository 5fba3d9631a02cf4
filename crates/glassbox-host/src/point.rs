//! Construction of metric points and the unit conversions the collectors share.

use std::time::Duration;

use glassbox_model::{MetricKind, MetricPoint};
use serde_json::{Map, Value, json};

/// Units as UCUM codes, the way the OpenTelemetry conventions write them.
pub(crate) mod unit {
    pub(crate) const BYTES: &str = "By";
    pub(crate) const RATIO: &str = "1";
    pub(crate) const SECONDS: &str = "s";
    pub(crate) const CELSIUS: &str = "Cel";
    pub(crate) const WATTS: &str = "W";
    pub(crate) const JOULES: &str = "J";
    pub(crate) const MEGAHERTZ: &str = "MHz";
    pub(crate) const CPUS: &str = "{cpu}";
    pub(crate) const THREADS: &str = "{thread}";
}

/// OTLP `AggregationTemporality` value of a cumulative sum, stored under `temporality` in
/// [`MetricPoint::detail`] as the OTLP ingest path does.
const TEMPORALITY_CUMULATIVE: i32 = 2;

/// Labels of one point beyond the labels every point of a sample shares.
pub(crate) type Labels<'a> = &'a [(&'a str, Value)];

/// Builder of the points of one sample: same time, same shared labels (such as `host.name`).
pub(crate) struct PointFactory<'a> {
    time_unix_nano: u64,
    shared_labels: &'a Map<String, Value>,
}

impl<'a> PointFactory<'a> {
    pub(crate) fn new(time_unix_nano: u64, shared_labels: &'a Map<String, Value>) -> Self {
        PointFactory {
            time_unix_nano,
            shared_labels,
        }
    }

    /// Builds a gauge point.
    pub(crate) fn gauge(
        &self,
        name: &str,
        unit: &str,
        value: f64,
        labels: Labels<'_>,
    ) -> MetricPoint {
        self.point(MetricKind::Gauge, name, unit, value, labels)
    }

    /// Builds a monotonic cumulative sum. `start_time_unix_nano` is when the counter started
    /// from zero, or `None` where the source does not report it.
    pub(crate) fn counter(
        &self,
        name: &str,
        unit: &str,
        value: f64,
        start_time_unix_nano: Option<u64>,
        labels: Labels<'_>,
    ) -> MetricPoint {
        let mut point = self.point(MetricKind::Sum, name, unit, value, labels);
        point.start_time_unix_nano = start_time_unix_nano;
        point.detail = monotonic_cumulative_detail();
        point
    }

    fn point(
        &self,
        kind: MetricKind,
        name: &str,
        unit: &str,
        value: f64,
        labels: Labels<'_>,
    ) -> MetricPoint {
        let mut all_labels = self.shared_labels.clone();
        for (key, label_value) in labels {
            all_labels.insert((*key).to_owned(), label_value.clone());
        }

        MetricPoint {
            name: name.to_owned(),
            kind,
            unit: Some(unit.to_owned()),
            service_name: None,
            labels: all_labels,
            start_time_unix_nano: None,
            time_unix_nano: self.time_unix_nano,
            value: Some(value),
            count: None,
            detail: Map::new(),
        }
    }
}

/// Returns the `detail` of a monotonic cumulative sum, with the keys the OTLP ingest path uses.
fn monotonic_cumulative_detail() -> Map<String, Value> {
    let mut detail = Map::new();
    detail.insert("is_monotonic".to_owned(), json!(true));
    detail.insert("temporality".to_owned(), json!(TEMPORALITY_CUMULATIVE));
    detail
}

/// Converts a percentage (0–100) to a fraction (0–1).
pub(crate) fn percent_to_fraction(percent: f64) -> f64 {
    percent / 100.0
}

/// Converts milliwatts to watts.
pub(crate) fn milliwatts_to_watts(milliwatts: u32) -> f64 {
    f64::from(milliwatts) / 1_000.0
}

/// Converts millijoules to joules.
pub(crate) fn millijoules_to_joules(millijoules: u64) -> f64 {
    millijoules as f64 / 1_000.0
}

/// Returns `part / whole`, or `None` when `whole` is zero.
pub(crate) fn fraction(part: u64, whole: u64) -> Option<f64> {
    (whole != 0).then(|| part as f64 / whole as f64)
}

/// Converts CPU time used over a wall-clock interval to the fraction of the whole machine that
/// the conventions define for `process.cpu.utilization`: `cpu_time / (interval × logical_cpus)`.
///
/// The result is capped at 1, because the kernel counts CPU time in ticks (10 ms on most Linux
/// builds) and can overshoot a short interval.
pub(crate) fn cpu_time_fraction(
    cpu_time: Duration,
    interval: Duration,
    logical_cpus: usize,
) -> Option<f64> {
    if interval.is_zero() || logical_cpus == 0 {
        return None;
    }
    let fraction = cpu_time.as_secs_f64() / (interval.as_secs_f64() * logical_cpus as f64);
    Some(fraction.min(1.0))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn shared_labels() -> Map<String, Value> {
        let mut labels = Map::new();
        labels.insert("host.name".to_owned(), json!("box-1"));
        labels
    }

    #[test]
    fn percent_becomes_fraction() {
        assert_eq!(percent_to_fraction(0.0), 0.0);
        assert_eq!(percent_to_fraction(37.0), 0.37);
        assert_eq!(percent_to_fraction(100.0), 1.0);
    }

    #[test]
    fn milliwatts_become_watts() {
        assert_eq!(milliwatts_to_watts(0), 0.0);
        assert_eq!(milliwatts_to_watts(71_250), 71.25);
        assert_eq!(milliwatts_to_watts(u32::MAX), 4_294_967.295);
    }

    #[test]
    fn millijoules_become_joules() {
        assert_eq!(millijoules_to_joules(1_500), 1.5);
        assert_eq!(millijoules_to_joules(3_600_000_000), 3_600_000.0);
    }

    #[test]
    fn fraction_of_zero_whole_is_none() {
        assert_eq!(fraction(1, 0), None);
        assert_eq!(fraction(0, 8), Some(0.0));
        assert_eq!(
            fraction(6 * 1024 * 1024 * 1024, 24 * 1024 * 1024 * 1024),
            Some(0.25)
        );
    }

    #[test]
    fn cpu_time_divides_by_interval_and_cpus() {
        let second = Duration::from_secs(1);

        assert_eq!(
            cpu_time_fraction(Duration::from_millis(2_000), 10 * second, 4),
            Some(0.05)
        );
        assert_eq!(
            cpu_time_fraction(Duration::from_millis(500), second, 1),
            Some(0.5)
        );
        assert_eq!(
            cpu_time_fraction(Duration::from_millis(1_010), second, 1),
            Some(1.0)
        );
        assert_eq!(cpu_time_fraction(second, Duration::ZERO, 4), None);
        assert_eq!(cpu_time_fraction(second, second, 0), None);
    }

    #[test]
    fn gauge_carries_shared_and_own_labels() {
        let shared = shared_labels();
        let factory = PointFactory::new(42, &shared);

        let point = factory.gauge(
            "system.memory.usage",
            unit::BYTES,
            7.0,
            &[("system.memory.state", json!("used"))],
        );

        assert_eq!(point.kind, MetricKind::Gauge);
        assert_eq!(point.unit.as_deref(), Some("By"));
        assert_eq!(point.service_name, None);
        assert_eq!(point.time_unix_nano, 42);
        assert_eq!(point.value, Some(7.0));
        assert_eq!(point.labels.get("host.name"), Some(&json!("box-1")));
        assert_eq!(
            point.labels.get("system.memory.state"),
            Some(&json!("used"))
        );
        assert!(point.detail.is_empty());
    }

    #[test]
    fn counter_is_monotonic_cumulative_sum() {
        let shared = shared_labels();
        let factory = PointFactory::new(42, &shared);

        let point = factory.counter("system.network.io", unit::BYTES, 9.0, Some(7), &[]);

        assert_eq!(point.kind, MetricKind::Sum);
        assert_eq!(point.start_time_unix_nano, Some(7));
        assert_eq!(point.detail.get("is_monotonic"), Some(&json!(true)));
        assert_eq!(point.detail.get("temporality"), Some(&json!(2)));
    }
}
