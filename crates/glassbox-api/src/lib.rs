//! The HTTP API under `/api/v1`: traces, spans and sessions as JSON, described by an OpenAPI
//! document that is generated from the handlers.

#![warn(missing_docs)]

mod dataset_sources;
mod datasets;
mod drift;
mod error;
mod experiment_runs;
mod experiments;
mod flag_metrics;
mod infra;
mod json_body;
mod metrics;
mod params;
mod points;
mod prices;
mod routes;
mod score_metrics;
mod scores;
mod time_format;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::routing::get;
use glassbox_ingest::Ingest;
use glassbox_store::Store;
use utoipa::OpenApi;

pub use error::ApiError;
pub use prices::saved_prices;
pub use time_format::{format_nanos, parse_rfc3339};

/// State shared by the handlers.
#[derive(Clone)]
pub struct ApiState {
    /// The store to read from.
    pub store: Arc<dyn Store>,
    /// The ingest side, for health counters and the enricher's prices.
    pub ingest: Ingest,
    /// Custom prices of the configuration file, which come after those set through the API.
    pub config_prices: Arc<Vec<glassbox_enrich::CustomPrice>>,
    /// The gateway's counters, when the gateway is on.
    pub gateway: Option<Arc<glassbox_gateway::GatewayStats>>,
    /// The health of the infrastructure collectors and scrape targets.
    pub infra: Option<Arc<glassbox_infra::Registry>>,
    /// The experiment runner; without it, starting an experiment is refused.
    pub experiments: Option<Arc<glassbox_quality::ExperimentRunner>>,
}

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Glassbox API",
        description = "Traces, spans, sessions, metrics, scores, datasets and experiments of generative-AI applications."
    ),
    paths(
        routes::list_traces,
        routes::get_trace,
        routes::list_spans,
        routes::list_sessions,
        routes::get_session,
        routes::health,
        infra::targets,
        metrics::summary,
        metrics::timeseries,
        metrics::functions,
        flag_metrics::flags,
        points::points,
        points::names,
        prices::list,
        prices::replace,
        prices::clear,
        prices::lookup,
        prices::unpriced,
        prices::reprice,
        scores::create,
        scores::list,
        score_metrics::scores,
        datasets::create,
        datasets::list,
        datasets::get,
        datasets::delete,
        datasets::add_items,
        dataset_sources::import,
        dataset_sources::from_spans,
        experiments::list,
        experiment_runs::start,
        experiments::compare,
        experiments::get,
        drift::report,
    )
)]
pub struct ApiDoc;

/// The routes of scores, datasets and experiments. Each write route sets its own body
/// limit, above axum's default of 2 MiB, because batches and dataset files are larger.
fn quality_routes() -> Router<ApiState> {
    use axum::extract::DefaultBodyLimit;
    use axum::routing::post;

    let scores_limit = DefaultBodyLimit::max(scores::SCORES_BODY_LIMIT);
    let dataset_limit = DefaultBodyLimit::max(datasets::DATASET_BODY_LIMIT);
    Router::new()
        .route(
            "/api/v1/scores",
            get(scores::list).post(scores::create).layer(scores_limit),
        )
        .route("/api/v1/metrics/scores", get(score_metrics::scores))
        .route(
            "/api/v1/datasets",
            get(datasets::list).post(datasets::create),
        )
        .route(
            "/api/v1/datasets/{name}",
            get(datasets::get).delete(datasets::delete),
        )
        .route(
            "/api/v1/datasets/{name}/items",
            post(datasets::add_items).layer(dataset_limit),
        )
        .route(
            "/api/v1/datasets/{name}/import",
            post(dataset_sources::import).layer(dataset_limit),
        )
        .route(
            "/api/v1/datasets/{name}/items/from-spans",
            post(dataset_sources::from_spans),
        )
        .route(
            "/api/v1/experiments",
            get(experiments::list)
                .post(experiment_runs::start)
                .layer(DefaultBodyLimit::max(
                    experiment_runs::EXPERIMENT_BODY_LIMIT,
                )),
        )
        .route("/api/v1/experiments/compare", get(experiments::compare))
        .route("/api/v1/experiments/{id}", get(experiments::get))
}

/// Serializes the OpenAPI document to JSON.
fn openapi_json() -> Bytes {
    match serde_json::to_vec(&ApiDoc::openapi()) {
        Ok(json) => Bytes::from(json),
        Err(error) => {
            tracing::error!(%error, "failed to serialize the OpenAPI document");
            Bytes::from_static(b"{}")
        }
    }
}

/// Builds the `/api/v1` routes.
pub fn router(state: ApiState) -> Router {
    // Serialized once: the handler is cloned for every connection, and a cloned document
    // would cost megabytes each time.
    let openapi = openapi_json();
    Router::new()
        .route("/api/v1/traces", get(routes::list_traces))
        .route("/api/v1/traces/{trace_id}", get(routes::get_trace))
        .route("/api/v1/spans", get(routes::list_spans))
        .route("/api/v1/sessions", get(routes::list_sessions))
        .route("/api/v1/sessions/{session_id}", get(routes::get_session))
        .route("/api/v1/health", get(routes::health))
        .route("/api/v1/infra/targets", get(infra::targets))
        .route("/api/v1/metrics/summary", get(metrics::summary))
        .route("/api/v1/metrics/timeseries", get(metrics::timeseries))
        .route("/api/v1/functions", get(metrics::functions))
        .route("/api/v1/metrics/flags", get(flag_metrics::flags))
        .route("/api/v1/quality/drift", get(drift::report))
        .route("/api/v1/metrics/points", get(points::points))
        .route("/api/v1/metrics/names", get(points::names))
        .route(
            "/api/v1/prices",
            get(prices::list).put(prices::replace).delete(prices::clear),
        )
        .route("/api/v1/prices/lookup", get(prices::lookup))
        .route("/api/v1/prices/unpriced", get(prices::unpriced))
        .route("/api/v1/reprice", axum::routing::post(prices::reprice))
        .merge(quality_routes())
        .route(
            "/api/v1/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], openapi) }),
        )
        .route("/api", get(routes::not_found))
        .route("/api/{*rest}", get(routes::not_found))
        .with_state(state)
}
