//! Filling a dataset from a JSONL or CSV file, or from recorded model calls.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use glassbox_eval::{DatasetFormat, DatasetLimits, RowError, parse_dataset};
use glassbox_model::dataset::json_type;
use glassbox_model::{Span, SpanId, SpanKind, TraceId};
use glassbox_store::{NewDatasetItem, Page, SpanFilter, TraceFilter, TraceOrder};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::IntoParams;

use crate::ApiState;
use crate::datasets::{
    AddedItems, DATASET_BODY_LIMIT, MAX_ITEMS_PER_REQUEST, SkippedRow, store_items,
};
use crate::error::{ApiError, ErrorBody};
use crate::json_body::{DEFAULT_BODY_LIMIT, Fields, Problems, body_bytes, parse_json};
use crate::params::{extract, flag};
use crate::time_format::parse_rfc3339;

/// Spans a filter copies when it sets no `limit`.
const DEFAULT_SPAN_LIMIT: usize = 100;
/// Most row errors quoted in one error message; the count of the rest follows them.
const MAX_LISTED_ROWS: usize = 20;

/// Parameters of a file import.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `jsonl` or `csv`.
    format: Option<String>,
    /// `true` stores the valid rows and lists the invalid ones; `false` (default) rejects a
    /// file with any invalid row.
    skip_invalid: Option<String>,
}

impl ImportQuery {
    fn format(&self) -> Result<DatasetFormat, ApiError> {
        match self.format.as_deref() {
            Some("jsonl") => Ok(DatasetFormat::Jsonl),
            Some("csv") => Ok(DatasetFormat::Csv),
            None | Some("") => Err(ApiError::invalid_parameter(
                "format",
                "is missing; use format=jsonl or format=csv",
            )),
            Some(other) => Err(ApiError::invalid_parameter(
                "format",
                format!("{other:?} is not one of jsonl, csv"),
            )),
        }
    }

    fn skip_invalid(&self) -> Result<bool, ApiError> {
        match self.skip_invalid.as_deref() {
            None | Some("") | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(ApiError::invalid_parameter(
                "skip_invalid",
                format!("{other:?} is not true or false"),
            )),
        }
    }
}

fn rows_message(errors: &[RowError]) -> String {
    let mut listed: Vec<String> = errors
        .iter()
        .take(MAX_LISTED_ROWS)
        .map(|error| format!("row {}: {}", error.row, error.message))
        .collect();
    if errors.len() > MAX_LISTED_ROWS {
        listed.push(format!("and {} more rows", errors.len() - MAX_LISTED_ROWS));
    }
    format!(
        "{} rows are invalid: {}; nothing was written; fix them or pass skip_invalid=true",
        errors.len(),
        listed.join("; ")
    )
}

/// Adds the items of a JSONL or CSV file sent as the body (at most 50 MiB).
///
/// JSONL has one object per line with `input`, `expected_output` (or `expected`) and
/// `metadata`; other keys go into `metadata`. CSV has a header row with an `input` column,
/// an optional `expected_output` (or `expected`) column, and other columns that become
/// metadata. Without `skip_invalid=true`, any invalid row rejects the file, and the message
/// lists the 1-based rows. With it, the valid rows are stored and the invalid ones listed in
/// `skipped`.
#[utoipa::path(post, path = "/api/v1/datasets/{name}/import",
    params(("name" = String, Path, description = "The dataset name"), ImportQuery),
    request_body(content = String, description = "The file", content_type = "application/octet-stream"),
    responses(
        (status = 201, body = AddedItems),
        (status = 400, body = ErrorBody, description = "A row or a parameter is invalid; the message lists the rows"),
        (status = 404, body = ErrorBody, description = "No dataset has this name"),
        (status = 413, body = ErrorBody, description = "The file is over 50 MiB"),
    ))]
pub async fn import(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    query: Result<Query<ImportQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<AddedItems>), ApiError> {
    let query = extract(query)?;
    let format = query.format()?;
    let skip_invalid = query.skip_invalid()?;
    let body = body_bytes(body, DATASET_BODY_LIMIT)?;
    if state.store.dataset(name.clone()).await?.is_none() {
        return Err(ApiError::not_found(format!("dataset {name:?} not found")));
    }

    let parsed = parse_dataset(&body, format, &DatasetLimits::default())
        .map_err(|error| ApiError::invalid_body(error.to_string()))?;
    if !parsed.errors.is_empty() && !skip_invalid {
        return Err(ApiError::invalid_body(rows_message(&parsed.errors)));
    }
    if parsed.items.is_empty() && parsed.errors.is_empty() {
        return Err(ApiError::invalid_body("the file has no rows"));
    }

    let items = parsed
        .items
        .into_iter()
        .map(|item| NewDatasetItem {
            input: item.input,
            expected_output: item.expected_output,
            metadata: item.metadata,
            source_trace_id: None,
            source_span_id: None,
        })
        .collect();
    let skipped = parsed
        .errors
        .into_iter()
        .map(|error| SkippedRow::row(error.row, error.message))
        .collect();
    store_items(&state, name, items, skipped).await
}

