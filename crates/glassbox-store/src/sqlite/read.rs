//! The read path: listings with filters and keyset pagination, trace detail, sessions.

use glassbox_model::{Span, TraceId, TraceSummary};
use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;

use super::fts::match_expression;
use super::rows::{SPAN_COLUMNS, as_params, span_from_row, to_sql_int};
use super::summary::{TRACE_COLUMNS, summary_from_row};
use crate::TraceDetail;
use crate::error::StoreError;
use crate::query::{Cursor, Page, SessionSummary, SpanFilter, TraceFilter, TraceOrder};

/// A WHERE clause under construction, with its positional parameters.
#[derive(Default)]
struct Conditions {
    clauses: Vec<String>,
    values: Vec<SqlValue>,
}

impl Conditions {
    /// Adds a clause whose `?` placeholders take the given values in order.
    fn push(&mut self, clause: &str, values: Vec<SqlValue>) {
        let mut numbered = String::with_capacity(clause.len() + 8);
        for character in clause.chars() {
            if character == '?' {
                self.values.push(SqlValue::Null);
                numbered.push_str(&format!("?{}", self.values.len()));
            } else {
                numbered.push(character);
            }
        }
        let start = self.values.len() - values.len();
        for (slot, value) in self.values[start..].iter_mut().zip(values) {
            *slot = value;
        }
        self.clauses.push(numbered);
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    fn next_index(&self) -> usize {
        self.values.len() + 1
    }
}

fn text(value: &str) -> SqlValue {
    SqlValue::Text(value.to_owned())
}

fn text_query(filter: &TraceFilter) -> Result<Option<String>, StoreError> {
    match &filter.text {
        None => Ok(None),
        Some(text) => match_expression(text)
            .map(Some)
            .ok_or_else(|| StoreError::InvalidFilter("q must contain at least one word".into())),
    }
}

fn trace_conditions(filter: &TraceFilter) -> Result<Conditions, StoreError> {
    let mut conditions = Conditions::default();
    if let Some(from) = filter.from_unix_nano {
        conditions.push("start_ns >= ?", vec![SqlValue::Integer(to_sql_int(from))]);
    }
    if let Some(to) = filter.to_unix_nano {
        conditions.push("start_ns < ?", vec![SqlValue::Integer(to_sql_int(to))]);
    }
    for (value, column) in [
        (&filter.service, "services"),
        (&filter.model, "models"),
        (&filter.provider, "providers"),
    ] {
        if let Some(value) = value {
            conditions.push(
                &format!("EXISTS (SELECT 1 FROM json_each(traces.{column}) WHERE value = ?)"),
                vec![text(value)],
            );
        }
    }
    if let Some(user) = &filter.user_id {
        conditions.push("user_id = ?", vec![text(user)]);
    }
    if let Some(session) = &filter.session_id {
        conditions.push("session_id = ?", vec![text(session)]);
    }
    if filter.errors_only {
        conditions.push("error_count > 0", vec![]);
    }
    if let Some(min) = filter.min_duration_ms {
        conditions.push("duration_ns >= ?", vec![SqlValue::Real(min * 1e6)]);
    }
    if let Some(flag) = &filter.flag {
        let (clause, values) = flag_condition(flag);
        conditions.push(
            &format!(
                "EXISTS (SELECT 1 FROM spans JOIN span_flags ON span_flags.span_row = spans.id \
                 WHERE spans.trace_row = traces.id AND {clause})"
            ),
            values,
        );
    }
    if let Some(query) = text_query(filter)? {
        conditions.push(
            "trace_id IN (SELECT spans.trace_id FROM spans_fts JOIN spans ON spans.id = spans_fts.rowid \
             WHERE spans_fts MATCH ?)",
            vec![SqlValue::Text(query)],
        );
    }
    Ok(conditions)
}

/// The condition on `span_flags` of a flag filter: `any`, an analyzer or a finding.
fn flag_condition(flag: &str) -> (&'static str, Vec<SqlValue>) {
    if flag == "any" {
        return ("1", vec![]);
    }
    (
        "(span_flags.analyzer = ? OR span_flags.finding = ?)",
        vec![text(flag), text(flag)],
    )
}

fn cursor_blob(cursor: &Cursor) -> Result<Vec<u8>, StoreError> {
    cursor
        .key
        .parse::<TraceId>()
        .map(|id| id.0.to_vec())
        .map_err(|_| StoreError::InvalidCursor("not produced by this server".into()))
}

fn limit_value(page: &Page) -> SqlValue {
    SqlValue::Integer(i64::try_from(page.limit + 1).unwrap_or(i64::MAX))
}

/// The sort of one [`TraceOrder`]: the expression and the direction.
struct OrderPlan {
    expression: &'static str,
    descending: bool,
}

fn order_plan(order: TraceOrder) -> OrderPlan {
    let (expression, descending) = match order {
        TraceOrder::Newest => ("start_ns", true),
        TraceOrder::Oldest => ("start_ns", false),
        TraceOrder::Slowest => ("duration_ns", true),
        TraceOrder::Costliest => ("COALESCE(cost_usd, -1.0)", true),
        TraceOrder::MostTokens => ("COALESCE(total_tokens, -1)", true),
    };
    OrderPlan {
        expression,
        descending,
    }
}

fn cursor_of(order: TraceOrder, trace: &TraceSummary) -> Cursor {
    let key = trace.trace_id.to_string();
    match order {
        TraceOrder::Newest | TraceOrder::Oldest => Cursor {
            time: to_sql_int(trace.start_time_unix_nano),
            value: None,
            key,
        },
        TraceOrder::Slowest => Cursor {
            time: to_sql_int(
                trace
                    .end_time_unix_nano
                    .saturating_sub(trace.start_time_unix_nano),
            ),
            value: None,
            key,
        },
        TraceOrder::Costliest => Cursor {
            time: 0,
            value: Some(trace.cost_usd.unwrap_or(-1.0)),
            key,
        },
        TraceOrder::MostTokens => Cursor {
            time: trace.total_tokens.map_or(-1, to_sql_int),
            value: None,
            key,
        },
    }
}

fn cursor_value(order: TraceOrder, cursor: &Cursor) -> Result<SqlValue, StoreError> {
    match order {
        TraceOrder::Costliest => cursor
            .value
            .map(SqlValue::Real)
            .ok_or_else(|| StoreError::InvalidCursor("not produced for this order".into())),
        _ => Ok(SqlValue::Integer(cursor.time)),
    }
}

/// Lists trace summaries in the filter's order.
pub(crate) fn list_traces(
    connection: &Connection,
    filter: &TraceFilter,
    page: &Page,
) -> Result<(Vec<TraceSummary>, Option<Cursor>), StoreError> {
    let plan = order_plan(filter.order);
    let (direction, comparison) = if plan.descending {
        ("DESC", "<")
    } else {
        ("ASC", ">")
    };
    let mut conditions = trace_conditions(filter)?;
    if let Some(cursor) = &page.cursor {
        conditions.push(
            &format!("({}, trace_id) {comparison} (?, ?)", plan.expression),
            vec![
                cursor_value(filter.order, cursor)?,
                SqlValue::Blob(cursor_blob(cursor)?),
            ],
        );
    }
    let sql = format!(
        "SELECT {TRACE_COLUMNS} FROM traces {} ORDER BY {} {direction}, trace_id {direction} LIMIT ?{}",
        conditions.sql(),
        plan.expression,
        conditions.next_index()
    );
    conditions.values.push(limit_value(page));

    let mut statement = connection.prepare_cached(&sql)?;
    let mut rows = statement.query(as_params(&conditions.values).as_slice())?;
    let mut traces = Vec::new();
    while let Some(row) = rows.next()? {
        traces.push(summary_from_row(row)?);
    }
    let order = filter.order;
    Ok(paginate(traces, page.limit, |trace| {
        cursor_of(order, trace)
    }))
}

fn paginate<T>(
    mut items: Vec<T>,
    limit: usize,
    cursor_of: impl Fn(&T) -> Cursor,
) -> (Vec<T>, Option<Cursor>) {
    if items.len() <= limit {
        return (items, None);
    }
    items.truncate(limit);
    let cursor = items.last().map(cursor_of);
    (items, cursor)
}

/// Returns a trace with all its spans in start order.
pub(crate) fn trace(
    connection: &Connection,
    trace_id: TraceId,
) -> Result<Option<TraceDetail>, StoreError> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {TRACE_COLUMNS}, id FROM traces WHERE trace_id = ?1"
    ))?;
    let mut rows = statement.query([trace_id.0.as_slice()])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let trace = summary_from_row(row)?;
    let trace_row: i64 = row.get(20)?;

    let mut statement = connection.prepare_cached(&format!(
        "SELECT {SPAN_COLUMNS} FROM spans WHERE trace_row = ?1 ORDER BY start_ns, id"
    ))?;
    let mut rows = statement.query([trace_row])?;
    let mut spans = Vec::new();
    while let Some(row) = rows.next()? {
        spans.push(span_from_row(row, 0)?);
    }
    Ok(Some(TraceDetail { trace, spans }))
}

