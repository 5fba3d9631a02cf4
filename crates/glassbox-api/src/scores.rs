//! `/api/v1/scores`: storing and listing scores of traces and spans.
//!
//! A batch is checked whole before anything is written, and the store writes it in one
//! transaction, so an invalid item or an unknown trace leaves no partial batch behind.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use glassbox_model::dataset::json_type;
use glassbox_model::score::{
    MAX_AUTHOR_CHARS, MAX_CATEGORY_CHARS, MAX_COMMENT_CHARS, check_label, check_score_name,
};
use glassbox_model::{Score, ScoreDataType, ScoreSource, ScoreValue, SpanId, TraceId};
use glassbox_store::{NewScore, ScoreFilter};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::ApiState;
use crate::error::{ApiError, ErrorBody};
use crate::json_body::{Fields, Problems, body_bytes, parse_json};
use crate::params::{extract, page};
use crate::time_format::{format_nanos, parse_rfc3339};

/// Maximum number of scores in one request.
pub const MAX_SCORES_PER_REQUEST: usize = 1_000;

/// Largest body of `POST /api/v1/scores`: a full batch with long comments fits.
pub const SCORES_BODY_LIMIT: usize = 48 * 1024 * 1024;

const SCORE_FIELDS: &[&str] = &[
    "id",
    "trace_id",
    "span_id",
    "name",
    "value",
    "data_type",
    "source",
    "comment",
    "author",
];

/// A stored score.
#[derive(Serialize, ToSchema)]
pub struct ScoreView {
    /// 32 hex characters; send it again to replace the score.
    id: String,
    trace_id: String,
    /// Null for a score of the whole trace.
    span_id: Option<String>,
    name: String,
    /// `numeric`, `boolean` or `categorical`.
    data_type: String,
    /// A number, a boolean or a string, matching `data_type`.
    #[schema(value_type = Object)]
    value: Value,
    /// `api`, `feedback`, `evaluator`, `llm_judge` or `experiment`.
    source: String,
    comment: Option<String>,
    author: Option<String>,
    /// When the server first received the score.
    created_time: String,
    /// Copied from the target span, or the trace's root span.
    service: Option<String>,
    /// Copied from the target span, or the trace's first model call.
    provider: Option<String>,
    /// Request model (else response model) of the target span, or of the trace's first
    /// model call.
    model: Option<String>,
    /// Start of the target span, or of the trace.
    target_start_time: String,
}

impl From<Score> for ScoreView {
    fn from(score: Score) -> ScoreView {
        let data_type = score.value.data_type().as_str().to_owned();
        let value = match score.value {
            ScoreValue::Numeric(number) => Value::from(number),
            ScoreValue::Boolean(flag) => Value::Bool(flag),
            ScoreValue::Categorical(category) => Value::String(category),
        };
        ScoreView {
            id: score.id,
            trace_id: score.trace_id.to_string(),
            span_id: score.span_id.map(|id| id.to_string()),
            name: score.name,
            data_type,
            value,
            source: score.source.as_str().to_owned(),
            comment: score.comment,
            author: score.author,
            created_time: format_nanos(score.created_unix_nano),
            service: score.service,
            provider: score.provider,
            model: score.model,
            target_start_time: format_nanos(score.target_start_unix_nano),
        }
    }
}

/// Stored scores.
#[derive(Serialize, ToSchema)]
pub struct ScoreList {
    /// For a listing, most recently received first.
    scores: Vec<ScoreView>,
    /// Pass as `cursor` to get the next page; null on the last page and after a write.
    next_cursor: Option<String>,
}

fn hex_id(length: usize) -> impl Fn(&str) -> Result<String, String> {
    move |text| {
        if text.len() == length && text.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(text.to_ascii_lowercase())
        } else {
            Err(format!(
                "must be {length} hex characters, got {:?}",
                shorten(text)
            ))
        }
    }
}

/// Cuts a value quoted in an error message to 40 characters.
fn shorten(text: &str) -> &str {
    text.char_indices()
        .nth(40)
        .map_or(text, |(at, _)| &text[..at])
}

fn data_type_of(fields: &mut Fields<'_>) -> Option<Option<ScoreDataType>> {
    let Some(text) = fields.string("data_type") else {
        return Some(None);
    };
    match ScoreDataType::parse(text) {
        Some(data_type) => Some(Some(data_type)),
        None => {
            fields.problem(
                "data_type",
                format!("{text:?} is not one of numeric, boolean, categorical"),
            );
            None
        }
    }
}

