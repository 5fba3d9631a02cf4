//! The HTTP client that talks to upstreams: HTTP/1.1 with idle connections kept for reuse. TLS
//! goes through rustls with the operating system's root certificates, or the bundled Mozilla
//! roots when the system has none. No proxy is taken from the environment, and no redirect is
//! followed.
//!
//! A call drives its upstream connection from its own task: the request is written, and the
//! response read, by the task that serves the client. A connection with a task of its own
//! would hand every response, and every event of a stream, from one task to the other. On a
//! small machine those hand-offs cost more than the rest of the gateway's work on a call.

mod body;
mod pool;

use std::fmt;
use std::future::poll_fn;
use std::pin::pin;
use std::sync::{Arc, Weak};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::uri::{PathAndQuery, Scheme, Uri};
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use tower_service::Service;

pub use body::ResponseBody;
use pool::{Conn, Pool, PoolKey};

/// Idle connections are closed after this long.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// How often idle connections are checked for their timeout and for a close by the upstream.
const POOL_SWEEP_INTERVAL: Duration = Duration::from_secs(30);
/// Idle connections kept per upstream. A burst can open thousands; keeping them all would keep
/// their buffers too.
const POOL_MAX_IDLE: usize = 256;
/// Maximum read buffer of one upstream connection. A buffer grows when a read fills it, as
/// happens when many stream events wait in the socket, so the cap bounds what each pooled
/// connection keeps after a burst.
const MAX_READ_BUFFER: usize = 64 * 1024;

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
    /// The connection failed before the response headers arrived.
    #[error("request failed")]
    Request(#[source] hyper::Error),
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
        request: Request<Full<Bytes>>,
    ) -> Result<Response<ResponseBody>, ClientError> {
        let uri = request.uri().clone();
        let key = pool_key(&uri)?;
        let mut request = origin_form(request, &key);

        loop {
            let idle = poll_fn(|cx| Poll::Ready(self.pool.take(&key, cx))).await;
            let reused = idle.is_some();
            let mut conn = match idle {
                Some(conn) => conn,
                None => self.connect(&uri).await?,
            };

            match send(&mut conn, request).await {
                Ok(response) => {
                    let pool = Arc::clone(&self.pool);
                    return Ok(response.map(|body| ResponseBody::new(body, conn, pool, key)));
                }
                Err(mut failed) => match failed.take_message() {
                    // The upstream closed an idle connection before the request went out.
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(ClientError::Request(failed.into_error())),
                },
            }
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

        let (sender, driver) = http1::Builder::new()
            .max_buf_size(MAX_READ_BUFFER)
            .handshake(io)
            .await
            .map_err(ClientError::Request)?;
        Ok(Conn::new(sender, driver))
    }
}

/// Sends `request` on `conn`, driving the connection until the response headers arrive.
async fn send(
    conn: &mut Conn,
    request: Request<Full<Bytes>>,
) -> Result<Response<Incoming>, hyper::client::conn::TrySendError<Request<Full<Bytes>>>> {
    let mut response = pin!(conn.sender.try_send_request(request));
    poll_fn(|cx| {
        conn.drive(cx);
        response.as_mut().poll(cx)
    })
    .await
}

fn pool_key(uri: &Uri) -> Result<PoolKey, ClientError> {
    match (uri.scheme(), uri.authority()) {
        (Some(scheme), Some(authority)) => Ok((scheme.clone(), authority.clone())),
        _ => Err(ClientError::Url(format!("{uri} needs a scheme and a host"))),
    }
}

/// Rewrites an absolute URI to the path form that HTTP/1.1 sends to a server, and sets the
/// `Host` header from it unless the request has one.
fn origin_form(mut request: Request<Full<Bytes>>, key: &PoolKey) -> Request<Full<Bytes>> {
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
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

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

    async fn serve(mut stream: TcpStream, response: &[u8], close_after_response: bool) {
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
        let request = Request::get(url).body(Full::new(Bytes::new())).unwrap();
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

        let request = Request::get(&url).body(Full::new(Bytes::new())).unwrap();
        let response = client.request(request).await.unwrap();
        drop(response);

        let read = tokio::time::timeout(Duration::from_secs(5), upstream)
            .await
            .expect("the upstream saw the connection close")
            .unwrap();
        assert_eq!(read, 0);
    }

    #[test]
    fn origin_form_sets_path_and_host() {
        let request = Request::get("https://api.example.com:443/v1/chat?x=1")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let key = pool_key(request.uri()).unwrap();
        let request = origin_form(request, &key);
        assert_eq!(request.uri().to_string(), "/v1/chat?x=1");
        assert_eq!(request.headers()[header::HOST], "api.example.com");

        let request = Request::get("http://127.0.0.1:8000/v1")
            .body(Full::new(Bytes::new()))
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