fn span_conditions(filter: &SpanFilter) -> Result<Conditions, StoreError> {
    let common = &filter.common;
    let mut conditions = Conditions::default();
    if let Some(from) = common.from_unix_nano {
        conditions.push("start_ns >= ?", vec![SqlValue::Integer(to_sql_int(from))]);
    }
    if let Some(to) = common.to_unix_nano {
        conditions.push("start_ns < ?", vec![SqlValue::Integer(to_sql_int(to))]);
    }
    for (value, clause) in [
        (&common.service, "service_name = ?"),
        (&common.provider, "provider = ?"),
        (&common.user_id, "user_id = ?"),
        (&common.session_id, "session_id = ?"),
    ] {
        if let Some(value) = value {
            conditions.push(clause, vec![text(value)]);
        }
    }
    if let Some(model) = &common.model {
        conditions.push(
            "(request_model = ? OR response_model = ?)",
            vec![text(model), text(model)],
        );
    }
    if common.errors_only {
        conditions.push("status = 'error'", vec![]);
    }
    if let Some(min) = common.min_duration_ms {
        conditions.push("duration_ns >= ?", vec![SqlValue::Real(min * 1e6)]);
    }
    if let Some(kind) = filter.kind {
        conditions.push("kind = ?", vec![text(kind.as_str())]);
    }
    if let Some(status) = filter.status {
        conditions.push("status = ?", vec![text(status.as_str())]);
    }
    if let Some(trace_id) = filter.trace_id {
        conditions.push(
            "trace_row = (SELECT id FROM traces WHERE trace_id = ?)",
            vec![SqlValue::Blob(trace_id.0.to_vec())],
        );
    }
    if let Some(flag) = &common.flag {
        let (clause, values) = flag_condition(flag);
        conditions.push(
            &format!("EXISTS (SELECT 1 FROM span_flags WHERE span_flags.span_row = spans.id AND {clause})"),
            values,
        );
    }
    if let Some(query) = text_query(common)? {
        conditions.push(
            "id IN (SELECT rowid FROM spans_fts WHERE spans_fts MATCH ?)",
            vec![SqlValue::Text(query)],
        );
    }
    Ok(conditions)
}

