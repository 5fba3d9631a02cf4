//! The `datasets` and `dataset_items` tables. Items are listed in the order they were added.

use glassbox_model::{Dataset, DatasetItem, SpanId, TraceId};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde_json::Value;

use super::quality::{Where, invalid_cursor, limit_value, paginate, unsigned};
use super::rows::as_params;
use crate::error::StoreError;
use crate::quality::{DatasetItemPage, NewDatasetItem, new_id};
use crate::query::{Cursor, Page};

const DATASET_COLUMNS: &str = "id, name, description, created_ns, \
    (SELECT COUNT(*) FROM dataset_items WHERE dataset_items.dataset_id = datasets.id)";

const ITEM_COLUMNS: &str = "row, id, dataset_id, input, expected_output, metadata, \
    source_trace_id, source_span_id, created_ns";

fn dataset_from_row(row: &Row<'_>) -> Result<Dataset, StoreError> {
    Ok(Dataset {
        id: row.get(0)?,
        name: row.get(1)?,
        description: row.get(2)?,
        created_unix_nano: unsigned(row.get(3)?),
        item_count: unsigned(row.get(4)?),
    })
}

/// Returns a dataset by name.
pub(super) fn by_name(connection: &Connection, name: &str) -> Result<Option<Dataset>, StoreError> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {DATASET_COLUMNS} FROM datasets WHERE name = ?1"
    ))?;
    let mut rows = statement.query([name])?;
    rows.next()?.map(dataset_from_row).transpose()
}

fn id_of(connection: &Connection, name: &str) -> Result<Option<String>, StoreError> {
    let id = connection
        .prepare_cached("SELECT id FROM datasets WHERE name = ?1")?
        .query_row([name], |row| row.get(0))
        .optional()?;
    Ok(id)
}

/// Returns the id of a dataset, or the error for an unknown one.
pub(super) fn require_id(connection: &Connection, name: &str) -> Result<String, StoreError> {
    id_of(connection, name)?.ok_or_else(|| {
        StoreError::NotFound(format!(
            "dataset {name:?} not found; create it with POST /api/v1/datasets"
        ))
    })
}

/// Creates an empty dataset; fails when the name is taken.
pub(super) fn create(
    transaction: &Transaction<'_>,
    name: &str,
    description: Option<&str>,
    now: i64,
) -> Result<Dataset, StoreError> {
    if id_of(transaction, name)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "dataset {name:?} exists already; choose another name or add items to it"
        )));
    }
    let id = new_id();
    transaction
        .prepare_cached(
            "INSERT INTO datasets (id, name, description, created_ns) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![id, name, description, now])?;
    Ok(Dataset {
        id,
        name: name.to_owned(),
        description: description.map(str::to_owned),
        created_unix_nano: unsigned(now),
        item_count: 0,
    })
}

/// Lists datasets, newest first.
pub(super) fn list(
    connection: &Connection,
    page: &Page,
) -> Result<(Vec<Dataset>, Option<Cursor>), StoreError> {
    let mut conditions = Where::default();
    if let Some(cursor) = &page.cursor {
        conditions.push(
            "(created_ns, id) < (?, ?)",
            vec![
                SqlValue::Integer(cursor.time),
                SqlValue::Text(cursor.key.clone()),
            ],
        );
    }
    let limit = conditions.bind(limit_value(page));
    let sql = format!(
        "SELECT {DATASET_COLUMNS} FROM datasets {} ORDER BY created_ns DESC, id DESC LIMIT {limit}",
        conditions.sql()
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let mut rows = statement.query(as_params(&conditions.values).as_slice())?;
    let mut datasets = Vec::new();
    while let Some(row) = rows.next()? {
        datasets.push(dataset_from_row(row)?);
    }
    Ok(paginate(datasets, page.limit, |dataset| Cursor {
        time: i64::try_from(dataset.created_unix_nano).unwrap_or(i64::MAX),
        value: None,
        key: dataset.id.clone(),
    }))
}

/// Deletes a dataset and its items; returns false when there was none.
pub(super) fn delete(transaction: &Transaction<'_>, name: &str) -> Result<bool, StoreError> {
    let Some(id) = id_of(transaction, name)? else {
        return Ok(false);
    };
    transaction
        .prepare_cached("DELETE FROM dataset_items WHERE dataset_id = ?1")?
        .execute([&id])?;
    transaction
        .prepare_cached("DELETE FROM datasets WHERE id = ?1")?
        .execute([&id])?;
    Ok(true)
}

fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Adds items to a dataset.
pub(super) fn add_items(
    transaction: &Transaction<'_>,
    dataset_name: &str,
    items: &[NewDatasetItem],
    now: i64,
) -> Result<Vec<DatasetItem>, StoreError> {
    let dataset_id = require_id(transaction, dataset_name)?;
    let mut statement = transaction.prepare_cached(
        "INSERT INTO dataset_items (id, dataset_id, input, expected_output, metadata, \
         source_trace_id, source_span_id, created_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut stored = Vec::with_capacity(items.len());
    for item in items {
        let id = new_id();
        statement.execute(params![
            id,
            dataset_id,
            to_json(&item.input),
            item.expected_output.as_ref().map(to_json),
            to_json(&item.metadata),
            item.source_trace_id.as_ref().map(|id| id.0.as_slice()),
            item.source_span_id.as_ref().map(|id| id.0.as_slice()),
            now,
        ])?;
        stored.push(DatasetItem {
            id,
            dataset_id: dataset_id.clone(),
            input: item.input.clone(),
            expected_output: item.expected_output.clone(),
            metadata: item.metadata.clone(),
            source_trace_id: item.source_trace_id,
            source_span_id: item.source_span_id,
            created_unix_nano: unsigned(now),
        });
    }
    Ok(stored)
}

fn json_column(row: &Row<'_>, index: usize, column: &'static str) -> Result<Value, StoreError> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|error| StoreError::Corrupt {
        column,
        reason: error.to_string(),
    })
}

