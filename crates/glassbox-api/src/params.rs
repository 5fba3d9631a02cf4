//! Query parameters of the listings, validated into store filters with errors that name the
//! parameter.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use glassbox_model::{Analyzer, SpanKind, SpanStatus, TraceId};
use glassbox_store::{Cursor, Page, SpanFilter, TraceFilter, TraceOrder};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::time_format::parse_rfc3339;

/// Items per page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest accepted `limit`.
pub const MAX_LIMIT: usize = 1_000;

/// Filters of the trace and session listings.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TraceQuery {
    /// Earliest start time (RFC 3339), inclusive.
    from: Option<String>,
    /// Latest start time (RFC 3339), exclusive.
    to: Option<String>,
    /// Service name (`service.name`) of a span in the trace.
    service: Option<String>,
    /// Request or response model of a span in the trace.
    model: Option<String>,
    /// Provider of a span in the trace (`openai`, `anthropic`, ...).
    provider: Option<String>,
    /// User id.
    user_id: Option<String>,
    /// Session id.
    session_id: Option<String>,
    /// `error` keeps only traces with a failed span.
    status: Option<String>,
    /// Full-text search over message content; every word must match.
    q: Option<String>,
    /// Traces with a span that carries an analyzer flag: an analyzer (`pii`, `secrets`,
    /// `prompt_injection`, ...), a finding (`email`, `language:fr`, ...) or `any`.
    flag: Option<String>,
    /// Minimum duration in milliseconds.
    min_duration_ms: Option<String>,
    /// Traces only: `newest` (default), `oldest`, `slowest`, `costliest` or `most_tokens`.
    sort: Option<String>,
    /// Items per page, 1 to 1000 (default 50).
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Filters of the span listing: the trace filters plus `kind` and `trace_id`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SpanQuery {
    /// Earliest start time (RFC 3339), inclusive.
    from: Option<String>,
    /// Latest start time (RFC 3339), exclusive.
    to: Option<String>,
    /// Service name.
    service: Option<String>,
    /// Request or response model.
    model: Option<String>,
    /// Provider.
    provider: Option<String>,
    /// User id.
    user_id: Option<String>,
    /// Session id.
    session_id: Option<String>,
    /// `error`, `ok` or `unset`.
    status: Option<String>,
    /// Full-text search over message content.
    q: Option<String>,
    /// An analyzer flag carried by a span: an analyzer (`pii`, `secrets`,
    /// `prompt_injection`, `refusal`, `empty_output`, `truncation`, `invalid_json`,
    /// `language`), a finding (`email`, `credit_card`, `jwt`, `language:fr`, ...) or `any`.
    flag: Option<String>,
    /// Minimum duration in milliseconds.
    min_duration_ms: Option<String>,
    /// Span kind: `llm`, `embedding`, `tool`, `retrieval`, `rerank`, `agent`, `chain`,
    /// `guardrail`, `evaluator`, `other`.
    kind: Option<String>,
    /// Spans of one trace (32 hex characters).
    trace_id: Option<String>,
    /// Items per page, 1 to 1000 (default 50).
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Unwraps a query extraction, turning axum's rejection into an API error.
pub fn extract<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query
        .map(|Query(value)| value)
        .map_err(|rejection| ApiError::invalid_parameter("query string", rejection.body_text()))
}

fn time(name: &str, value: &Option<String>) -> Result<Option<u64>, ApiError> {
    value
        .as_deref()
        .map(|text| {
            parse_rfc3339(text).map_err(|problem| ApiError::invalid_parameter(name, problem))
        })
        .transpose()
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value.as_ref().filter(|text| !text.is_empty()).cloned()
}

fn min_duration(value: &Option<String>) -> Result<Option<f64>, ApiError> {
    let Some(text) = value else { return Ok(None) };
    match text.parse::<f64>() {
        Ok(number) if number.is_finite() && number >= 0.0 => Ok(Some(number)),
        _ => Err(ApiError::invalid_parameter(
            "min_duration_ms",
            format!("{text:?} is not a non-negative number of milliseconds"),
        )),
    }
}

/// Builds the page request from `limit` and `cursor`.
pub fn page(limit: &Option<String>, cursor: &Option<String>) -> Result<Page, ApiError> {
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(number) if (1..=MAX_LIMIT).contains(&number) => number,
            _ => {
                return Err(ApiError::invalid_parameter(
                    "limit",
                    format!("{text:?} is not an integer from 1 to {MAX_LIMIT}"),
                ));
            }
        },
    };
    let cursor = cursor
        .as_deref()
        .filter(|text| !text.is_empty())
        .map(|text| {
            Cursor::decode(text)
                .map_err(|_| ApiError::invalid_parameter("cursor", "not produced by this server"))
        })
        .transpose()?;
    Ok(Page { limit, cursor })
}

