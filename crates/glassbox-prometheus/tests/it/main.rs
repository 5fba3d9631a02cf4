//! Tests over recorded metric pages of each inference server, in each one's exposition
//! format, under `tests/data/`. Expected values are worked out by hand from the pages.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod malformed;
mod pages;
mod rates;

use std::path::PathBuf;

use glassbox_model::MetricPoint;
use glassbox_prometheus::{Converted, Exposition, Limits, Mapper, ServerKind, parse};
use serde_json::Value;

/// Time of the first scrape in the tests, in nanoseconds since the Unix epoch.
pub const T0: u64 = 1_730_200_000_000_000_000;
/// Time between two scrapes in the tests: 15 seconds.
pub const INTERVAL: u64 = 15_000_000_000;

/// Returns the text of a page under `tests/data/`.
pub fn page(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// Parses a page under `tests/data/` with the default limits.
pub fn exposition(name: &str) -> Exposition {
    parse(&page(name), &Limits::default()).unwrap_or_else(|error| panic!("{name}: {error}"))
}

/// Converts a page under `tests/data/` with a mapper, as target `"server-1"`.
pub fn scrape(mapper: &mut Mapper, name: &str, time_unix_nano: u64) -> Converted {
    mapper.convert(&exposition(name), "server-1", time_unix_nano)
}

/// Converts one page with a new mapper.
pub fn first_scrape(kind: ServerKind, name: &str) -> Converted {
    scrape(&mut Mapper::new(kind), name, T0)
}

/// Returns the canonical points with this name.
pub fn canonical<'c>(converted: &'c Converted, name: &str) -> Vec<&'c MetricPoint> {
    converted
        .canonical
        .iter()
        .filter(|point| point.name == name)
        .collect()
}

/// Returns the only canonical point with this name.
pub fn only<'c>(converted: &'c Converted, name: &str) -> &'c MetricPoint {
    let points = canonical(converted, name);
    assert_eq!(
        points.len(),
        1,
        "expected one {name} point, got {points:#?}"
    );
    points[0]
}

/// Returns the value of the only canonical point with this name.
pub fn value(converted: &Converted, name: &str) -> f64 {
    only(converted, name)
        .value
        .unwrap_or_else(|| panic!("{name} has no value"))
}

/// Returns the raw point with this name and these labels among others.
pub fn raw<'c>(converted: &'c Converted, name: &str, labels: &[(&str, &str)]) -> &'c MetricPoint {
    let found: Vec<&MetricPoint> = converted
        .raw
        .iter()
        .filter(|point| {
            point.name == name
                && labels
                    .iter()
                    .all(|(key, value)| label(point, key) == Some(value))
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one raw {name} {labels:?}, got {found:#?}"
    );
    found[0]
}

/// Returns a label of a point as text.
pub fn label<'p>(point: &'p MetricPoint, key: &str) -> Option<&'p str> {
    point.labels.get(key).and_then(Value::as_str)
}

/// Checks a float to within 1e-9, relative to the larger magnitude.
#[track_caller]
pub fn assert_close(actual: f64, expected: f64, name: &str) {
    let tolerance = 1e-9 * expected.abs().max(1.0);
    assert!(
        (actual - expected).abs() <= tolerance,
        "{name}: expected {expected}, got {actual}"
    );
}

/// Checks the value of the only canonical point with this name.
#[track_caller]
pub fn assert_value(converted: &Converted, name: &str, expected: f64) {
    assert_close(value(converted, name), expected, name);
}
