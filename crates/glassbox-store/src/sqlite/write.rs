//! The write path: one transaction per batch, trace summaries and detached content included.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

use glassbox_model::{Span, TraceId};
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
    let mut new_spans: HashMap<TraceId, Vec<&Span>> = HashMap::new();
    let mut recompute: HashSet<TraceId> = HashSet::new();
    let mut stored_rows = Vec::with_capacity(batch.spans.len());
    for span in &batch.spans {
        let (row, inserted) = insert_span(transaction, span)?;
        flags::index_flags(transaction, row, span, !inserted)?;
        stored_rows.push(row);
        if inserted {
            summary.spans_inserted += 1;
            new_spans.entry(span.trace_id).or_default().push(span);
        } else {
            summary.spans_replaced += 1;
            recompute.insert(span.trace_id);
            content::forget_own_content(transaction, row)?;
            reindex_text(transaction, row, span, fts_indexed_up_to)?;
        }
    }
    update_summaries(transaction, &new_spans, &recompute)?;
    rollup::add_spans(transaction, new_spans.values().flatten().copied())?;
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

/// The statement that inserts a span unless one with its ids exists.
static INSERT_SPAN: LazyLock<String> = LazyLock::new(|| {
    let placeholders = (1..=SPAN_COLUMN_COUNT)
        .map(|index| format!("?{index}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO spans ({SPAN_COLUMNS}) VALUES ({placeholders}) \
         ON CONFLICT (trace_id, span_id) DO NOTHING"
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
    format!("UPDATE spans SET {assignments} WHERE trace_id = ?1 AND span_id = ?2 RETURNING id")
});

/// Inserts a span, or replaces the stored copy of a resent one; returns its row id and
/// whether it was new.
fn insert_span(transaction: &Transaction<'_>, span: &Span) -> Result<(i64, bool), StoreError> {
    let json = SpanJson::of(span);
    let values = span_values(span, &json);
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

fn update_summaries(
    transaction: &Transaction<'_>,
    new_spans: &HashMap<TraceId, Vec<&Span>>,
    recompute: &HashSet<TraceId>,
) -> Result<(), StoreError> {
    for trace_id in recompute {
        let spans = load_trace_spans(transaction, *trace_id)?;
        TraceRow::from_spans(*trace_id, &spans).save(transaction)?;
    }
    for (trace_id, spans) in new_spans {
        if recompute.contains(trace_id) {
            continue;
        }
        let mut row = TraceRow::load(transaction, *trace_id)?
            .unwrap_or_else(|| TraceRow::from_spans(*trace_id, &[]));
        for span in spans {
            row.merge(span);
        }
        row.save(transaction)?;
    }
    Ok(())
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

fn load_trace_spans(
    transaction: &Transaction<'_>,
    trace_id: TraceId,
) -> Result<Vec<Span>, StoreError> {
    let mut statement = transaction.prepare_cached(&format!(
        "SELECT {SPAN_COLUMNS} FROM spans WHERE trace_id = ?1"
    ))?;
    let mut rows = statement.query([trace_id.0.as_slice()])?;
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
