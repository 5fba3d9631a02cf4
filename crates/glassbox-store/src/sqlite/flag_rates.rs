//! Flag rates: flagged model calls per analyzer or finding and time step, counted from
//! `span_flags` joined to the spans, beside the number of model calls per step.

use std::collections::BTreeMap;

use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;

use super::rows::{as_params, to_sql_int};
use crate::drift::{FlagRateFilter, FlagRates};
use crate::error::StoreError;

const MINUTE_NANOS: u64 = 60_000_000_000;

/// Counts model calls and flagged model calls per step of `step_seconds`. Steps start at
/// the filter's `from` rounded down to the minute, as the other time series do.
pub(crate) fn flag_rates(
    connection: &Connection,
    filter: &FlagRateFilter,
    step_seconds: i64,
) -> Result<FlagRates, StoreError> {
    let first = filter.from_unix_nano - filter.from_unix_nano % MINUTE_NANOS;
    let step_nanos = u64::try_from(step_seconds)
        .ok()
        .filter(|seconds| *seconds > 0)
        .ok_or_else(|| {
            StoreError::InvalidFilter(format!(
                "step must be a positive number of seconds, got {step_seconds}"
            ))
        })?
        .saturating_mul(1_000_000_000);
    let step = StepGrid { first, step_nanos };

    let spans = count_spans(connection, filter, &step)?;
    let flagged = count_flagged(connection, filter, &step)?;
    Ok(FlagRates { spans, flagged })
}

/// The start of the first step and the step width, in nanoseconds.
struct StepGrid {
    first: u64,
    step_nanos: u64,
}

impl StepGrid {
    /// Returns the parameters `?1` (start of the first step) and `?2` (step width) of the
    /// step index expression `(start_ns - ?1) / ?2`.
    fn index_params(&self) -> Vec<SqlValue> {
        vec![
            SqlValue::Integer(to_sql_int(self.first)),
            SqlValue::Integer(to_sql_int(self.step_nanos)),
        ]
    }

    fn start_of(&self, index: i64) -> u64 {
        let index = u64::try_from(index).unwrap_or(0);
        self.first
            .saturating_add(index.saturating_mul(self.step_nanos))
    }
}

/// Appends the range and the service and model filters on `spans` as numbered parameters.
fn span_conditions(
    filter: &FlagRateFilter,
    start_column: &str,
    values: &mut Vec<SqlValue>,
) -> String {
    values.push(SqlValue::Integer(to_sql_int(filter.from_unix_nano)));
    let mut sql = format!(" AND {start_column} >= ?{}", values.len());
    values.push(SqlValue::Integer(to_sql_int(filter.to_unix_nano)));
    sql.push_str(&format!(" AND {start_column} < ?{}", values.len()));
    for (column, value) in [
        ("spans.service_name", &filter.service),
        (
            "coalesce(spans.request_model, spans.response_model)",
            &filter.model,
        ),
    ] {
        if let Some(value) = value {
            values.push(SqlValue::Text(value.clone()));
            sql.push_str(&format!(" AND {column} = ?{}", values.len()));
        }
    }
    sql
}

fn count_spans(
    connection: &Connection,
    filter: &FlagRateFilter,
    step: &StepGrid,
) -> Result<Vec<(u64, u64)>, StoreError> {
    let mut values = step.index_params();
    let conditions = span_conditions(filter, "spans.start_ns", &mut values);
    let sql = format!(
        "SELECT (spans.start_ns - ?1) / ?2, count(*) FROM spans \
         WHERE spans.kind = 'llm'{conditions} GROUP BY 1 ORDER BY 1"
    );
    let mut statement = connection.prepare(&sql)?;
    let mut rows = statement.query(as_params(&values).as_slice())?;
    let mut counts = Vec::new();
    while let Some(row) = rows.next()? {
        let count: i64 = row.get(1)?;
        counts.push((
            step.start_of(row.get(0)?),
            u64::try_from(count).unwrap_or(0),
        ));
    }
    Ok(counts)
}

fn count_flagged(
    connection: &Connection,
    filter: &FlagRateFilter,
    step: &StepGrid,
) -> Result<BTreeMap<String, Vec<(u64, u64)>>, StoreError> {
    let mut values = step.index_params();
    let mut conditions = span_conditions(filter, "span_flags.start_ns", &mut values);
    let key = match filter.analyzer {
        Some(analyzer) => {
            values.push(SqlValue::Text(analyzer.as_str().to_owned()));
            conditions.push_str(&format!(" AND span_flags.analyzer = ?{}", values.len()));
            "span_flags.finding"
        }
        None => "span_flags.analyzer",
    };
    let sql = format!(
        "SELECT {key}, (span_flags.start_ns - ?1) / ?2, count(DISTINCT span_flags.span_row) \
         FROM span_flags JOIN spans ON spans.id = span_flags.span_row \
         WHERE spans.kind = 'llm'{conditions} GROUP BY 1, 2 ORDER BY 1, 2"
    );
    let mut statement = connection.prepare(&sql)?;
    let mut rows = statement.query(as_params(&values).as_slice())?;
    let mut flagged: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
    while let Some(row) = rows.next()? {
        let count: i64 = row.get(2)?;
        flagged.entry(row.get(0)?).or_default().push((
            step.start_of(row.get(1)?),
            u64::try_from(count).unwrap_or(0),
        ));
    }
    Ok(flagged)
}
