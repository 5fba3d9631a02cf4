//! Spans in storage order, for readers that follow new spans (the online evaluators).

use glassbox_model::{Span, SpanKind};
use rusqlite::{Connection, params};

use super::rows::{SPAN_COLUMNS, span_from_row};
use crate::error::StoreError;

/// Returns up to `limit` spans of `kind` with a row id above `after`, by row id.
pub(crate) fn spans_after(
    connection: &Connection,
    after: i64,
    kind: SpanKind,
    limit: usize,
) -> Result<Vec<(i64, Span)>, StoreError> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT id, {SPAN_COLUMNS} FROM spans WHERE id > ?1 AND kind = ?2 ORDER BY id LIMIT ?3"
    ))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut rows = statement.query(params![after, kind.as_str(), limit])?;
    let mut spans = Vec::new();
    while let Some(row) = rows.next()? {
        spans.push((row.get(0)?, span_from_row(row, 1)?));
    }
    Ok(spans)
}

/// Returns the highest span row id, 0 for an empty store.
pub(crate) fn last_position(connection: &Connection) -> Result<i64, StoreError> {
    let last: Option<i64> =
        connection.query_row("SELECT max(id) FROM spans", [], |row| row.get(0))?;
    Ok(last.unwrap_or(0))
}
