//! Errors the gateway responds with itself, in the error format of the API the client speaks,
//! so that its SDK raises the usual exception.
//!
//! Every such response carries `x-glassbox-error: true`, which distinguishes them from errors
//! that the upstream sent and the gateway passed on unchanged.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::config::Dialect;

/// The header that marks an error of the gateway's own.
pub const ERROR_HEADER: &str = "x-glassbox-error";

/// An error response of the gateway's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A short code, recorded as the span's error type.
    pub code: &'static str,
    /// The message for the client.
    pub message: String,
}

impl GatewayError {
    /// 400: the request cannot be forwarded as it is.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> GatewayError {
        GatewayError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// Builds an error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        GatewayError {
            status,
            code,
            message: message.into(),
        }
    }

    /// Renders the error in the dialect's format.
    pub fn into_response(self, dialect: Dialect) -> Response {
        let body = match dialect {
            Dialect::Openai => json!({"error": {
                "message": self.message,
                "type": openai_type(self.status),
                "param": null,
                "code": self.code,
            }}),
            Dialect::Anthropic => json!({"type": "error", "error": {
                "type": anthropic_type(self.status),
                "message": self.message,
            }}),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(ERROR_HEADER, HeaderValue::from_static("true"));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

fn openai_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

fn anthropic_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        404 => "not_found_error",
        413 => "request_too_large",
        400..=499 => "invalid_request_error",
        504 => "timeout_error",
        _ => "api_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body(response: Response) -> serde_json::Value {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn both_formats() {
        let error = GatewayError::new(StatusCode::NOT_FOUND, "model_not_found", "no upstream");
        let openai = error.clone().into_response(Dialect::Openai);
        assert_eq!(openai.headers()[ERROR_HEADER], "true");
        let openai = body(openai).await;
        assert_eq!(openai["error"]["code"], "model_not_found");
        assert_eq!(openai["error"]["type"], "invalid_request_error");
        let anthropic = body(error.into_response(Dialect::Anthropic)).await;
        assert_eq!(anthropic["type"], "error");
        assert_eq!(anthropic["error"]["type"], "not_found_error");
        assert_eq!(anthropic["error"]["message"], "no upstream");
    }
}
