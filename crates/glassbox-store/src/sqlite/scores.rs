//! The `scores` table: inserts that copy their target's context, the listing and aggregates.

use std::collections::{BTreeMap, HashMap};

use glassbox_model::{Score, ScoreDataType, ScoreSource, ScoreValue, SpanId, TraceId};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::quality::{Where, limit_value, paginate, text, unsigned};
use super::rows::{as_params, to_sql_int};
use crate::error::StoreError;
use crate::quality::{
    NewScore, ScoreAggregate, ScoreFilter, ScoreGroup, ScoreGroupBy, ScoreMetricsFilter, new_id,
};
use crate::query::{Cursor, Page};

const SCORE_COLUMNS: &str = "id, trace_id, span_id, name, data_type, number, category, source, \
    comment, author, created_ns, service_name, provider, model, target_start_ns";

/// Inserts a score or replaces the one stored under its id. A replaced score keeps the time
/// it was first received.
const UPSERT: &str = "INSERT INTO scores (id, trace_id, span_id, name, data_type, number, \
    category, source, comment, author, created_ns, service_name, provider, model, \
    target_start_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
    ON CONFLICT (id) DO UPDATE SET trace_id = excluded.trace_id, span_id = excluded.span_id, \
    name = excluded.name, data_type = excluded.data_type, number = excluded.number, \
    category = excluded.category, source = excluded.source, comment = excluded.comment, \
    author = excluded.author, service_name = excluded.service_name, \
    provider = excluded.provider, model = excluded.model, \
    target_start_ns = excluded.target_start_ns \
    RETURNING created_ns";

/// The context a score copies from the span or trace it judges.
struct TargetContext {
    service: Option<String>,
    provider: Option<String>,
    model: Option<String>,
    start_ns: i64,
}

/// Reads the context of a span, or of a trace: its root service and its first model call's
/// provider and model. Returns `None` when the target is not stored.
fn target_context(
    transaction: &Transaction<'_>,
    trace_id: TraceId,
    span_id: Option<SpanId>,
) -> Result<Option<TargetContext>, StoreError> {
    if let Some(span_id) = span_id {
        let context = transaction
            .prepare_cached(
                "SELECT service_name, provider, COALESCE(request_model, response_model), \
                 start_ns FROM spans \
                 WHERE trace_row = (SELECT id FROM traces WHERE trace_id = ?1) AND span_id = ?2",
            )?
            .query_row(
                params![trace_id.0.as_slice(), span_id.0.as_slice()],
                |row| {
                    Ok(TargetContext {
                        service: row.get(0)?,
                        provider: row.get(1)?,
                        model: row.get(2)?,
                        start_ns: row.get(3)?,
                    })
                },
            )
            .optional()?;
        return Ok(context);
    }

    let trace = transaction
        .prepare_cached("SELECT service_name, start_ns FROM traces WHERE trace_id = ?1")?
        .query_row([trace_id.0.as_slice()], |row| {
            Ok((row.get::<_, Option<String>>(0)?, row.get::<_, i64>(1)?))
        })
        .optional()?;
    let Some((service, start_ns)) = trace else {
        return Ok(None);
    };
    // NOTE: a trace that called several models is attributed to its first model call.
    let (provider, model) = transaction
        .prepare_cached(
            "SELECT provider, COALESCE(request_model, response_model) FROM spans \
             WHERE trace_row = (SELECT id FROM traces WHERE trace_id = ?1) \
             AND kind IN ('llm', 'embedding') ORDER BY start_ns, id LIMIT 1",
        )?
        .query_row([trace_id.0.as_slice()], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?
        .unwrap_or((None, None));
    Ok(Some(TargetContext {
        service,
        provider,
        model,
        start_ns,
    }))
}

fn missing_target(index: usize, score: &NewScore) -> StoreError {
    StoreError::NotFound(match score.span_id {
        Some(span_id) => format!(
            "scores[{index}]: span {span_id} of trace {} not found; send the span before scoring it",
            score.trace_id
        ),
        None => format!(
            "scores[{index}]: trace {} not found; send its spans before scoring it",
            score.trace_id
        ),
    })
}

/// Returns the `number` and `category` columns of a value.
fn value_columns(value: &ScoreValue) -> (Option<f64>, Option<&str>) {
    match value {
        ScoreValue::Categorical(category) => (None, Some(category.as_str())),
        other => (other.as_number(), None),
    }
}

/// Inserts scores; fails on the first score whose target is not stored.
pub(super) fn insert(
    transaction: &Transaction<'_>,
    new_scores: &[NewScore],
    now: i64,
) -> Result<Vec<Score>, StoreError> {
    let mut stored = Vec::with_capacity(new_scores.len());
    let mut statement = transaction.prepare_cached(UPSERT)?;
    for (index, new) in new_scores.iter().enumerate() {
        let context = target_context(transaction, new.trace_id, new.span_id)?
            .ok_or_else(|| missing_target(index, new))?;
        let id = new.id.clone().unwrap_or_else(new_id);
        let (number, category) = value_columns(&new.value);
        let created_ns: i64 = statement.query_row(
            params![
                id,
                new.trace_id.0.as_slice(),
                new.span_id.as_ref().map(|span_id| span_id.0.as_slice()),
                new.name,
                new.value.data_type().as_str(),
                number,
                category,
                new.source.as_str(),
                new.comment,
                new.author,
                now,
                context.service,
                context.provider,
                context.model,
                context.start_ns,
            ],
            |row| row.get(0),
        )?;
        stored.push(Score {
            id,
            trace_id: new.trace_id,
            span_id: new.span_id,
            name: new.name.clone(),
            value: new.value.clone(),
            source: new.source,
            comment: new.comment.clone(),
            author: new.author.clone(),
            created_unix_nano: unsigned(created_ns),
            service: context.service,
            provider: context.provider,
            model: context.model,
            target_start_unix_nano: unsigned(context.start_ns),
        });
    }
    Ok(stored)
}

fn corrupt(column: &'static str, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        column,
        reason: reason.into(),
    }
}

