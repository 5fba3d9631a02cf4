//! Errors of the pages, rendered as a page that states what was wrong.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use glassbox_store::StoreError;
use maud::html;

use crate::layout;

/// A page that could not be rendered.
#[derive(Debug)]
pub enum PageError {
    /// A query-string value is invalid: the parameter and what is wrong with it.
    BadParameter(&'static str, String),
    /// The thing asked for does not exist.
    NotFound(String),
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::InvalidCursor(_) => {
                PageError::BadParameter("cursor", "not produced by this server".to_owned())
            }
            other => PageError::Store(other),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            PageError::BadParameter(name, problem) => (
                StatusCode::BAD_REQUEST,
                format!("Invalid parameter {name}: {problem}"),
            ),
            PageError::NotFound(what) => (StatusCode::NOT_FOUND, what),
            PageError::Store(error) => {
                tracing::error!(%error, "a dashboard page failed to read the store");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("The store failed: {error}"),
                )
            }
        };
        let body = layout::bare(
            "Error",
            html! {
                main.narrow {
                    h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("Error")) }
                    p.error-message { (message) }
                    p { a href="/" { "Back to the overview" } }
                }
            },
        );
        (status, body).into_response()
    }
}