/// Lists spans, newest first.
pub(crate) fn list_spans(
    connection: &Connection,
    filter: &SpanFilter,
    page: &Page,
) -> Result<(Vec<Span>, Option<Cursor>), StoreError> {
    let mut conditions = span_conditions(filter)?;
    if let Some(cursor) = &page.cursor {
        let id: i64 = cursor
            .key
            .parse()
            .map_err(|_| StoreError::InvalidCursor("not produced by this server".into()))?;
        conditions.push(
            "(start_ns, id) < (?, ?)",
            vec![SqlValue::Integer(cursor.time), SqlValue::Integer(id)],
        );
    }
    let sql = format!(
        "SELECT id, {SPAN_COLUMNS} FROM spans {} ORDER BY start_ns DESC, id DESC LIMIT ?{}",
        conditions.sql(),
        conditions.next_index()
    );
    conditions.values.push(limit_value(page));

    let mut statement = connection.prepare_cached(&sql)?;
    let mut rows = statement.query(as_params(&conditions.values).as_slice())?;
    let mut spans = Vec::new();
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        spans.push((id, span_from_row(row, 1)?));
    }
    let (spans, cursor) = paginate(spans, page.limit, |(id, span)| Cursor {
        value: None,
        time: to_sql_int(span.start_time_unix_nano),
        key: id.to_string(),
    });
    Ok((spans.into_iter().map(|(_, span)| span).collect(), cursor))
}

