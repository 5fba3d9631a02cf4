//! `/api/v1/datasets`: named collections of inputs with expected outputs, filled through
//! the API, from files or from recorded model calls.
//!
//! Every write checks the whole request first and the store writes it in one transaction,
//! so a rejected request leaves the dataset as it was.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use glassbox_model::dataset::{
    MAX_DATASET_DESCRIPTION_CHARS, MAX_DATASET_ITEM_BYTES, check_dataset_name, check_item_input,
    json_type,
};
use glassbox_model::{Dataset, DatasetItem, SpanId, TraceId};
use glassbox_store::NewDatasetItem;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::ApiState;
use crate::error::{ApiError, ErrorBody};
use crate::json_body::{DEFAULT_BODY_LIMIT, Fields, Problems, body_bytes, parse_json};
use crate::params::{extract, page};
use crate::time_format::format_nanos;

/// Maximum number of items in one request.
pub const MAX_ITEMS_PER_REQUEST: usize = 1_000;

/// Largest body of the item and import endpoints.
pub const DATASET_BODY_LIMIT: usize = 50 * 1024 * 1024;

const ITEM_FIELDS: &[&str] = &[
    "input",
    "expected_output",
    "metadata",
    "source_trace_id",
    "source_span_id",
];

/// A dataset.
#[derive(Serialize, ToSchema)]
pub struct DatasetView {
    id: String,
    name: String,
    description: Option<String>,
    created_time: String,
    item_count: u64,
}

impl From<Dataset> for DatasetView {
    fn from(dataset: Dataset) -> DatasetView {
        DatasetView {
            id: dataset.id,
            name: dataset.name,
            description: dataset.description,
            created_time: format_nanos(dataset.created_unix_nano),
            item_count: dataset.item_count,
        }
    }
}

/// One dataset item.
#[derive(Serialize, ToSchema)]
pub struct DatasetItemView {
    id: String,
    dataset_id: String,
    /// A string, an array of chat messages or an object.
    #[schema(value_type = Object)]
    input: Value,
    #[schema(value_type = Option<Object>)]
    expected_output: Option<Value>,
    #[schema(value_type = Object)]
    metadata: Map<String, Value>,
    source_trace_id: Option<String>,
    source_span_id: Option<String>,
    created_time: String,
}

impl From<DatasetItem> for DatasetItemView {
    fn from(item: DatasetItem) -> DatasetItemView {
        DatasetItemView {
            id: item.id,
            dataset_id: item.dataset_id,
            input: item.input,
            expected_output: item.expected_output,
            metadata: item.metadata,
            source_trace_id: item.source_trace_id.map(|id| id.to_string()),
            source_span_id: item.source_span_id.map(|id| id.to_string()),
            created_time: format_nanos(item.created_unix_nano),
        }
    }
}

/// A page of datasets.
#[derive(Serialize, ToSchema)]
pub struct DatasetList {
    /// Newest first.
    datasets: Vec<DatasetView>,
    /// Pass as `cursor` to get the next page; null on the last page.
    next_cursor: Option<String>,
}

/// A dataset with a page of its items.
#[derive(Serialize, ToSchema)]
pub struct DatasetDetail {
    dataset: DatasetView,
    /// In the order they were added.
    items: Vec<DatasetItemView>,
    /// Pass as `cursor` to get the next page of items; null on the last page.
    next_cursor: Option<String>,
}

/// Items just stored.
#[derive(Serialize, ToSchema)]
pub struct AddedItems {
    items: Vec<DatasetItemView>,
    /// Rows of an import or spans of a filter that were left out, with the reason.
    skipped: Vec<SkippedRow>,
}

/// A row or span left out of the dataset.
#[derive(Serialize, ToSchema)]
pub struct SkippedRow {
    /// The 1-based row of an imported file; null for a span.
    row: Option<usize>,
    /// The span's trace, for spans.
    trace_id: Option<String>,
    /// The span, for spans.
    span_id: Option<String>,
    /// The reason it was left out.
    message: String,
}

/// Page parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 1000 (default 50).
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn check_name(name: &str) -> Result<(), ApiError> {
    check_dataset_name(name).map_err(|problem| ApiError::invalid_parameter("name", problem))
}

