//! The metrics read path: summaries and time series from the rollups when their dimensions
//! suffice, otherwise from the spans; and the statistics of application functions.

use std::collections::{BTreeMap, HashMap, HashSet};

use glassbox_model::{Span, SpanKind, TraceId};
use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;

use super::rollup::{self, RollupKey, Table};
use super::rows::{AGGREGATE_SPAN_COLUMNS, as_params, span_from_row, to_sql_int};
use crate::error::StoreError;
use crate::metrics::{
    Aggregate, FinishReasonCount, FunctionStats, GroupAggregate, GroupBy, MetricsFilter, Series,
    TopTotal, UserTotal,
};
use crate::sketch::Sketch;

/// Slowest calls kept per function.
const SLOWEST_KEPT: usize = 5;

fn minute_bounds(filter: &MetricsFilter) -> (i64, i64) {
    let from = rollup::bucket_of(filter.from_unix_nano, rollup::MINUTE);
    let end = rollup::bucket_of(filter.to_unix_nano, rollup::MINUTE);
    let to = if to_sql_int(filter.to_unix_nano) > end.saturating_mul(1_000_000_000) {
        end + rollup::MINUTE
    } else {
        end
    };
    (from, to)
}

fn uses_rollups(filter: &MetricsFilter, group_by: Option<GroupBy>) -> bool {
    filter.in_rollups() && group_by.is_none_or(GroupBy::in_rollups)
}

fn rollup_key(key: &RollupKey, group_by: Option<GroupBy>) -> Option<String> {
    let value = match group_by? {
        GroupBy::Model => &key.model,
        GroupBy::Provider => &key.provider,
        GroupBy::Service => &key.service,
        GroupBy::Operation => &key.operation,
        GroupBy::Kind => &key.kind,
        GroupBy::UserId | GroupBy::SessionId | GroupBy::Tag => return None,
    };
    (!value.is_empty()).then(|| value.clone())
}

fn span_keys(span: &Span, group_by: Option<GroupBy>) -> Vec<Option<String>> {
    let Some(group_by) = group_by else {
        return vec![None];
    };
    let value = match group_by {
        GroupBy::Model => span.requested_model().map(str::to_owned),
        GroupBy::Provider => span.provider.clone(),
        GroupBy::Service => span.service_name.clone(),
        GroupBy::Operation => span.operation.clone(),
        GroupBy::Kind => Some(span.kind.as_str().to_owned()),
        GroupBy::UserId => span.user_id.clone(),
        GroupBy::SessionId => span.session_id.clone(),
        GroupBy::Tag if span.tags.is_empty() => None,
        GroupBy::Tag => return span.tags.iter().cloned().map(Some).collect(),
    };
    vec![value]
}

/// Totals per group over the filter's range, largest count first.
pub(crate) fn summary(
    connection: &Connection,
    filter: &MetricsFilter,
    group_by: Option<GroupBy>,
) -> Result<Vec<GroupAggregate>, StoreError> {
    let mut groups: HashMap<Option<String>, Aggregate> = HashMap::new();
    if uses_rollups(filter, group_by) {
        let (from, to) = minute_bounds(filter);
        for (table, start, end) in rollup::split_range(from, to, &rollup::ALL_TABLES) {
            rollup::read(connection, table, start, end, filter, &mut |row| {
                groups
                    .entry(rollup_key(&row.key, group_by))
                    .or_default()
                    .merge(&row.aggregate);
            })?;
        }
    } else {
        scan_spans(connection, filter, &mut |span| {
            for key in span_keys(span, group_by) {
                groups.entry(key).or_default().add_span(span);
            }
        })?;
    }
    let mut groups: Vec<GroupAggregate> = groups
        .into_iter()
        .map(|(key, aggregate)| GroupAggregate { key, aggregate })
        .collect();
    groups.sort_by(|a, b| {
        b.aggregate
            .count
            .cmp(&a.aggregate.count)
            .then_with(|| a.key.cmp(&b.key))
    });
    Ok(groups)
}

