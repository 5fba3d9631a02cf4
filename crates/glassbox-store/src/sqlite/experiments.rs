//! The `experiments` and `experiment_results` tables. Totals are computed from the stored
//! results on every read, so they always match them.

use std::collections::BTreeMap;

use glassbox_model::{Experiment, ExperimentResult, ExperimentStatus, ExperimentTotals, TraceId};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde_json::Value;

use super::datasets::require_id;
use super::quality::{Where, limit_value, paginate, text, unsigned};
use super::rows::{as_params, to_sql_int};
use crate::error::StoreError;
use crate::quality::{ExperimentDetail, NewExperiment, new_id};
use crate::query::{Cursor, Page};

const EXPERIMENT_COLUMNS: &str =
    "id, name, dataset_id, dataset_name, config, status, error, started_ns, finished_ns";

/// Result columns with the output; [`RESULT_COLUMNS_WITHOUT_OUTPUT`] reads it as null.
const RESULT_COLUMNS: &str = "experiment_id, item_id, output, error, scores, latency_ms, \
    cost_usd, input_tokens, output_tokens, trace_id";

/// Result columns for totals, which do not need the outputs.
const RESULT_COLUMNS_WITHOUT_OUTPUT: &str = "experiment_id, item_id, NULL, error, scores, \
    latency_ms, cost_usd, input_tokens, output_tokens, trace_id";

fn not_found(experiment_id: &str) -> StoreError {
    StoreError::NotFound(format!("experiment {experiment_id:?} not found"))
}

fn corrupt(column: &'static str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        column,
        reason: reason.to_string(),
    }
}

/// Creates an experiment with status `running` over an existing dataset.
pub(super) fn create(
    transaction: &Transaction<'_>,
    experiment: &NewExperiment,
    now: i64,
) -> Result<Experiment, StoreError> {
    let dataset_id = require_id(transaction, &experiment.dataset_name)?;
    let id = new_id();
    transaction
        .prepare_cached(
            "INSERT INTO experiments (id, name, dataset_id, dataset_name, config, status, \
             started_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            id,
            experiment.name,
            dataset_id,
            experiment.dataset_name,
            experiment.config.to_string(),
            ExperimentStatus::Running.as_str(),
            now,
        ])?;
    Ok(Experiment {
        id,
        name: experiment.name.clone(),
        dataset_id,
        dataset_name: experiment.dataset_name.clone(),
        config: experiment.config.clone(),
        status: ExperimentStatus::Running,
        error: None,
        started_unix_nano: unsigned(now),
        finished_unix_nano: None,
        totals: ExperimentTotals::default(),
    })
}

fn exists(connection: &Connection, experiment_id: &str) -> Result<bool, StoreError> {
    let found = connection
        .prepare_cached("SELECT 1 FROM experiments WHERE id = ?1")?
        .query_row([experiment_id], |_| Ok(()))
        .optional()?;
    Ok(found.is_some())
}