const SESSION_COLUMNS: &str = "session_id, MIN(user_id), COUNT(*), MIN(start_ns), MAX(end_ns), \
    SUM(error_count), SUM(input_tokens), SUM(output_tokens), SUM(cost_usd)";

fn session_from_row(row: &rusqlite::Row<'_>) -> Result<SessionSummary, StoreError> {
    let count = |index: usize| -> Result<u64, StoreError> {
        let value: i64 = row.get(index)?;
        Ok(u64::try_from(value).unwrap_or(0))
    };
    Ok(SessionSummary {
        session_id: row.get(0)?,
        user_id: row.get(1)?,
        trace_count: count(2)?,
        start_time_unix_nano: count(3)?,
        end_time_unix_nano: count(4)?,
        error_count: count(5)?,
        input_tokens: row
            .get::<_, Option<i64>>(6)?
            .map(|n| u64::try_from(n).unwrap_or(0)),
        output_tokens: row
            .get::<_, Option<i64>>(7)?
            .map(|n| u64::try_from(n).unwrap_or(0)),
        cost_usd: row.get(8)?,
    })
}

/// Lists sessions, most recently active first.
pub(crate) fn list_sessions(
    connection: &Connection,
    filter: &TraceFilter,
    page: &Page,
) -> Result<(Vec<SessionSummary>, Option<Cursor>), StoreError> {
    let mut conditions = trace_conditions(filter)?;
    conditions.push("session_id IS NOT NULL", vec![]);
    let mut having = String::new();
    if let Some(cursor) = &page.cursor {
        let first = conditions.next_index();
        having = format!(
            "HAVING (MAX(end_ns), session_id) < (?{first}, ?{})",
            first + 1
        );
        conditions.values.push(SqlValue::Integer(cursor.time));
        conditions.values.push(SqlValue::Text(cursor.key.clone()));
    }
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM traces {} GROUP BY session_id {having} \
         ORDER BY MAX(end_ns) DESC, session_id DESC LIMIT ?{}",
        conditions.sql(),
        conditions.next_index()
    );
    conditions.values.push(limit_value(page));

    let mut statement = connection.prepare_cached(&sql)?;
    let mut rows = statement.query(as_params(&conditions.values).as_slice())?;
    let mut sessions = Vec::new();
    while let Some(row) = rows.next()? {
        sessions.push(session_from_row(row)?);
    }
    Ok(paginate(sessions, page.limit, |session| Cursor {
        value: None,
        time: to_sql_int(session.end_time_unix_nano),
        key: session.session_id.clone(),
    }))
}

/// Returns a session's totals and its traces in start order.
pub(crate) fn session(
    connection: &Connection,
    session_id: &str,
) -> Result<Option<(SessionSummary, Vec<TraceSummary>)>, StoreError> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {SESSION_COLUMNS} FROM traces WHERE session_id = ?1 GROUP BY session_id"
    ))?;
    let mut rows = statement.query([session_id])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let summary = session_from_row(row)?;

    let mut statement = connection.prepare_cached(&format!(
        "SELECT {TRACE_COLUMNS} FROM traces WHERE session_id = ?1 ORDER BY start_ns, trace_id"
    ))?;
    let mut rows = statement.query([session_id])?;
    let mut traces = Vec::new();
    while let Some(row) = rows.next()? {
        traces.push(summary_from_row(row)?);
    }
    Ok(Some((summary, traces)))
}
