//! Drift samples: per (service, model) group, the token counts, input languages and flagged
//! analyzers of the latest model calls of a window, and the numeric scores of the calls and
//! traces that started in it.

use std::collections::BTreeMap;

use glassbox_model::Analyzer;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Row};

use super::rows::{as_params, to_sql_int};
use crate::drift::{DriftFilter, DriftSamples};
use crate::error::StoreError;

type GroupKey = (Option<String>, Option<String>);

/// Numbers each model call of the window within its group, latest first, so the outer
/// query keeps the first `max_per_group`. The flagged analyzers come from `span_flags`,
/// whose primary key starts with the span's row.
const SAMPLED_SPANS: &str = "SELECT service_name, model, in_window, input_tokens, \
    output_tokens, input_language, flagged FROM (\
      SELECT service_name, coalesce(request_model, response_model) AS model, \
        input_tokens, output_tokens, input_language, \
        (SELECT group_concat(DISTINCT analyzer) FROM span_flags \
          WHERE span_flags.span_row = spans.id) AS flagged, \
        row_number() OVER (PARTITION BY service_name, coalesce(request_model, response_model) \
          ORDER BY start_ns DESC, id DESC) AS rank, \
        count(*) OVER (PARTITION BY service_name, coalesce(request_model, response_model)) \
          AS in_window \
      FROM spans WHERE kind = 'llm' AND start_ns >= ?1 AND start_ns < ?2";

/// The latest numeric and boolean scores of each name per group.
const SAMPLED_SCORES: &str = "SELECT service_name, model, name, number FROM (\
      SELECT service_name, model, name, number, \
        row_number() OVER (PARTITION BY service_name, model, name \
          ORDER BY target_start_ns DESC, id DESC) AS rank \
      FROM scores WHERE data_type IN ('numeric', 'boolean') AND number IS NOT NULL \
        AND target_start_ns >= ?1 AND target_start_ns < ?2";

/// Reads the samples of every group with a model call or a score in the window, ordered by
/// service, then model.
pub(crate) fn samples(
    connection: &Connection,
    filter: &DriftFilter,
) -> Result<Vec<DriftSamples>, StoreError> {
    let mut groups: BTreeMap<GroupKey, DriftSamples> = BTreeMap::new();
    read_spans(connection, filter, &mut groups)?;
    read_scores(connection, filter, &mut groups)?;
    Ok(groups.into_values().collect())
}

/// Returns the window bounds and the filter's conditions as numbered parameters, with the
/// cap last. `model_column` is the model expression of the queried table.
fn conditions(filter: &DriftFilter, model_column: &str) -> (String, Vec<SqlValue>) {
    let mut values = vec![
        SqlValue::Integer(to_sql_int(filter.from_unix_nano)),
        SqlValue::Integer(to_sql_int(filter.to_unix_nano)),
    ];
    let mut sql = String::new();
    for (column, value) in [
        ("service_name", &filter.service),
        ("provider", &filter.provider),
        (model_column, &filter.model),
    ] {
        if let Some(value) = value {
            values.push(SqlValue::Text(value.clone()));
            sql.push_str(&format!(" AND {column} = ?{}", values.len()));
        }
    }
    values.push(SqlValue::Integer(
        i64::try_from(filter.max_per_group).unwrap_or(i64::MAX),
    ));
    sql.push_str(&format!(") WHERE rank <= ?{}", values.len()));
    (sql, values)
}

fn group(
    groups: &mut BTreeMap<GroupKey, DriftSamples>,
    service: Option<String>,
    model: Option<String>,
) -> &mut DriftSamples {
    groups
        .entry((service.clone(), model.clone()))
        .or_insert_with(|| DriftSamples {
            service,
            model,
            ..DriftSamples::default()
        })
}

fn read_spans(
    connection: &Connection,
    filter: &DriftFilter,
    groups: &mut BTreeMap<GroupKey, DriftSamples>,
) -> Result<(), StoreError> {
    let (where_sql, values) = conditions(filter, "coalesce(request_model, response_model)");
    let mut statement = connection.prepare(&format!("{SAMPLED_SPANS}{where_sql}"))?;
    let mut rows = statement.query(as_params(&values).as_slice())?;
    while let Some(row) = rows.next()? {
        let samples = group(groups, row.get(0)?, row.get(1)?);
        add_span(samples, row)?;
    }
    Ok(())
}

fn add_span(samples: &mut DriftSamples, row: &Row<'_>) -> Result<(), StoreError> {
    let in_window: i64 = row.get(2)?;
    samples.spans_in_window = u64::try_from(in_window).unwrap_or(0);
    samples.spans_sampled += 1;

    let tokens = |index: usize| -> Result<Option<u64>, StoreError> {
        let value: Option<i64> = row.get(index)?;
        Ok(value.and_then(|value| u64::try_from(value).ok()))
    };
    if let Some(input) = tokens(3)? {
        samples.input_tokens.push(input);
    }
    if let Some(output) = tokens(4)? {
        samples.output_tokens.push(output);
    }

    if let Some(language) = row.get::<_, Option<String>>(5)? {
        *samples.input_languages.entry(language).or_default() += 1;
    }
    let flagged: Option<String> = row.get(6)?;
    for name in flagged.iter().flat_map(|names| names.split(',')) {
        let analyzer = Analyzer::parse(name).ok_or_else(|| StoreError::Corrupt {
            column: "span_flags.analyzer",
            reason: format!("unknown analyzer {name:?}"),
        })?;
        *samples.flagged.entry(analyzer).or_default() += 1;
    }
    Ok(())
}

fn read_scores(
    connection: &Connection,
    filter: &DriftFilter,
    groups: &mut BTreeMap<GroupKey, DriftSamples>,
) -> Result<(), StoreError> {
    let (where_sql, values) = conditions(filter, "model");
    let sql = format!("{SAMPLED_SCORES}{where_sql} ORDER BY rank");
    let mut statement = connection.prepare(&sql)?;
    let mut rows = statement.query(as_params(&values).as_slice())?;
    while let Some(row) = rows.next()? {
        let samples = group(groups, row.get(0)?, row.get(1)?);
        let name: String = row.get(2)?;
        samples.scores.entry(name).or_default().push(row.get(3)?);
    }
    Ok(())
}