fn corrupt_id(column: &'static str) -> impl Fn(glassbox_model::InvalidId) -> StoreError {
    move |error| StoreError::Corrupt {
        column,
        reason: error.to_string(),
    }
}

/// Reads an item and its row number, the key of the listing order.
fn item_from_row(row: &Row<'_>) -> Result<(i64, DatasetItem), StoreError> {
    let expected: Option<String> = row.get(4)?;
    let metadata = match json_column(row, 5, "dataset_items.metadata")? {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    let trace_id: Option<Vec<u8>> = row.get(6)?;
    let span_id: Option<Vec<u8>> = row.get(7)?;
    let item = DatasetItem {
        id: row.get(1)?,
        dataset_id: row.get(2)?,
        input: json_column(row, 3, "dataset_items.input")?,
        expected_output: expected
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|error| StoreError::Corrupt {
                column: "dataset_items.expected_output",
                reason: error.to_string(),
            })?,
        metadata,
        source_trace_id: trace_id
            .map(|bytes| TraceId::from_slice(&bytes))
            .transpose()
            .map_err(corrupt_id("dataset_items.source_trace_id"))?,
        source_span_id: span_id
            .map(|bytes| SpanId::from_slice(&bytes))
            .transpose()
            .map_err(corrupt_id("dataset_items.source_span_id"))?,
        created_unix_nano: unsigned(row.get(8)?),
    };
    Ok((row.get(0)?, item))
}

/// Lists the items of a dataset in the order they were added; `None` for an unknown
/// dataset.
pub(super) fn list_items(
    connection: &Connection,
    dataset_name: &str,
    page: &Page,
) -> Result<Option<DatasetItemPage>, StoreError> {
    let Some(dataset_id) = id_of(connection, dataset_name)? else {
        return Ok(None);
    };

    let mut conditions = Where::default();
    conditions.push("dataset_id = ?", vec![SqlValue::Text(dataset_id)]);
    if let Some(cursor) = &page.cursor {
        let row: i64 = cursor.key.parse().map_err(|_| invalid_cursor())?;
        conditions.push(
            "(created_ns, row) > (?, ?)",
            vec![SqlValue::Integer(cursor.time), SqlValue::Integer(row)],
        );
    }
    let limit = conditions.bind(limit_value(page));
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM dataset_items {} ORDER BY created_ns, row LIMIT {limit}",
        conditions.sql()
    );

    let mut statement = connection.prepare_cached(&sql)?;
    let mut rows = statement.query(as_params(&conditions.values).as_slice())?;
    let mut items = Vec::new();
    while let Some(row) = rows.next()? {
        items.push(item_from_row(row)?);
    }
    let (items, cursor) = paginate(items, page.limit, |(row, item)| Cursor {
        time: i64::try_from(item.created_unix_nano).unwrap_or(i64::MAX),
        value: None,
        key: row.to_string(),
    });
    Ok(Some((
        items.into_iter().map(|(_, item)| item).collect(),
        cursor,
    )))
}
