//! The request path: read the body, choose the upstream, forward, and stream the response back
//! through a [`Tap`].
//!
//! Nothing here parses more than the three fields routing needs, and nothing waits on the
//! store: the call's record is handed to the recorder when the response ends.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Body as _;

use crate::client::{ClientError, ResponseBody, UpstreamClient};
use crate::config::Dialect;
use crate::endpoint::Endpoint;
use crate::error::GatewayError;
use crate::headers::{
    CallContext, UPSTREAM_HEADER, client_secrets, forward_request_headers,
    forward_response_headers, upstream_traceparent,
};
use crate::record::{CallRecord, Captured, Outcome, Timings};
use crate::recorder::Recorder;
use crate::request::{BodyError, RequestInfo, Rewrite, peek, rewrite};
use crate::sse::UsageStripper;
use crate::tap::{PendingCall, Tap, TapLimits};
use crate::upstream::{Route, RouteError, Upstreams};

/// Limits of the request path.
#[derive(Debug, Clone, Copy)]
pub struct ProxyLimits {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Response bytes kept for recording.
    pub max_capture_bytes: usize,
    /// Wait for an upstream's response headers at most this long.
    pub response_timeout: Duration,
    /// Maximum silence allowed in the middle of an upstream's response body.
    pub idle_timeout: Duration,
}

/// The gateway's shared state.
#[derive(Debug)]
pub struct Gateway {
    upstreams: Upstreams,
    client: UpstreamClient,
    recorder: Recorder,
    limits: ProxyLimits,
}

impl Gateway {
    /// Creates the state from its parts.
    pub fn new(
        upstreams: Upstreams,
        client: UpstreamClient,
        recorder: Recorder,
        limits: ProxyLimits,
    ) -> Gateway {
        Gateway {
            upstreams,
            client,
            recorder,
            limits,
        }
    }

    /// Returns the recorder, for its counters.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }
}

// NOTE: calls in flight are not limited. Each keeps its connection (about 45 KB) and its bodies
// until it ends, so memory under overload grows with the calls that queue up.

/// Handles a call to a recording endpoint.
pub async fn call(
    State(gateway): State<Arc<Gateway>>,
    endpoint: Endpoint,
    request: Request,
) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let record = new_record(endpoint, &parts.headers);
    gateway
        .recorder
        .stats()
        .calls
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut pending = PendingCall::new(record, gateway.recorder.clone(), started);

    match prepare(&gateway, endpoint, &parts, body, &mut pending).await {
        Ok(prepared) => forward(&gateway, endpoint, parts, prepared, Some(pending)).await,
        Err(error) => reject(error, endpoint.dialect(), pending),
    }
}

/// Handles `GET /v1/models` and `GET /v1/models/{id}`, which are forwarded but not recorded.
pub async fn models(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let dialect = if parts.headers.contains_key("anthropic-version") {
        Dialect::Anthropic
    } else {
        Dialect::Openai
    };
    let endpoint = Endpoint::Models(dialect);
    let header = crate::headers::text(&parts.headers, UPSTREAM_HEADER);
    let route = match gateway
        .upstreams
        .route(dialect, parts.uri.path(), header.as_deref(), None)
    {
        Ok(route) => route,
        Err(error) => return route_error(error).into_response(dialect),
    };
    let prepared = Prepared {
        route,
        body: Bytes::new(),
        ask_usage: false,
    };
    forward(&gateway, endpoint, parts, prepared, None).await
}

/// A request ready to forward.
struct Prepared {
    route: Route,
    body: Bytes,
    ask_usage: bool,
}

async fn prepare(
    gateway: &Gateway,
    endpoint: Endpoint,
    parts: &Parts,
    body: Body,
    pending: &mut PendingCall,
) -> Result<Prepared, GatewayError> {
    check_encoding(&parts.headers)?;
    let body = read_body(body, gateway.limits.max_body_bytes).await?;
    if let Some(record) = pending.record_mut() {
        // A copy: the body may be a slice of the connection's read buffer.
        record.request_body = Bytes::copy_from_slice(&body);
    }
    let info = peek(&body, endpoint.takes_model()).map_err(body_error)?;
    if let Some(record) = pending.record_mut() {
        record.model.clone_from(&info.model);
        record.stream = info.stream;
    }

    let header = crate::headers::text(&parts.headers, UPSTREAM_HEADER);
    let routed = gateway.upstreams.route(
        endpoint.dialect(),
        parts.uri.path(),
        header.as_deref(),
        info.model.as_deref(),
    );
    let route = match routed {
        Ok(route) => route,
        Err(error) => {
            // The span of a call refused by its chosen upstream names that upstream.
            if let (RouteError::NotServed { upstream, .. }, Some(record)) =
                (&error, pending.record_mut())
            {
                record.upstream = gateway.upstreams.by_name(upstream).cloned();
            }
            return Err(route_error(error));
        }
    };
    if let Some(record) = pending.record_mut() {
        record.upstream = Some(Arc::clone(&route.upstream));
        record.secrets.extend(route.upstream.api_key.clone());
        if let Some(model) = &route.stripped_model {
            record.model = Some(model.clone());
        }
    }

    let ask_usage = asks_usage(endpoint, &info, &route);
    let changes = Rewrite {
        model: route.stripped_model.clone(),
        ask_usage,
    };
    let body = rewrite(body, &info, &changes).map_err(body_error)?;
    Ok(Prepared {
        route,
        body,
        ask_usage,
    })
}

