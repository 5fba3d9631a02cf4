//! Trace summaries, kept up to date as spans arrive in any order and in separate requests.

use std::sync::LazyLock;

use glassbox_model::{CostStatus, Span, SpanId, SpanKind, SpanStatus, TraceId, TraceSummary};
use rusqlite::{OptionalExtension, Row, ToSql, Transaction, params_from_iter};

use super::rows::to_sql_int;
use crate::error::StoreError;

/// Maximum number of distinct models, providers, services and tags kept on one summary.
const MAX_LIST_LEN: usize = 32;

/// A summary plus the sets that filters need but the API does not show.
#[derive(Debug, Clone)]
pub(crate) struct TraceRow {
    pub(crate) summary: TraceSummary,
    pub(crate) providers: Vec<String>,
    pub(crate) services: Vec<String>,
    /// Start of the root span, to prefer the earliest root when a trace has several.
    root_start: Option<u64>,
    /// The stored row's id, which the trace's spans point at. `None` until the summary is stored.
    row: Option<i64>,
}

/// Columns of `traces` in the order [`summary_from_row`] reads them.
pub(crate) const TRACE_COLUMNS: &str = "trace_id, root_span_id, root_name, service_name, \
    start_ns, end_ns, span_count, error_count, llm_call_count, input_tokens, output_tokens, \
    total_tokens, cost_usd, models, user_id, session_id, tags, providers, services, \
    unpriced_call_count";

/// The statement that reads one trace's summary row, its id last.
static LOAD_TRACE: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {TRACE_COLUMNS}, id FROM traces WHERE trace_id = ?1"));

/// Columns of `traces` that [`TraceRow::save`] writes after the trace id, in its order.
const SAVED_COLUMNS: [&str; 20] = [
    "root_span_id",
    "root_name",
    "service_name",
    "start_ns",
    "end_ns",
    "duration_ns",
    "span_count",
    "error_count",
    "llm_call_count",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
    "models",
    "providers",
    "services",
    "user_id",
    "session_id",
    "tags",
    "unpriced_call_count",
];

/// The statement that stores a new summary.
static INSERT_TRACE: LazyLock<String> = LazyLock::new(|| {
    let placeholders = (1..=SAVED_COLUMNS.len() + 1)
        .map(|index| format!("?{index}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO traces (trace_id, {}) VALUES ({placeholders})",
        SAVED_COLUMNS.join(", ")
    )
});

/// The statement that rewrites a stored summary in place, keeping its row id.
static UPDATE_TRACE: LazyLock<String> = LazyLock::new(|| {
    let assignments = SAVED_COLUMNS
        .iter()
        .enumerate()
        .map(|(index, column)| format!("{column} = ?{}", index + 2))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "UPDATE traces SET {assignments} WHERE id = ?{} AND trace_id = ?1",
        SAVED_COLUMNS.len() + 2
    )
});

/// Returns the id of a trace's summary row, which its spans point at.
pub(crate) fn trace_row(
    transaction: &Transaction<'_>,
    trace_id: TraceId,
) -> Result<Option<i64>, StoreError> {
    Ok(transaction
        .prepare_cached("SELECT id FROM traces WHERE trace_id = ?1")?
        .query_row([trace_id.0.as_slice()], |row| row.get(0))
        .optional()?)
}

impl TraceRow {
    fn empty(trace_id: TraceId) -> TraceRow {
        TraceRow {
            summary: TraceSummary {
                trace_id,
                root_span_id: None,
                root_name: None,
                service_name: None,
                start_time_unix_nano: u64::MAX,
                end_time_unix_nano: 0,
                span_count: 0,
                error_count: 0,
                llm_call_count: 0,
                input_tokens: None,
                output_tokens: None,
                total_tokens: None,
                cost_usd: None,
                unpriced_call_count: 0,
                models: Vec::new(),
                user_id: None,
                session_id: None,
                tags: Vec::new(),
            },
            providers: Vec::new(),
            services: Vec::new(),
            root_start: None,
            row: None,
        }
    }

    /// Marks the summary as the one stored in `row`, so saving it rewrites that row.
    pub(crate) fn stored_at(mut self, row: i64) -> TraceRow {
        self.row = Some(row);
        self
    }

