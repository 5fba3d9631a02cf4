//! Content that arrives apart from its span (GenAI events in log records), joined to the span
//! whichever of the two arrives first.
//!
//! Every patch is kept in `content_patches`. A span that has patches keeps its own content
//! (as normalized from its attributes) in `span_own_content`, and its stored content is always
//! that own content with all its patches applied in record order. Recomputing from the
//! originals makes the join idempotent: a record split over two requests, a resent span or a
//! patch that arrives late all give the same result.

use std::collections::BTreeSet;

use glassbox_model::{ContentTarget, Message, Span, SpanContentPatch};
use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Transaction, params};

use super::flags;
use super::rows::{SPAN_COLUMNS, as_params, span_from_row, to_sql_int};
use crate::ContentHook;
use crate::error::StoreError;

/// Stores the patches; returns how many found their span and how many wait for it.
pub(crate) fn store_patches(
    transaction: &Transaction<'_>,
    patches: &[SpanContentPatch],
    dirty: &mut BTreeSet<i64>,
) -> Result<(u64, u64), StoreError> {
    let (mut applied, mut pending) = (0, 0);
    for patch in patches {
        insert_patch(transaction, patch)?;
        match find_span_row(transaction, &patch.target)? {
            Some(row) => {
                dirty.insert(row);
                applied += 1;
            }
            None => pending += 1,
        }
    }
    Ok((applied, pending))
}

/// Returns true when a stored patch targets the span.
pub(crate) fn has_patches(transaction: &Transaction<'_>, span: &Span) -> Result<bool, StoreError> {
    let found: bool = transaction
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM content_patches WHERE trace_id = ?1 AND span_id = ?2) \
             OR (?3 IS NOT NULL AND EXISTS (SELECT 1 FROM content_patches WHERE response_id = ?3))",
        )?
        .query_row(
            params![
                span.trace_id.0.as_slice(),
                span.span_id.0.as_slice(),
                span.response_id
            ],
            |row| row.get(0),
        )?;
    Ok(found)
}

/// Returns true when no patch is stored at all, the common case that needs no lookups.
pub(crate) fn no_patches(transaction: &Transaction<'_>) -> Result<bool, StoreError> {
    let empty: bool = transaction
        .prepare_cached("SELECT NOT EXISTS (SELECT 1 FROM content_patches)")?
        .query_row([], |row| row.get(0))?;
    Ok(empty)
}

/// Forgets the own content of a span that was replaced by a resend.
pub(crate) fn forget_own_content(
    transaction: &Transaction<'_>,
    row: i64,
) -> Result<(), StoreError> {
    transaction
        .prepare_cached("DELETE FROM span_own_content WHERE span_row = ?1")?
        .execute([row])?;
    Ok(())
}

/// Recomputes a span's content from its own content and all its patches, runs the hook on
/// the result and stores it; returns the span.
pub(crate) fn reapply(
    transaction: &Transaction<'_>,
    row: i64,
    hook: Option<&ContentHook>,
) -> Result<Span, StoreError> {
    let mut span = load_span(transaction, row)?;
    restore_own_content(transaction, row, &mut span)?;
    let patches = patches_for(transaction, &span)?;
    glassbox_semconv::apply_patches(&mut span, &patches);
    if let Some(hook) = hook {
        (hook.0)(&mut span);
    }
    update_content(transaction, row, &span)?;
    flags::index_flags(transaction, row, &span, true)?;
    Ok(span)
}

fn insert_patch(transaction: &Transaction<'_>, patch: &SpanContentPatch) -> Result<(), StoreError> {
    let (trace_id, span_id, response_id) = match &patch.target {
        ContentTarget::Span { trace_id, span_id } => {
            (Some(trace_id.0.to_vec()), Some(span_id.0.to_vec()), None)
        }
        ContentTarget::ResponseId(response_id) => (None, None, Some(response_id.clone())),
    };
    transaction
        .prepare_cached(
            "INSERT INTO content_patches (trace_id, span_id, response_id, received_ns, patch) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            trace_id,
            span_id,
            response_id,
            to_sql_int(patch.time_unix_nano),
            serde_json::to_string(patch).unwrap_or_default(),
        ])?;
    Ok(())
}