fn score_from_row(row: &Row<'_>) -> Result<Score, StoreError> {
    let trace_id: Vec<u8> = row.get(1)?;
    let span_id: Option<Vec<u8>> = row.get(2)?;
    let data_type: String = row.get(4)?;
    let number: Option<f64> = row.get(5)?;
    let category: Option<String> = row.get(6)?;
    let source: String = row.get(7)?;

    let value = match ScoreDataType::parse(&data_type) {
        Some(ScoreDataType::Numeric) => number.map(ScoreValue::Numeric),
        Some(ScoreDataType::Boolean) => number.map(|number| ScoreValue::Boolean(number != 0.0)),
        Some(ScoreDataType::Categorical) => category.map(ScoreValue::Categorical),
        None => None,
    }
    .ok_or_else(|| corrupt("scores.data_type", format!("no {data_type:?} value")))?;

    Ok(Score {
        id: row.get(0)?,
        trace_id: TraceId::from_slice(&trace_id)
            .map_err(|error| corrupt("scores.trace_id", error.to_string()))?,
        span_id: span_id
            .map(|bytes| SpanId::from_slice(&bytes))
            .transpose()
            .map_err(|error| corrupt("scores.span_id", error.to_string()))?,
        name: row.get(3)?,
        value,
        source: ScoreSource::parse(&source)
            .ok_or_else(|| corrupt("scores.source", format!("unknown source {source:?}")))?,
        comment: row.get(8)?,
        author: row.get(9)?,
        created_unix_nano: unsigned(row.get(10)?),
        service: row.get(11)?,
        provider: row.get(12)?,
        model: row.get(13)?,
        target_start_unix_nano: unsigned(row.get(14)?),
    })
}

fn list_conditions(filter: &ScoreFilter) -> Where {
    let mut conditions = Where::default();
    if let Some(trace_id) = filter.trace_id {
        conditions.push("trace_id = ?", vec![SqlValue::Blob(trace_id.0.to_vec())]);
    }
    if let Some(span_id) = filter.span_id {
        conditions.push("span_id = ?", vec![SqlValue::Blob(span_id.0.to_vec())]);
    }
    if let Some(name) = &filter.name {
        conditions.push("name = ?", vec![text(name)]);
    }
    if let Some(source) = filter.source {
        conditions.push("source = ?", vec![text(source.as_str())]);
    }
    if let Some(model) = &filter.model {
        conditions.push("model = ?", vec![text(model)]);
    }
    if let Some(from) = filter.from_unix_nano {
        conditions.push("created_ns >= ?", vec![SqlValue::Integer(to_sql_int(from))]);
    }
    if let Some(to) = filter.to_unix_nano {
        conditions.push("created_ns < ?", vec![SqlValue::Integer(to_sql_int(to))]);
    }
    conditions
}

/// Lists scores, most recently received first.
pub(super) fn list(
    connection: &Connection,
    filter: &ScoreFilter,
    page: &Page,
) -> Result<(Vec<Score>, Option<Cursor>), StoreError> {
    let mut conditions = list_conditions(filter);
    if let Some(cursor) = &page.cursor {
        conditions.push(
            "(created_ns, id) < (?, ?)",
            vec![SqlValue::Integer(cursor.time), text(&cursor.key)],
        );
    }
    let limit = conditions.bind(limit_value(page));
    let sql = format!(
        "SELECT {SCORE_COLUMNS} FROM scores {} ORDER BY created_ns DESC, id DESC LIMIT {limit}",
        conditions.sql()
    );

    let mut statement = connection.prepare_cached(&sql)?;
    let mut rows = statement.query(as_params(&conditions.values).as_slice())?;
    let mut scores = Vec::new();
    while let Some(row) = rows.next()? {
        scores.push(score_from_row(row)?);
    }
    Ok(paginate(scores, page.limit, |score| Cursor {
        time: to_sql_int(score.created_unix_nano),
        value: None,
        key: score.id.clone(),
    }))
}

