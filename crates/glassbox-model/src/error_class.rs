//! Classification of failed calls into the few error types that dashboards group by.

use serde::{Deserialize, Serialize};

use crate::span::{Span, SpanStatus};

/// The type of a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The provider throttled the call (HTTP 429, rate-limit errors).
    RateLimited,
    /// The call timed out (HTTP 408 or 504, timeout errors).
    Timeout,
    /// The provider failed (HTTP 5xx, overloaded, internal errors).
    ServerError,
    /// The request was rejected (HTTP 4xx other than 408 and 429: bad request, authentication).
    ClientError,
    /// The provider's safety filter blocked the prompt or the answer.
    ContentFilter,
    /// Any other failure.
    Other,
}

impl ErrorClass {
    /// Every class, in the order the API lists them.
    pub const ALL: [ErrorClass; 6] = [
        ErrorClass::RateLimited,
        ErrorClass::Timeout,
        ErrorClass::ServerError,
        ErrorClass::ClientError,
        ErrorClass::ContentFilter,
        ErrorClass::Other,
    ];

    /// Returns the snake_case name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::RateLimited => "rate_limited",
            ErrorClass::Timeout => "timeout",
            ErrorClass::ServerError => "server_error",
            ErrorClass::ClientError => "client_error",
            ErrorClass::ContentFilter => "content_filter",
            ErrorClass::Other => "other",
        }
    }

    /// Returns the position in [`ErrorClass::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Names (lowercased, without separators) that mark each class, checked in order.
const NAME_RULES: &[(&str, ErrorClass)] = &[
    ("ratelimit", ErrorClass::RateLimited),
    ("toomanyrequests", ErrorClass::RateLimited),
    ("quota", ErrorClass::RateLimited),
    ("contentfilter", ErrorClass::ContentFilter),
    ("contentpolicy", ErrorClass::ContentFilter),
    ("safety", ErrorClass::ContentFilter),
    ("timeout", ErrorClass::Timeout),
    ("timedout", ErrorClass::Timeout),
    ("deadlineexceeded", ErrorClass::Timeout),
    ("internalserver", ErrorClass::ServerError),
    ("overloaded", ErrorClass::ServerError),
    ("serviceunavailable", ErrorClass::ServerError),
    ("apierror", ErrorClass::ServerError),
    ("badgateway", ErrorClass::ServerError),
    ("badrequest", ErrorClass::ClientError),
    ("invalidrequest", ErrorClass::ClientError),
    ("authentication", ErrorClass::ClientError),
    ("permissiondenied", ErrorClass::ClientError),
    ("notfound", ErrorClass::ClientError),
    ("unprocessable", ErrorClass::ClientError),
    ("invalidargument", ErrorClass::ClientError),
    ("resourceexhausted", ErrorClass::RateLimited),
];

/// Classifies a span; `None` when it did not fail.
///
/// The HTTP status attribute decides when present; otherwise the error type and message are
/// matched against known names (`RateLimitError`, `rate_limit_error`, `APITimeoutError`, ...).
/// A finish reason `content_filter` marks a content-filter failure even on a span whose
/// status is not error, as providers answer such calls with success.
pub fn classify_error(span: &Span) -> Option<ErrorClass> {
    let filtered = span
        .finish_reasons
        .iter()
        .any(|reason| reason == "content_filter");
    if span.status != SpanStatus::Error {
        return filtered.then_some(ErrorClass::ContentFilter);
    }
    if filtered {
        return Some(ErrorClass::ContentFilter);
    }
    if let Some(class) = http_status(span).and_then(class_of_status) {
        return Some(class);
    }
    let text = [span.error_type.as_deref(), span.status_message.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Some(class_of_text(&text))
}

fn http_status(span: &Span) -> Option<u64> {
    ["http.response.status_code", "http.status_code"]
        .iter()
        .find_map(|key| {
            span.attributes
                .get(*key)
                .and_then(serde_json::Value::as_u64)
        })
}

fn class_of_status(status: u64) -> Option<ErrorClass> {
    match status {
        429 => Some(ErrorClass::RateLimited),
        408 | 504 => Some(ErrorClass::Timeout),
        500..=599 => Some(ErrorClass::ServerError),
        400..=499 => Some(ErrorClass::ClientError),
        _ => None,
    }
}

fn class_of_text(text: &str) -> ErrorClass {
    let squashed: String = text
        .chars()
        .filter(|character| character.is_ascii_alphanumeric())
        .map(|character| character.to_ascii_lowercase())
        .collect();
    for (name, class) in NAME_RULES {
        if squashed.contains(name) {
            return *class;
        }
    }
    let codes = [
        ("429", ErrorClass::RateLimited),
        ("408", ErrorClass::Timeout),
        ("504", ErrorClass::Timeout),
        ("500", ErrorClass::ServerError),
        ("502", ErrorClass::ServerError),
        ("503", ErrorClass::ServerError),
        ("400", ErrorClass::ClientError),
        ("401", ErrorClass::ClientError),
        ("403", ErrorClass::ClientError),
        ("404", ErrorClass::ClientError),
        ("422", ErrorClass::ClientError),
    ];
    for (code, class) in codes {
        if text.contains(code) {
            return class;
        }
    }
    ErrorClass::Other
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{SpanId, TraceId};

    fn failed(error_type: Option<&str>, message: Option<&str>) -> Span {
        let mut span = Span::new(TraceId([1; 16]), SpanId([1; 8]), "chat");
        span.status = SpanStatus::Error;
        span.error_type = error_type.map(str::to_owned);
        span.status_message = message.map(str::to_owned);
        span
    }

    #[test]
    fn names_of_real_libraries_are_classified() {
        let cases = [
            (
                Some("<class 'openai.RateLimitError'>"),
                None,
                ErrorClass::RateLimited,
            ),
            (Some("rate_limit_error"), None, ErrorClass::RateLimited),
            (
                None,
                Some("RateLimitError: Error code: 429"),
                ErrorClass::RateLimited,
            ),
            (Some("InternalServerError"), None, ErrorClass::ServerError),
            (Some("api_error"), None, ErrorClass::ServerError),
            (Some("APITimeoutError"), None, ErrorClass::Timeout),
            (Some("BadRequestError"), None, ErrorClass::ClientError),
            (Some("ValueError"), None, ErrorClass::Other),
            (
                None,
                Some("ClientError: 400 INVALID_ARGUMENT. bad field"),
                ErrorClass::ClientError,
            ),
            (
                None,
                Some("429 RESOURCE_EXHAUSTED"),
                ErrorClass::RateLimited,
            ),
        ];
        for (error_type, message, expected) in cases {
            assert_eq!(
                classify_error(&failed(error_type, message)),
                Some(expected),
                "{error_type:?} {message:?}"
            );
        }
    }

    #[test]
    fn http_status_decides_first() {
        let mut span = failed(Some("APIError"), None);
        span.attributes
            .insert("http.response.status_code".into(), 429.into());
        assert_eq!(classify_error(&span), Some(ErrorClass::RateLimited));
    }

    #[test]
    fn success_is_not_an_error_unless_filtered() {
        let mut span = failed(None, None);
        span.status = SpanStatus::Ok;
        assert_eq!(classify_error(&span), None);
        span.finish_reasons = vec!["content_filter".into()];
        assert_eq!(classify_error(&span), Some(ErrorClass::ContentFilter));
    }
}
