//! The full-text index over message content, filled behind the commit so that ingest does not
//! wait for tokenization. Spans become searchable a moment after they become readable.

use glassbox_model::Message;
use rusqlite::{Connection, params};

use crate::error::StoreError;

/// Returns the id of the last span row already in the full-text index.
pub(crate) fn indexed_up_to(connection: &Connection) -> Result<i64, StoreError> {
    Ok(
        connection.query_row("SELECT indexed_up_to FROM fts_progress", [], |row| {
            row.get(0)
        })?,
    )
}

/// Indexes up to `max_rows` spans that are not indexed yet; returns how many rows it read.
pub(crate) fn index_backlog(
    connection: &mut Connection,
    max_rows: usize,
) -> Result<usize, StoreError> {
    let transaction = connection.transaction()?;
    let start: i64 =
        transaction.query_row("SELECT indexed_up_to FROM fts_progress", [], |row| {
            row.get(0)
        })?;
    let rows = {
        let mut statement = transaction.prepare_cached(
            "SELECT id, input_messages, output_messages FROM spans WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        statement
            .query_map(
                params![start, i64::try_from(max_rows).unwrap_or(i64::MAX)],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, Option<String>>(1)?,
                        row.get::<_, Option<String>>(2)?,
                    ))
                },
            )?
            .collect::<Result<Vec<_>, _>>()?
    };
    let Some(last) = rows.last().map(|row| row.0) else {
        return Ok(0);
    };
    {
        let mut insert =
            transaction.prepare_cached("INSERT INTO spans_fts (rowid, content) VALUES (?1, ?2)")?;
        for (row_id, input, output) in &rows {
            let text = text_of(input.as_deref(), output.as_deref());
            if !text.is_empty() {
                insert.execute(params![row_id, text])?;
            }
        }
    }
    transaction.execute("UPDATE fts_progress SET indexed_up_to = ?1", [last])?;
    transaction.commit()?;
    Ok(rows.len())
}

fn text_of(input: Option<&str>, output: Option<&str>) -> String {
    let mut span = glassbox_model::Span::new(Default::default(), Default::default(), "");
    let parse =
        |text: Option<&str>| text.and_then(|text| serde_json::from_str::<Vec<Message>>(text).ok());
    span.input_messages = parse(input);
    span.output_messages = parse(output);
    super::rows::searchable_text(&span)
}

/// Turns user search text into an FTS5 query that matches every word, with no operators.
pub(crate) fn match_expression(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split_whitespace()
        .map(|term| format!("\"{}\"", term.replace('"', "\"\"")))
        .collect();
    if terms.is_empty() {
        None
    } else {
        Some(terms.join(" "))
    }
}
