//! One HTTP/1.1 connection to an upstream: its byte stream and what has been read from it but
//! not used yet.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::{Buf, Bytes, BytesMut};
use http::Method;
use hyper_rustls::MaybeHttpsStream;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::wire::{Head, final_response_began, parse_head};

/// The byte stream of an upstream connection, TLS or not.
pub(crate) type Io = TokioIo<MaybeHttpsStream<TokioIo<TcpStream>>>;

/// Room made in the read buffer before each read.
const READ_SIZE: usize = 16 * 1024;
/// Largest response head. A pooled connection whose buffer grew past this gets a new one.
pub(crate) const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The part of a request that went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// All of it.
    Whole,
    /// Part of the body: the upstream responded, or closed the connection, before reading the
    /// rest. The connection cannot carry another request.
    ResponseFirst,
}

/// The end of a connection before a single byte of a response arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NoResponse {
    /// The upstream closed the connection.
    #[error("the upstream closed the connection without a response")]
    Closed,
    /// The upstream reset the connection.
    #[error("the upstream reset the connection without a response")]
    Reset,
}

impl NoResponse {
    /// Returns how `error` from [`Conn::read_head`] ended the connection, when it ended before
    /// any byte of a response.
    pub(crate) fn of(error: &io::Error) -> Option<NoResponse> {
        error.get_ref()?.downcast_ref::<NoResponse>().copied()
    }

    /// Returns true for a read error that means the upstream dropped the connection. A TLS
    /// stream closed without its closing message reads as an unexpected end.
    fn is_reset(error: &io::Error) -> bool {
        matches!(
            error.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::UnexpectedEof
        )
    }
}

impl From<NoResponse> for io::Error {
    fn from(reason: NoResponse) -> io::Error {
        let kind = match reason {
            NoResponse::Closed => io::ErrorKind::UnexpectedEof,
            NoResponse::Reset => io::ErrorKind::ConnectionReset,
        };
        io::Error::new(kind, reason)
    }
}

/// An open connection.
pub(crate) struct Conn {
    io: Io,
    pub(crate) buffer: BytesMut,
}

impl Conn {
    pub(crate) fn new(io: Io) -> Conn {
        Conn {
            io,
            buffer: BytesMut::new(),
        }
    }

    /// Writes a request: its head, then the part of its body not joined to the head.
    pub(crate) async fn write(&mut self, head: &[u8], body: Option<&Bytes>) -> io::Result<Sent> {
        self.io.write_all(head).await?;
        if let Some(body) = body {
            let mut rest = body.clone();
            let sent = std::future::poll_fn(|cx| self.poll_write_body(cx, &mut rest)).await?;
            if sent == Sent::ResponseFirst {
                return Ok(sent);
            }
        }
        self.io.flush().await?;
        Ok(Sent::Whole)
    }

    /// Writes what is left of `body` while watching for a response. An upstream may respond
    /// (with a 413, say) before it has read the whole body, and then stop reading without
    /// closing the connection: writing on would wait until the response timeout.
    fn poll_write_body(
        &mut self,
        cx: &mut Context<'_>,
        body: &mut Bytes,
    ) -> Poll<io::Result<Sent>> {
        while !body.is_empty() {
            match Pin::new(&mut self.io).poll_write(cx, body) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(written)) => body.advance(written),
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => return self.poll_early_response(cx),
            }
        }
        Poll::Ready(Ok(Sent::Whole))
    }

    /// Reads while a body write waits. A final response or a close from the upstream ends the
    /// request early. An informational response (a `100 Continue` the request did not ask
    /// for) is skipped, and the write goes on.
    fn poll_early_response(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Sent>> {
        loop {
            match self.poll_fill(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Ready(Ok(0)) => return Poll::Ready(Ok(Sent::ResponseFirst)),
                Poll::Ready(Ok(_)) if final_response_began(&mut self.buffer) => {
                    return Poll::Ready(Ok(Sent::ResponseFirst));
                }
                Poll::Ready(Ok(_)) => {}
            }
        }
    }

    /// Reads until a whole response head has arrived, and parses it. When the connection ends
    /// before a single byte of a response, the error wraps a [`NoResponse`].
    pub(crate) async fn read_head(&mut self, method: &Method) -> io::Result<Head> {
        let mut received = !self.buffer.is_empty();
        loop {
            if let Some(head) = parse_head(&mut self.buffer, method)? {
                return Ok(head);
            }
            if self.buffer.len() > MAX_HEAD_BYTES {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("response head larger than {MAX_HEAD_BYTES} bytes"),
                ));
            }
            match std::future::poll_fn(|cx| self.poll_fill(cx)).await {
                Ok(0) if received => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the upstream closed the connection in the middle of the response head",
                    ));
                }
                Ok(0) => return Err(NoResponse::Closed.into()),
                Ok(_) => received = true,
                Err(error) if !received && NoResponse::is_reset(&error) => {
                    return Err(NoResponse::Reset.into());
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Reads what has arrived into the buffer. `Ok(0)` means the upstream closed the connection.
    pub(crate) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.buffer.capacity() - self.buffer.len() < READ_SIZE / 4 {
            self.buffer.reserve(READ_SIZE);
        }
        let read = self.io.read_buf(&mut self.buffer);
        std::pin::pin!(read).poll(cx)
    }

    /// Returns true when the connection is open with nothing to read, as an idle connection must
    /// be. A close by the upstream, unrequested bytes or an error make it unfit for reuse.
    pub(crate) fn is_idle_and_open(&mut self) -> bool {
        if !self.buffer.is_empty() {
            return false;
        }
        let mut cx = Context::from_waker(Waker::noop());
        matches!(self.poll_fill(&mut cx), Poll::Pending)
    }

    /// Prepares the connection to wait in the pool: a buffer that grew for a large head is
    /// given back.
    pub(crate) fn shrink(&mut self) {
        if self.buffer.capacity() > MAX_HEAD_BYTES {
            self.buffer = BytesMut::new();
        }
    }
}
