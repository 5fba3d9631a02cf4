//! Per-minute and per-hour rollups of spans, updated in the same transaction as the spans.
//!
//! A rollup row holds the aggregate of the spans that started in one bucket and share one
//! key (service, provider, model, operation, kind). Hour rows are kept beside minute rows so
//! a query over weeks merges hundreds of rows per key instead of tens of thousands.

use std::collections::HashMap;

use glassbox_model::{Span, SpanKind};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::rows::{SPAN_COLUMNS, as_params, span_from_row, to_sql_int};
use crate::error::StoreError;
use crate::metrics::{Aggregate, MetricsFilter};
use crate::sketch::Sketch;

/// Seconds in a minute bucket.
pub(crate) const MINUTE: i64 = 60;
/// Seconds in an hour bucket.
pub(crate) const HOUR: i64 = 3_600;

/// The two rollup tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    Minute,
    Hour,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Minute => "rollups_minute",
            Table::Hour => "rollups_hour",
        }
    }
}

/// The dimensions of a rollup row; absent values are empty strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct RollupKey {
    pub(crate) service: String,
    pub(crate) provider: String,
    pub(crate) model: String,
    pub(crate) operation: String,
    pub(crate) kind: String,
}

impl RollupKey {
    fn of(span: &Span) -> RollupKey {
        RollupKey {
            service: span.service_name.clone().unwrap_or_default(),
            provider: span.provider.clone().unwrap_or_default(),
            model: span.model().unwrap_or_default().to_owned(),
            operation: span.operation.clone().unwrap_or_default(),
            kind: span.kind.as_str().to_owned(),
        }
    }
}

/// Returns the start (Unix seconds) of the bucket that holds a time in nanoseconds.
pub(crate) fn bucket_of(unix_nano: u64, width: i64) -> i64 {
    let seconds = to_sql_int(unix_nano / 1_000_000_000);
    seconds - seconds.rem_euclid(width)
}

/// Adds newly stored spans to both tables.
pub(crate) fn add_spans<'a>(
    connection: &Connection,
    spans: impl Iterator<Item = &'a Span>,
) -> Result<(), StoreError> {
    let mut minutes: HashMap<(i64, RollupKey), Aggregate> = HashMap::new();
    for span in spans {
        let bucket = bucket_of(span.start_time_unix_nano, MINUTE);
        minutes
            .entry((bucket, RollupKey::of(span)))
            .or_default()
            .add_span(span);
    }
    let mut hours: HashMap<(i64, RollupKey), Aggregate> = HashMap::new();
    for ((bucket, key), aggregate) in &minutes {
        let hour = bucket - bucket.rem_euclid(HOUR);
        hours
            .entry((hour, key.clone()))
            .or_default()
            .merge(aggregate);
    }
    for ((bucket, key), aggregate) in minutes {
        merge_row(connection, Table::Minute, bucket, &key, &aggregate)?;
    }
    for ((bucket, key), aggregate) in hours {
        merge_row(connection, Table::Hour, bucket, &key, &aggregate)?;
    }
    Ok(())
}

fn merge_row(
    connection: &Connection,
    table: Table,
    bucket: i64,
    key: &RollupKey,
    aggregate: &Aggregate,
) -> Result<(), StoreError> {
    let existing = connection
        .prepare_cached(&format!(
            "SELECT {AGGREGATE_COLUMNS} FROM {} WHERE bucket = ?1 AND service = ?2 AND provider = ?3 \
             AND model = ?4 AND operation = ?5 AND kind = ?6",
            table.name()
        ))?
        .query_row(
            params![bucket, key.service, key.provider, key.model, key.operation, key.kind],
            |row| Ok(aggregate_from_row(row, 0)),
        )
        .optional()?
        .transpose()?;
    let mut merged = existing.unwrap_or_default();
    merged.merge(aggregate);
    write_row(connection, table, bucket, key, &merged)
}

const AGGREGATE_COLUMNS: &str = "count, error_count, errors_rate_limited, errors_timeout, \
    errors_server, errors_client, errors_content_filter, errors_other, input_tokens, \
    output_tokens, cached_input_tokens, cache_write_input_tokens, reasoning_tokens, total_tokens, \
    cost_usd, unpriced_count, latency, ttft, tokens_per_second";