fn find_span_row(
    transaction: &Transaction<'_>,
    target: &ContentTarget,
) -> Result<Option<i64>, StoreError> {
    let row = match target {
        ContentTarget::Span { trace_id, span_id } => transaction
            .prepare_cached(
                "SELECT id FROM spans WHERE span_id = ?2 \
                 AND trace_row = (SELECT id FROM traces WHERE trace_id = ?1)",
            )?
            .query_row(
                params![trace_id.0.as_slice(), span_id.0.as_slice()],
                |row| row.get(0),
            )
            .optional()?,
        ContentTarget::ResponseId(response_id) => transaction
            .prepare_cached("SELECT id FROM spans WHERE response_id = ?1 ORDER BY id LIMIT 1")?
            .query_row([response_id], |row| row.get(0))
            .optional()?,
    };
    Ok(row)
}

fn load_span(transaction: &Transaction<'_>, row: i64) -> Result<Span, StoreError> {
    let mut statement =
        transaction.prepare_cached(&format!("SELECT {SPAN_COLUMNS} FROM spans WHERE id = ?1"))?;
    statement.query_row([row], |row| Ok(span_from_row(row, 0)))?
}

/// Puts the span's own content back, saving it first if this is its first patch.
fn restore_own_content(
    transaction: &Transaction<'_>,
    row: i64,
    span: &mut Span,
) -> Result<(), StoreError> {
    let stored = transaction
        .prepare_cached("SELECT input_messages, output_messages, finish_reasons FROM span_own_content WHERE span_row = ?1")?
        .query_row([row], |row| {
            Ok((row.get::<_, Option<String>>(0)?, row.get::<_, Option<String>>(1)?, row.get::<_, String>(2)?))
        })
        .optional()?;
    let Some((input, output, reasons)) = stored else {
        transaction
            .prepare_cached(
                "INSERT INTO span_own_content (span_row, input_messages, output_messages, finish_reasons) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                row,
                messages_json(&span.input_messages),
                messages_json(&span.output_messages),
                serde_json::to_string(&span.finish_reasons).unwrap_or_default(),
            ])?;
        return Ok(());
    };
    span.input_messages = parse_messages(input.as_deref())?;
    span.output_messages = parse_messages(output.as_deref())?;
    span.finish_reasons =
        serde_json::from_str(&reasons).map_err(|error| corrupt("span_own_content", error))?;
    Ok(())
}

fn patches_for(
    transaction: &Transaction<'_>,
    span: &Span,
) -> Result<Vec<SpanContentPatch>, StoreError> {
    let mut statement = transaction.prepare_cached(
        "SELECT patch FROM content_patches WHERE (trace_id = ?1 AND span_id = ?2) \
         OR (?3 IS NOT NULL AND response_id = ?3) ORDER BY id",
    )?;
    let values = vec![
        SqlValue::Blob(span.trace_id.0.to_vec()),
        SqlValue::Blob(span.span_id.0.to_vec()),
        span.response_id
            .clone()
            .map_or(SqlValue::Null, SqlValue::Text),
    ];
    let texts = statement
        .query_map(as_params(&values).as_slice(), |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    texts
        .iter()
        .map(|text| {
            serde_json::from_str(text).map_err(|error| corrupt("content_patches.patch", error))
        })
        .collect()
}

fn update_content(transaction: &Transaction<'_>, row: i64, span: &Span) -> Result<(), StoreError> {
    transaction
        .prepare_cached(
            "UPDATE spans SET input_messages = ?2, output_messages = ?3, finish_reasons = ?4, \
             flags = ?5, input_language = ?6, output_language = ?7 WHERE id = ?1",
        )?
        .execute(params![
            row,
            messages_json(&span.input_messages),
            messages_json(&span.output_messages),
            serde_json::to_string(&span.finish_reasons).unwrap_or_default(),
            serde_json::to_string(&span.flags).unwrap_or_default(),
            span.input_language,
            span.output_language,
        ])?;
    Ok(())
}

fn messages_json(list: &Option<Vec<Message>>) -> Option<String> {
    list.as_ref()
        .map(|list| serde_json::to_string(list).unwrap_or_default())
}

fn parse_messages(text: Option<&str>) -> Result<Option<Vec<Message>>, StoreError> {
    text.map(|text| serde_json::from_str(text).map_err(|error| corrupt("span_own_content", error)))
        .transpose()
}

fn corrupt(column: &'static str, error: serde_json::Error) -> StoreError {
    StoreError::Corrupt {
        column,
        reason: error.to_string(),
    }
}
