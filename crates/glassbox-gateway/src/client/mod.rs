//! The HTTP client that talks to upstreams: HTTP/1.1 with idle connections kept for reuse. TLS
//! goes through rustls with the operating system's root certificates, or the bundled Mozilla
//! roots when the system has none. No proxy is taken from the environment, and no redirect is
//! followed.
//!
//! A call reads and writes its upstream connection from its own task, and the response body
//! hands over at once everything that has arrived. A connection with a task of its own would
//! pass every response from one task to the other, and a body read chunk by chunk would pass
//! every event of a stream through the layers above on its own. On a small machine either
//! costs more than the rest of the gateway's work on a call.

mod body;
mod conn;
mod pool;
mod wire;

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::uri::{PathAndQuery, Scheme, Uri};
use http::{Request, Response};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use tower_service::Service;

pub use body::ResponseBody;
use body::Reuse;
use conn::{Conn, NoResponse, Sent};
use pool::{Pool, PoolKey};
pub(crate) use wire::connection_options;
use wire::{Decoder, Head, body_apart, encode_request};

/// Idle connections are closed after this long.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// How often idle connections are checked for their timeout and for a close by the upstream.
const POOL_SWEEP_INTERVAL: Duration = Duration::from_secs(30);
/// A reused connection that ends without a response this soon after the request was written
/// was closed by its upstream for being idle. One second is an estimate that covers a round
/// trip to a distant upstream.
const IDLE_CLOSE_WINDOW: Duration = Duration::from_secs(1);
/// Idle connections kept per upstream. A burst can open thousands; keeping them all would keep
/// their buffers too.
const POOL_MAX_IDLE: usize = 256;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The upstream client. Clones share their idle connections.
#[derive(Clone)]
pub struct UpstreamClient {
    connector: HttpsConnector<HttpConnector>,
    pool: Arc<Pool>,
}

impl fmt::Debug for UpstreamClient {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("UpstreamClient")
            .finish_non_exhaustive()
    }
}

/// The reason a request got no response.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL has no scheme or no host.
    #[error("invalid upstream URL: {0}")]
    Url(String),
    /// No connection could be opened.
    #[error("failed to connect")]
    Connect(#[source] BoxError),
    /// The connection failed before the response head arrived, or the head was malformed.
    #[error("request failed")]
    Request(#[source] io::Error),
}

/// Builds the client. Inside a Tokio runtime, a task closes idle connections that timed out
/// or that their upstream closed, until the client and its clones are dropped.
pub fn build(connect_timeout: Duration) -> Result<UpstreamClient, String> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));

    let pool = Arc::new(Pool::new(POOL_MAX_IDLE, POOL_IDLE_TIMEOUT));
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(sweep(Arc::downgrade(&pool)));
    }
    Ok(UpstreamClient {
        connector: connector(http)?,
        pool,
    })
}