fn write_row(
    connection: &Connection,
    table: Table,
    bucket: i64,
    key: &RollupKey,
    aggregate: &Aggregate,
) -> Result<(), StoreError> {
    let int = |value: u64| SqlValue::Integer(to_sql_int(value));
    let mut values = vec![
        SqlValue::Integer(bucket),
        SqlValue::Text(key.service.clone()),
        SqlValue::Text(key.provider.clone()),
        SqlValue::Text(key.model.clone()),
        SqlValue::Text(key.operation.clone()),
        SqlValue::Text(key.kind.clone()),
        int(aggregate.count),
        int(aggregate.error_count),
    ];
    values.extend(aggregate.errors_by_class.iter().map(|count| int(*count)));
    values.extend([
        int(aggregate.input_tokens),
        int(aggregate.output_tokens),
        int(aggregate.cached_input_tokens),
        int(aggregate.cache_write_input_tokens),
        int(aggregate.reasoning_tokens),
        int(aggregate.total_tokens),
        aggregate.cost_usd.map_or(SqlValue::Null, SqlValue::Real),
        int(aggregate.unpriced_count),
        SqlValue::Blob(aggregate.latency_ms.encode()),
        SqlValue::Blob(aggregate.ttft_ms.encode()),
        SqlValue::Blob(aggregate.output_tokens_per_second.encode()),
    ]);
    let placeholders = (1..=values.len())
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    connection
        .prepare_cached(&format!(
            "INSERT OR REPLACE INTO {} (bucket, service, provider, model, operation, kind, \
             {AGGREGATE_COLUMNS}) VALUES ({placeholders})",
            table.name()
        ))?
        .execute(as_params(&values).as_slice())?;
    Ok(())
}

fn aggregate_from_row(row: &Row<'_>, offset: usize) -> Result<Aggregate, StoreError> {
    let count = |index: usize| -> Result<u64, StoreError> {
        let value: i64 = row.get(offset + index)?;
        Ok(u64::try_from(value).unwrap_or(0))
    };
    let sketch = |index: usize| -> Result<Sketch, StoreError> {
        let bytes: Vec<u8> = row.get(offset + index)?;
        Sketch::decode(&bytes).ok_or(StoreError::Corrupt {
            column: "rollups",
            reason: "unreadable sketch".into(),
        })
    };
    let mut errors_by_class = [0u64; 6];
    for (index, slot) in errors_by_class.iter_mut().enumerate() {
        *slot = count(2 + index)?;
    }
    Ok(Aggregate {
        count: count(0)?,
        error_count: count(1)?,
        errors_by_class,
        input_tokens: count(8)?,
        output_tokens: count(9)?,
        cached_input_tokens: count(10)?,
        cache_write_input_tokens: count(11)?,
        reasoning_tokens: count(12)?,
        total_tokens: count(13)?,
        cost_usd: row.get(offset + 14)?,
        unpriced_count: count(15)?,
        latency_ms: sketch(16)?,
        ttft_ms: sketch(17)?,
        output_tokens_per_second: sketch(18)?,
    })
}

/// Recomputes the rollups of every minute in `[from, to)` (Unix seconds, widened to whole
/// hours) from the stored spans.
pub(crate) fn rebuild(connection: &Connection, from: i64, to: i64) -> Result<u64, StoreError> {
    let from = from - from.rem_euclid(HOUR);
    let to = to - to.rem_euclid(HOUR) + if to.rem_euclid(HOUR) == 0 { 0 } else { HOUR };
    for table in [Table::Minute, Table::Hour] {
        connection
            .prepare_cached(&format!(
                "DELETE FROM {} WHERE bucket >= ?1 AND bucket < ?2",
                table.name()
            ))?
            .execute(params![from, to])?;
    }

    let mut statement = connection.prepare_cached(&format!(
        "SELECT {SPAN_COLUMNS} FROM spans WHERE start_ns >= ?1 AND start_ns < ?2"
    ))?;
    let nanos = |seconds: i64| seconds.saturating_mul(1_000_000_000);
    let mut rows = statement.query(params![nanos(from), nanos(to)])?;
    let mut spans = Vec::new();
    let mut rebuilt = 0;
    while let Some(row) = rows.next()? {
        spans.push(span_from_row(row, 0)?);
        if spans.len() == 10_000 {
            add_spans(connection, spans.iter())?;
            rebuilt += spans.len() as u64;
            spans.clear();
        }
    }
    add_spans(connection, spans.iter())?;
    Ok(rebuilt + spans.len() as u64)
}

