//! Integration tests of glassbox-host against the machine they run on.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod gpu;
mod host;
mod procfs;

use std::time::{SystemTime, UNIX_EPOCH};

use glassbox_host::MetricPoint;
use serde_json::Value;

/// Returns the current time in nanoseconds since the Unix epoch.
pub fn now_unix_nano() -> u64 {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(elapsed.as_nanos()).unwrap()
}

/// Returns the points named `name` whose labels include all of `labels`.
pub fn find<'a>(
    points: &'a [MetricPoint],
    name: &str,
    labels: &[(&str, Value)],
) -> Vec<&'a MetricPoint> {
    points
        .iter()
        .filter(|point| point.name == name)
        .filter(|point| {
            labels
                .iter()
                .all(|(key, value)| point.labels.get(*key) == Some(value))
        })
        .collect()
}

/// Returns the value of the one point named `name` with `labels`, failing when there is not
/// exactly one.
pub fn value_of(points: &[MetricPoint], name: &str, labels: &[(&str, Value)]) -> f64 {
    let found = find(points, name, labels);
    assert_eq!(
        found.len(),
        1,
        "expected one {name} point with {labels:?}, found {found:#?}"
    );
    found[0].value.unwrap()
}
