//! The write path: one transaction per batch, trace summaries and detached content included.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

use glassbox_model::{Span, TraceId};
use rusqlite::types::{ToSqlOutput, Value};
use rusqlite::{Transaction, params};

use super::content;
use super::flags;
use super::rollup;
use super::rows::{
    SPAN_COLUMN_COUNT, SPAN_COLUMNS, SpanJson, as_params, span_from_row, span_values, to_sql_int,
};
use super::summary::TraceRow;
use crate::ContentHook;
use crate::batch::{LogRecordRow, WriteBatch, WriteSummary};
use crate::error::StoreError;

/// Commits a batch in one transaction.
pub(crate) fn write_batch(
    transaction: &Transaction<'_>,
    batch: &WriteBatch,
    fts_indexed_up_to: i64,
    content_hook: Option<&ContentHook>,
) -> Result<WriteSummary, StoreError> {
    let mut summary = WriteSummary::default();
    let trace_rows = save_summaries(transaction, &batch.spans)?;
    let mut new_spans = Vec::with_capacity(batch.spans.len());
    let mut recompute: HashSet<TraceId> = HashSet::new();
    let mut stored_rows = Vec::with_capacity(batch.spans.len());
    for span in &batch.spans {
        let trace_row = trace_rows[&span.trace_id];
        let (row, inserted) = insert_span(transaction, span, trace_row)?;
        flags::index_flags(transaction, row, span, !inserted)?;
        stored_rows.push(row);
        if inserted {
            summary.spans_inserted += 1;
            new_spans.push(span);
        } else {
            summary.spans_replaced += 1;
            recompute.insert(span.trace_id);
            content::forget_own_content(transaction, row)?;
            reindex_text(transaction, row, span, fts_indexed_up_to)?;
        }
    }
    for trace_id in &recompute {
        recompute_summary(transaction, *trace_id, trace_rows[trace_id])?;
    }
    rollup::add_spans(transaction, new_spans.iter().copied())?;
    if !recompute.is_empty() {
        rebuild_rollups_of(transaction, &batch.spans, &recompute)?;
    }

    let mut dirty = BTreeSet::new();
    let (applied, pending) =
        content::store_patches(transaction, &batch.content_patches, &mut dirty)?;
    summary.patches_applied = applied;
    summary.patches_pending = pending;
    // NOTE: once any log record has been joined, every new span costs two index look-ups
    // here, because patches are kept; restricting the check to model spans would need a rule
    // for which spans log records may target.
    if !content::no_patches(transaction)? {
        for (span, row) in batch.spans.iter().zip(&stored_rows) {
            if content::has_patches(transaction, span)? {
                dirty.insert(*row);
            }
        }
    }
    for row in dirty {
        let span = content::reapply(transaction, row, content_hook)?;
        reindex_text(transaction, row, &span, fts_indexed_up_to)?;
    }

    summary.metric_points = insert_metric_points(transaction, batch)?;
    summary.log_records = insert_log_records(transaction, &batch.log_records)?;
    Ok(summary)
}

/// The statement that inserts a span unless one with its ids exists. The span's columns come
/// first, its trace's summary row last.
static INSERT_SPAN: LazyLock<String> = LazyLock::new(|| {
    let placeholders = (1..=SPAN_COLUMN_COUNT + 1)
        .map(|index| format!("?{index}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO spans ({SPAN_COLUMNS}, trace_row) VALUES ({placeholders}) \
         ON CONFLICT (trace_row, span_id) DO NOTHING"
    )
});

/// The statement that replaces a stored span with a resent copy.
static REPLACE_SPAN: LazyLock<String> = LazyLock::new(|| {
    let assignments = SPAN_COLUMNS
        .split(',')
        .enumerate()
        .map(|(index, column)| format!("{} = ?{}", column.trim(), index + 1))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "UPDATE spans SET {assignments} WHERE trace_row = ?{} AND span_id = ?2 RETURNING id",
        SPAN_COLUMN_COUNT + 1
    )
});

/// Inserts a span of the trace stored in `trace_row`, or replaces the stored copy of a resent
/// one. Returns the span's row id and whether it was new.
fn insert_span(
    transaction: &Transaction<'_>,
    span: &Span,
    trace_row: i64,
) -> Result<(i64, bool), StoreError> {
    let json = SpanJson::of(span);
    let mut values = span_values(span, &json);
    values.push(ToSqlOutput::Owned(Value::Integer(trace_row)));
    // `changes` and the last row id instead of RETURNING, which would make SQLite keep a
    // statement journal for every insert.
    let inserted = transaction
        .prepare_cached(&INSERT_SPAN)?
        .execute(as_params(&values).as_slice())?;
    if inserted == 1 {
        return Ok((transaction.last_insert_rowid(), true));
    }
    let row: i64 = transaction
        .prepare_cached(&REPLACE_SPAN)?
        .query_row(as_params(&values).as_slice(), |row| row.get(0))?;
    Ok((row, false))
}