/// Reads the value, checked against `data_type` when given, else typed by its JSON type.
fn value_of(fields: &mut Fields<'_>, data_type: Option<ScoreDataType>) -> Option<ScoreValue> {
    let Some(value) = fields.value("value") else {
        fields.problem("value", "is missing");
        return None;
    };
    let data_type = match (data_type, value) {
        (Some(data_type), _) => data_type,
        (None, Value::Number(_)) => ScoreDataType::Numeric,
        (None, Value::Bool(_)) => ScoreDataType::Boolean,
        (None, Value::String(_)) => ScoreDataType::Categorical,
        (None, other) => {
            let found = json_type(other);
            fields.problem(
                "value",
                format!("must be a number, a boolean or a string, got {found}"),
            );
            return None;
        }
    };
    let found = json_type(value);
    match (data_type, value) {
        (ScoreDataType::Numeric, Value::Number(number)) => match number.as_f64() {
            Some(number) if number.is_finite() => Some(ScoreValue::Numeric(number)),
            _ => {
                fields.problem("value", "must be a finite number");
                None
            }
        },
        (ScoreDataType::Boolean, Value::Bool(flag)) => Some(ScoreValue::Boolean(*flag)),
        (ScoreDataType::Categorical, Value::String(category)) => {
            match check_label(category, MAX_CATEGORY_CHARS) {
                Ok(()) => Some(ScoreValue::Categorical(category.clone())),
                Err(problem) => {
                    fields.problem("value", problem);
                    None
                }
            }
        }
        (ScoreDataType::Numeric, _) => {
            fields.problem(
                "value",
                format!("must be a finite number for data_type numeric, got {found}"),
            );
            None
        }
        (ScoreDataType::Boolean, _) => {
            fields.problem(
                "value",
                format!("must be true or false for data_type boolean, got {found}"),
            );
            None
        }
        (ScoreDataType::Categorical, _) => {
            fields.problem(
                "value",
                format!("must be a string for data_type categorical, got {found}"),
            );
            None
        }
    }
}

fn source_of(fields: &mut Fields<'_>) -> Option<ScoreSource> {
    let Some(text) = fields.string("source") else {
        return Some(ScoreSource::Api);
    };
    ScoreSource::parse(text).or_else(|| {
        let names: Vec<&str> = ScoreSource::ALL.iter().map(|s| s.as_str()).collect();
        fields.problem(
            "source",
            format!("{text:?} is not one of {}", names.join(", ")),
        );
        None
    })
}

/// Checks one score of a request; records every problem found.
fn new_score(path: String, value: &Value, problems: &mut Problems) -> Option<NewScore> {
    let mut fields = Fields::of(path, value, SCORE_FIELDS, problems)?;
    let id = fields.parsed("id", hex_id(32));
    let trace_id = fields
        .required_string("trace_id")
        .and_then(|_| fields.parsed("trace_id", hex_id(32)))
        .and_then(|text| text.parse::<TraceId>().ok());
    let span_id = fields
        .parsed("span_id", hex_id(16))
        .and_then(|text| text.parse::<SpanId>().ok());
    let name = fields.required_string("name").and_then(|name| {
        check_score_name(name)
            .map_err(|problem| fields.problem("name", problem))
            .ok()
            .map(|()| name.to_owned())
    });
    let data_type = data_type_of(&mut fields);
    let value = data_type.and_then(|data_type| value_of(&mut fields, data_type));
    let source = source_of(&mut fields);
    let comment = fields.bounded_string("comment", MAX_COMMENT_CHARS);
    let author = fields.bounded_string("author", MAX_AUTHOR_CHARS);

    if fields.failed() {
        return None;
    }
    Some(NewScore {
        id,
        trace_id: trace_id?,
        span_id,
        name: name?,
        value: value?,
        source: source?,
        comment: comment.map(str::to_owned),
        author: author.map(str::to_owned),
    })
}