    /// Builds a summary from every span of a trace.
    pub(crate) fn from_spans(trace_id: TraceId, spans: &[Span]) -> TraceRow {
        let mut row = TraceRow::empty(trace_id);
        for span in spans {
            row.merge(span);
        }
        row
    }

    /// Adds one span that was not counted before.
    pub(crate) fn merge(&mut self, span: &Span) {
        let summary = &mut self.summary;
        let is_earliest = span.start_time_unix_nano < summary.start_time_unix_nano;
        summary.start_time_unix_nano = summary.start_time_unix_nano.min(span.start_time_unix_nano);
        summary.end_time_unix_nano = summary.end_time_unix_nano.max(span.end_time_unix_nano);
        summary.span_count += 1;
        if span.status == SpanStatus::Error {
            summary.error_count += 1;
        }
        if matches!(span.kind, SpanKind::Llm | SpanKind::Embedding) {
            summary.llm_call_count += 1;
        }

        add_count(&mut summary.input_tokens, span.usage.input);
        add_count(&mut summary.output_tokens, span.usage.output);
        add_count(&mut summary.total_tokens, span.usage.total_or_sum());
        if let Some(cost) = span.cost_usd {
            summary.cost_usd = Some(summary.cost_usd.unwrap_or(0.0) + cost);
        }
        if span.cost_status == Some(CostStatus::Unpriced) {
            summary.unpriced_call_count += 1;
        }

        self.merge_identity(span, is_earliest);
        self.merge_sets(span);
    }

    fn merge_identity(&mut self, span: &Span, is_earliest: bool) {
        let summary = &mut self.summary;
        let is_root = span.parent_span_id.is_none();
        let better_root = is_root
            && self
                .root_start
                .is_none_or(|start| span.start_time_unix_nano < start);
        if better_root {
            self.root_start = Some(span.start_time_unix_nano);
            summary.root_span_id = Some(span.span_id);
            summary.root_name = Some(span.name.clone());
            summary.service_name = span.service_name.clone();
        } else if self.root_start.is_none() && (is_earliest || summary.root_name.is_none()) {
            summary.root_name = Some(span.name.clone());
            summary.service_name = span.service_name.clone();
        }
        if summary.user_id.is_none() || (better_root && span.user_id.is_some()) {
            summary.user_id = span.user_id.clone().or(summary.user_id.take());
        }
        if summary.session_id.is_none() || (better_root && span.session_id.is_some()) {
            summary.session_id = span.session_id.clone().or(summary.session_id.take());
        }
    }

    fn merge_sets(&mut self, span: &Span) {
        if matches!(span.kind, SpanKind::Llm | SpanKind::Embedding) || span.model().is_some() {
            add_unique(&mut self.summary.models, span.model());
        }
        add_unique(&mut self.providers, span.provider.as_deref());
        add_unique(&mut self.services, span.service_name.as_deref());
        for tag in &span.tags {
            add_unique(&mut self.summary.tags, Some(tag));
        }
    }

    /// Reads the stored summary of a trace.
    pub(crate) fn load(
        transaction: &Transaction<'_>,
        trace_id: TraceId,
    ) -> Result<Option<TraceRow>, StoreError> {
        let row = transaction
            .prepare_cached(&LOAD_TRACE)?
            .query_row([trace_id.0.as_slice()], |row| Ok(row_from_sql(row)))
            .optional()?;
        row.transpose()
    }