fn order(value: &Option<String>) -> Result<TraceOrder, ApiError> {
    let Some(text) = value.as_deref().filter(|text| !text.is_empty()) else {
        return Ok(TraceOrder::Newest);
    };
    TraceOrder::parse(text).ok_or_else(|| {
        let names: Vec<&str> = TraceOrder::ALL.iter().map(|order| order.as_str()).collect();
        ApiError::invalid_parameter(
            "sort",
            format!("{text:?} is not one of {}", names.join(", ")),
        )
    })
}

/// Validates a flag filter: `any`, an analyzer name or a finding an analyzer reports.
pub fn flag(value: &Option<String>) -> Result<Option<String>, ApiError> {
    let Some(text) = value.as_deref().filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    let known =
        text == "any" || Analyzer::parse(text).is_some() || Analyzer::of_finding(text).is_some();
    if !known {
        let analyzers: Vec<&str> = Analyzer::ALL
            .iter()
            .map(|analyzer| analyzer.as_str())
            .collect();
        return Err(ApiError::invalid_parameter(
            "flag",
            format!(
                "{text:?} is neither `any`, an analyzer ({}) nor a finding such as email or language:fr",
                analyzers.join(", ")
            ),
        ));
    }
    Ok(Some(text.to_owned()))
}

fn check_range(from: Option<u64>, to: Option<u64>) -> Result<(), ApiError> {
    match (from, to) {
        (Some(from), Some(to)) if from > to => Err(ApiError::invalid_parameter(
            "from",
            "must not be later than to",
        )),
        _ => Ok(()),
    }
}

impl TraceQuery {
    /// Validates the parameters into a filter and a page.
    pub fn into_filter(self) -> Result<(TraceFilter, Page), ApiError> {
        let errors_only = match self.status.as_deref() {
            None | Some("") => false,
            Some("error") => true,
            Some(other) => {
                return Err(ApiError::invalid_parameter(
                    "status",
                    format!("{other:?} is not supported here; use status=error"),
                ));
            }
        };
        let filter = TraceFilter {
            from_unix_nano: time("from", &self.from)?,
            to_unix_nano: time("to", &self.to)?,
            service: non_empty(&self.service),
            model: non_empty(&self.model),
            provider: non_empty(&self.provider),
            user_id: non_empty(&self.user_id),
            session_id: non_empty(&self.session_id),
            errors_only,
            text: non_empty(&self.q),
            min_duration_ms: min_duration(&self.min_duration_ms)?,
            flag: flag(&self.flag)?,
            order: order(&self.sort)?,
        };
        check_range(filter.from_unix_nano, filter.to_unix_nano)?;
        Ok((filter, page(&self.limit, &self.cursor)?))
    }
}

impl SpanQuery {
    /// Validates the parameters into a filter and a page.
    pub fn into_filter(self) -> Result<(SpanFilter, Page), ApiError> {
        let status = self
            .status
            .as_deref()
            .filter(|text| !text.is_empty())
            .map(|text| {
                SpanStatus::parse(text).ok_or_else(|| {
                    ApiError::invalid_parameter(
                        "status",
                        format!("{text:?} is not one of error, ok, unset"),
                    )
                })
            })
            .transpose()?;
        let kind = self
            .kind
            .as_deref()
            .filter(|text| !text.is_empty())
            .map(|text| {
                SpanKind::parse(text).ok_or_else(|| {
                    let names: Vec<&str> = SpanKind::ALL.iter().map(|kind| kind.as_str()).collect();
                    ApiError::invalid_parameter(
                        "kind",
                        format!("{text:?} is not one of {}", names.join(", ")),
                    )
                })
            })
            .transpose()?;
        let trace_id = self
            .trace_id
            .as_deref()
            .filter(|text| !text.is_empty())
            .map(|text| {
                text.parse::<TraceId>()
                    .map_err(|error| ApiError::invalid_parameter("trace_id", error))
            })
            .transpose()?;
        let common = TraceFilter {
            from_unix_nano: time("from", &self.from)?,
            to_unix_nano: time("to", &self.to)?,
            service: non_empty(&self.service),
            model: non_empty(&self.model),
            provider: non_empty(&self.provider),
            user_id: non_empty(&self.user_id),
            session_id: non_empty(&self.session_id),
            errors_only: false,
            text: non_empty(&self.q),
            min_duration_ms: min_duration(&self.min_duration_ms)?,
            flag: flag(&self.flag)?,
            order: TraceOrder::Newest,
        };
        check_range(common.from_unix_nano, common.to_unix_nano)?;
        let filter = SpanFilter {
            common,
            kind,
            status,
            trace_id,
        };
        Ok((filter, page(&self.limit, &self.cursor)?))
    }
}
