//! Routes and the steps every request goes through: behaviour header, delay, API key, injected
//! error and body check. Then the endpoint builds its payload, which is sent with the
//! provider's request-id header.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use serde_json::Value;

use crate::behavior::Behavior;
use crate::error::MockError;
use crate::error::Provider::{self, Anthropic, OpenAi};
use crate::log::{self, MockLog};
use crate::sse::{self, EventStream, Pacing};
use crate::{MockOptions, anthropic, models, openai};

/// State shared by all requests of one router.
#[derive(Debug)]
pub(crate) struct MockState {
    pub options: MockOptions,
    next_id: AtomicU64,
}

/// One request on its way through an endpoint.
pub(crate) struct Call<'a> {
    pub options: &'a MockOptions,
    pub behavior: &'a Behavior,
    /// The JSON body; `Null` for a GET request.
    pub body: &'a Value,
    /// Sequence number of the request, the suffix of every id in the reply.
    pub id: &'a str,
}

impl Call<'_> {
    /// Returns the body's `model`, which the pipeline has checked to be a string.
    pub fn model(&self) -> &str {
        self.body.get("model").and_then(Value::as_str).unwrap_or("")
    }

    pub fn is_stream(&self) -> bool {
        self.body.get("stream").and_then(Value::as_bool) == Some(true)
    }

    pub fn pacing(&self) -> Pacing {
        Pacing {
            first_token: self
                .behavior
                .first_token
                .unwrap_or(self.options.first_token_delay),
            chunk: self.behavior.chunk.unwrap_or(self.options.chunk_delay),
        }
    }

    /// Plans a stream with the faults of the behaviour header. `event` is the event name of the
    /// frame that is not JSON, and `None` for streams whose events have no names.
    pub fn stream(&self, frames: Vec<sse::Frame>, event: Option<&'static str>) -> Payload {
        Payload::Stream(EventStream {
            frames,
            pacing: self.pacing(),
            cut_after: self.behavior.cut_after,
            malformed: self.behavior.malformed.then_some(event),
        })
    }

    /// Builds a JSON payload of generated output, sent after the time its stream would take.
    pub fn generated(&self, body: Value, deltas: usize) -> Payload {
        Payload::Json {
            body,
            wait: self.pacing().total(deltas),
        }
    }
}

/// Body of a successful response: JSON sent after a wait, or an event stream.
pub(crate) enum Payload {
    Json { body: Value, wait: Duration },
    Stream(EventStream),
}

impl Payload {
    pub fn json(body: Value) -> Self {
        Self::Json {
            body,
            wait: Duration::ZERO,
        }
    }
}

/// Builds the router: the routes, the request log and no body limit but the log's own.
pub(crate) fn routes(options: MockOptions, log: MockLog) -> Router {
    let state = Arc::new(MockState {
        options,
        next_id: AtomicU64::new(1),
    });

    let posts: [(&str, Provider, Endpoint); 6] = [
        ("/v1/chat/completions", OpenAi, openai::chat::handle),
        ("/v1/completions", OpenAi, openai::completions::handle),
        ("/v1/embeddings", OpenAi, openai::embeddings::handle),
        ("/v1/responses", OpenAi, openai::responses::handle),
        ("/v1/messages", Anthropic, anthropic::messages),
        (
            "/v1/messages/count_tokens",
            Anthropic,
            anthropic::count_tokens,
        ),
    ];
    let mut router = Router::new();
    for (path, provider, endpoint) in posts {
        router = router.route(path, json_post(provider, endpoint));
    }

    router
        .route("/v1/models", get(list_models))
        .route("/v1/models/{*id}", get(get_model))
        .fallback(not_found)
        .with_state(state)
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(log, log::record))
}