    /// Writes the summary: in place when it was stored before, else as a new row at the end
    /// of the table. Returns the row's id.
    pub(crate) fn save(&self, transaction: &Transaction<'_>) -> Result<i64, StoreError> {
        let summary = &self.summary;
        let start = if summary.span_count == 0 {
            0
        } else {
            summary.start_time_unix_nano
        };
        let root_span_id = summary.root_span_id.map(|id| id.0);
        let models = serde_json::to_string(&summary.models).unwrap_or_default();
        let providers = serde_json::to_string(&self.providers).unwrap_or_default();
        let services = serde_json::to_string(&self.services).unwrap_or_default();
        let tags = serde_json::to_string(&summary.tags).unwrap_or_default();
        let values: [&dyn ToSql; 21] = [
            &summary.trace_id.0.as_slice(),
            &root_span_id.as_ref().map(|id| id.as_slice()),
            &summary.root_name,
            &summary.service_name,
            &to_sql_int(start),
            &to_sql_int(summary.end_time_unix_nano),
            &to_sql_int(summary.end_time_unix_nano.saturating_sub(start)),
            &to_sql_int(summary.span_count),
            &to_sql_int(summary.error_count),
            &to_sql_int(summary.llm_call_count),
            &summary.input_tokens.map(to_sql_int),
            &summary.output_tokens.map(to_sql_int),
            &summary.total_tokens.map(to_sql_int),
            &summary.cost_usd,
            &models,
            &providers,
            &services,
            &summary.user_id,
            &summary.session_id,
            &tags,
            &to_sql_int(summary.unpriced_call_count),
        ];

        let Some(row) = self.row else {
            transaction
                .prepare_cached(&INSERT_TRACE)?
                .execute(values.as_slice())?;
            return Ok(transaction.last_insert_rowid());
        };
        let updated = transaction
            .prepare_cached(&UPDATE_TRACE)?
            .execute(params_from_iter(
                values.iter().copied().chain([&row as &dyn ToSql]),
            ))?;
        if updated != 1 {
            return Err(StoreError::Corrupt {
                column: "traces",
                reason: format!("no summary row {row} for trace {}", summary.trace_id),
            });
        }
        Ok(row)
    }
}

/// Adds a count to a sum that stays `None` until some span carries a count.
fn add_count(sum: &mut Option<u64>, count: Option<u64>) {
    if let Some(count) = count {
        *sum = Some(sum.unwrap_or(0) + count);
    }
}

fn add_unique(list: &mut Vec<String>, value: Option<&str>) {
    let Some(value) = value else { return };
    if list.len() < MAX_LIST_LEN && !list.iter().any(|item| item == value) {
        list.push(value.to_owned());
    }
}

fn row_from_sql(row: &Row<'_>) -> Result<TraceRow, StoreError> {
    let summary = summary_from_row(row)?;
    let providers = json_list(row, 17)?;
    let services = json_list(row, 18)?;
    let root_start = summary.root_span_id.map(|_| summary.start_time_unix_nano);
    Ok(TraceRow {
        summary,
        providers,
        services,
        row: Some(row.get(20)?),
        // NOTE: the root's own start is not stored; the trace start is a lower bound of it,
        // which only matters for traces that carry several root spans.
        root_start,
    })
}

fn json_list(row: &Row<'_>, index: usize) -> Result<Vec<String>, StoreError> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|error| StoreError::Corrupt {
        column: "traces",
        reason: error.to_string(),
    })
}

fn optional_count(row: &Row<'_>, index: usize) -> Result<Option<u64>, StoreError> {
    let value: Option<i64> = row.get(index)?;
    Ok(value.map(|number| u64::try_from(number).unwrap_or(0)))
}

fn count(row: &Row<'_>, index: usize) -> Result<u64, StoreError> {
    let value: i64 = row.get(index)?;
    Ok(u64::try_from(value).unwrap_or(0))
}

/// Reads a summary from a row selected with [`TRACE_COLUMNS`].
pub(crate) fn summary_from_row(row: &Row<'_>) -> Result<TraceSummary, StoreError> {
    let trace_id: Vec<u8> = row.get(0)?;
    let root: Option<Vec<u8>> = row.get(1)?;
    let corrupt = |reason: String| StoreError::Corrupt {
        column: "traces",
        reason,
    };
    Ok(TraceSummary {
        trace_id: TraceId::from_slice(&trace_id).map_err(|error| corrupt(error.to_string()))?,
        root_span_id: root
            .map(|bytes| SpanId::from_slice(&bytes))
            .transpose()
            .map_err(|error| corrupt(error.to_string()))?,
        root_name: row.get(2)?,
        service_name: row.get(3)?,
        start_time_unix_nano: count(row, 4)?,
        end_time_unix_nano: count(row, 5)?,
        span_count: count(row, 6)?,
        error_count: count(row, 7)?,
        llm_call_count: count(row, 8)?,
        input_tokens: optional_count(row, 9)?,
        output_tokens: optional_count(row, 10)?,
        total_tokens: optional_count(row, 11)?,
        cost_usd: row.get(12)?,
        unpriced_call_count: count(row, 19)?,
        models: json_list(row, 13)?,
        user_id: row.get(14)?,
        session_id: row.get(15)?,
        tags: json_list(row, 16)?,
    })
}