/// The source of the spans of a `from-spans` request.
enum SpanSelection {
    /// Listed spans; each must be a stored model call with input messages.
    Listed(Vec<(TraceId, SpanId)>),
    /// Model calls matching a filter; those without input messages are skipped.
    Filter(Box<SpanFilter>, usize),
}

fn listed_spans(spans: &Value) -> Result<Vec<(TraceId, SpanId)>, ApiError> {
    let Value::Array(entries) = spans else {
        return Err(ApiError::invalid_body(format!(
            "spans must be an array, got {}",
            json_type(spans)
        )));
    };
    if entries.is_empty() || entries.len() > MAX_ITEMS_PER_REQUEST {
        return Err(ApiError::invalid_body(format!(
            "spans has {} entries; send 1 to {MAX_ITEMS_PER_REQUEST}",
            entries.len()
        )));
    }
    let mut problems = Problems::default();
    let mut ids = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let path = format!("spans[{index}]");
        let Some(mut fields) = Fields::of(path, entry, &["trace_id", "span_id"], &mut problems)
        else {
            continue;
        };
        let trace_id = fields.required_string("trace_id").and_then(|_| {
            fields.parsed("trace_id", |text| {
                text.parse::<TraceId>()
                    .map_err(|_| "must be 32 hex characters")
            })
        });
        let span_id = fields.required_string("span_id").and_then(|_| {
            fields.parsed("span_id", |text| {
                text.parse::<SpanId>()
                    .map_err(|_| "must be 16 hex characters")
            })
        });
        if let (Some(trace_id), Some(span_id)) = (trace_id, span_id) {
            ids.push((trace_id, span_id));
        }
    }
    problems.into_result()?;
    Ok(ids)
}

fn span_filter(filter: &Value) -> Result<(SpanFilter, usize), ApiError> {
    const KEYS: &[&str] = &["model", "from", "to", "flag", "limit"];
    let mut problems = Problems::default();
    let Some(mut fields) = Fields::of("filter".to_owned(), filter, KEYS, &mut problems) else {
        problems.into_result()?;
        return Err(ApiError::invalid_body("filter must be an object"));
    };
    let model = fields.string("model").map(str::to_owned);
    let from = fields.parsed("from", parse_rfc3339);
    let to = fields.parsed("to", parse_rfc3339);
    let flag_text = fields.string("flag").map(str::to_owned);
    let limit = match fields.value("limit") {
        None => Some(DEFAULT_SPAN_LIMIT),
        Some(value) => match value.as_u64() {
            Some(limit @ 1..=1_000) => usize::try_from(limit).ok(),
            _ => {
                fields.problem(
                    "limit",
                    format!("must be an integer from 1 to {MAX_ITEMS_PER_REQUEST}"),
                );
                None
            }
        },
    };
    problems.into_result()?;

    let common = TraceFilter {
        from_unix_nano: from,
        to_unix_nano: to,
        model,
        flag: flag(&flag_text)?,
        order: TraceOrder::Newest,
        ..TraceFilter::default()
    };
    let filter = SpanFilter {
        common,
        kind: Some(SpanKind::Llm),
        ..SpanFilter::default()
    };
    Ok((filter, limit.unwrap_or(DEFAULT_SPAN_LIMIT)))
}

fn span_selection(body: &Value) -> Result<SpanSelection, ApiError> {
    let object = body.as_object().ok_or_else(|| {
        ApiError::invalid_body("expected {\"spans\": [...]} or {\"filter\": {...}}")
    })?;
    if let Some(key) = object
        .keys()
        .find(|key| !["spans", "filter"].contains(&key.as_str()))
    {
        return Err(ApiError::invalid_body(format!(
            "{key} is not a known field; use spans or filter"
        )));
    }
    match (object.get("spans"), object.get("filter")) {
        (Some(spans), None) => Ok(SpanSelection::Listed(listed_spans(spans)?)),
        (None, Some(filter)) => {
            let (filter, limit) = span_filter(filter)?;
            Ok(SpanSelection::Filter(Box::new(filter), limit))
        }
        _ => Err(ApiError::invalid_body(
            "send either spans (a list of trace_id and span_id) or filter, not both or neither",
        )),
    }
}

