//! Per-minute, per-hour and per-day rollups of spans, updated in the same transaction as the
//! spans.
//!
//! A rollup row contains the aggregate of the spans that started in one bucket and share one
//! key (service, provider, model, operation, kind). Hour and day rows are kept beside minute
//! rows so a query over a month merges tens of rows per key instead of tens of thousands.

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
/// Seconds in a day bucket (UTC days).
pub(crate) const DAY: i64 = 86_400;

/// The rollup tables, finest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    Minute,
    Hour,
    Day,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Minute => "rollups_minute",
            Table::Hour => "rollups_hour",
            Table::Day => "rollups_day",
        }
    }

    /// Width of a bucket in seconds.
    pub(crate) fn width(self) -> i64 {
        match self {
            Table::Minute => MINUTE,
            Table::Hour => HOUR,
            Table::Day => DAY,
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
            model: span.requested_model().unwrap_or_default().to_owned(),
            operation: span.operation.clone().unwrap_or_default(),
            kind: span.kind.as_str().to_owned(),
        }
    }
}

/// Returns the start (Unix seconds) of the bucket that contains a time in nanoseconds.
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
    let hours = coarsen(&minutes, HOUR);
    let days = coarsen(&hours, DAY);
    for (table, rows) in [
        (Table::Minute, minutes),
        (Table::Hour, hours),
        (Table::Day, days),
    ] {
        for ((bucket, key), aggregate) in rows {
            merge_row(connection, table, bucket, &key, &aggregate)?;
        }
    }
    Ok(())
}

/// Merges finer buckets into buckets `width` seconds wide.
fn coarsen(
    rows: &HashMap<(i64, RollupKey), Aggregate>,
    width: i64,
) -> HashMap<(i64, RollupKey), Aggregate> {
    let mut coarse: HashMap<(i64, RollupKey), Aggregate> = HashMap::new();
    for ((bucket, key), aggregate) in rows {
        let start = bucket - bucket.rem_euclid(width);
        coarse
            .entry((start, key.clone()))
            .or_default()
            .merge(aggregate);
    }
    coarse
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

/// Recomputes the rollups of `[from, to)` (Unix seconds, widened to whole hours) from the
/// stored spans. Minute rows come from the spans, hour rows from the minute rows, and day rows
/// from the hour rows.
pub(crate) fn rebuild(connection: &Connection, from: i64, to: i64) -> Result<u64, StoreError> {
    let (from, to) = widen(from, to, HOUR);
    delete_rows(connection, Table::Minute, from, to)?;
    let rebuilt = add_minutes_from_spans(connection, from, to)?;

    delete_rows(connection, Table::Hour, from, to)?;
    roll_up(connection, Table::Minute, Table::Hour, from, to)?;
    let (first_day, end_day) = widen(from, to, DAY);
    delete_rows(connection, Table::Day, first_day, end_day)?;
    roll_up(connection, Table::Hour, Table::Day, first_day, end_day)?;
    Ok(rebuilt)
}

fn widen(from: i64, to: i64, width: i64) -> (i64, i64) {
    let start = from - from.rem_euclid(width);
    let end = if to.rem_euclid(width) == 0 {
        to
    } else {
        to - to.rem_euclid(width) + width
    };
    (start, end)
}

fn delete_rows(
    connection: &Connection,
    table: Table,
    from: i64,
    to: i64,
) -> Result<(), StoreError> {
    connection
        .prepare_cached(&format!(
            "DELETE FROM {} WHERE bucket >= ?1 AND bucket < ?2",
            table.name()
        ))?
        .execute(params![from, to])?;
    Ok(())
}

fn add_minutes_from_spans(connection: &Connection, from: i64, to: i64) -> Result<u64, StoreError> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {SPAN_COLUMNS} FROM spans WHERE start_ns >= ?1 AND start_ns < ?2"
    ))?;
    let nanos = |seconds: i64| seconds.saturating_mul(1_000_000_000);
    let mut rows = statement.query(params![nanos(from), nanos(to)])?;
    let mut minutes: HashMap<(i64, RollupKey), Aggregate> = HashMap::new();
    let mut count = 0;
    while let Some(row) = rows.next()? {
        let span = span_from_row(row, 0)?;
        let bucket = bucket_of(span.start_time_unix_nano, MINUTE);
        minutes
            .entry((bucket, RollupKey::of(&span)))
            .or_default()
            .add_span(&span);
        count += 1;
    }
    for ((bucket, key), aggregate) in minutes {
        write_row(connection, Table::Minute, bucket, &key, &aggregate)?;
    }
    Ok(count)
}

