//! The body of an upstream's response. It reads from the connection it came on, and once it
//! has ended the connection goes back to the pool.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

use super::conn::Conn;
use super::pool::{Pool, PoolKey};
use super::wire::Decoder;

/// The pool and key a connection returns to once its response has been read, and the
/// keep-alive timeout its upstream announced.
pub(crate) struct Reuse {
    pub(crate) pool: Arc<Pool>,
    pub(crate) key: PoolKey,
    pub(crate) keep_alive: Option<Duration>,
}

/// A response body together with its connection. Dropped before its end, it closes the
/// connection, which cancels the request upstream.
pub struct ResponseBody {
    conn: Option<Conn>,
    decoder: Decoder,
    /// Set when the connection may carry another request once the body has ended.
    reuse: Option<Reuse>,
}

impl ResponseBody {
    pub(crate) fn new(conn: Conn, decoder: Decoder, reuse: Option<Reuse>) -> ResponseBody {
        ResponseBody {
            conn: Some(conn),
            decoder,
            reuse,
        }
    }

    /// Gives the connection back to the pool, or closes it.
    fn release(&mut self) {
        let conn = self.conn.take();
        if let (Some(conn), Some(reuse)) = (conn, self.reuse.take()) {
            reuse.pool.put(reuse.key, conn, reuse.keep_alive);
        }
    }

    /// Ends the body with `error` and closes the connection.
    fn fail(&mut self, error: io::Error) -> Poll<Option<io::Result<Frame<Bytes>>>> {
        self.conn = None;
        Poll::Ready(Some(Err(error)))
    }
}

impl Drop for ResponseBody {
    /// Returns the connection to the pool when the body was complete though not read to its
    /// end, as happens to an empty body (a 204, say) that the server never polls.
    fn drop(&mut self) {
        if self.decoder.is_done() {
            self.release();
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<Frame<Bytes>>>> {
        let this = self.get_mut();
        loop {
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            let data = match this.decoder.decode(&mut conn.buffer) {
                Ok(data) => data,
                Err(error) => return this.fail(error),
            };
            if this.decoder.is_done() {
                this.release();
            }
            if let Some(data) = data {
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }

            let Some(conn) = this.conn.as_mut() else {
                // The body ended.
                return Poll::Ready(None);
            };
            match conn.poll_fill(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(error)) => return this.fail(error),
                Poll::Ready(Ok(0)) => {
                    if let Err(error) = this.decoder.end_of_input() {
                        return this.fail(error);
                    }
                    this.conn = None;
                    return Poll::Ready(None);
                }
                Poll::Ready(Ok(_)) => {}
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.conn.is_none() || self.decoder.is_done()
    }

    fn size_hint(&self) -> SizeHint {
        match self.decoder.remaining() {
            Some(left) => SizeHint::with_exact(left),
            None => SizeHint::default(),
        }
    }
}