/// Aggregates per group and time step. `step` is in seconds, a multiple of 60.
pub(crate) fn timeseries(
    connection: &Connection,
    filter: &MetricsFilter,
    group_by: Option<GroupBy>,
    step: i64,
) -> Result<Vec<Series>, StoreError> {
    let (from, to) = minute_bounds(filter);
    let step_of = |seconds: i64| from + (seconds - from).div_euclid(step) * step;
    let mut series: HashMap<Option<String>, BTreeMap<i64, Aggregate>> = HashMap::new();
    if uses_rollups(filter, group_by) {
        // A coarse bucket may be read only when it falls inside one step.
        let tables: &[Table] = if step % rollup::DAY == 0 && from % rollup::DAY == 0 {
            &rollup::ALL_TABLES
        } else if step % rollup::HOUR == 0 && from % rollup::HOUR == 0 {
            &[Table::Hour, Table::Minute]
        } else {
            &[Table::Minute]
        };
        let parts = rollup::split_range(from, to, tables);
        for (table, start, end) in parts {
            rollup::read(connection, table, start, end, filter, &mut |row| {
                let steps = series.entry(rollup_key(&row.key, group_by)).or_default();
                steps
                    .entry(step_of(row.bucket))
                    .or_default()
                    .merge(&row.aggregate);
            })?;
        }
    } else {
        scan_spans(connection, filter, &mut |span| {
            let seconds = to_sql_int(span.start_time_unix_nano / 1_000_000_000);
            for key in span_keys(span, group_by) {
                let steps = series.entry(key).or_default();
                steps.entry(step_of(seconds)).or_default().add_span(span);
            }
        })?;
    }
    let mut series: Vec<Series> = series
        .into_iter()
        .map(|(key, steps)| Series {
            key,
            steps: steps
                .into_iter()
                .map(|(start, aggregate)| {
                    (u64::try_from(start).unwrap_or(0) * 1_000_000_000, aggregate)
                })
                .collect(),
        })
        .collect();
    series.sort_by(|a, b| {
        total_count(b)
            .cmp(&total_count(a))
            .then_with(|| a.key.cmp(&b.key))
    });
    Ok(series)
}

fn total_count(series: &Series) -> u64 {
    series
        .steps
        .iter()
        .map(|(_, aggregate)| aggregate.count)
        .sum()
}

/// Builds the `WHERE` clause over `spans` of a filter, with its values numbered from `?1`.
fn span_where(filter: &MetricsFilter) -> (String, Vec<SqlValue>) {
    let mut sql = "WHERE start_ns >= ?1 AND start_ns < ?2".to_owned();
    let mut values = vec![
        SqlValue::Integer(to_sql_int(filter.from_unix_nano)),
        SqlValue::Integer(to_sql_int(filter.to_unix_nano)),
    ];
    for (clause, value) in [
        (" AND service_name = ?", &filter.service),
        (" AND provider = ?", &filter.provider),
        (
            " AND coalesce(request_model, response_model) = ?",
            &filter.model,
        ),
        (" AND operation = ?", &filter.operation),
        (" AND user_id = ?", &filter.user_id),
        (" AND session_id = ?", &filter.session_id),
        (
            " AND EXISTS (SELECT 1 FROM json_each(spans.tags) WHERE value = ?)",
            &filter.tag,
        ),
    ] {
        if let Some(value) = value {
            values.push(SqlValue::Text(value.clone()));
            sql.push_str(&clause.replace('?', &format!("?{}", values.len())));
        }
    }
    if !filter.kinds.is_empty() {
        let placeholders: Vec<String> = filter
            .kinds
            .iter()
            .map(|kind| {
                values.push(SqlValue::Text(kind.as_str().to_owned()));
                format!("?{}", values.len())
            })
            .collect();
        sql.push_str(&format!(" AND kind IN ({})", placeholders.join(", ")));
    }
    (sql, values)
}

/// Reads every span that matches the filter, oldest first.
fn scan_spans(
    connection: &Connection,
    filter: &MetricsFilter,
    visit: &mut dyn FnMut(&Span),
) -> Result<(), StoreError> {
    let (conditions, values) = span_where(filter);
    let sql = format!("SELECT {AGGREGATE_SPAN_COLUMNS} FROM spans {conditions} ORDER BY start_ns");
    let mut statement = connection.prepare(&sql)?;
    let mut rows = statement.query(as_params(&values).as_slice())?;
    while let Some(row) = rows.next()? {
        visit(&span_from_row(row, 0)?);
    }
    Ok(())
}