fn aggregate_conditions(filter: &ScoreMetricsFilter) -> Where {
    let mut conditions = Where::default();
    conditions.push(
        "target_start_ns >= ? AND target_start_ns < ?",
        vec![
            SqlValue::Integer(to_sql_int(filter.from_unix_nano)),
            SqlValue::Integer(to_sql_int(filter.to_unix_nano)),
        ],
    );
    for (value, clause) in [
        (&filter.name, "name = ?"),
        (&filter.model, "model = ?"),
        (&filter.service, "service_name = ?"),
    ] {
        if let Some(value) = value {
            conditions.push(clause, vec![text(value)]);
        }
    }
    if let Some(source) = filter.source {
        conditions.push("source = ?", vec![text(source.as_str())]);
    }
    conditions
}

/// Aggregates by group key, then by step start in seconds (0 without steps).
type Buckets = HashMap<Option<String>, BTreeMap<i64, ScoreAggregate>>;

/// Aggregates scores per group and, with a step, per step.
pub(super) fn aggregates(
    connection: &Connection,
    filter: &ScoreMetricsFilter,
    group_by: Option<ScoreGroupBy>,
    step_seconds: Option<i64>,
) -> Result<Vec<ScoreGroup>, StoreError> {
    let mut conditions = aggregate_conditions(filter);
    let key = match group_by {
        Some(ScoreGroupBy::Name) => "name",
        Some(ScoreGroupBy::Model) => "model",
        Some(ScoreGroupBy::Source) => "source",
        None => "NULL",
    };
    let bucket = match step_seconds {
        Some(step) => {
            // Steps start at `from` rounded down to the minute, as the span metrics do.
            let first = to_sql_int(filter.from_unix_nano / 60_000_000_000 * 60);
            let first = conditions.bind(SqlValue::Integer(first));
            let step = conditions.bind(SqlValue::Integer(step.max(60)));
            format!("{first} + ((target_start_ns / 1000000000 - {first}) / {step}) * {step}")
        }
        None => "0".to_owned(),
    };
    let where_sql = conditions.sql();
    let parameters = as_params(&conditions.values);

    let mut buckets = Buckets::new();
    let mut statement = connection.prepare(&format!(
        "SELECT {key}, {bucket} AS bucket, COUNT(*), COUNT(number), SUM(number), MIN(number), \
         MAX(number) FROM scores {where_sql} GROUP BY 1, 2"
    ))?;
    let mut rows = statement.query(parameters.as_slice())?;
    while let Some(row) = rows.next()? {
        let aggregate = ScoreAggregate {
            count: unsigned(row.get(2)?),
            numeric_count: unsigned(row.get(3)?),
            sum: row.get::<_, Option<f64>>(4)?.unwrap_or(0.0),
            min: row.get(5)?,
            max: row.get(6)?,
            categories: BTreeMap::new(),
        };
        buckets
            .entry(row.get(0)?)
            .or_default()
            .insert(row.get(1)?, aggregate);
    }

    let mut statement = connection.prepare(&format!(
        "SELECT {key}, {bucket} AS bucket, category, COUNT(*) FROM scores {where_sql} \
         {} category IS NOT NULL GROUP BY 1, 2, 3",
        if where_sql.is_empty() { "WHERE" } else { "AND" }
    ))?;
    let mut rows = statement.query(parameters.as_slice())?;
    while let Some(row) = rows.next()? {
        let group: Option<String> = row.get(0)?;
        let step: i64 = row.get(1)?;
        let category: String = row.get(2)?;
        let count = unsigned(row.get(3)?);
        buckets
            .entry(group)
            .or_default()
            .entry(step)
            .or_default()
            .categories
            .insert(category, count);
    }

    Ok(into_groups(buckets, step_seconds.is_some()))
}

fn into_groups(buckets: Buckets, with_steps: bool) -> Vec<ScoreGroup> {
    let mut groups: Vec<ScoreGroup> = buckets
        .into_iter()
        .map(|(key, steps)| {
            let mut aggregate = ScoreAggregate::default();
            for step in steps.values() {
                aggregate.merge(step);
            }
            let steps = if with_steps {
                steps
                    .into_iter()
                    .map(|(start, step)| (unsigned(start).saturating_mul(1_000_000_000), step))
                    .collect()
            } else {
                Vec::new()
            };
            ScoreGroup {
                key,
                aggregate,
                steps,
            }
        })
        .collect();
    groups.sort_by(|a, b| {
        b.aggregate
            .count
            .cmp(&a.aggregate.count)
            .then_with(|| a.key.cmp(&b.key))
    });
    groups
}