/// Returns true when the gateway must ask an OpenAI-style stream for the usage that the client
/// did not request.
fn asks_usage(endpoint: Endpoint, info: &RequestInfo, route: &Route) -> bool {
    endpoint.asks_stream_usage()
        && info.stream
        && !info.client_wants_usage
        && route.upstream.stream_usage
}

async fn forward(
    gateway: &Gateway,
    endpoint: Endpoint,
    parts: Parts,
    prepared: Prepared,
    mut pending: Option<PendingCall>,
) -> Response {
    let upstream = &prepared.route.upstream;
    let traceparent = pending
        .as_mut()
        .and_then(PendingCall::record_mut)
        .and_then(|record| upstream_traceparent(&record.context, &parts.headers));
    let request = match upstream_request(&parts, prepared.body, upstream, traceparent) {
        Ok(request) => request,
        Err(error) => return fail(error, endpoint, pending),
    };
    if let Some(call) = pending.as_mut() {
        call.mark_sent();
    }

    let sent = tokio::time::timeout(
        gateway.limits.response_timeout,
        gateway.client.request(request),
    )
    .await;
    let response = match sent {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => return fail(send_error(&error, &upstream.name), endpoint, pending),
        Err(_) => {
            let message = format!(
                "upstream {:?} sent no response within {} s",
                upstream.name,
                gateway.limits.response_timeout.as_secs()
            );
            let error = GatewayError::new(StatusCode::GATEWAY_TIMEOUT, "upstream_timeout", message);
            return fail(error, endpoint, pending);
        }
    };
    respond(gateway, response, prepared.ask_usage, pending)
}

fn upstream_request(
    parts: &Parts,
    body: Bytes,
    upstream: &crate::upstream::Upstream,
    traceparent: Option<HeaderValue>,
) -> Result<axum::http::Request<Bytes>, GatewayError> {
    let url = upstream.url(parts.uri.path(), parts.uri.query());
    let mut request = axum::http::Request::builder()
        .method(parts.method.clone())
        .uri(url)
        .body(body)
        .map_err(|error| {
            GatewayError::invalid(
                "invalid_request",
                format!("cannot forward the request: {error}"),
            )
        })?;
    *request.headers_mut() = forward_request_headers(&parts.headers, upstream);
    if let Some(traceparent) = traceparent {
        request.headers_mut().insert("traceparent", traceparent);
    }
    Ok(request)
}

fn respond(
    gateway: &Gateway,
    response: axum::http::Response<ResponseBody>,
    ask_usage: bool,
    mut pending: Option<PendingCall>,
) -> Response {
    let (head, body) = response.into_parts();
    let event_stream = head
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/event-stream"));
    let encoding = content_encoding(&head.headers);
    // A body that is already complete has no usage to remove, and a compressed one cannot be
    // edited: the client then sees the usage the gateway asked for.
    let complete = body.is_end_stream();
    let strip = ask_usage && event_stream && !complete && encoding.is_none();
    if let Some(record) = pending.as_mut().and_then(PendingCall::record_mut) {
        record.response.status = head.status.as_u16();
        record.response.event_stream = event_stream;
        record.response.encoding = encoding;
    }

    // The server sends no body for a 204 or a 304 and would never read a tap, so a call whose
    // body is already complete is recorded here.
    let body = if complete {
        // Dropping a complete body returns its connection to the pool.
        drop(body);
        if let Some(mut call) = pending {
            call.finish(Outcome::Completed);
        }
        Body::empty()
    } else {
        tapped(gateway, body, strip, pending)
    };
    let mut answer = Response::new(body);
    *answer.status_mut() = head.status;
    *answer.headers_mut() = forward_response_headers(&head.headers, strip);
    answer
}

/// Returns the response's `content-encoding` in lowercase, unless the body came as is.
fn content_encoding(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_ENCODING)?.to_str().ok()?;
    let encoding = value.trim().to_ascii_lowercase();
    (!encoding.is_empty() && encoding != "identity").then_some(encoding)
}

