//! The web dashboard: server-rendered HTML pages with SVG charts, under `/` on the main port.
//!
//! Every page reads the store directly, as the HTTP API does, so a page and the API show the
//! same figures for the same range. Filters and the time range live in the query string, so
//! every view is a link. Untrusted text (prompts, outputs, attribute values) only reaches the
//! page through maud's escaping. The one script is a static file, and the
//! Content-Security-Policy forbids inline scripts and every other origin.

#![warn(missing_docs)]

mod assets;
mod chart;
mod error;
mod format;
mod highlight;
mod layout;
mod pages;
mod query;
mod range;
mod security;
mod waterfall;

use std::sync::Arc;

use axum::Router;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use glassbox_enrich::Enricher;
use glassbox_store::Store;

/// State shared by the pages.
#[derive(Clone)]
pub struct UiState {
    /// The store to read from.
    pub store: Arc<dyn Store>,
    /// The prices, for cached-token savings.
    pub enricher: Arc<Enricher>,
    /// The health of the infrastructure collectors and scrape targets.
    pub infra: Option<Arc<glassbox_infra::Registry>>,
}

/// Builds the dashboard's routes. Every response carries the security headers.
pub fn router(state: UiState) -> Router {
    Router::new()
        .route("/", get(pages::overview::page))
        .route("/traces", get(pages::traces::page))
        .route("/traces/{trace_id}", get(pages::trace::page))
        .route("/models", get(pages::models::page))
        .route("/functions", get(pages::functions::page))
        .route("/costs", get(pages::costs::page))
        .route("/sessions", get(pages::sessions::list))
        .route("/sessions/{session_id}", get(pages::sessions::detail))
        .route("/users", get(pages::users::page))
        .route("/infra", get(pages::infra::page))
        .route("/quality", get(pages::quality::page))
        .route(
            "/quality/experiments/compare",
            get(pages::quality::experiments::compare),
        )
        .route(
            "/quality/experiments/{id}",
            get(pages::quality::experiments::detail),
        )
        .route("/assets/{name}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .fallback(not_found)
        .with_state(state)
        .layer(axum::middleware::from_fn(security::headers))
}

/// Responds to a path that no page, API endpoint or receiver serves: with a page for a
/// browser, with plain text for any other method.
async fn not_found(method: Method, uri: Uri) -> Response {
    if method == Method::GET || method == Method::HEAD {
        return error::PageError::NotFound(format!("No page at {}.", uri.path())).into_response();
    }
    (
        StatusCode::NOT_FOUND,
        format!("no endpoint at {} {}\n", method, uri.path()),
    )
        .into_response()
}
