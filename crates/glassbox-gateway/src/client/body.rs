//! The body of an upstream's response. Reading it drives the connection it comes from, and
//! once it has ended the connection goes back to the pool.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};

use super::pool::{Conn, Pool, PoolKey};

/// A response body together with its connection. Dropped before its end, it closes the
/// connection, which cancels the request upstream.
pub struct ResponseBody {
    body: Incoming,
    conn: Option<Conn>,
    pool: Arc<Pool>,
    key: PoolKey,
}

impl ResponseBody {
    pub(crate) fn new(body: Incoming, conn: Conn, pool: Arc<Pool>, key: PoolKey) -> ResponseBody {
        ResponseBody {
            body,
            conn: Some(conn),
            pool,
            key,
        }
    }

    fn release(&mut self, cx: &mut Context<'_>) {
        if let Some(conn) = self.conn.take() {
            self.pool.put(self.key.clone(), conn, cx);
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        if let Some(conn) = this.conn.as_mut() {
            conn.drive(cx);
        }

        let frame = Pin::new(&mut this.body).poll_frame(cx);

        // A reader may stop at the last frame without asking for the end.
        let ended = match &frame {
            Poll::Ready(None) => true,
            Poll::Ready(Some(Ok(_))) => this.body.is_end_stream(),
            _ => false,
        };
        if ended {
            this.release(cx);
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