/// Wraps the upstream's body in a tap that records the call at its end. With `strip`, the
/// usage that the gateway requested is removed.
fn tapped(
    gateway: &Gateway,
    body: ResponseBody,
    strip: bool,
    pending: Option<PendingCall>,
) -> Body {
    let limits = TapLimits {
        max_capture: gateway.limits.max_capture_bytes,
        idle_timeout: gateway.limits.idle_timeout,
        // The body's own framing, not the header: a chunked body may come with a stray length.
        expected_length: body.size_hint().exact().filter(|_| !strip),
    };
    let stripper = strip.then(UsageStripper::default);
    Body::from_stream(Tap::new(
        Box::pin(body.into_data_stream()),
        stripper,
        pending,
        limits,
    ))
}

fn fail(error: GatewayError, endpoint: Endpoint, pending: Option<PendingCall>) -> Response {
    match pending {
        Some(pending) => reject(error, endpoint.dialect(), pending),
        None => error.into_response(endpoint.dialect()),
    }
}

/// Responds with the gateway's own error and records the call as failed.
fn reject(error: GatewayError, dialect: Dialect, mut pending: PendingCall) -> Response {
    if let Some(record) = pending.record_mut() {
        record.response.status = error.status.as_u16();
    }
    pending.finish(Outcome::Rejected {
        code: error.code,
        message: error.message.clone(),
    });
    error.into_response(dialect)
}

fn new_record(endpoint: Endpoint, headers: &HeaderMap) -> CallRecord {
    CallRecord {
        endpoint,
        upstream: None,
        model: None,
        context: CallContext::from_headers(headers),
        started_unix_nano: unix_nanos(),
        request_body: Bytes::new(),
        stream: false,
        response: Captured::default(),
        outcome: Outcome::Completed,
        timings: Timings::default(),
        secrets: client_secrets(headers),
    }
}

fn check_encoding(headers: &HeaderMap) -> Result<(), GatewayError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .map(str::trim);
    match encoding {
        None | Some("" | "identity") => Ok(()),
        Some(other) => Err(GatewayError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            format!(
                "request bodies with content-encoding {other:?} are not supported; send it uncompressed"
            ),
        )),
    }
}

async fn read_body(body: Body, limit: usize) -> Result<Bytes, GatewayError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => Err(GatewayError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request_too_large",
            format!("the request body is larger than the gateway's limit of {limit} bytes"),
        )),
        Err(error) => Err(GatewayError::invalid(
            "body_read_failed",
            format!("failed to read the request body: {error}"),
        )),
    }
}

fn body_error(error: BodyError) -> GatewayError {
    let code = match error {
        BodyError::Invalid(_) => "invalid_json",
        BodyError::MissingModel => "missing_model",
    };
    GatewayError::invalid(code, error.to_string())
}

fn route_error(error: RouteError) -> GatewayError {
    match error {
        RouteError::NoUpstream(_) | RouteError::NotServed { .. } => {
            GatewayError::new(StatusCode::NOT_FOUND, "model_not_found", error.to_string())
        }
        RouteError::UnknownUpstream(_) | RouteError::WrongDialect { .. } => {
            GatewayError::invalid("unknown_upstream", error.to_string())
        }
    }
}

/// Maps a failure to reach the upstream or to read its response head. The message names the
/// upstream, never the URL with its query, and never a header.
fn send_error(error: &ClientError, upstream: &str) -> GatewayError {
    if let ClientError::Request(cause) = error
        && cause.kind() == std::io::ErrorKind::InvalidData
    {
        return GatewayError::new(
            StatusCode::BAD_GATEWAY,
            "upstream_invalid_response",
            format!("upstream {upstream:?} sent an invalid response: {cause}"),
        );
    }
    // The error's own message only names the step that failed. Its sources name the cause,
    // such as "tcp connect error: Connection refused (os error 111)".
    let mut cause = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(error) = source {
        cause.push_str(": ");
        cause.push_str(&error.to_string());
        source = error.source();
    }
    if cause.contains("timed out") {
        return GatewayError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "upstream_timeout",
            format!("upstream {upstream:?} timed out{cause}"),
        );
    }
    GatewayError::new(
        StatusCode::BAD_GATEWAY,
        "upstream_unreachable",
        format!("failed to reach upstream {upstream:?}{cause}"),
    )
}

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    #[test]
    fn invalid_response_is_not_called_unreachable() {
        let cause = io::Error::new(io::ErrorKind::InvalidData, "invalid chunk size \"QQ\"");
        let error = send_error(&ClientError::Request(cause), "openai");
        assert_eq!(error.status, StatusCode::BAD_GATEWAY);
        assert_eq!(error.code, "upstream_invalid_response");
        assert_eq!(
            error.message,
            "upstream \"openai\" sent an invalid response: invalid chunk size \"QQ\""
        );

        let closed = io::Error::new(io::ErrorKind::UnexpectedEof, "closed without a response");
        let error = send_error(&ClientError::Request(closed), "openai");
        assert_eq!(error.code, "upstream_unreachable");
    }
}