/// Writes the rows of `coarse` in `[from, to)` as the merge of the `fine` rows they cover.
fn roll_up(
    connection: &Connection,
    fine: Table,
    coarse: Table,
    from: i64,
    to: i64,
) -> Result<(), StoreError> {
    let mut rows: HashMap<(i64, RollupKey), Aggregate> = HashMap::new();
    read(
        connection,
        fine,
        from,
        to,
        &MetricsFilter::default(),
        &mut |row| {
            let bucket = row.bucket - row.bucket.rem_euclid(coarse.width());
            rows.entry((bucket, row.key))
                .or_default()
                .merge(&row.aggregate);
        },
    )?;
    for ((bucket, key), aggregate) in rows {
        write_row(connection, coarse, bucket, &key, &aggregate)?;
    }
    Ok(())
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

/// Splits `[from, to)` (Unix seconds on minute bounds) into parts read from the coarsest of
/// `tables` (given coarsest first, ending with [`Table::Minute`]) whose buckets fit whole.
pub(crate) fn split_range(from: i64, to: i64, tables: &[Table]) -> Vec<(Table, i64, i64)> {
    let mut parts = Vec::new();
    split_into(from, to, tables, &mut parts);
    parts
}

fn split_into(from: i64, to: i64, tables: &[Table], parts: &mut Vec<(Table, i64, i64)>) {
    let Some((table, finer)) = tables.split_first() else {
        return;
    };
    if from >= to {
        return;
    }
    if finer.is_empty() {
        parts.push((*table, from, to));
        return;
    }
    let width = table.width();
    let first = from + (width - from.rem_euclid(width)) % width;
    let last = to - to.rem_euclid(width);
    if first >= last {
        split_into(from, to, finer, parts);
        return;
    }
    parts.push((*table, first, last));
    split_into(from, first, finer, parts);
    split_into(last, to, finer, parts);
}

/// Every table, coarsest first.
pub(crate) const ALL_TABLES: [Table; 3] = [Table::Day, Table::Hour, Table::Minute];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_split_into_days_hours_and_minutes() {
        assert_eq!(
            split_range(60, 3_540, &ALL_TABLES),
            vec![(Table::Minute, 60, 3_540)]
        );
        assert_eq!(
            split_range(3_000, 10_980, &ALL_TABLES),
            vec![
                (Table::Hour, 3_600, 10_800),
                (Table::Minute, 3_000, 3_600),
                (Table::Minute, 10_800, 10_980)
            ]
        );
        assert_eq!(
            split_range(0, 7_200, &ALL_TABLES),
            vec![(Table::Hour, 0, 7_200)]
        );
        assert_eq!(
            split_range(82_800, 2 * DAY + 60, &ALL_TABLES),
            vec![
                (Table::Day, DAY, 2 * DAY),
                (Table::Hour, 82_800, DAY),
                (Table::Minute, 2 * DAY, 2 * DAY + 60)
            ]
        );
        assert_eq!(
            split_range(0, 2 * DAY, &[Table::Hour, Table::Minute]),
            vec![(Table::Hour, 0, 2 * DAY)]
        );
    }

    #[test]
    fn buckets_floor_to_their_width() {
        assert_eq!(bucket_of(125_000_000_000, MINUTE), 120);
        assert_eq!(bucket_of(7_199_000_000_000, HOUR), 3_600);
    }
}