/// Returns the score objects of a body: `{"scores": [...]}` or one score object.
fn score_items(body: &Value) -> Result<Vec<(String, &Value)>, ApiError> {
    let items = match body.get("scores") {
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(ApiError::invalid_body(format!(
                "scores must be an array, got {}",
                json_type(other)
            )));
        }
        None if body.is_object() => return Ok(vec![("score".to_owned(), body)]),
        None => {
            return Err(ApiError::invalid_body(format!(
                "expected a score object or {{\"scores\": [...]}}, got {}",
                json_type(body)
            )));
        }
    };
    if let Some(key) = body
        .as_object()
        .and_then(|object| object.keys().find(|key| *key != "scores"))
    {
        return Err(ApiError::invalid_body(format!(
            "{key} is not a known field next to scores"
        )));
    }
    if items.is_empty() {
        return Err(ApiError::invalid_body("scores must not be empty"));
    }
    if items.len() > MAX_SCORES_PER_REQUEST {
        return Err(ApiError::payload_too_large(format!(
            "scores has {} items; send at most {MAX_SCORES_PER_REQUEST} per request",
            items.len()
        )));
    }
    Ok(items
        .iter()
        .enumerate()
        .map(|(index, item)| (format!("scores[{index}]"), item))
        .collect())
}

/// Checks every score of a body; any problem rejects the whole request.
fn new_scores(body: &Value) -> Result<Vec<NewScore>, ApiError> {
    let items = score_items(body)?;
    let mut problems = Problems::default();
    let mut scores = Vec::with_capacity(items.len());
    for (path, item) in items {
        if let Some(score) = new_score(path, item, &mut problems) {
            scores.push(score);
        }
    }
    problems.into_result()?;
    Ok(scores)
}

/// Stores one score, or up to 1000 as `{"scores": [...]}`, of stored traces or spans.
///
/// Each score has `trace_id` (32 hex characters), optional `span_id` (16 hex), `name`
/// (1 to 200 characters) and `value`. The optional `data_type` is `numeric`, `boolean` or
/// `categorical`, and without it the JSON type of `value` decides. The optional fields are
/// `source` (`api` by default, `feedback`, `evaluator`, `llm_judge`, `experiment`), `comment`
/// (at most 10,000 characters), `author` (at most 200) and `id` (32 hex). A score sent again with the id of a
/// stored one replaces it. If any score is invalid or names an unknown trace or span, none is
/// stored.
#[utoipa::path(post, path = "/api/v1/scores",
    request_body(content = Object, description = "A score, or {\"scores\": [...]}"),
    responses(
        (status = 201, body = ScoreList, description = "The stored scores"),
        (status = 400, body = ErrorBody, description = "A score is invalid; the message names its index and field"),
        (status = 404, body = ErrorBody, description = "A trace or span is not stored"),
        (status = 413, body = ErrorBody, description = "More than 1000 scores or a body over 48 MiB"),
    ))]
pub async fn create(
    State(state): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<ScoreList>), ApiError> {
    let body = body_bytes(body, SCORES_BODY_LIMIT)?;
    let scores = new_scores(&parse_json(&body)?)?;
    let count = scores.len();
    let stored = state.store.insert_scores(scores).await?;
    tracing::debug!(count, "stored scores");
    Ok((
        StatusCode::CREATED,
        Json(ScoreList {
            scores: stored.into_iter().map(ScoreView::from).collect(),
            next_cursor: None,
        }),
    ))
}

/// Filters of the score listing.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ScoreQuery {
    /// Scores of one trace, its span scores included (32 hex characters).
    trace_id: Option<String>,
    /// Scores of one span (16 hex characters).
    span_id: Option<String>,
    /// Score name.
    name: Option<String>,
    /// `api`, `feedback`, `evaluator`, `llm_judge` or `experiment`.
    source: Option<String>,
    /// Model of the scored span or trace.
    model: Option<String>,
    /// Earliest time the server received a score (RFC 3339), inclusive.
    from: Option<String>,
    /// Latest time the server received a score (RFC 3339), exclusive.
    to: Option<String>,
    /// Items per page, 1 to 1000 (default 50).
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|text| !text.is_empty())
}