/// One rollup row as read back.
pub(crate) struct RollupRow {
    pub(crate) bucket: i64,
    pub(crate) key: RollupKey,
    pub(crate) aggregate: Aggregate,
}

/// Reads the rows of `table` with buckets in `[from, to)` (Unix seconds) that match the
/// filter's rollup dimensions.
pub(crate) fn read(
    connection: &Connection,
    table: Table,
    from: i64,
    to: i64,
    filter: &MetricsFilter,
    visit: &mut dyn FnMut(RollupRow),
) -> Result<(), StoreError> {
    let mut sql = format!(
        "SELECT bucket, service, provider, model, operation, kind, {AGGREGATE_COLUMNS} FROM {} \
         WHERE bucket >= ?1 AND bucket < ?2",
        table.name()
    );
    let mut values = vec![SqlValue::Integer(from), SqlValue::Integer(to)];
    for (column, value) in [
        ("service", &filter.service),
        ("provider", &filter.provider),
        ("model", &filter.model),
        ("operation", &filter.operation),
    ] {
        if let Some(value) = value {
            values.push(SqlValue::Text(value.clone()));
            sql.push_str(&format!(" AND {column} = ?{}", values.len()));
        }
    }
    if !filter.kinds.is_empty() {
        let kinds: Vec<String> = filter
            .kinds
            .iter()
            .map(|kind: &SpanKind| {
                values.push(SqlValue::Text(kind.as_str().to_owned()));
                format!("?{}", values.len())
            })
            .collect();
        sql.push_str(&format!(" AND kind IN ({})", kinds.join(", ")));
    }

    let mut statement = connection.prepare_cached(&sql)?;
    let mut rows = statement.query(as_params(&values).as_slice())?;
    while let Some(row) = rows.next()? {
        visit(RollupRow {
            bucket: row.get(0)?,
            key: RollupKey {
                service: row.get(1)?,
                provider: row.get(2)?,
                model: row.get(3)?,
                operation: row.get(4)?,
                kind: row.get(5)?,
            },
            aggregate: aggregate_from_row(row, 6)?,
        });
    }
    Ok(())
}

/// Splits `[from, to)` (Unix seconds on minute bounds) into the hour-table part and the
/// minute-table parts.
pub(crate) fn split_range(from: i64, to: i64) -> Vec<(Table, i64, i64)> {
    let first_hour = from + (HOUR - from.rem_euclid(HOUR)) % HOUR;
    let last_hour = to - to.rem_euclid(HOUR);
    if first_hour >= last_hour {
        return vec![(Table::Minute, from, to)];
    }
    let mut parts = vec![(Table::Hour, first_hour, last_hour)];
    if from < first_hour {
        parts.push((Table::Minute, from, first_hour));
    }
    if last_hour < to {
        parts.push((Table::Minute, last_hour, to));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_split_into_hours_and_minutes() {
        assert_eq!(split_range(60, 3_540), vec![(Table::Minute, 60, 3_540)]);
        assert_eq!(
            split_range(3_000, 11_000 - 11_000 % 60),
            vec![
                (Table::Hour, 3_600, 10_800),
                (Table::Minute, 3_000, 3_600),
                (Table::Minute, 10_800, 10_980)
            ]
        );
        assert_eq!(split_range(0, 7_200), vec![(Table::Hour, 0, 7_200)]);
    }

    #[test]
    fn buckets_floor_to_their_width() {
        assert_eq!(bucket_of(125_000_000_000, MINUTE), 120);
        assert_eq!(bucket_of(7_199_000_000_000, HOUR), 3_600);
    }
}
