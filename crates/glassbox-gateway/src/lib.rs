//! The gateway: OpenAI- and Anthropic-compatible endpoints that forward each call to a
//! configured upstream and record it as a span.
//!
//! A client changes only its base URL. The request goes to the upstream chosen by
//! [`upstream::Upstreams::route`]; the response comes back byte for byte, streams chunk by
//! chunk as they arrive. Two changes are made, both invisible to the client. OpenAI-style
//! streams are asked for their token usage, and the chunks that carry it are removed again
//! when the client did not request them. Compression is not requested upstream, so the
//! gateway can read what it records.
//!
//! Recording stays off the request path ([`recorder`]): when it falls behind or the store
//! fails, calls still succeed and the loss is counted. Credentials are forwarded or replaced,
//! never stored or logged.
//!
//! Not handled yet: the Responses API's retrieve, cancel and delete routes, the Assistants,
//! Batch, Files, Images and Audio APIs, and WebSocket transports.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod client;
pub mod config;
pub mod endpoint;
pub mod error;
pub mod headers;
pub mod proxy;
pub mod record;
pub mod recorder;
pub mod request;
pub mod sse;
pub mod tap;
pub mod upstream;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use glassbox_ingest::Ingest;

pub use config::{CaptureMode, Dialect, GatewayConfig, UpstreamConfig};
use endpoint::Endpoint;
pub use proxy::Gateway;
pub use record::Outcome;
pub use recorder::{GatewayHealth, GatewayStats, Recorder};
pub use upstream::BaseUrls;

/// Starts the recorder and builds the gateway. Fails with a message that names the setting
/// when the configuration cannot work.
/// Recorded calls go through the ingest's batch writer, enricher and analyzers.
pub fn start(
    config: &GatewayConfig,
    base_urls: &BaseUrls,
    ingest: &Ingest,
) -> Result<(Arc<Gateway>, tokio::task::JoinHandle<()>), String> {
    config.validate()?;
    let upstreams = upstream::Upstreams::from_config(config, base_urls)?;
    let client = client::build(Duration::from_secs(config.connect_timeout_secs))?;
    let options = record::RecordOptions {
        capture: config.capture,
        service_name: config.service_name.clone(),
        analyzers: Arc::clone(ingest.analyzers()),
    };
    let (recorder, task) = Recorder::start(
        ingest.writer().clone(),
        Arc::clone(ingest.enricher()),
        options,
        config.record_queue,
        config.record_queue_bytes,
    )?;
    let limits = proxy::ProxyLimits {
        max_body_bytes: config.max_body_bytes,
        max_capture_bytes: config.max_capture_bytes,
        response_timeout: Duration::from_secs(config.response_timeout_secs),
        idle_timeout: Duration::from_secs(config.idle_timeout_secs),
    };
    let gateway = Gateway::new(upstreams, client, recorder, limits);
    Ok((Arc::new(gateway), task))
}

/// Returns the routes of the gateway endpoints, to merge into the main router.
pub fn router(gateway: Arc<Gateway>) -> Router {
    let recorded = [
        ("/v1/chat/completions", Endpoint::ChatCompletions),
        ("/v1/completions", Endpoint::Completions),
        ("/v1/embeddings", Endpoint::Embeddings),
        ("/v1/responses", Endpoint::Responses),
        ("/v1/messages", Endpoint::Messages),
        ("/v1/messages/count_tokens", Endpoint::CountTokens),
    ];
    let mut router = Router::new();
    for (path, endpoint) in recorded {
        router = router.route(
            path,
            post(move |state, request| proxy::call(state, endpoint, request)),
        );
    }
    router
        .route("/v1/models", get(proxy::models))
        .route("/v1/models/{*id}", get(proxy::models))
        .with_state(gateway)
}