/// Stores results, replacing earlier results of the same items.
pub(super) fn save_results(
    transaction: &Transaction<'_>,
    experiment_id: &str,
    results: &[ExperimentResult],
) -> Result<(), StoreError> {
    if !exists(transaction, experiment_id)? {
        return Err(not_found(experiment_id));
    }
    let mut statement = transaction.prepare_cached(&format!(
        "INSERT OR REPLACE INTO experiment_results ({RESULT_COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))?;
    for result in results {
        statement.execute(params![
            experiment_id,
            result.item_id,
            result.output.as_ref().map(Value::to_string),
            result.error,
            serde_json::to_string(&result.scores).unwrap_or_else(|_| "{}".to_owned()),
            result.latency_ms,
            result.cost_usd,
            result.input_tokens.map(to_sql_int),
            result.output_tokens.map(to_sql_int),
            result.trace_id.as_ref().map(|id| id.0.as_slice()),
        ])?;
    }
    Ok(())
}

/// Sets the final status, the end time and the failure reason.
pub(super) fn finish(
    transaction: &Transaction<'_>,
    experiment_id: &str,
    status: ExperimentStatus,
    error: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    let changed = transaction
        .prepare_cached(
            "UPDATE experiments SET status = ?2, error = ?3, finished_ns = ?4 WHERE id = ?1",
        )?
        .execute(params![experiment_id, status.as_str(), error, now])?;
    if changed == 0 {
        return Err(not_found(experiment_id));
    }
    Ok(())
}

fn result_from_row(row: &Row<'_>) -> Result<ExperimentResult, StoreError> {
    let output: Option<String> = row.get(2)?;
    let scores: String = row.get(4)?;
    let input_tokens: Option<i64> = row.get(7)?;
    let output_tokens: Option<i64> = row.get(8)?;
    let trace_id: Option<Vec<u8>> = row.get(9)?;
    Ok(ExperimentResult {
        experiment_id: row.get(0)?,
        item_id: row.get(1)?,
        output: output
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|error| corrupt("experiment_results.output", error))?,
        error: row.get(3)?,
        scores: serde_json::from_str::<BTreeMap<String, f64>>(&scores)
            .map_err(|error| corrupt("experiment_results.scores", error))?,
        latency_ms: row.get(5)?,
        cost_usd: row.get(6)?,
        input_tokens: input_tokens.map(unsigned),
        output_tokens: output_tokens.map(unsigned),
        trace_id: trace_id
            .map(|bytes| TraceId::from_slice(&bytes))
            .transpose()
            .map_err(|error| corrupt("experiment_results.trace_id", error))?,
    })
}

/// Reads the results of an experiment in dataset item order; results of items deleted
/// since come first, by item id.
fn results(
    connection: &Connection,
    experiment_id: &str,
    with_output: bool,
) -> Result<Vec<ExperimentResult>, StoreError> {
    let columns = if with_output {
        RESULT_COLUMNS
    } else {
        RESULT_COLUMNS_WITHOUT_OUTPUT
    };
    let columns = columns
        .split(", ")
        .map(|column| match column {
            "NULL" => "NULL".to_owned(),
            column => format!("experiment_results.{column}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {columns} FROM experiment_results \
         LEFT JOIN dataset_items ON dataset_items.id = experiment_results.item_id \
         WHERE experiment_results.experiment_id = ?1 \
         ORDER BY dataset_items.row, experiment_results.item_id"
    ))?;
    let mut rows = statement.query([experiment_id])?;
    let mut results = Vec::new();
    while let Some(row) = rows.next()? {
        results.push(result_from_row(row)?);
    }
    Ok(results)
}

fn experiment_from_row(row: &Row<'_>, totals: ExperimentTotals) -> Result<Experiment, StoreError> {
    let config: String = row.get(4)?;
    let status: String = row.get(5)?;
    let finished: Option<i64> = row.get(8)?;
    Ok(Experiment {
        id: row.get(0)?,
        name: row.get(1)?,
        dataset_id: row.get(2)?,
        dataset_name: row.get(3)?,
        config: serde_json::from_str(&config)
            .map_err(|error| corrupt("experiments.config", error))?,
        status: ExperimentStatus::parse(&status)
            .ok_or_else(|| corrupt("experiments.status", format!("unknown status {status:?}")))?,
        error: row.get(6)?,
        started_unix_nano: unsigned(row.get(7)?),
        finished_unix_nano: finished.map(unsigned),
        totals,
    })
}

/// Returns an experiment with its results and totals.
pub(super) fn detail(
    connection: &Connection,
    experiment_id: &str,
) -> Result<Option<ExperimentDetail>, StoreError> {
    let results = results(connection, experiment_id, true)?;
    let totals = ExperimentTotals::of(&results);
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE id = ?1"
    ))?;
    let mut rows = statement.query([experiment_id])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    Ok(Some(ExperimentDetail {
        experiment: experiment_from_row(row, totals)?,
        results,
    }))
}

/// Lists experiments with their totals, most recently started first.
pub(super) fn list(
    connection: &Connection,
    dataset_name: Option<&str>,
    page: &Page,
) -> Result<(Vec<Experiment>, Option<Cursor>), StoreError> {
    let mut conditions = Where::default();
    if let Some(name) = dataset_name {
        conditions.push("dataset_name = ?", vec![text(name)]);
    }
    if let Some(cursor) = &page.cursor {
        conditions.push(
            "(started_ns, id) < (?, ?)",
            vec![SqlValue::Integer(cursor.time), text(&cursor.key)],
        );
    }
    let limit = conditions.bind(limit_value(page));
    let sql = format!(
        "SELECT {EXPERIMENT_COLUMNS} FROM experiments {} \
         ORDER BY started_ns DESC, id DESC LIMIT {limit}",
        conditions.sql()
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let mut rows = statement.query(as_params(&conditions.values).as_slice())?;
    let mut experiments = Vec::new();
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        let totals = ExperimentTotals::of(&results(connection, &id, false)?);
        experiments.push(experiment_from_row(row, totals)?);
    }
    Ok(paginate(experiments, page.limit, |experiment| Cursor {
        time: to_sql_int(experiment.started_unix_nano),
        value: None,
        key: experiment.id.clone(),
    }))
}
