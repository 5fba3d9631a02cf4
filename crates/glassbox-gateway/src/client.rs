//! The HTTP client that talks to upstreams: connection pooling, HTTP/1.1, TLS through rustls
//! with the operating system's root certificates (the bundled Mozilla roots when the system
//! has none), no proxy taken from the environment, and no redirects followed.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The upstream client.
pub type UpstreamClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Idle pooled connections are closed after this long.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Idle connections kept per upstream. A burst can open thousands; keeping them all would keep
/// their buffers too.
const POOL_MAX_IDLE: usize = 256;
/// Maximum read buffer of one upstream connection. A buffer grows when a read fills it, as
/// happens when many stream events wait in the socket, so the cap bounds what each pooled
/// connection keeps after a burst.
const MAX_READ_BUFFER: usize = 64 * 1024;

/// Builds the client.
pub fn build(connect_timeout: Duration) -> Result<UpstreamClient, String> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));

    let https = connector(http)?;
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .pool_max_idle_per_host(POOL_MAX_IDLE)
        .http1_max_buf_size(MAX_READ_BUFFER)
        .build(https))
}

#[expect(
    deprecated,
    reason = "ring lacks post-quantum key exchange; aws-lc-rs has it but adds minutes of C build"
)]
fn connector(http: HttpConnector) -> Result<HttpsConnector<HttpConnector>, String> {
    let provider = || rustls::crypto::ring::default_provider();
    let builder = match HttpsConnectorBuilder::new().with_provider_and_native_roots(provider()) {
        Ok(builder) => builder,
        Err(_) => HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider())
            .map_err(|error| format!("failed to set up TLS for upstreams: {error}"))?,
    };
    Ok(builder.https_or_http().enable_http1().wrap_connector(http))
}