/// Turns a model call into an item: its input messages as the input, its output messages
/// as the expected output. Returns the reason when the span cannot become one.
fn item_of(span: &Span) -> Result<NewDatasetItem, String> {
    if span.kind != SpanKind::Llm {
        return Err(format!(
            "is of kind {}; only llm spans become items",
            span.kind.as_str()
        ));
    }
    let Some(input) = span
        .input_messages
        .as_ref()
        .filter(|messages| !messages.is_empty())
    else {
        return Err("has no input messages".to_owned());
    };
    let to_value = |value| serde_json::to_value(value).unwrap_or(Value::Null);
    let mut metadata = Map::new();
    if let Some(model) = span.request_model.as_ref().or(span.response_model.as_ref()) {
        metadata.insert("model".to_owned(), Value::String(model.clone()));
    }
    metadata.insert(
        "trace_id".to_owned(),
        Value::String(span.trace_id.to_string()),
    );
    metadata.insert(
        "span_id".to_owned(),
        Value::String(span.span_id.to_string()),
    );
    // The recorded output, so a replay experiment scores it after the expected output has
    // been corrected.
    if let Some(output) = &span.output_messages {
        metadata.insert("output".to_owned(), to_value(output));
    }
    Ok(NewDatasetItem {
        input: to_value(input),
        expected_output: span.output_messages.as_ref().map(to_value),
        metadata,
        source_trace_id: Some(span.trace_id),
        source_span_id: Some(span.span_id),
    })
}

/// Reads listed spans; any unknown or unsuitable span rejects the request.
async fn listed_items(
    state: &ApiState,
    ids: Vec<(TraceId, SpanId)>,
) -> Result<Vec<NewDatasetItem>, ApiError> {
    let mut traces: HashMap<TraceId, Vec<Span>> = HashMap::new();
    let mut items = Vec::with_capacity(ids.len());
    let mut problems = Problems::default();
    for (index, (trace_id, span_id)) in ids.into_iter().enumerate() {
        if let std::collections::hash_map::Entry::Vacant(entry) = traces.entry(trace_id) {
            let spans = state
                .store
                .trace(trace_id)
                .await?
                .map(|detail| detail.spans)
                .unwrap_or_default();
            entry.insert(spans);
        }
        let found = traces
            .get(&trace_id)
            .and_then(|spans| spans.iter().find(|span| span.span_id == span_id));
        let Some(span) = found else {
            return Err(ApiError::not_found(format!(
                "spans[{index}]: span {span_id} of trace {trace_id} not found"
            )));
        };
        match item_of(span) {
            Ok(item) => items.push(item),
            Err(problem) => problems.add(&format!("spans[{index}]"), problem),
        }
    }
    problems.into_result()?;
    Ok(items)
}

/// Copies recorded model calls into a dataset: `{"spans": [{"trace_id", "span_id"}, ...]}`
/// (up to 1000) or `{"filter": {"model", "from", "to", "flag", "limit"}}` (newest spans of
/// kind `llm` first, `limit` 1 to 1000, default 100).
///
/// Each span becomes an item whose input is its input messages and whose expected output
/// is its output messages. Its metadata contains the model, trace id, span id and the output
/// messages again as `output`, which replay experiments score. A listed span
/// that is not a model call with input messages rejects the request. A span of a filter
/// without input messages is skipped and listed in `skipped`.
#[utoipa::path(post, path = "/api/v1/datasets/{name}/items/from-spans",
    params(("name" = String, Path, description = "The dataset name")),
    request_body(content = Object, description = "{\"spans\": [...]} or {\"filter\": {...}}"),
    responses(
        (status = 201, body = AddedItems),
        (status = 400, body = ErrorBody, description = "The request or a listed span is unsuitable"),
        (status = 404, body = ErrorBody, description = "The dataset or a listed span does not exist"),
    ))]
pub async fn from_spans(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<AddedItems>), ApiError> {
    let body = body_bytes(body, DEFAULT_BODY_LIMIT)?;
    let selection = span_selection(&parse_json(&body)?)?;
    if state.store.dataset(name.clone()).await?.is_none() {
        return Err(ApiError::not_found(format!("dataset {name:?} not found")));
    }

    let (items, skipped) = match selection {
        SpanSelection::Listed(ids) => (listed_items(&state, ids).await?, Vec::new()),
        SpanSelection::Filter(filter, limit) => {
            let page = Page {
                limit,
                cursor: None,
            };
            let (spans, _) = state.store.list_spans(*filter, page).await?;
            let mut items = Vec::with_capacity(spans.len());
            let mut skipped = Vec::new();
            for span in &spans {
                match item_of(span) {
                    Ok(item) => items.push(item),
                    Err(problem) => skipped.push(SkippedRow::span(
                        span.trace_id,
                        span.span_id,
                        format!("span {problem}"),
                    )),
                }
            }
            (items, skipped)
        }
    };
    store_items(&state, name, items, skipped).await
}
