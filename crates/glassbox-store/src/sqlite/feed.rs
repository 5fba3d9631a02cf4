//! Spans in storage order, for readers that follow new spans (the online evaluators).

use glassbox_model::{Span, SpanKind};
use rusqlite::{Connection, params};

use super::rows::{SPAN_COLUMNS, span_from_row};
use crate::error::StoreError;

/// Rows searched at most per call, so a long run of spans of other kinds costs one bounded
/// scan per call instead of a scan to the end of the table.
const STRETCH_ROWS: i64 = 20_000;

/// Returns up to `limit` spans of `kind` with a row id above `after`, by row id, and the row
/// id reached. That is the last span's id when `limit` spans were found, else the end of the
/// stretch searched, which is at most the highest row id.
pub(crate) fn spans_after(
    connection: &Connection,
    after: i64,
    kind: SpanKind,
    limit: usize,
) -> Result<(Vec<Span>, i64), StoreError> {
    let end = after
        .saturating_add(STRETCH_ROWS)
        .min(last_position(connection)?)
        .max(after);
    let mut statement = connection.prepare_cached(&format!(
        "SELECT id, {SPAN_COLUMNS} FROM spans WHERE id > ?1 AND id <= ?2 AND kind = ?3 \
         ORDER BY id LIMIT ?4"
    ))?;
    let limit_value = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut rows = statement.query(params![after, end, kind.as_str(), limit_value])?;
    let mut spans = Vec::new();
    let mut last = after;
    while let Some(row) = rows.next()? {
        last = row.get(0)?;
        spans.push(span_from_row(row, 1)?);
    }
    let reached = if spans.len() == limit { last } else { end };
    Ok((spans, reached))
}

/// Returns the highest span row id, 0 for an empty store.
pub(crate) fn last_position(connection: &Connection) -> Result<i64, StoreError> {
    let last: Option<i64> =
        connection.query_row("SELECT max(id) FROM spans", [], |row| row.get(0))?;
    Ok(last.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::{SqliteOptions, SqliteStore};
    use crate::{TraceStore, WriteBatch, WriteStore};
    use glassbox_model::{SpanId, TraceId};

    fn span(index: u64, kind: SpanKind) -> Span {
        let mut span = Span::new(TraceId([1; 16]), SpanId(index.to_be_bytes()), "s");
        span.kind = kind;
        span.start_time_unix_nano = 1_700_000_000_000_000_000 + index;
        span.end_time_unix_nano = span.start_time_unix_nano + 1;
        span
    }

    #[tokio::test]
    async fn reader_skips_long_runs_of_other_kinds() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
        let mut batch = WriteBatch::default();
        batch.spans.push(span(1, SpanKind::Llm));
        batch
            .spans
            .extend((2..=25_002).map(|index| span(index, SpanKind::Tool)));
        batch.spans.push(span(25_003, SpanKind::Llm));
        store.write(batch).await.unwrap();

        let (first, position) = store.spans_after(0, SpanKind::Llm, 10).await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(position, STRETCH_ROWS, "one stretch was searched");

        let (second, position) = store
            .spans_after(position, SpanKind::Llm, 10)
            .await
            .unwrap();
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].span_id, SpanId(25_003u64.to_be_bytes()));
        assert_eq!(position, 25_003);

        let (none, position) = store
            .spans_after(position, SpanKind::Llm, 10)
            .await
            .unwrap();
        assert!(none.is_empty());
        assert_eq!(position, 25_003, "the end of the table");
        assert_eq!(store.last_span_position().await.unwrap(), 25_003);
    }

    #[tokio::test]
    async fn full_page_stops_at_the_last_span() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
        let mut batch = WriteBatch::default();
        batch
            .spans
            .extend((1..=5).map(|index| span(index, SpanKind::Llm)));
        store.write(batch).await.unwrap();

        let (page, position) = store.spans_after(0, SpanKind::Llm, 2).await.unwrap();
        assert_eq!(page.len(), 2);
        assert_eq!(position, 2);
    }
}