/// Reads `{"name": ..., "description": ...}`.
fn new_dataset(body: &Value) -> Result<(String, Option<String>), ApiError> {
    let mut problems = Problems::default();
    let mut checked = None;
    if let Some(mut fields) = Fields::of(
        "body".to_owned(),
        body,
        &["name", "description"],
        &mut problems,
    ) {
        let name = fields.required_string("name");
        if let Some(name) = name
            && let Err(problem) = check_dataset_name(name)
        {
            fields.problem("name", problem);
        }
        let description = fields.bounded_string("description", MAX_DATASET_DESCRIPTION_CHARS);
        if !fields.failed() {
            checked = name.map(|name| (name.to_owned(), description.map(str::to_owned)));
        }
    }
    problems.into_result()?;
    checked.ok_or_else(|| ApiError::invalid_body("body.name is missing"))
}

/// Creates an empty dataset: `{"name": ..., "description": ...}`. The name has 1 to 200
/// characters of letters, digits, `.`, `_` and `-`, and must not be in use.
#[utoipa::path(post, path = "/api/v1/datasets",
    request_body(content = Object, description = "{\"name\": ..., \"description\": ...}"),
    responses(
        (status = 201, body = DatasetView),
        (status = 400, body = ErrorBody, description = "The name or description is invalid"),
        (status = 409, body = ErrorBody, description = "The name is in use"),
    ))]
pub async fn create(
    State(state): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<DatasetView>), ApiError> {
    let body = body_bytes(body, DEFAULT_BODY_LIMIT)?;
    let (name, description) = new_dataset(&parse_json(&body)?)?;
    let dataset = state.store.create_dataset(name, description).await?;
    tracing::info!(dataset = %dataset.name, "created a dataset");
    Ok((StatusCode::CREATED, Json(DatasetView::from(dataset))))
}

/// Lists datasets, newest first.
#[utoipa::path(get, path = "/api/v1/datasets", params(PageQuery), responses(
    (status = 200, body = DatasetList),
    (status = 400, body = ErrorBody, description = "A parameter is invalid"),
))]
pub async fn list(
    State(state): State<ApiState>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<DatasetList>, ApiError> {
    let query = extract(query)?;
    let page = page(&query.limit, &query.cursor)?;
    let (datasets, cursor) = state.store.list_datasets(page).await?;
    Ok(Json(DatasetList {
        datasets: datasets.into_iter().map(DatasetView::from).collect(),
        next_cursor: cursor.map(|cursor| cursor.encode()),
    }))
}

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("dataset {name:?} not found"))
}

/// Returns a dataset with a page of its items, in the order they were added.
#[utoipa::path(get, path = "/api/v1/datasets/{name}",
    params(("name" = String, Path, description = "The dataset name"), PageQuery),
    responses(
        (status = 200, body = DatasetDetail),
        (status = 404, body = ErrorBody, description = "No dataset has this name"),
    ))]
pub async fn get(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<DatasetDetail>, ApiError> {
    let query = extract(query)?;
    let page = page(&query.limit, &query.cursor)?;
    let dataset = state
        .store
        .dataset(name.clone())
        .await?
        .ok_or_else(|| not_found(&name))?;
    let (items, cursor) = state
        .store
        .list_dataset_items(name.clone(), page)
        .await?
        .ok_or_else(|| not_found(&name))?;
    Ok(Json(DatasetDetail {
        dataset: DatasetView::from(dataset),
        items: items.into_iter().map(DatasetItemView::from).collect(),
        next_cursor: cursor.map(|cursor| cursor.encode()),
    }))
}

/// Deletes a dataset and its items. Experiments over it are kept.
#[utoipa::path(delete, path = "/api/v1/datasets/{name}",
    params(("name" = String, Path, description = "The dataset name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = ErrorBody, description = "No dataset has this name"),
    ))]
pub async fn delete(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !state.store.delete_dataset(name.clone()).await? {
        return Err(not_found(&name));
    }
    tracing::info!(dataset = %name, "deleted a dataset");
    Ok(StatusCode::NO_CONTENT)
}

fn id_field<T: std::str::FromStr>(
    fields: &mut Fields<'_>,
    key: &str,
    hex_chars: usize,
) -> Option<T> {
    fields.parsed(key, |text| {
        text.parse::<T>()
            .map_err(|_| format!("must be {hex_chars} hex characters"))
    })
}

