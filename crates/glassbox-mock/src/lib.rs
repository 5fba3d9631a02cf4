//! A mock LLM provider that speaks the OpenAI and Anthropic wire formats, streaming included.
//!
//! It backs the gateway's integration tests (driven by the official Python SDKs), the
//! gateway-overhead benchmark and `glassbox demo`. Every reply is derived from the request alone,
//! so a test can assert exact texts and token counts.
//!
//! # Endpoints
//!
//! OpenAI, for an SDK whose base URL is `http://HOST:PORT/v1`: `POST /v1/chat/completions`,
//! `POST /v1/completions`, `POST /v1/embeddings`, `POST /v1/responses`, `GET /v1/models` and
//! `GET /v1/models/{id}`. Anthropic, for an SDK whose base URL is `http://HOST:PORT`:
//! `POST /v1/messages`, `POST /v1/messages/count_tokens`, and the two model routes, which respond
//! in Anthropic's format when the request carries an `anthropic-version` header.
//!
//! # Replies
//!
//! - The reply text is `Mock reply to: ` followed by the first eight whitespace-separated words
//!   of the last user message that has text, or `Mock reply.` when there is none. A stream
//!   splits it into [`MockOptions::chunks`] pieces of nearly equal length in characters.
//! - Tool call: when the request declares tools and its final message is a user message whose
//!   text contains `use a tool` (in any case), the reply calls the first tool. The arguments are
//!   compact JSON with one sample value for each property of the tool's schema: the first
//!   `enum` value, else `1` for numbers, `true` for booleans, `[]`, `{}`, or `"mock"` for the rest.
//! - Tokens: every text of the request (system prompt, messages, tool results, prompts and
//!   embedding inputs) counts one token per whitespace-separated word, at least 1 in total.
//!   Output counts the words of the reply text, or [`TOOL_CALL_OUTPUT_TOKENS`] for a tool call.
//!   Reasoning and cache-write tokens are always 0. Anthropic's `count_tokens` returns all input
//!   tokens, cached prefix included.
//! - Cache reads: when a counted text contains [`CACHE_MARKER`], the request is taken to have a
//!   cached prefix of [`CACHED_TOKENS`] more tokens. OpenAI reports them inside the prompt tokens
//!   (`prompt_tokens` = words + 32, `cached_tokens` = 32), Anthropic beside them
//!   (`input_tokens` = words, `cache_read_input_tokens` = 32).
//! - Timing: a stream waits [`MockOptions::first_token_delay`] before its first output delta and
//!   [`MockOptions::chunk_delay`] before each later one, while the other events follow at once.
//!   A non-streaming reply waits as long as its stream would have taken.
//! - Ids count up per router (`chatcmpl-mock000000000001`, `msg_mock…`) and `created` is fixed.
//!
//! # Behaviour header
//!
//! A request header `x-mock-behavior` injects failures and timing, as semicolon-separated
//! directives such as `error=429; retry_after=7`:
//!
//! | directive | effect |
//! |---|---|
//! | `error=STATUS` | responds with that 4xx or 5xx status and the provider's error body |
//! | `retry_after=SECONDS` | adds a `retry-after` header to the error |
//! | `delay_ms=N` | waits before sending the response headers |
//! | `first_token_ms=N`, `chunk_ms=N` | replace the two delays of [`MockOptions`] |
//! | `cut_after=N` | sends N stream events (or N bytes of a JSON body), then aborts the connection |
//! | `malformed` | puts one `data:` line that is not JSON mid-stream (or sends a broken JSON body) |
//! | `finish=length`, `finish=content_filter`, `content_filter` | sets the finish reason |
//!
//! `finish=length` reports `length` (OpenAI), `max_tokens` (Anthropic) or an incomplete response
//! with reason `max_output_tokens` (Responses). A content filter reports `content_filter`,
//! `refusal` or reason `content_filter`. An unknown directive gets the provider's 400.
//!
//! # Errors
//!
//! A body that is not a JSON object with a string `model` gets the provider's 400. When
//! [`MockOptions::expected_api_key`] is set, a request gets the provider's 401 unless it carries
//! that key: in `Authorization: Bearer` for OpenAI, and in `x-api-key` or `Authorization: Bearer`
//! for Anthropic (recent Anthropic SDKs send the latter).
//!
//! # Limitations
//!
//! - One choice only: `n` is ignored.
//! - The Responses API returns text only, never a function call.
//! - Pagination parameters of the model lists are ignored, and any model id is accepted.

