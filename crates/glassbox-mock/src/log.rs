//! The log of received requests, filled by a middleware before any handler runs.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

use crate::error::{MockError, Provider};

/// Largest request body read, in bytes; a larger one gets a 413 and is not logged.
pub(crate) const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// A request as the mock received it.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// HTTP method.
    pub method: Method,
    /// Path without the query string, such as `/v1/chat/completions`.
    pub path: String,
    /// Query string without the `?`, if any.
    pub query: Option<String>,
    /// All headers, as received.
    pub headers: HeaderMap,
    /// Body bytes, as received.
    pub body: Bytes,
}

impl ReceivedRequest {
    /// Returns the first value of header `name` when it is visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// Parses the body as JSON; `None` when it is not JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// The last [`crate::LOG_CAPACITY`] requests received, oldest first; clones share one log.
#[derive(Clone)]
pub struct MockLog {
    requests: Arc<Mutex<VecDeque<ReceivedRequest>>>,
    capacity: usize,
}

impl MockLog {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            requests: Arc::new(Mutex::new(VecDeque::with_capacity(capacity))),
            capacity,
        }
    }

    /// Copies the logged requests, oldest first.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.lock().iter().cloned().collect()
    }

    /// Returns the most recent request.
    pub fn last(&self) -> Option<ReceivedRequest> {
        self.lock().back().cloned()
    }

    /// Forgets all logged requests.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn push(&self, request: ReceivedRequest) {
        let mut requests = self.lock();
        if requests.len() == self.capacity {
            requests.pop_front();
        }
        requests.push_back(request);
    }

    // A panic while the lock was held cannot leave the queue half-changed, so a poisoned lock is
    // still safe to use.
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<ReceivedRequest>> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

// Debug output shows only the count, because logged headers hold API keys.
impl fmt::Debug for MockLog {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("MockLog")
            .field("requests", &self.lock().len())
            .finish()
    }
}

/// Middleware that reads the whole body, logs the request and passes it on unchanged.
pub(crate) async fn record(State(log): State<MockLog>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        let provider = Provider::detect(parts.uri.path(), &parts.headers);
        let message = format!("request body is larger than {MAX_BODY_BYTES} bytes or unreadable");
        return MockError::new(StatusCode::PAYLOAD_TOO_LARGE, message)
            .into_response(provider, "req_mock_unlogged");
    };

    log.push(ReceivedRequest {
        method: parts.method.clone(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers.clone(),
        body: bytes.clone(),
    });
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str) -> ReceivedRequest {
        ReceivedRequest {
            method: Method::POST,
            path: path.to_owned(),
            query: None,
            headers: HeaderMap::new(),
            body: Bytes::from_static(b"{\"model\":\"m\"}"),
        }
    }

    #[test]
    fn log_drops_oldest_past_capacity() {
        let log = MockLog::new(2);

        log.push(request("/a"));
        log.push(request("/b"));
        log.push(request("/c"));

        let paths: Vec<String> = log.requests().into_iter().map(|r| r.path).collect();
        assert_eq!(paths, ["/b", "/c"]);
    }

    #[test]
    fn log_clear_and_last() {
        let log = MockLog::new(4);
        log.push(request("/a"));
        let clone = log.clone();

        assert_eq!(clone.last().unwrap().json().unwrap()["model"], "m");
        log.clear();
        assert!(clone.requests().is_empty());
    }
}
