//! Latest value per series, for a health view.

use std::collections::BTreeMap;

use glassbox_model::MetricPoint;
use serde_json::Value;

use crate::names;

/// Labels that identify the host or repeat another label, left out of the series key.
const HIDDEN_LABELS: [&str; 4] = [
    names::HOST_NAME,
    names::HW_ID,
    names::HW_TYPE,
    names::SYSTEM_DEVICE,
];

/// Returns the newest value of each series in `points`, sorted by key.
///
/// The key is the metric name, followed by the values of its other labels in brackets, such as
/// `system.filesystem.usage (/, used, ext4)` or `hw.gpu.utilization (0, general, NVIDIA L4)`.
/// Label values follow the alphabetical order of their keys. `host.name`, `hw.id`, `hw.type` and
/// `system.device` are left out to keep keys short, so points of several hosts should not be
/// mixed in one call. Points without a value (histograms, summaries) are skipped.
pub fn latest(points: &[MetricPoint]) -> Vec<(String, f64)> {
    let mut newest: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    for point in points {
        let Some(value) = point.value else {
            continue;
        };
        let entry = newest
            .entry(series_key(point))
            .or_insert((point.time_unix_nano, value));
        if point.time_unix_nano >= entry.0 {
            *entry = (point.time_unix_nano, value);
        }
    }

    newest
        .into_iter()
        .map(|(key, (_, value))| (key, value))
        .collect()
}

fn series_key(point: &MetricPoint) -> String {
    let mut shown: Vec<(&String, &Value)> = point
        .labels
        .iter()
        .filter(|(key, _)| !HIDDEN_LABELS.contains(&key.as_str()))
        .collect();
    shown.sort_by_key(|(key, _)| *key);
    let label_values: Vec<String> = shown
        .into_iter()
        .map(|(_, value)| label_text(value))
        .collect();

    if label_values.is_empty() {
        point.name.clone()
    } else {
        format!("{} ({})", point.name, label_values.join(", "))
    }
}

fn label_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use glassbox_model::MetricKind;
    use serde_json::{Map, json};

    use super::*;

    fn point(
        name: &str,
        labels: &[(&str, Value)],
        time_unix_nano: u64,
        value: Option<f64>,
    ) -> MetricPoint {
        let mut label_map = Map::new();
        label_map.insert("host.name".to_owned(), json!("box-1"));
        for (key, label_value) in labels {
            label_map.insert((*key).to_owned(), label_value.clone());
        }
        MetricPoint {
            name: name.to_owned(),
            kind: MetricKind::Gauge,
            unit: None,
            service_name: None,
            labels: label_map,
            start_time_unix_nano: None,
            time_unix_nano,
            value,
            count: None,
            detail: Map::new(),
        }
    }

    #[test]
    fn newest_point_wins() {
        let points = [
            point("system.uptime", &[], 20, Some(200.0)),
            point("system.uptime", &[], 30, Some(300.0)),
            point("system.uptime", &[], 10, Some(100.0)),
        ];

        assert_eq!(latest(&points), vec![("system.uptime".to_owned(), 300.0)]);
    }

    #[test]
    fn key_names_device_and_state() {
        let points = [
            point(
                "system.filesystem.usage",
                &[
                    ("system.device", json!("/dev/vda")),
                    ("system.filesystem.mountpoint", json!("/")),
                    ("system.filesystem.state", json!("used")),
                ],
                1,
                Some(5.0),
            ),
            point(
                "hw.gpu.utilization",
                &[
                    ("hw.id", json!("GPU-1234")),
                    ("gpu.index", json!(0)),
                    ("hw.type", json!("gpu")),
                ],
                1,
                Some(0.5),
            ),
        ];

        let values = latest(&points);

        assert_eq!(
            values,
            vec![
                ("hw.gpu.utilization (0)".to_owned(), 0.5),
                ("system.filesystem.usage (/, used)".to_owned(), 5.0),
            ]
        );
    }

    #[test]
    fn points_without_value_are_skipped() {
        let points = [point("request.duration", &[], 1, None)];

        assert!(latest(&points).is_empty());
    }
}
