//! The `span_flags` index: one row per distinct analyzer finding of a span, for the `flag`
//! filters and flag rates. The span's own `flags` column keeps every flag with its position.

use std::collections::BTreeSet;

use glassbox_model::Span;
use rusqlite::{Transaction, params};

use super::rows::to_sql_int;
use crate::error::StoreError;

/// Replaces the indexed findings of the span stored at `row`.
pub(crate) fn index_flags(
    transaction: &Transaction<'_>,
    row: i64,
    span: &Span,
    replacing: bool,
) -> Result<(), StoreError> {
    if replacing {
        transaction
            .prepare_cached("DELETE FROM span_flags WHERE span_row = ?1")?
            .execute([row])?;
    }
    if span.flags.is_empty() {
        return Ok(());
    }

    let findings: BTreeSet<(&str, &str)> = span
        .flags
        .iter()
        .map(|flag| (flag.analyzer.as_str(), flag.finding.as_str()))
        .collect();
    let mut insert = transaction.prepare_cached(
        "INSERT OR IGNORE INTO span_flags (span_row, start_ns, analyzer, finding) \
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    let start = to_sql_int(span.start_time_unix_nano);
    for (analyzer, finding) in findings {
        insert.execute(params![row, start, analyzer, finding])?;
    }
    Ok(())
}