/// Parses an optional query parameter with `parse`, naming the parameter in the error.
pub(crate) fn parameter<T, E: std::fmt::Display>(
    name: &str,
    value: &Option<String>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, ApiError> {
    non_empty(value)
        .map(|text| parse(text).map_err(|problem| ApiError::invalid_parameter(name, problem)))
        .transpose()
}

/// Parses a score source parameter.
pub(crate) fn parse_source(text: &str) -> Result<ScoreSource, String> {
    ScoreSource::parse(text).ok_or_else(|| {
        let names: Vec<&str> = ScoreSource::ALL.iter().map(|s| s.as_str()).collect();
        format!("{text:?} is not one of {}", names.join(", "))
    })
}

impl ScoreQuery {
    fn into_filter(self) -> Result<(ScoreFilter, glassbox_store::Page), ApiError> {
        let filter = ScoreFilter {
            trace_id: parameter("trace_id", &self.trace_id, str::parse::<TraceId>)?,
            span_id: parameter("span_id", &self.span_id, str::parse::<SpanId>)?,
            name: non_empty(&self.name).map(str::to_owned),
            source: parameter("source", &self.source, parse_source)?,
            model: non_empty(&self.model).map(str::to_owned),
            from_unix_nano: parameter("from", &self.from, parse_rfc3339)?,
            to_unix_nano: parameter("to", &self.to, parse_rfc3339)?,
        };
        if let (Some(from), Some(to)) = (filter.from_unix_nano, filter.to_unix_nano)
            && from > to
        {
            return Err(ApiError::invalid_parameter(
                "from",
                "must not be later than to",
            ));
        }
        Ok((filter, page(&self.limit, &self.cursor)?))
    }
}

/// Lists scores, most recently received first.
#[utoipa::path(get, path = "/api/v1/scores", params(ScoreQuery), responses(
    (status = 200, body = ScoreList),
    (status = 400, body = ErrorBody, description = "A parameter is invalid"),
))]
pub async fn list(
    State(state): State<ApiState>,
    query: Result<Query<ScoreQuery>, QueryRejection>,
) -> Result<Json<ScoreList>, ApiError> {
    let (filter, page) = extract(query)?.into_filter()?;
    let (scores, cursor) = state.store.list_scores(filter, page).await?;
    Ok(Json(ScoreList {
        scores: scores.into_iter().map(ScoreView::from).collect(),
        next_cursor: cursor.map(|cursor| cursor.encode()),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn message(error: ApiError) -> String {
        format!("{error:?}")
    }

    const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

    #[test]
    fn value_type_follows_json_without_data_type() {
        let body = json!({"scores": [
            {"trace_id": TRACE, "name": "a", "value": 0.5},
            {"trace_id": TRACE, "name": "b", "value": true},
            {"trace_id": TRACE, "name": "c", "value": "good", "source": "feedback"},
        ]});
        let scores = new_scores(&body).unwrap();
        assert_eq!(scores[0].value, ScoreValue::Numeric(0.5));
        assert_eq!(scores[1].value, ScoreValue::Boolean(true));
        assert_eq!(scores[2].value, ScoreValue::Categorical("good".into()));
        assert_eq!(scores[2].source, ScoreSource::Feedback);
        assert_eq!(scores[0].source, ScoreSource::Api);
    }

    #[test]
    fn problems_name_index_and_field() {
        let body = json!({"scores": [
            {"trace_id": TRACE, "name": "ok", "value": 1},
            {"trace_id": TRACE, "name": "x", "value": "high", "data_type": "numeric"},
            {"trace_id": "abc", "name": "", "value": [1]},
        ]});
        let text = message(new_scores(&body).unwrap_err());
        assert!(
            text.contains(
                "scores[1].value must be a finite number for data_type numeric, got a string"
            ),
            "{text}"
        );
        assert!(
            text.contains("scores[2].trace_id must be 32 hex characters"),
            "{text}"
        );
        assert!(text.contains("scores[2].name must not be empty"), "{text}");
        assert!(
            text.contains("scores[2].value must be a number, a boolean or a string"),
            "{text}"
        );
    }

    #[test]
    fn single_object_and_unknown_fields() {
        let body = json!({"trace_id": TRACE, "name": "n", "value": false, "colour": 1});
        let text = message(new_scores(&body).unwrap_err());
        assert!(text.contains("score.colour is not a known field"), "{text}");
        let body =
            json!({"trace_id": TRACE, "span_id": "00f067aa0ba902b7", "name": "n", "value": 2});
        let scores = new_scores(&body).unwrap();
        assert_eq!(scores[0].span_id.unwrap().to_string(), "00f067aa0ba902b7");
    }

    #[test]
    fn limits_are_enforced() {
        let long = "x".repeat(MAX_COMMENT_CHARS + 1);
        let body = json!({"trace_id": TRACE, "name": "n", "value": 1, "comment": long});
        let text = message(new_scores(&body).unwrap_err());
        assert!(
            text.contains("score.comment is 10001 characters long; the maximum is 10000"),
            "{text}"
        );
        let many: Vec<Value> = (0..1001)
            .map(|_| json!({"trace_id": TRACE, "name": "n", "value": 1}))
            .collect();
        let error = new_scores(&json!({ "scores": many })).unwrap_err();
        assert!(message(error).contains("at most 1000"));
        assert!(new_scores(&json!({"scores": []})).is_err());
    }
}
