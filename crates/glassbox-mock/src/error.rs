//! Error responses in each provider's body format, with the status that goes with them.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The provider whose wire format a request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provider {
    OpenAi,
    Anthropic,
}

impl Provider {
    /// Picks the provider of a request from its path, or from the `anthropic-version` header on
    /// the routes that both providers share.
    pub fn detect(path: &str, headers: &HeaderMap) -> Self {
        if path.starts_with("/v1/messages") || headers.contains_key("anthropic-version") {
            Self::Anthropic
        } else {
            Self::OpenAi
        }
    }

    /// Name of the response header that carries the request id.
    pub fn request_id_header(self) -> &'static str {
        match self {
            Self::OpenAi => "x-request-id",
            Self::Anthropic => "request-id",
        }
    }
}

/// A failed request, sent as `status` with the provider's error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MockError {
    pub status: StatusCode,
    pub message: String,
    pub retry_after_secs: Option<u64>,
}

impl MockError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// Builds the response; `request_id` goes into Anthropic's body as it does there.
    pub fn into_response(self, provider: Provider, request_id: &str) -> Response {
        let body = match provider {
            Provider::OpenAi => openai_body(self.status, &self.message),
            Provider::Anthropic => anthropic_body(self.status, &self.message, request_id),
        };

        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// `{"error":{"message","type","param","code"}}`, with OpenAI's type and code for the status.
fn openai_body(status: StatusCode, message: &str) -> Value {
    let (kind, code) = match status.as_u16() {
        401 => ("invalid_request_error", Some("invalid_api_key")),
        429 => ("requests", Some("rate_limit_exceeded")),
        500..=599 => ("server_error", None),
        _ => ("invalid_request_error", None),
    };
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

/// `{"type":"error","error":{"type","message"},"request_id"}`, with Anthropic's error type.
fn anthropic_body(status: StatusCode, message: &str, request_id: &str) -> Value {
    let kind = match status.as_u16() {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        500..=599 => "api_error",
        _ => "invalid_request_error",
    };
    json!({
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": request_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_rate_limit_body() {
        let body = openai_body(StatusCode::TOO_MANY_REQUESTS, "slow down");

        assert_eq!(
            body,
            json!({"error": {
                "message": "slow down",
                "type": "requests",
                "param": null,
                "code": "rate_limit_exceeded",
            }})
        );
    }

    #[test]
    fn openai_types_by_status() {
        let kind = |code: u16| {
            let body = openai_body(StatusCode::from_u16(code).unwrap(), "m");
            (body["error"]["type"].clone(), body["error"]["code"].clone())
        };

        assert_eq!(kind(400), (json!("invalid_request_error"), Value::Null));
        assert_eq!(
            kind(401),
            (json!("invalid_request_error"), json!("invalid_api_key"))
        );
        assert_eq!(kind(500), (json!("server_error"), Value::Null));
        assert_eq!(kind(503), (json!("server_error"), Value::Null));
    }

    #[test]
    fn anthropic_types_by_status() {
        let kind = |code: u16| {
            let body = anthropic_body(StatusCode::from_u16(code).unwrap(), "m", "req_1");
            body["error"]["type"].clone()
        };

        assert_eq!(kind(400), json!("invalid_request_error"));
        assert_eq!(kind(401), json!("authentication_error"));
        assert_eq!(kind(429), json!("rate_limit_error"));
        assert_eq!(kind(500), json!("api_error"));
        assert_eq!(kind(529), json!("overloaded_error"));
    }

    #[test]
    fn anthropic_body_shape() {
        let body = anthropic_body(StatusCode::BAD_REQUEST, "bad", "req_7");

        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["message"], "bad");
        assert_eq!(body["request_id"], "req_7");
    }

    #[test]
    fn detect_provider() {
        let mut versioned = HeaderMap::new();
        versioned.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));

        assert_eq!(
            Provider::detect("/v1/messages", &HeaderMap::new()),
            Provider::Anthropic
        );
        assert_eq!(
            Provider::detect("/v1/models", &versioned),
            Provider::Anthropic
        );
        assert_eq!(
            Provider::detect("/v1/models", &HeaderMap::new()),
            Provider::OpenAi
        );
    }
}
