//! Failures of model calls: their HTTP statuses, the error types and messages each client
//! library reports, and how often they happen.

use crate::demo::catalog::models::{Model, Sdk};
use crate::demo::rng::Rng;

/// The failure of a model call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 429: the provider throttled the call.
    RateLimited,
    /// The client gave up waiting.
    Timeout,
    /// HTTP 500.
    ServerError,
    /// HTTP 503 (Anthropic: 529): the provider is overloaded.
    Overloaded,
    /// HTTP 400: the request was invalid.
    BadRequest,
    /// The provider's safety filter stopped the answer; HTTP 200 with finish reason
    /// `content_filter`.
    ContentFilter,
}

impl Failure {
    /// Returns whether applications retry the call after a short wait.
    pub fn is_retried(self) -> bool {
        matches!(self, Failure::RateLimited | Failure::Overloaded)
    }

    pub(super) fn http_status(self, sdk: Sdk) -> Option<i64> {
        match self {
            Failure::RateLimited => Some(429),
            Failure::Timeout | Failure::ContentFilter => None,
            Failure::ServerError => Some(500),
            Failure::Overloaded if sdk == Sdk::Anthropic => Some(529),
            Failure::Overloaded => Some(503),
            Failure::BadRequest => Some(400),
        }
    }

    /// Returns the exception class the client library raises.
    pub(super) fn exception_class(self, sdk: Sdk) -> &'static str {
        match (sdk, self) {
            (Sdk::OpenAi | Sdk::Anthropic, Failure::RateLimited) => "RateLimitError",
            (Sdk::OpenAi | Sdk::Anthropic, Failure::Timeout) => "APITimeoutError",
            (Sdk::OpenAi | Sdk::Anthropic, Failure::BadRequest) => "BadRequestError",
            (Sdk::OpenAi | Sdk::Anthropic, _) => "InternalServerError",
            (Sdk::Google, Failure::RateLimited | Failure::BadRequest) => "ClientError",
            (Sdk::Google | Sdk::Mistral, Failure::Timeout) => "ReadTimeout",
            (Sdk::Google, _) => "ServerError",
            (Sdk::Mistral, _) => "SDKError",
        }
    }

    /// Returns the `error.type` the OpenTelemetry instrumentations write: the exception
    /// class, or for Anthropic responses the API's own error type.
    pub(super) fn error_type(self, sdk: Sdk) -> &'static str {
        match (sdk, self) {
            (Sdk::Anthropic, Failure::RateLimited) => "rate_limit_error",
            (Sdk::Anthropic, Failure::ServerError) => "api_error",
            (Sdk::Anthropic, Failure::Overloaded) => "overloaded_error",
            (Sdk::Anthropic, Failure::BadRequest) => "invalid_request_error",
            _ => self.exception_class(sdk),
        }
    }

    /// Returns the exception message, in the client library's format.
    pub(super) fn message(self, model: &Model) -> String {
        let status = self.http_status(model.sdk).unwrap_or(0);
        let reason = self.reason(model);
        match (model.sdk, self) {
            (_, Failure::Timeout) => "Request timed out.".to_owned(),
            (Sdk::Google, _) => {
                let code = match self {
                    Failure::RateLimited => "RESOURCE_EXHAUSTED",
                    Failure::BadRequest => "INVALID_ARGUMENT",
                    Failure::Overloaded => "UNAVAILABLE",
                    _ => "INTERNAL",
                };
                format!("{status} {code}. {reason}")
            }
            (Sdk::Mistral, _) => format!("API error occurred: Status {status}. {reason}"),
            _ => format!("Error code: {status} - {reason}"),
        }
    }

    fn reason(self, model: &Model) -> String {
        match self {
            Failure::RateLimited => format!(
                "Rate limit reached for {} on tokens per minute. Please try again in 2.3s.",
                model.request
            ),
            Failure::Timeout | Failure::ContentFilter => String::new(),
            Failure::ServerError => "The server had an error processing your request.".into(),
            Failure::Overloaded => "The model is overloaded. Please try again later.".into(),
            Failure::BadRequest => format!(
                "Invalid 'max_tokens': 4096 is above the limit of {} for this request.",
                model.request
            ),
        }
    }

    /// Draws whether a call fails: about 3% of calls do, 429 being the most common.
    /// `user_facing` allows content filter stops, which only replies to customers get here.
    pub fn draw(rng: &mut Rng, user_facing: bool) -> Option<Failure> {
        let roll = rng.unit();
        let failures = [
            (0.010, Failure::RateLimited),
            (0.004, Failure::Timeout),
            (0.005, Failure::ServerError),
            (0.004, Failure::Overloaded),
            (0.003, Failure::BadRequest),
            (
                if user_facing { 0.005 } else { 0.0 },
                Failure::ContentFilter,
            ),
        ];
        let mut threshold = 0.0;
        for (probability, failure) in failures {
            threshold += probability;
            if roll < threshold {
                return Some(failure);
            }
        }
        None
    }
}
