//! Metric points: series per label set and step, the names of a range, and retention with
//! downsampling of old points.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Transaction, params};

use super::rows::{as_params, to_sql_int};
use crate::error::StoreError;
use crate::points::{MetricName, PointQuery, PointSeries, PointStep, RetentionSummary};

/// Most label sets one series query returns, so a metric with a label per request cannot
/// flood a chart.
const MAX_SERIES: usize = 200;

/// Averages the points of `query` per label set and step of `step_seconds`.
pub(crate) fn series(
    connection: &Connection,
    query: &PointQuery,
    step_seconds: i64,
) -> Result<Vec<PointSeries>, StoreError> {
    let step = step_seconds.max(1).saturating_mul(1_000_000_000);
    let from = to_sql_int(query.from_unix_nano);
    let mut sql = "SELECT labels, (time_ns - ?3) / ?4 AS step, avg(value), max(time_ns), value \
                   FROM metric_points WHERE name = ?1 AND time_ns >= ?3 AND time_ns < ?2 \
                   AND value IS NOT NULL"
        .to_owned();
    let mut values = vec![
        SqlValue::Text(query.name.clone()),
        SqlValue::Integer(to_sql_int(query.to_unix_nano)),
        SqlValue::Integer(from),
        SqlValue::Integer(step),
    ];
    for (key, value) in &query.labels {
        values.push(SqlValue::Text(format!("$.\"{}\"", key.replace('"', ""))));
        values.push(SqlValue::Text(value.clone()));
        sql.push_str(&format!(
            " AND json_extract(labels, ?{}) = ?{}",
            values.len() - 1,
            values.len()
        ));
    }
    // With one max() aggregate, SQLite takes the bare `value` column from the row that gave
    // it: the latest point of the step.
    sql.push_str(" GROUP BY labels, step ORDER BY labels, step");

    let mut statement = connection.prepare_cached(&sql)?;
    let mut rows = statement.query(as_params(&values).as_slice())?;
    let mut series: Vec<PointSeries> = Vec::new();
    let mut current_labels: Option<String> = None;
    while let Some(row) = rows.next()? {
        let labels: String = row.get(0)?;
        if current_labels.as_deref() != Some(labels.as_str()) {
            if series.len() == MAX_SERIES {
                break;
            }
            series.push(PointSeries {
                labels: serde_json::from_str(&labels).unwrap_or_default(),
                steps: Vec::new(),
            });
            current_labels = Some(labels);
        }
        let index: i64 = row.get(1)?;
        let last_time: i64 = row.get(3)?;
        let step_start = from.saturating_add(index.saturating_mul(step));
        if let Some(last) = series.last_mut() {
            last.steps.push(PointStep {
                start_unix_nano: u64::try_from(step_start).unwrap_or(0),
                mean: row.get(2)?,
                last_unix_nano: u64::try_from(last_time).unwrap_or(0),
                last: row.get(4)?,
            });
        }
    }
    Ok(series)
}

/// Lists the metric names with points in `[from, to)`, alphabetically.
pub(crate) fn names(
    connection: &Connection,
    from: u64,
    to: u64,
) -> Result<Vec<MetricName>, StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT name, kind, max(unit), count(*) FROM metric_points \
         WHERE time_ns >= ?1 AND time_ns < ?2 GROUP BY name ORDER BY name",
    )?;
    let mut rows = statement.query(params![to_sql_int(from), to_sql_int(to)])?;
    let mut names = Vec::new();
    while let Some(row) = rows.next()? {
        let points: i64 = row.get(3)?;
        names.push(MetricName {
            name: row.get(0)?,
            kind: row.get(1)?,
            unit: row.get(2)?,
            points: u64::try_from(points).unwrap_or(0),
        });
    }
    Ok(names)
}

/// Deletes the points before `delete_before`, then merges the gauge points between it and
/// `downsample_before` into one point per name, label set and step of `step_seconds`: the
/// mean value, with the largest kept in `detail.max`. Sums, histograms and summaries are
/// cumulative, so of those only the latest point of each step is kept.
pub(crate) fn retain(
    transaction: &Transaction<'_>,
    delete_before: u64,
    downsample_before: u64,
    step_seconds: i64,
) -> Result<RetentionSummary, StoreError> {
    let deleted = transaction.execute(
        "DELETE FROM metric_points WHERE time_ns < ?1",
        params![to_sql_int(delete_before)],
    )?;
    let step = step_seconds.max(60).saturating_mul(1_000_000_000);
    let range = params![
        to_sql_int(delete_before),
        to_sql_int(downsample_before),
        step
    ];

    // Gauges: one mean point per step, unless the step already has a single point.
    transaction.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS downsampled (
            name TEXT, kind TEXT, unit TEXT, service_name TEXT, labels TEXT, time_ns INTEGER,
            value REAL, max_value REAL, points INTEGER);
         DELETE FROM downsampled;",
    )?;
    transaction.execute(
        "INSERT INTO downsampled SELECT name, kind, max(unit), service_name, labels, \
         (time_ns / ?3) * ?3, avg(value), max(value), count(*) FROM metric_points \
         WHERE time_ns >= ?1 AND time_ns < ?2 AND kind = 'gauge' \
         GROUP BY name, kind, service_name, labels, time_ns / ?3 HAVING count(*) > 1",
        range,
    )?;
    let merged_gauges = transaction.execute(
        "DELETE FROM metric_points WHERE time_ns >= ?1 AND time_ns < ?2 AND kind = 'gauge' \
         AND EXISTS (SELECT 1 FROM downsampled d WHERE d.name = metric_points.name \
         AND d.labels = metric_points.labels \
         AND d.service_name IS metric_points.service_name \
         AND d.time_ns = (metric_points.time_ns / ?3) * ?3)",
        range,
    )?;
    let written = transaction.execute(
        "INSERT INTO metric_points (name, kind, unit, service_name, labels, start_ns, time_ns, \
         value, count, detail) SELECT name, kind, unit, service_name, labels, NULL, time_ns, \
         value, NULL, json_object('downsampled_points', points, 'max', max_value, \
         'step_seconds', ?1) FROM downsampled",
        params![step_seconds.max(60)],
    )?;

    // Cumulative kinds: keep the latest point of each step.
    let merged_cumulative = transaction.execute(
        "DELETE FROM metric_points WHERE time_ns >= ?1 AND time_ns < ?2 AND kind != 'gauge' \
         AND id NOT IN (SELECT max(id) FROM metric_points WHERE time_ns >= ?1 AND time_ns < ?2 \
         AND kind != 'gauge' GROUP BY name, service_name, labels, time_ns / ?3)",
        range,
    )?;
    Ok(RetentionSummary {
        deleted: deleted as u64,
        merged: (merged_gauges + merged_cumulative) as u64,
        written: written as u64,
    })
}
