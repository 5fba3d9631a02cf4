//! The API's error response: `{"error": {"code": ..., "message": ...}}` with the matching status.
//! This is the one place where error kinds become HTTP status codes.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use glassbox_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

/// The JSON body of an error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The error code and message.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code: `invalid_parameter`, `invalid_body`, `not_found`,
    /// `conflict`, `payload_too_large`, `internal`.
    pub code: String,
    /// A readable message naming the offending value.
    pub message: String,
}

impl ApiError {
    /// Builds the error for a query parameter or path segment with an invalid value.
    pub fn invalid_parameter(name: &str, problem: impl std::fmt::Display) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_parameter",
            message: format!("invalid {name}: {problem}"),
        }
    }

    /// Builds the error for a malformed or invalid request body.
    pub fn invalid_body(problem: impl std::fmt::Display) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_body",
            message: format!("invalid request body: {problem}"),
        }
    }

    /// Builds the error for a resource that exists already, such as a dataset name in use.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::CONFLICT,
            code: "conflict",
            message: message.into(),
        }
    }

    /// Builds the error for a request body larger than the endpoint accepts.
    pub fn payload_too_large(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "payload_too_large",
            message: message.into(),
        }
    }

    /// Builds the error for a resource that does not exist.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::InvalidCursor(problem) => ApiError::invalid_parameter("cursor", problem),
            StoreError::NotFound(message) => ApiError::not_found(message),
            StoreError::Conflict(message) => ApiError::conflict(message),
            StoreError::InvalidFilter(problem) => ApiError {
                status: StatusCode::BAD_REQUEST,
                code: "invalid_parameter",
                message: problem,
            },
            other => {
                tracing::error!(error = %other, "store query failed");
                ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "internal",
                    message: "the store failed to run the query; see the server log".into(),
                }
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}