#![warn(missing_docs)]

mod anthropic;
mod behavior;
mod error;
mod log;
mod models;
mod openai;
mod reply;
mod server;
mod sse;
mod tokens;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use behavior::BEHAVIOR_HEADER;
pub use log::{MockLog, ReceivedRequest};
pub use reply::TOOL_CALL_OUTPUT_TOKENS;
pub use tokens::{CACHE_MARKER, CACHED_TOKENS};

/// Number of received requests that a [`MockLog`] keeps; older ones are dropped first.
pub const LOG_CAPACITY: usize = 256;

/// Settings of a mock provider.
#[derive(Clone)]
pub struct MockOptions {
    /// Wait before the first output delta of a stream. Default: zero.
    pub first_token_delay: Duration,
    /// Wait before each later output delta. Default: zero.
    pub chunk_delay: Duration,
    /// Number of pieces a streamed output is split into, fewer when it has fewer characters.
    /// Zero counts as one. Default: 8.
    pub chunks: usize,
    /// API key that requests must carry; `None` accepts any key or none. Default: `None`.
    pub expected_api_key: Option<String>,
}

impl Default for MockOptions {
    fn default() -> Self {
        Self {
            first_token_delay: Duration::ZERO,
            chunk_delay: Duration::ZERO,
            chunks: 8,
            expected_api_key: None,
        }
    }
}

impl fmt::Debug for MockOptions {
    // The key stays out of debug output, like any other credential.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.expected_api_key.as_ref().map(|_| "<redacted>");
        formatter
            .debug_struct("MockOptions")
            .field("first_token_delay", &self.first_token_delay)
            .field("chunk_delay", &self.chunk_delay)
            .field("chunks", &self.chunks)
            .field("expected_api_key", &key)
            .finish()
    }
}

/// Builds the mock's router and the log that records every request it receives.
pub fn router(options: MockOptions) -> (Router, MockLog) {
    let log = MockLog::new(LOG_CAPACITY);
    let router = server::routes(options, log.clone());
    (router, log)
}

/// Serves the mock on `listener` until the server fails; callers stop it by dropping the future.
///
/// # Errors
///
/// Returns the I/O error that stopped the server.
pub async fn serve(listener: TcpListener, options: MockOptions) -> io::Result<()> {
    let (router, _log) = router(options);
    axum::serve(listener.tap_io(set_nodelay), router).await
}

/// Starts the mock on `listener` in a background task.
///
/// The server stops when [`MockServer::shutdown`] is called or the handle is dropped.
///
/// # Errors
///
/// Returns the error of reading the listener's local address.
///
/// # Panics
///
/// Panics when called outside a Tokio runtime.
pub fn spawn(listener: TcpListener, options: MockOptions) -> io::Result<MockServer> {
    let addr = listener.local_addr()?;
    let (router, log) = router(options);
    let (stop, stopped) = oneshot::channel::<()>();

    let task = tokio::spawn(async move {
        // A dropped sender also ends the wait, so dropping the handle stops the server.
        let shutdown = async move {
            let _ = stopped.await;
        };
        let _ = axum::serve(listener.tap_io(set_nodelay), router)
            .with_graceful_shutdown(shutdown)
            .await;
    });

    Ok(MockServer {
        addr,
        log,
        stop: Some(stop),
        task,
    })
}

/// Sends small writes at once: stream events would otherwise wait for the client's delayed
/// acknowledgements.
fn set_nodelay(stream: &mut tokio::net::TcpStream) {
    let _ = stream.set_nodelay(true);
}

/// A mock running in a background task, from [`spawn`].
#[must_use = "dropping the handle stops the server"]
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    log: MockLog,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl MockServer {
    /// Address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL for the OpenAI SDK, `http://ADDR/v1`.
    pub fn openai_base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Base URL for the Anthropic SDK, `http://ADDR`.
    pub fn anthropic_base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Log of the requests received.
    pub fn log(&self) -> &MockLog {
        &self.log
    }

    /// Stops accepting connections and waits until open connections have finished.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}
