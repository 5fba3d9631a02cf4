//! Upstream connections and the idle ones kept for reuse.
//!
//! A connection has no task of its own. Its holder (a call waiting for its response, or the
//! response body being read) polls it, so its reads and writes happen on the task that serves
//! the call. Idle connections are not polled at all; a connection the upstream closed
//! meanwhile is noticed when it is taken out.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1;
use hyper_rustls::MaybeHttpsStream;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The byte stream of an upstream connection, TLS or not.
pub(crate) type Io = MaybeHttpsStream<TokioIo<TcpStream>>;

/// One HTTP/1.1 connection to an upstream.
pub(crate) struct Conn {
    pub(crate) sender: http1::SendRequest<Full<Bytes>>,
    driver: Pin<Box<http1::Connection<Io, Full<Bytes>>>>,
    closed: bool,
}

impl Conn {
    pub(crate) fn new(
        sender: http1::SendRequest<Full<Bytes>>,
        driver: http1::Connection<Io, Full<Bytes>>,
    ) -> Conn {
        Conn {
            sender,
            driver: Box::pin(driver),
            closed: false,
        }
    }

    /// Moves the connection's reads and writes forward as far as they go without waiting.
    pub(crate) fn drive(&mut self, cx: &mut Context<'_>) {
        if self.closed {
            return;
        }
        if let Poll::Ready(result) = self.driver.as_mut().poll(cx) {
            self.closed = true;
            if let Err(error) = result {
                tracing::debug!(%error, "upstream connection closed with an error");
            }
        }
    }

    /// True when the connection is open and waits for a request.
    fn reusable(&self) -> bool {
        !self.closed && self.sender.is_ready()
    }
}

/// The destination of a connection: scheme and authority.
pub(crate) type PoolKey = (http::uri::Scheme, http::uri::Authority);

/// An idle connection and when it became idle.
struct Idle {
    conn: Conn,
    since: Instant,
}

/// Idle connections by upstream.
pub(crate) struct Pool {
    idle: Mutex<HashMap<PoolKey, Vec<Idle>>>,
    max_idle: usize,
    idle_timeout: Duration,
}

impl Pool {
    pub(crate) fn new(max_idle: usize, idle_timeout: Duration) -> Pool {
        Pool {
            idle: Mutex::new(HashMap::new()),
            max_idle,
            idle_timeout,
        }
    }

    /// Takes the most recently used idle connection to `key` that is still open.
    pub(crate) fn take(&self, key: &PoolKey, cx: &mut Context<'_>) -> Option<Conn> {
        loop {
            let idle = self.pop(key)?;
            let mut conn = idle.conn;
            conn.drive(cx);
            if conn.reusable() {
                return Some(conn);
            }
        }
    }

    fn pop(&self, key: &PoolKey) -> Option<Idle> {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let list = idle.get_mut(key)?;
        let fresh = list
            .iter()
            .position(|entry| entry.since.elapsed() < self.idle_timeout)
            .unwrap_or(list.len());
        list.drain(..fresh);
        list.pop()
    }

    /// Keeps `conn` for reuse when it is open and ready for another request.
    pub(crate) fn put(&self, key: PoolKey, mut conn: Conn, cx: &mut Context<'_>) {
        conn.drive(cx);
        if !conn.reusable() {
            return;
        }

        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let list = idle.entry(key).or_default();
        if list.len() >= self.max_idle {
            list.remove(0);
        }
        list.push(Idle {
            conn,
            since: Instant::now(),
        });
    }

    /// Closes the idle connections that have waited longer than the idle timeout or that the
    /// upstream has closed, so that their sockets do not linger while no call comes.
    pub(crate) fn sweep(&self) {
        let mut cx = Context::from_waker(Waker::noop());
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for list in idle.values_mut() {
            list.retain_mut(|entry| {
                entry.conn.drive(&mut cx);
                entry.since.elapsed() < self.idle_timeout && entry.conn.reusable()
            });
        }
        idle.retain(|_, list| !list.is_empty());
    }

    /// Idle connections to `key`, for tests.
    #[cfg(test)]
    pub(crate) fn idle_count(&self, key: &PoolKey) -> usize {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        idle.get(key).map_or(0, Vec::len)
    }
}