async fn sweep(pool: Weak<Pool>) {
    let mut interval = tokio::time::interval(POOL_SWEEP_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(pool) = pool.upgrade() else {
            return;
        };
        pool.sweep();
    }
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

impl UpstreamClient {
    /// Sends `request`, whose URI must be absolute, on an idle connection to its upstream or
    /// a new one. The response body keeps the connection until it has been read to its end.
    pub async fn request(
        &self,
        request: Request<Bytes>,
    ) -> Result<Response<ResponseBody>, ClientError> {
        let uri = request.uri().clone();
        let key = pool_key(&uri)?;
        let request = origin_form(request, &key);
        let wire = encode_request(&request);

        loop {
            let idle = self.pool.take(&key);
            let reused = idle.is_some();
            let mut conn = match idle {
                Some(conn) => conn,
                None => self.connect(&uri).await?,
            };

            let written = conn.write(&wire, body_apart(&request)).await;
            // The upstream closed an idle connection before the request went out.
            if written.is_err() && reused {
                continue;
            }
            let sent = Instant::now();
            let whole = matches!(written, Ok(Sent::Whole));
            let head = match (written, conn.read_head(request.method()).await) {
                // A connection whose request was cut short cannot carry another.
                (_, Ok(head)) if !whole => Head {
                    keep_alive: false,
                    ..head
                },
                (_, Ok(head)) => head,
                // The upstream closed an idle connection as the request went out.
                (Ok(_), Err(error)) if reused && closed_while_idle(&error, sent) => {
                    tracing::debug!(
                        upstream = %key.1,
                        %error,
                        "sending the request again on a new connection"
                    );
                    continue;
                }
                // An upstream may respond, with a 413 for example, and close before it has read
                // the whole body. Its response is passed on instead of the write error.
                (Err(error), Err(_)) | (Ok(_), Err(error)) => {
                    return Err(ClientError::Request(error));
                }
            };

            let reuse = head.keep_alive.then(|| Reuse {
                pool: Arc::clone(&self.pool),
                key,
                keep_alive: head.keep_alive_timeout,
            });
            let body = ResponseBody::new(conn, Decoder::new(head.framing), reuse);
            let mut response = Response::new(body);
            *response.status_mut() = head.status;
            *response.version_mut() = head.version;
            *response.headers_mut() = head.headers;
            return Ok(response);
        }
    }

    async fn connect(&self, uri: &Uri) -> Result<Conn, ClientError> {
        let mut connector = self.connector.clone();
        poll_fn(|cx| connector.poll_ready(cx))
            .await
            .map_err(ClientError::Connect)?;
        let io = connector
            .call(uri.clone())
            .await
            .map_err(ClientError::Connect)?;
        Ok(Conn::new(TokioIo::new(io)))
    }
}

/// Returns true when a reused connection that failed with `error` was most likely closed by
/// its upstream for being idle, just as the request went out: it ended without a byte of a
/// response within [`IDLE_CLOSE_WINDOW`] of the request. An upstream that closes idle
/// connections without announcing a timeout (uvicorn after 5 s, for one) resets the
/// connection when such a request arrives. It never read the request, so sending it again on
/// a new connection is safe. A connection that ends later may have carried a request the
/// upstream worked on.
fn closed_while_idle(error: &io::Error, sent: Instant) -> bool {
    NoResponse::of(error).is_some() && sent.elapsed() < IDLE_CLOSE_WINDOW
}

fn pool_key(uri: &Uri) -> Result<PoolKey, ClientError> {
    match (uri.scheme(), uri.authority()) {
        (Some(scheme), Some(authority)) => Ok((scheme.clone(), authority.clone())),
        _ => Err(ClientError::Url(format!("{uri} needs a scheme and a host"))),
    }
}

/// Rewrites an absolute URI to the path form that HTTP/1.1 sends to a server, and sets the
/// `Host` header from it unless the request has one.
fn origin_form(mut request: Request<Bytes>, key: &PoolKey) -> Request<Bytes> {
    let (scheme, authority) = key;
    if !request.headers().contains_key(header::HOST) {
        let default_port = if *scheme == Scheme::HTTPS { 443 } else { 80 };
        let host = match authority.port_u16() {
            Some(port) if port == default_port => authority.host(),
            _ => authority.as_str(),
        };
        if let Ok(value) = HeaderValue::from_str(host) {
            request.headers_mut().insert(header::HOST, value);
        }
    }

    let path = request
        .uri()
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    *request.uri_mut() = Uri::from(path);
    request
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http_body_util::BodyExt;
    use hyper::body::Body;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";
    /// The same response in chunks, as streams arrive.
    const CHUNKED: &[u8] =
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n";

    /// Starts an upstream that sends `response` to every request, and closes each connection
    /// after its first response when `close_after_response`. Returns its URL and its accept
    /// count.
    async fn upstream(
        response: &'static [u8],
        close_after_response: bool,
    ) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/models", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, response, close_after_response));
            }
        });
        (url, accepted)
    }

    async fn serve(
        mut stream: impl AsyncRead + AsyncWrite + Unpin,
        response: &[u8],
        close_after_response: bool,
    ) {
        let mut received = Vec::new();
        let mut buffer = [0; 1024];
        loop {
            let Ok(read) = stream.read(&mut buffer).await else {
                return;
            };
            if read == 0 {
                return;
            }
            received.extend_from_slice(&buffer[..read]);
            if let Some(end) = received.windows(4).position(|window| window == b"\r\n\r\n") {
                received.drain(..end + 4);
                stream.write_all(response).await.unwrap();
                if close_after_response {
                    return;
                }
            }
        }
    }

    async fn get(client: &UpstreamClient, url: &str) -> Bytes {
        let request = Request::get(url).body(Bytes::new()).unwrap();
        let response = client.request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        response.into_body().collect().await.unwrap().to_bytes()
    }

    /// Makes one call to `url`, which leaves its connection in the pool, and returns the key
    /// of that connection.
    async fn call_once(client: &UpstreamClient, url: &str) -> PoolKey {
        assert_eq!(get(client, url).await, "hello");
        pool_key(&url.parse().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn calls_in_turn_share_one_connection() {
        for response in [RESPONSE, CHUNKED] {
            let (url, accepted) = upstream(response, false).await;
            let client = build(Duration::from_secs(5)).unwrap();

            for _ in 0..3 {
                assert_eq!(get(&client, &url).await, "hello");
            }

            assert_eq!(accepted.load(Ordering::SeqCst), 1);
            let key = pool_key(&url.parse().unwrap()).unwrap();
            assert_eq!(client.pool.idle_count(&key), 1);
        }
    }

    #[tokio::test]
    async fn connection_closed_while_idle_is_replaced() {
        let (url, accepted) = upstream(RESPONSE, true).await;
        let client = build(Duration::from_secs(5)).unwrap();

        assert_eq!(get(&client, &url).await, "hello");
        // Let the upstream's close arrive while the connection sits in the pool.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(get(&client, &url).await, "hello");

        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn sweep_closes_connections_the_upstream_closed() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/models", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buffer = [0; 1024];
            let _ = stream.read(&mut buffer).await.unwrap();
            stream.write_all(RESPONSE).await.unwrap();
            // Close only once the connection waits in the pool.
            tokio::time::sleep(Duration::from_millis(300)).await;
        });
        let client = build(Duration::from_secs(5)).unwrap();
        let key = call_once(&client, &url).await;
        assert_eq!(client.pool.idle_count(&key), 1);
        tokio::time::sleep(Duration::from_millis(600)).await;

        client.pool.sweep();

        assert_eq!(client.pool.idle_count(&key), 0);
    }

    #[tokio::test]
    async fn sweep_closes_connections_past_the_idle_timeout() {
        let (url, _) = upstream(RESPONSE, false).await;
        let mut client = build(Duration::from_secs(5)).unwrap();
        client.pool = Arc::new(Pool::new(POOL_MAX_IDLE, Duration::from_millis(300)));
        let key = call_once(&client, &url).await;

        client.pool.sweep();
        assert_eq!(client.pool.idle_count(&key), 1);
        tokio::time::sleep(Duration::from_millis(600)).await;
        client.pool.sweep();

        assert_eq!(client.pool.idle_count(&key), 0);
    }

    #[tokio::test]
    async fn body_dropped_before_its_end_closes_the_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/models", listener.local_addr().unwrap());
        let upstream = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buffer = [0; 1024];
            let _ = stream.read(&mut buffer).await.unwrap();
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nhalf")
                .await
                .unwrap();
            // The client's end of the connection closes, so the read returns end of file.
            stream.read(&mut buffer).await.unwrap()
        });
        let client = build(Duration::from_secs(5)).unwrap();

        let request = Request::get(&url).body(Bytes::new()).unwrap();
        let response = client.request(request).await.unwrap();
        drop(response);

        let read = tokio::time::timeout(Duration::from_secs(5), upstream)
            .await
            .expect("the upstream saw the connection close")
            .unwrap();
        assert_eq!(read, 0);
    }

    /// Starts an upstream that responds to one request with `parts`, written one after the other
    /// as the test allows through the returned sender, then keeps the connection open.
    async fn paced_upstream(
        parts: &'static [&'static [u8]],
    ) -> (String, tokio::sync::mpsc::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/v1/chat/completions",
            listener.local_addr().unwrap()
        );
        let (next, mut allowed) = tokio::sync::mpsc::channel(1);
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buffer = [0; 1024];
            let _ = stream.read(&mut buffer).await.unwrap();
            for part in parts {
                stream.write_all(part).await.unwrap();
                if allowed.recv().await.is_none() {
                    return;
                }
            }
            let _ = stream.read(&mut buffer).await;
        });
        (url, next)
    }

    #[tokio::test]
    async fn stream_arrives_as_it_is_sent() {
        let parts: &[&[u8]] = &[
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n6\r\nfirst \r\n",
            b"3\r\nand\r\n4\r\n las\r\n1\r\nt\r\n0\r\n\r\n",
        ];
        let (url, next) = paced_upstream(parts).await;
        let client = build(Duration::from_secs(5)).unwrap();
        let request = Request::post(&url).body(Bytes::from_static(b"{}")).unwrap();
        let mut body = client.request(request).await.unwrap().into_body();

        let within = Duration::from_secs(5);
        let first = tokio::time::timeout(within, body.frame()).await;
        let first = first.expect("the first chunk came before the rest was sent");
        assert_eq!(first.unwrap().unwrap().into_data().unwrap(), "first ");
        next.send(()).await.unwrap();
        // The three chunks that came together leave as one piece.
        let rest = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(rest, "and last");
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn large_body_reaches_the_upstream_whole() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/embeddings", listener.local_addr().unwrap());
        let upstream = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut received = Vec::new();
            let mut buffer = [0; 16 * 1024];
            let (head, length) = loop {
                let read = stream.read(&mut buffer).await.unwrap();
                received.extend_from_slice(&buffer[..read]);
                if let Some(end) = received.windows(4).position(|window| window == b"\r\n\r\n") {
                    let head = String::from_utf8(received[..end].to_vec()).unwrap();
                    let length: usize = head
                        .lines()
                        .find_map(|line| line.strip_prefix("content-length: "))
                        .unwrap()
                        .parse()
                        .unwrap();
                    received.drain(..end + 4);
                    break (head, length);
                }
            };
            while received.len() < length {
                let read = stream.read(&mut buffer).await.unwrap();
                received.extend_from_slice(&buffer[..read]);
            }
            stream.write_all(RESPONSE).await.unwrap();
            (head, received)
        });
        let client = build(Duration::from_secs(5)).unwrap();
        let body = Bytes::from(vec![b'x'; 100_000]);

        let request = Request::post(&url).body(body.clone()).unwrap();
        let response = client.request(request).await.unwrap();
        assert_eq!(
            response.into_body().collect().await.unwrap().to_bytes(),
            "hello"
        );

        let (head, received) = upstream.await.unwrap();
        assert!(
            head.starts_with("POST /v1/embeddings HTTP/1.1\r\n"),
            "{head}"
        );
        assert_eq!(received, body);
    }

    /// Binds a loopback listener and returns it with the URL of `path` on it.
    async fn listen(path: &str) -> (TcpListener, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}{path}", listener.local_addr().unwrap());
        (listener, url)
    }

    /// Starts an upstream that answers its first request with a 413 once the head has arrived,
    /// without reading the body. It closes the connection then, or, with `held`, keeps it open
    /// until `held` resolves. Returns its URL.
    async fn early_413_upstream(held: Option<tokio::sync::oneshot::Receiver<()>>) -> String {
        let (listener, url) = listen("/v1/embeddings").await;
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buffer = [0; 1024];
            let _ = stream.read(&mut buffer).await.unwrap();
            let response = b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 8\r\n\r\ntoo long";
            stream.write_all(response).await.unwrap();
            if let Some(held) = held {
                let _ = held.await;
            }
            // Closing with the body unread resets the connection, which may fail the client's
            // write before it reads the response.
        });
        url
    }

    /// Posts `body` and returns the response, or `None` when none came within 10 s.
    async fn post_within(
        client: &UpstreamClient,
        url: &str,
        body: Bytes,
    ) -> Option<Response<ResponseBody>> {
        let request = Request::post(url).body(body).unwrap();
        let call = client.request(request);
        let response = tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .ok()?;
        Some(response.unwrap())
    }

    #[tokio::test]
    async fn early_response_reaches_the_client() {
        let url = early_413_upstream(None).await;
        let client = build(Duration::from_secs(5)).unwrap();
        let body = Bytes::from(vec![b'x'; 64 * 1024 * 1024]);

        let request = Request::post(&url).body(body).unwrap();
        let response = client.request(request).await.unwrap();

        assert_eq!(response.status(), 413);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "too long");
    }

    #[tokio::test]
    async fn early_response_without_close_arrives() {
        let (release, held) = tokio::sync::oneshot::channel::<()>();
        let url = early_413_upstream(Some(held)).await;
        let client = build(Duration::from_secs(5)).unwrap();
        let body = Bytes::from(vec![b'x'; 64 * 1024 * 1024]);

        let response = post_within(&client, &url, body)
            .await
            .expect("the response should arrive while the body is still being written");

        assert_eq!(response.status(), 413);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "too long");
        let key = pool_key(&url.parse().unwrap()).unwrap();
        assert_eq!(client.pool.idle_count(&key), 0);
        drop(release);
    }

    #[tokio::test]
    async fn interim_response_does_not_stop_the_body() {
        const BODY: usize = 64 * 1024 * 1024;
        let (listener, url) = listen("/v1/embeddings").await;
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buffer = vec![0; 64 * 1024];
            let read = stream.read(&mut buffer).await.unwrap();
            let head = buffer
                .windows(4)
                .position(|window| window == b"\r\n\r\n")
                .unwrap()
                + 4;
            let mut received = read - head;
            stream
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await
                .unwrap();
            // The client's write fills the socket and waits while the interim response arrives.
            tokio::time::sleep(Duration::from_millis(200)).await;
            while received < BODY {
                let read = stream.read(&mut buffer).await.unwrap();
                assert_ne!(read, 0, "the body stopped after {received} bytes");
                received += read;
            }
            stream.write_all(RESPONSE).await.unwrap();
        });
        let client = build(Duration::from_secs(5)).unwrap();
        let body = Bytes::from(vec![b'x'; BODY]);

        let response = post_within(&client, &url, body)
            .await
            .expect("the whole body should go out after the interim response");

        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "hello");
    }

    /// The way an upstream ends its first connection at the second request.
    #[derive(Clone, Copy)]
    enum Ending {
        /// Closes the connection with the request unread, which resets it.
        Unread,
        /// Reads the request and closes the connection.
        Read,
        /// Waits this long after the request arrived, then closes.
        After(Duration),
    }

    /// Starts an upstream whose first connection responds to one request and then ends in
    /// the way `ending` names at the next one. Later connections respond to every request.
    /// Returns its URL and its accept count.
    async fn closing_upstream(ending: Ending) -> (String, Arc<AtomicUsize>) {
        let (listener, url) = listen("/v1/chat/completions").await;
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        tokio::spawn(async move {
            let (mut first, _) = listener.accept().await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            let mut buffer = [0; 1024];
            let _ = first.read(&mut buffer).await.unwrap();
            first.write_all(RESPONSE).await.unwrap();
            first.readable().await.unwrap();
            match ending {
                Ending::Unread => {}
                Ending::Read => {
                    let _ = first.read(&mut buffer).await.unwrap();
                }
                Ending::After(wait) => tokio::time::sleep(wait).await,
            }
            drop(first);
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, RESPONSE, false));
            }
        });
        (url, accepted)
    }

    async fn post(client: &UpstreamClient, url: &str) -> Result<Bytes, ClientError> {
        let request = Request::post(url).body(Bytes::from("{}")).unwrap();
        let response = client.request(request).await?;
        Ok(response.into_body().collect().await.unwrap().to_bytes())
    }

    #[tokio::test]
    async fn idle_close_request_is_sent_again() {
        for ending in [Ending::Unread, Ending::Read] {
            let (url, accepted) = closing_upstream(ending).await;
            let client = build(Duration::from_secs(5)).unwrap();

            assert_eq!(post(&client, &url).await.unwrap(), "hello");
            assert_eq!(post(&client, &url).await.unwrap(), "hello");

            assert_eq!(accepted.load(Ordering::SeqCst), 2);
        }
    }

    #[tokio::test]
    async fn late_close_request_is_not_sent_again() {
        let wait = IDLE_CLOSE_WINDOW + Duration::from_millis(200);
        let (url, accepted) = closing_upstream(Ending::After(wait)).await;
        let client = build(Duration::from_secs(5)).unwrap();

        assert_eq!(post(&client, &url).await.unwrap(), "hello");
        let Err(ClientError::Request(cause)) = post(&client, &url).await else {
            panic!("a request the upstream may have worked on must not go out again");
        };

        assert!(NoResponse::of(&cause).is_some(), "{cause}");
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn new_connection_closed_unanswered_fails() {
        let (listener, url) = listen("/v1/chat/completions").await;
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                let mut buffer = [0; 1024];
                let _ = stream.read(&mut buffer).await;
            }
        });
        let client = build(Duration::from_secs(5)).unwrap();

        let Err(ClientError::Request(cause)) = post(&client, &url).await else {
            panic!("a connection closed without a response should fail the request");
        };

        assert_eq!(NoResponse::of(&cause), Some(NoResponse::Closed));
        assert_eq!(
            cause.to_string(),
            "the upstream closed the connection without a response"
        );
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn announced_keep_alive_limits_reuse() {
        let short = b"HTTP/1.1 200 OK\r\nkeep-alive: timeout=1\r\ncontent-length: 5\r\n\r\nhello";
        let long = b"HTTP/1.1 200 OK\r\nkeep-alive: timeout=30\r\ncontent-length: 5\r\n\r\nhello";
        let client = build(Duration::from_secs(5)).unwrap();

        let (url, _) = upstream(short, false).await;
        let key = call_once(&client, &url).await;
        assert_eq!(client.pool.idle_count(&key), 0);

        let (url, _) = upstream(long, false).await;
        let key = call_once(&client, &url).await;
        assert_eq!(client.pool.idle_count(&key), 1);
    }

    #[tokio::test]
    async fn empty_body_returns_its_connection_unread() {
        let (url, _) = upstream(b"HTTP/1.1 204 No Content\r\n\r\n", false).await;
        let client = build(Duration::from_secs(5)).unwrap();

        let request = Request::post(&url).body(Bytes::from_static(b"{}")).unwrap();
        let response = client.request(request).await.unwrap();
        assert_eq!(response.status(), 204);
        assert!(response.body().is_end_stream());
        drop(response);

        let key = pool_key(&url.parse().unwrap()).unwrap();
        assert_eq!(client.pool.idle_count(&key), 1);
    }

    #[tokio::test]
    async fn connection_the_upstream_will_close_is_not_kept() {
        let response = b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 5\r\n\r\nhello";
        let (url, _) = upstream(response, true).await;
        let client = build(Duration::from_secs(5)).unwrap();

        let key = call_once(&client, &url).await;

        assert_eq!(client.pool.idle_count(&key), 0);
    }

    #[tokio::test]
    async fn malformed_head_is_an_error() {
        let (url, _) = upstream(b"HTTP/1.1 2OO OK\r\n\r\n", true).await;
        let client = build(Duration::from_secs(5)).unwrap();

        let request = Request::get(&url).body(Bytes::new()).unwrap();
        let Err(ClientError::Request(cause)) = client.request(request).await else {
            panic!("a malformed head should fail the request");
        };
        assert_eq!(cause.kind(), io::ErrorKind::InvalidData);
        assert!(
            cause.to_string().contains("malformed response head"),
            "{cause}"
        );
    }

    #[tokio::test]
    async fn body_cut_short_is_an_error() {
        let response = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nhalf";
        let (url, _) = upstream(response, true).await;
        let client = build(Duration::from_secs(5)).unwrap();

        let request = Request::get(&url).body(Bytes::new()).unwrap();
        let body = client.request(request).await.unwrap().into_body();
        let error = body.collect().await.unwrap_err();

        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        assert!(error.to_string().contains("before the body was complete"));
    }

    #[expect(deprecated, reason = "the client uses ring too, see `connector`")]
    fn tls_provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    /// Builds a client that trusts only the test certificate authority.
    fn tls_client() -> UpstreamClient {
        let ca = include_bytes!("../../tests/data/tls/ca.pem");
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(ca).unwrap())
            .unwrap();
        let config = rustls::ClientConfig::builder_with_provider(tls_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_only()
            .enable_http1()
            .wrap_connector(http);
        UpstreamClient {
            connector,
            pool: Arc::new(Pool::new(POOL_MAX_IDLE, POOL_IDLE_TIMEOUT)),
        }
    }

    /// Starts an HTTPS upstream with the test certificate, as [`upstream`] does over plain TCP.
    async fn tls_upstream(
        response: &'static [u8],
        close_after_response: bool,
    ) -> (String, Arc<AtomicUsize>) {
        let certificate = include_bytes!("../../tests/data/tls/server.pem");
        let key = include_bytes!("../../tests/data/tls/server.key");
        let config = rustls::ServerConfig::builder_with_provider(tls_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from_pem_slice(certificate).unwrap()],
                PrivateKeyDer::from_pem_slice(key).unwrap(),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}/v1/models", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let stream = acceptor.accept(stream).await.unwrap();
                    serve(stream, response, close_after_response).await;
                });
            }
        });
        (url, accepted)
    }

    #[tokio::test]
    async fn https_calls_share_one_connection() {
        for response in [RESPONSE, CHUNKED] {
            let (url, accepted) = tls_upstream(response, false).await;
            let client = tls_client();

            for _ in 0..3 {
                assert_eq!(get(&client, &url).await, "hello");
            }

            assert_eq!(accepted.load(Ordering::SeqCst), 1);
        }
    }

    #[tokio::test]
    async fn https_connection_closed_while_idle_is_replaced() {
        let (url, accepted) = tls_upstream(RESPONSE, true).await;
        let client = tls_client();

        assert_eq!(get(&client, &url).await, "hello");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(get(&client, &url).await, "hello");

        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn origin_form_sets_path_and_host() {
        let request = Request::get("https://api.example.com:443/v1/chat?x=1")
            .body(Bytes::new())
            .unwrap();
        let key = pool_key(request.uri()).unwrap();
        let request = origin_form(request, &key);
        assert_eq!(request.uri().to_string(), "/v1/chat?x=1");
        assert_eq!(request.headers()[header::HOST], "api.example.com");

        let request = Request::get("http://127.0.0.1:8000/v1")
            .body(Bytes::new())
            .unwrap();
        let key = pool_key(request.uri()).unwrap();
        assert_eq!(
            origin_form(request, &key).headers()[header::HOST],
            "127.0.0.1:8000"
        );
    }

    #[test]
    fn relative_url_is_an_error() {
        let error = pool_key(&"/v1/models".parse().unwrap()).unwrap_err();
        assert!(
            error.to_string().contains("needs a scheme and a host"),
            "{error}"
        );
    }
}
