//! Maintenance over stored data: repricing after a price change, and settings.

use std::collections::HashSet;

use glassbox_model::{Span, TraceId};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::rollup;
use super::rows::{SPAN_COLUMNS, span_from_row, to_sql_int};
use super::summary::trace_row;
use super::write::recompute_summary;
use crate::error::StoreError;

/// Spans read per round while repricing, so memory stays flat over long ranges.
const REPRICE_CHUNK: usize = 2_000;

/// Applies `repricer` to the model spans of `[from, to)`, then recomputes the totals of the
/// traces whose cost changed and the rollups of the range. Returns how many spans changed.
pub(crate) fn reprice(
    transaction: &Transaction<'_>,
    from: u64,
    to: u64,
    model: Option<&str>,
    repricer: &(dyn Fn(&mut Span) + Send + Sync),
) -> Result<u64, StoreError> {
    let mut changed = 0;
    let mut traces: HashSet<TraceId> = HashSet::new();
    let mut after_id = 0i64;
    loop {
        let chunk = read_chunk(transaction, from, to, model, after_id)?;
        let Some((last_id, _)) = chunk.last() else {
            break;
        };
        after_id = *last_id;
        for (row, mut span) in chunk {
            let before = (span.cost_usd, span.cost_status, span.computed_cost_usd);
            repricer(&mut span);
            if before != (span.cost_usd, span.cost_status, span.computed_cost_usd) {
                update_cost(transaction, row, &span)?;
                traces.insert(span.trace_id);
                changed += 1;
            }
        }
    }
    for trace_id in traces {
        if let Some(trace_row) = trace_row(transaction, trace_id)? {
            recompute_summary(transaction, trace_id, trace_row)?;
        }
    }
    if changed > 0 {
        let seconds = |nanos: u64| to_sql_int(nanos / 1_000_000_000);
        rollup::rebuild(transaction, seconds(from), seconds(to).saturating_add(1))?;
    }
    Ok(changed)
}

fn read_chunk(
    transaction: &Transaction<'_>,
    from: u64,
    to: u64,
    model: Option<&str>,
    after_id: i64,
) -> Result<Vec<(i64, Span)>, StoreError> {
    let mut statement = transaction.prepare_cached(&format!(
        "SELECT id, {SPAN_COLUMNS} FROM spans WHERE start_ns >= ?1 AND start_ns < ?2 AND id > ?3 \
         AND kind IN ('llm', 'embedding') \
         AND (?4 IS NULL OR request_model = ?4 OR response_model = ?4) ORDER BY id LIMIT ?5"
    ))?;
    let mut rows = statement.query(params![
        to_sql_int(from),
        to_sql_int(to),
        after_id,
        model,
        REPRICE_CHUNK as i64
    ])?;
    let mut chunk = Vec::new();
    while let Some(row) = rows.next()? {
        chunk.push((row.get(0)?, span_from_row(row, 1)?));
    }
    Ok(chunk)
}

fn update_cost(transaction: &Transaction<'_>, row: i64, span: &Span) -> Result<(), StoreError> {
    transaction
        .prepare_cached("UPDATE spans SET cost_usd = ?2, cost_status = ?3, computed_cost_usd = ?4 WHERE id = ?1")?
        .execute(params![
            row,
            span.cost_usd,
            span.cost_status.map(|status| status.as_str()),
            span.computed_cost_usd
        ])?;
    Ok(())
}

/// Reads a setting.
pub(crate) fn setting(
    connection: &Connection,
    key: &str,
) -> Result<Option<serde_json::Value>, StoreError> {
    let text: Option<String> = connection
        .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
        .query_row([key], |row| row.get(0))
        .optional()?;
    text.map(|text| {
        serde_json::from_str(&text).map_err(|error| StoreError::Corrupt {
            column: "settings.value",
            reason: error.to_string(),
        })
    })
    .transpose()
}

/// Replaces a setting.
pub(crate) fn put_setting(
    connection: &Connection,
    key: &str,
    value: &serde_json::Value,
) -> Result<(), StoreError> {
    connection
        .prepare_cached("INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)")?
        .execute(params![key, value.to_string()])?;
    Ok(())
}
