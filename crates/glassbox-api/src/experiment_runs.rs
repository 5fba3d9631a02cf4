//! Starting experiments: `POST /api/v1/experiments` checks the request and runs it in the
//! background; its progress is read with `GET /api/v1/experiments/{id}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use glassbox_quality::{ExperimentSpec, StartError};

use crate::ApiState;
use crate::error::{ApiError, ErrorBody};
use crate::experiments::ExperimentView;
use crate::json_body::{body_bytes, parse_json};

/// Largest experiment request, in bytes; a judge template or a JSON schema fits well within.
pub const EXPERIMENT_BODY_LIMIT: usize = 1024 * 1024;

/// Starts an experiment over a dataset: each item through a model (`model` mode, through
/// this server's gateway) or its recorded `metadata.output` (`replay` mode), scored with
/// the given scorers and judge. Responds at once; the run goes on in the background.
#[utoipa::path(post, path = "/api/v1/experiments",
    request_body(content = Object, description = "`dataset` (required), `name`, `mode` (`model` or `replay`), \
`model`, `upstream`, `api_key_env` (the server's environment variable with the key), `system_prompt`, \
`temperature`, `scorers` (a list of `{\"type\": ...}`: exact, contains, regex, levenshtein, bleu, rouge_l, \
json_equal, json_schema, length, max_latency_ms, max_cost_usd), `judge` (`model`, `template`, \
`scale_min`, `scale_max`, ...) and `concurrency` (1 to 32)"),
    responses(
        (status = 202, body = ExperimentView, description = "The experiment, running"),
        (status = 400, body = ErrorBody, description = "The request is invalid or the dataset is empty"),
        (status = 404, body = ErrorBody, description = "No dataset has this name"),
        (status = 409, body = ErrorBody, description = "The experiment calls a model but the gateway is off"),
    ))]
pub async fn start(
    State(state): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<ExperimentView>), ApiError> {
    let body = body_bytes(body, EXPERIMENT_BODY_LIMIT)?;
    let spec: ExperimentSpec = serde_json::from_value(parse_json(&body)?)
        .map_err(|error| ApiError::invalid_body(error.to_string()))?;
    let Some(runner) = &state.experiments else {
        return Err(ApiError::conflict("this server does not run experiments"));
    };

    let experiment = runner.start(spec).await.map_err(|error| match error {
        StartError::Invalid(message) => ApiError::invalid_body(message),
        StartError::EmptyDataset(_) => ApiError::invalid_body(error.to_string()),
        StartError::UnknownDataset(_) => ApiError::not_found(error.to_string()),
        StartError::NoGateway => ApiError::conflict(error.to_string()),
        StartError::Store(store) => ApiError::from(store),
    })?;
    Ok((StatusCode::ACCEPTED, Json(ExperimentView::from(experiment))))
}
