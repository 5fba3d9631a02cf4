//! Idle upstream connections kept for reuse.
//!
//! Idle connections are not polled. One that the upstream closed meanwhile is noticed when it
//! is taken out, or by the periodic sweep.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::conn::Conn;

/// A connection is retired this long before the keep-alive timeout its upstream announced, so
/// that a request does not go out just as the upstream closes the connection.
const KEEP_ALIVE_MARGIN: Duration = Duration::from_secs(1);

/// The destination of a connection: scheme and authority.
pub(crate) type PoolKey = (http::uri::Scheme, http::uri::Authority);

/// An idle connection and when it stops being reused.
struct Idle {
    conn: Conn,
    expires: Instant,
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
    pub(crate) fn take(&self, key: &PoolKey) -> Option<Conn> {
        loop {
            let mut conn = self.pop(key)?.conn;
            if conn.is_idle_and_open() {
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
        let now = Instant::now();
        list.retain(|entry| entry.expires > now);
        list.pop()
    }

    /// Keeps `conn` for reuse when it is open and ready for another request, until the pool's
    /// idle timeout or, when it is shorter, the upstream's announced `keep_alive` timeout.
    pub(crate) fn put(&self, key: PoolKey, mut conn: Conn, keep_alive: Option<Duration>) {
        let lifetime = match keep_alive {
            Some(upstream) => upstream
                .saturating_sub(KEEP_ALIVE_MARGIN)
                .min(self.idle_timeout),
            None => self.idle_timeout,
        };
        if lifetime.is_zero() || !conn.is_idle_and_open() {
            return;
        }
        conn.shrink();

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
            expires: Instant::now() + lifetime,
        });
    }

    /// Closes the idle connections that have waited longer than the idle timeout or that the
    /// upstream has closed, so that their sockets do not linger while no call comes.
    pub(crate) fn sweep(&self) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        for list in idle.values_mut() {
            list.retain_mut(|entry| entry.expires > now && entry.conn.is_idle_and_open());
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