/// Checks one item of a request; records every problem found.
pub(crate) fn new_item(
    path: String,
    value: &Value,
    problems: &mut Problems,
) -> Option<NewDatasetItem> {
    let size = serde_json::to_vec(value).map_or(0, |bytes| bytes.len());
    if size > MAX_DATASET_ITEM_BYTES {
        problems.add(
            &path,
            format!("is {size} bytes of JSON; the maximum is {MAX_DATASET_ITEM_BYTES} (1 MiB)"),
        );
        return None;
    }
    let mut fields = Fields::of(path, value, ITEM_FIELDS, problems)?;
    let input = fields.value("input");
    match input {
        None => fields.problem("input", "is missing"),
        Some(input) => {
            if let Err(problem) = check_item_input(input) {
                fields.problem("input", problem);
            }
        }
    }
    let metadata = match fields.value("metadata") {
        None => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(other) => {
            let found = json_type(other);
            fields.problem("metadata", format!("must be an object, got {found}"));
            Map::new()
        }
    };
    let source_trace_id = id_field::<TraceId>(&mut fields, "source_trace_id", 32);
    let source_span_id = id_field::<SpanId>(&mut fields, "source_span_id", 16);
    if fields.failed() {
        return None;
    }
    Some(NewDatasetItem {
        input: input?.clone(),
        expected_output: fields.value("expected_output").cloned(),
        metadata,
        source_trace_id,
        source_span_id,
    })
}

fn new_items(body: &Value) -> Result<Vec<NewDatasetItem>, ApiError> {
    let items = match body.get("items") {
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(ApiError::invalid_body(format!(
                "items must be an array, got {}",
                json_type(other)
            )));
        }
        None => return Err(ApiError::invalid_body("expected {\"items\": [...]}")),
    };
    if let Some(key) = body
        .as_object()
        .and_then(|object| object.keys().find(|key| *key != "items"))
    {
        return Err(ApiError::invalid_body(format!(
            "{key} is not a known field next to items"
        )));
    }
    if items.is_empty() {
        return Err(ApiError::invalid_body("items must not be empty"));
    }
    if items.len() > MAX_ITEMS_PER_REQUEST {
        return Err(ApiError::payload_too_large(format!(
            "items has {} entries; send at most {MAX_ITEMS_PER_REQUEST} per request",
            items.len()
        )));
    }
    let mut problems = Problems::default();
    let mut checked = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        if let Some(item) = new_item(format!("items[{index}]"), item, &mut problems) {
            checked.push(item);
        }
    }
    problems.into_result()?;
    Ok(checked)
}

/// Adds up to 1000 items: `{"items": [{"input": ..., "expected_output": ..., "metadata":
/// {...}, "source_trace_id": ..., "source_span_id": ...}]}`. Each item is at most 1 MiB of
/// JSON, and its input is a string, an array of messages or an object. If any item is
/// invalid, none is added.
#[utoipa::path(post, path = "/api/v1/datasets/{name}/items",
    params(("name" = String, Path, description = "The dataset name")),
    request_body(content = Object, description = "{\"items\": [...]}"),
    responses(
        (status = 201, body = AddedItems),
        (status = 400, body = ErrorBody, description = "An item is invalid; the message names its index and field"),
        (status = 404, body = ErrorBody, description = "No dataset has this name"),
        (status = 413, body = ErrorBody, description = "More than 1000 items or a body over 50 MiB"),
    ))]
pub async fn add_items(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<AddedItems>), ApiError> {
    check_name(&name)?;
    let body = body_bytes(body, DATASET_BODY_LIMIT)?;
    let items = new_items(&parse_json(&body)?)?;
    store_items(&state, name, items, Vec::new()).await
}

/// Stores checked items and returns them with the skipped rows.
pub(crate) async fn store_items(
    state: &ApiState,
    name: String,
    items: Vec<NewDatasetItem>,
    skipped: Vec<SkippedRow>,
) -> Result<(StatusCode, Json<AddedItems>), ApiError> {
    let stored = if items.is_empty() {
        // Still report an unknown dataset when every row was skipped.
        state
            .store
            .dataset(name.clone())
            .await?
            .ok_or_else(|| not_found(&name))?;
        Vec::new()
    } else {
        state.store.add_dataset_items(name.clone(), items).await?
    };
    tracing::info!(dataset = %name, added = stored.len(), skipped = skipped.len(), "added dataset items");
    Ok((
        StatusCode::CREATED,
        Json(AddedItems {
            items: stored.into_iter().map(DatasetItemView::from).collect(),
            skipped,
        }),
    ))
}

impl SkippedRow {
    /// Builds a skipped row of an imported file.
    pub(crate) fn row(row: usize, message: String) -> SkippedRow {
        SkippedRow {
            row: Some(row),
            trace_id: None,
            span_id: None,
            message,
        }
    }

    /// Builds a skipped span.
    pub(crate) fn span(trace_id: TraceId, span_id: SpanId, message: String) -> SkippedRow {
        SkippedRow {
            row: None,
            trace_id: Some(trace_id.to_string()),
            span_id: Some(span_id.to_string()),
            message,
        }
    }
}