/// Merges the batch's spans into their traces' summaries as if every span were new, and
/// returns each trace's summary row. A trace with a resent span has its summary recomputed
/// once the spans are stored.
fn save_summaries(
    transaction: &Transaction<'_>,
    spans: &[Span],
) -> Result<HashMap<TraceId, i64>, StoreError> {
    let mut order = Vec::new();
    let mut by_trace: HashMap<TraceId, Vec<&Span>> = HashMap::new();
    for span in spans {
        by_trace
            .entry(span.trace_id)
            .or_insert_with(|| {
                order.push(span.trace_id);
                Vec::new()
            })
            .push(span);
    }

    // Traces are saved in the order they first appear, so new summary rows follow arrival.
    let mut rows = HashMap::with_capacity(order.len());
    for trace_id in order {
        let mut summary = TraceRow::load(transaction, trace_id)?
            .unwrap_or_else(|| TraceRow::from_spans(trace_id, &[]));
        for span in &by_trace[&trace_id] {
            summary.merge(span);
        }
        rows.insert(trace_id, summary.save(transaction)?);
    }
    Ok(rows)
}

/// Recomputes the rollup hours touched by resent spans, so a resend is not counted twice.
fn rebuild_rollups_of(
    transaction: &Transaction<'_>,
    spans: &[Span],
    resent_traces: &HashSet<TraceId>,
) -> Result<(), StoreError> {
    let hours: BTreeSet<i64> = spans
        .iter()
        .filter(|span| resent_traces.contains(&span.trace_id))
        .map(|span| rollup::bucket_of(span.start_time_unix_nano, rollup::HOUR))
        .collect();
    for hour in hours {
        rollup::rebuild(transaction, hour, hour + rollup::HOUR)?;
    }
    Ok(())
}

/// Rebuilds the summary of the trace stored in `trace_row` from all its stored spans.
pub(crate) fn recompute_summary(
    transaction: &Transaction<'_>,
    trace_id: TraceId,
    trace_row: i64,
) -> Result<(), StoreError> {
    let spans = load_trace_spans(transaction, trace_row)?;
    TraceRow::from_spans(trace_id, &spans)
        .stored_at(trace_row)
        .save(transaction)?;
    Ok(())
}

/// Reads every span of the trace stored in `trace_row`.
fn load_trace_spans(
    transaction: &Transaction<'_>,
    trace_row: i64,
) -> Result<Vec<Span>, StoreError> {
    let mut statement = transaction.prepare_cached(&format!(
        "SELECT {SPAN_COLUMNS} FROM spans WHERE trace_row = ?1"
    ))?;
    let mut rows = statement.query([trace_row])?;
    let mut spans = Vec::new();
    while let Some(row) = rows.next()? {
        spans.push(span_from_row(row, 0)?);
    }
    Ok(spans)
}

/// Replaces the full-text row of a span whose text changed after it was indexed.
fn reindex_text(
    transaction: &Transaction<'_>,
    row_id: i64,
    span: &Span,
    fts_indexed_up_to: i64,
) -> Result<(), StoreError> {
    if row_id > fts_indexed_up_to {
        return Ok(());
    }
    transaction
        .prepare_cached("DELETE FROM spans_fts WHERE rowid = ?1")?
        .execute([row_id])?;
    let text = super::rows::searchable_text(span);
    if !text.is_empty() {
        transaction
            .prepare_cached("INSERT INTO spans_fts (rowid, content) VALUES (?1, ?2)")?
            .execute(params![row_id, text])?;
    }
    Ok(())
}

fn insert_metric_points(
    transaction: &Transaction<'_>,
    batch: &WriteBatch,
) -> Result<u64, StoreError> {
    let mut statement = transaction.prepare_cached(
        "INSERT INTO metric_points (name, kind, unit, service_name, labels, start_ns, time_ns, \
         value, count, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for point in &batch.metric_points {
        statement.execute(params![
            point.name,
            point.kind.as_str(),
            point.unit,
            point.service_name,
            serde_json::to_string(&point.labels).unwrap_or_default(),
            point.start_time_unix_nano.map(to_sql_int),
            to_sql_int(point.time_unix_nano),
            point.value,
            point.count.map(to_sql_int),
            serde_json::to_string(&point.detail).unwrap_or_default(),
        ])?;
    }
    Ok(batch.metric_points.len() as u64)
}

fn insert_log_records(
    transaction: &Transaction<'_>,
    records: &[LogRecordRow],
) -> Result<u64, StoreError> {
    let mut statement = transaction.prepare_cached(
        "INSERT INTO log_records (time_ns, trace_id, span_id, severity_number, severity_text, \
         event_name, service_name, body, attributes, resource_attributes) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for record in records {
        statement.execute(params![
            to_sql_int(record.time_unix_nano),
            record.trace_id,
            record.span_id,
            record.severity_number,
            record.severity_text,
            record.event_name,
            record.service_name,
            record.body.to_string(),
            serde_json::to_string(&record.attributes).unwrap_or_default(),
            serde_json::to_string(&record.resource_attributes).unwrap_or_default(),
        ])?;
    }
    Ok(records.len() as u64)
}