type Shared = State<Arc<MockState>>;
type Endpoint = fn(&Call<'_>) -> Result<Payload, MockError>;

/// Routes a POST with a JSON body to `endpoint`.
fn json_post(provider: Provider, endpoint: Endpoint) -> MethodRouter<Arc<MockState>> {
    post(
        move |State(state): Shared, headers: HeaderMap, body: Bytes| async move {
            respond(&state, provider, &headers, Some(&body), endpoint).await
        },
    )
}

async fn list_models(State(state): Shared, headers: HeaderMap) -> Response {
    let provider = Provider::detect("/v1/models", &headers);
    let list = |_: &Call<'_>| Ok(models::list(provider));
    respond(&state, provider, &headers, None, list).await
}

async fn get_model(State(state): Shared, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let provider = Provider::detect("/v1/models", &headers);
    let model = move |_: &Call<'_>| Ok(models::get(provider, &id));
    respond(&state, provider, &headers, None, model).await
}

async fn not_found(State(state): Shared, uri: Uri, headers: HeaderMap) -> Response {
    let provider = Provider::detect(uri.path(), &headers);
    let message = format!(
        "unknown endpoint {}: the mock does not serve it",
        uri.path()
    );
    let missing = |_: &Call<'_>| Err(MockError::new(StatusCode::NOT_FOUND, message));
    respond(&state, provider, &headers, None, missing).await
}

impl MockState {
    fn next_request_id(&self) -> String {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("mock{id:012}")
    }
}

fn request_id(id: &str) -> String {
    format!("req_{id}")
}

/// Runs the common steps, then `endpoint`, and sends its payload.
async fn respond<F>(
    state: &MockState,
    provider: Provider,
    headers: &HeaderMap,
    body: Option<&Bytes>,
    endpoint: F,
) -> Response
where
    F: FnOnce(&Call<'_>) -> Result<Payload, MockError>,
{
    let id = state.next_request_id();
    let result = run(state, provider, headers, body, &id, endpoint).await;

    let mut response = match result {
        Ok(response) => response,
        Err(error) => error.into_response(provider, &request_id(&id)),
    };
    if let Ok(value) = HeaderValue::from_str(&request_id(&id)) {
        response
            .headers_mut()
            .insert(provider.request_id_header(), value);
    }
    response
}

async fn run<F>(
    state: &MockState,
    provider: Provider,
    headers: &HeaderMap,
    body: Option<&Bytes>,
    id: &str,
    endpoint: F,
) -> Result<Response, MockError>
where
    F: FnOnce(&Call<'_>) -> Result<Payload, MockError>,
{
    let behavior = Behavior::from_headers(headers).map_err(MockError::invalid)?;
    if !behavior.delay.is_zero() {
        tokio::time::sleep(behavior.delay).await;
    }

    check_api_key(&state.options, provider, headers)?;
    if let Some(status) = behavior.error {
        return Err(injected_error(status, behavior.retry_after_secs));
    }

    let body = match body {
        Some(bytes) => parse_body(bytes)?,
        None => Value::Null,
    };
    let call = Call {
        options: &state.options,
        behavior: &behavior,
        body: &body,
        id,
    };
    let payload = endpoint(&call)?;
    Ok(send(payload, &behavior).await)
}

async fn send(payload: Payload, behavior: &Behavior) -> Response {
    match payload {
        Payload::Stream(stream) => stream.into_response(),
        Payload::Json { body, wait } => {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            if behavior.malformed || behavior.cut_after.is_some() {
                let bytes = Bytes::from(body.to_string());
                return sse::broken_json_response(bytes, behavior.cut_after);
            }
            axum::Json(body).into_response()
        }
    }
}

fn parse_body(bytes: &Bytes) -> Result<Value, MockError> {
    let body: Value = serde_json::from_slice(bytes)
        .map_err(|error| MockError::invalid(format!("invalid JSON body: {error}")))?;
    if !body.is_object() {
        return Err(MockError::invalid("invalid body: expected a JSON object"));
    }
    if !body.get("model").is_some_and(Value::is_string) {
        return Err(MockError::invalid(
            "missing required parameter: model (a string)",
        ));
    }
    Ok(body)
}

/// Compares the request's key with the expected one. OpenAI takes it from `Authorization:
/// Bearer`; Anthropic from `x-api-key`, or from `Authorization: Bearer`, which recent Anthropic
/// SDKs send instead (anthropic 2.17 for Python does).
fn check_api_key(
    options: &MockOptions,
    provider: Provider,
    headers: &HeaderMap,
) -> Result<(), MockError> {
    let Some(expected) = &options.expected_api_key else {
        return Ok(());
    };
    let value = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };

    let bearer =
        value(header::AUTHORIZATION.as_str()).and_then(|auth| auth.strip_prefix("Bearer "));
    let received: Vec<&str> = match provider {
        Provider::OpenAi => bearer.into_iter().collect(),
        Provider::Anthropic => value("x-api-key").into_iter().chain(bearer).collect(),
    };
    // The message never repeats the key, which would put a secret into logs.
    if received.is_empty() {
        Err(MockError::new(
            StatusCode::UNAUTHORIZED,
            "missing API key: send it in Authorization: Bearer, or x-api-key for Anthropic",
        ))
    } else if received.contains(&expected.as_str()) {
        Ok(())
    } else {
        Err(MockError::new(
            StatusCode::UNAUTHORIZED,
            "invalid API key: it differs from the key the mock expects",
        ))
    }
}

fn injected_error(status: StatusCode, retry_after_secs: Option<u64>) -> MockError {
    let reason = status.canonical_reason().unwrap_or("error");
    MockError {
        status,
        message: format!("{reason} (injected by x-mock-behavior)"),
        retry_after_secs,
    }
}