/// Totals per value of a span column (and of `service_name` when `by_service`), summed by the
/// database without reading whole spans; `order` orders the groups.
fn top_totals(
    connection: &Connection,
    filter: &MetricsFilter,
    key: &str,
    by_service: bool,
    order: &str,
    limit: usize,
) -> Result<Vec<TopTotal>, StoreError> {
    let (conditions, mut values) = span_where(filter);
    values.push(SqlValue::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    let (service, group) = if by_service {
        ("service_name", format!("{key}, service_name"))
    } else {
        ("NULL", key.to_owned())
    };
    let sql = format!(
        "SELECT {key}, count(*), sum(status = 'error'), sum(cost_usd), sum(duration_ns), {service} \
         FROM spans {conditions} AND {key} IS NOT NULL GROUP BY {group} ORDER BY {order} LIMIT ?{}",
        values.len()
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let mut rows = statement.query(as_params(&values).as_slice())?;
    let mut totals = Vec::new();
    while let Some(row) = rows.next()? {
        let count: i64 = row.get(1)?;
        let errors: i64 = row.get(2)?;
        let duration_ns: Option<f64> = row.get(4)?;
        totals.push(TopTotal {
            key: row.get(0)?,
            calls: u64::try_from(count).unwrap_or(0),
            errors: u64::try_from(errors).unwrap_or(0),
            cost_usd: row.get(3)?,
            total_ms: duration_ns.unwrap_or(0.0) / 1e6,
            service: row.get(5)?,
        });
    }
    Ok(totals)
}

/// Totals per user over the traces of the range, most model calls first.
pub(crate) fn top_users(
    connection: &Connection,
    filter: &MetricsFilter,
    limit: usize,
) -> Result<Vec<UserTotal>, StoreError> {
    let mut sql = "SELECT user_id, count(*), sum(llm_call_count), sum(error_count), \
                   sum(input_tokens), sum(output_tokens), sum(cost_usd), sum(duration_ns) \
                   FROM traces WHERE start_ns >= ?1 AND start_ns < ?2 AND user_id IS NOT NULL"
        .to_owned();
    let mut values = vec![
        SqlValue::Integer(to_sql_int(filter.from_unix_nano)),
        SqlValue::Integer(to_sql_int(filter.to_unix_nano)),
    ];
    for (clause, value) in [
        (" AND user_id = ?", &filter.user_id),
        (" AND session_id = ?", &filter.session_id),
        (
            " AND EXISTS (SELECT 1 FROM json_each(traces.services) WHERE value = ?)",
            &filter.service,
        ),
        (
            " AND EXISTS (SELECT 1 FROM json_each(traces.models) WHERE value = ?)",
            &filter.model,
        ),
        (
            " AND EXISTS (SELECT 1 FROM json_each(traces.providers) WHERE value = ?)",
            &filter.provider,
        ),
        (
            " AND EXISTS (SELECT 1 FROM json_each(traces.tags) WHERE value = ?)",
            &filter.tag,
        ),
    ] {
        if let Some(value) = value {
            values.push(SqlValue::Text(value.clone()));
            sql.push_str(&clause.replace('?', &format!("?{}", values.len())));
        }
    }
    values.push(SqlValue::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    sql.push_str(&format!(
        " GROUP BY user_id ORDER BY 3 DESC, 1 LIMIT ?{}",
        values.len()
    ));

    let mut statement = connection.prepare_cached(&sql)?;
    let mut rows = statement.query(as_params(&values).as_slice())?;
    let count = |value: Option<i64>| {
        value
            .and_then(|value| u64::try_from(value).ok())
            .unwrap_or(0)
    };
    let mut users = Vec::new();
    while let Some(row) = rows.next()? {
        let duration_ns: Option<f64> = row.get(7)?;
        users.push(UserTotal {
            user_id: row.get(0)?,
            traces: count(row.get(1)?),
            model_calls: count(row.get(2)?),
            errors: count(row.get(3)?),
            input_tokens: count(row.get(4)?),
            output_tokens: count(row.get(5)?),
            cost_usd: row.get(6)?,
            total_ms: duration_ns.unwrap_or(0.0) / 1e6,
        });
    }
    Ok(users)
}

/// Application spans (every kind but model calls) per service and name, longest total time
/// first.
pub(crate) fn top_functions(
    connection: &Connection,
    filter: &MetricsFilter,
    limit: usize,
) -> Result<Vec<TopTotal>, StoreError> {
    let mut filter = filter.clone();
    filter.kinds = SpanKind::ALL
        .into_iter()
        .filter(|kind| !matches!(kind, SpanKind::Llm | SpanKind::Embedding))
        .collect();
    top_totals(connection, &filter, "name", true, "5 DESC, 1", limit)
}

/// A function: its service and span name.
type FunctionKey = (Option<String>, String);

/// Statistics being built, the traces already counted, and calls per span kind.
type FunctionAccumulator = (FunctionStats, HashSet<TraceId>, HashMap<SpanKind, u64>);

/// One span as the function statistics need it.
struct FunctionCall {
    trace_id: TraceId,
    span_id: [u8; 8],
    parent: Option<[u8; 8]>,
    service: Option<String>,
    name: String,
    kind: SpanKind,
    duration_ms: f64,
    failed: bool,
    trace_ms: f64,
}

/// Statistics of every non-model span name by service in the range, by total time.
pub(crate) fn functions(
    connection: &Connection,
    filter: &MetricsFilter,
) -> Result<Vec<FunctionStats>, StoreError> {
    let calls = read_calls(connection, filter)?;
    let mut children_ms: HashMap<(TraceId, [u8; 8]), f64> = HashMap::new();
    for call in &calls {
        if let Some(parent) = call.parent {
            *children_ms.entry((call.trace_id, parent)).or_default() += call.duration_ms;
        }
    }

    let mut stats: HashMap<FunctionKey, FunctionAccumulator> = HashMap::new();
    for call in calls
        .iter()
        .filter(|call| !matches!(call.kind, SpanKind::Llm | SpanKind::Embedding))
    {
        if filter
            .service
            .as_ref()
            .is_some_and(|service| call.service.as_ref() != Some(service))
        {
            continue;
        }
        let (entry, traces, kinds) = stats
            .entry((call.service.clone(), call.name.clone()))
            .or_insert_with(|| (empty_function(call), HashSet::new(), HashMap::new()));
        entry.calls += 1;
        entry.errors += u64::from(call.failed);
        entry.duration_ms.add(call.duration_ms);
        entry.total_ms += call.duration_ms;
        let children = children_ms
            .get(&(call.trace_id, call.span_id))
            .copied()
            .unwrap_or(0.0);
        // Children that run in parallel can add up to more than the parent: self time is
        // never negative.
        entry.self_ms += (call.duration_ms - children).max(0.0);
        if traces.insert(call.trace_id) {
            entry.trace_ms += call.trace_ms;
        }
        *kinds.entry(call.kind).or_default() += 1;
        keep_slowest(&mut entry.slowest, call.trace_id, call.duration_ms);
    }

    let mut functions: Vec<FunctionStats> = stats
        .into_values()
        .map(|(mut stats, _, kinds)| {
            stats.kind = kinds
                .into_iter()
                .max_by_key(|(_, count)| *count)
                .map_or(SpanKind::Other, |(kind, _)| kind);
            stats
        })
        .collect();
    functions.sort_by(|a, b| {
        b.total_ms
            .total_cmp(&a.total_ms)
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(functions)
}

fn empty_function(call: &FunctionCall) -> FunctionStats {
    FunctionStats {
        service: call.service.clone(),
        name: call.name.clone(),
        kind: call.kind,
        calls: 0,
        errors: 0,
        duration_ms: Sketch::new(),
        total_ms: 0.0,
        self_ms: 0.0,
        trace_ms: 0.0,
        slowest: Vec::new(),
    }
}

fn keep_slowest(slowest: &mut Vec<(TraceId, f64)>, trace_id: TraceId, duration_ms: f64) {
    if slowest.len() == SLOWEST_KEPT
        && slowest
            .last()
            .is_some_and(|(_, fastest)| *fastest >= duration_ms)
    {
        return;
    }
    slowest.push((trace_id, duration_ms));
    slowest.sort_by(|a, b| b.1.total_cmp(&a.1));
    slowest.truncate(SLOWEST_KEPT);
}

fn read_calls(
    connection: &Connection,
    filter: &MetricsFilter,
) -> Result<Vec<FunctionCall>, StoreError> {
    let mut sql =
        "SELECT spans.trace_id, spans.span_id, spans.parent_span_id, spans.service_name, \
         spans.name, spans.kind, spans.duration_ns, spans.status, traces.duration_ns \
         FROM spans LEFT JOIN traces ON traces.id = spans.trace_row \
         WHERE spans.start_ns >= ?1 AND spans.start_ns < ?2"
            .to_owned();
    let mut values = vec![
        SqlValue::Integer(to_sql_int(filter.from_unix_nano)),
        SqlValue::Integer(to_sql_int(filter.to_unix_nano)),
    ];
    // Filters other than the service select the traces a function ran in: those of a user,
    // a session or a tag, or those that called a model or provider.
    for (clause, value) in [
        (" AND traces.user_id = ?", &filter.user_id),
        (" AND traces.session_id = ?", &filter.session_id),
        (
            " AND EXISTS (SELECT 1 FROM json_each(traces.tags) WHERE value = ?)",
            &filter.tag,
        ),
        (
            " AND EXISTS (SELECT 1 FROM json_each(traces.providers) WHERE value = ?)",
            &filter.provider,
        ),
        (
            " AND EXISTS (SELECT 1 FROM spans AS model_calls WHERE model_calls.trace_row = spans.trace_row \
             AND coalesce(model_calls.request_model, model_calls.response_model) = ?)",
            &filter.model,
        ),
    ] {
        if let Some(value) = value {
            values.push(SqlValue::Text(value.clone()));
            sql.push_str(&clause.replace('?', &format!("?{}", values.len())));
        }
    }
    let mut statement = connection.prepare(&sql)?;
    let mut rows = statement.query(as_params(&values).as_slice())?;
    let mut calls = Vec::new();
    while let Some(row) = rows.next()? {
        let trace_id: Vec<u8> = row.get(0)?;
        let span_id: Vec<u8> = row.get(1)?;
        let parent: Option<Vec<u8>> = row.get(2)?;
        let kind: String = row.get(5)?;
        let status: String = row.get(7)?;
        let duration_ns: i64 = row.get(6)?;
        let trace_ns: Option<i64> = row.get(8)?;
        let corrupt = || StoreError::Corrupt {
            column: "spans",
            reason: "identifier of the wrong length".into(),
        };
        calls.push(FunctionCall {
            trace_id: TraceId::from_slice(&trace_id).map_err(|_| corrupt())?,
            span_id: span_id.try_into().map_err(|_| corrupt())?,
            parent: parent
                .map(|bytes| bytes.try_into().map_err(|_| corrupt()))
                .transpose()?,
            service: row.get(3)?,
            name: row.get(4)?,
            kind: SpanKind::parse(&kind).unwrap_or_default(),
            duration_ms: duration_ns as f64 / 1e6,
            failed: status == "error",
            trace_ms: trace_ns.unwrap_or(duration_ns) as f64 / 1e6,
        });
    }
    Ok(calls)
}

/// Counts finish reasons of model calls by model, reading the spans of the range.
pub(crate) fn finish_reasons(
    connection: &Connection,
    filter: &MetricsFilter,
) -> Result<Vec<FinishReasonCount>, StoreError> {
    let mut sql =
        "SELECT coalesce(spans.request_model, spans.response_model), reason.value, count(*) \
                   FROM spans, json_each(spans.finish_reasons) AS reason \
                   WHERE spans.start_ns >= ?1 AND spans.start_ns < ?2 AND spans.kind = 'llm'"
            .to_owned();
    let mut values = vec![
        SqlValue::Integer(to_sql_int(filter.from_unix_nano)),
        SqlValue::Integer(to_sql_int(filter.to_unix_nano)),
    ];
    for (clause, value) in [
        (" AND spans.service_name = ?", &filter.service),
        (" AND spans.provider = ?", &filter.provider),
        (" AND spans.operation = ?", &filter.operation),
        (" AND spans.user_id = ?", &filter.user_id),
        (" AND spans.session_id = ?", &filter.session_id),
        (
            " AND coalesce(spans.request_model, spans.response_model) = ?",
            &filter.model,
        ),
        (
            " AND EXISTS (SELECT 1 FROM json_each(spans.tags) WHERE value = ?)",
            &filter.tag,
        ),
    ] {
        if let Some(value) = value {
            values.push(SqlValue::Text(value.clone()));
            sql.push_str(&clause.replace('?', &format!("?{}", values.len())));
        }
    }
    sql.push_str(" GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2");

    let mut statement = connection.prepare(&sql)?;
    let mut rows = statement.query(as_params(&values).as_slice())?;
    let mut counts = Vec::new();
    while let Some(row) = rows.next()? {
        let count: i64 = row.get(2)?;
        counts.push(FinishReasonCount {
            model: row.get(0)?,
            reason: row.get(1)?,
            count: u64::try_from(count).unwrap_or(0),
        });
    }
    Ok(counts)
}
