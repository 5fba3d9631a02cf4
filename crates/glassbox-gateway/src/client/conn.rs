//! One HTTP/1.1 connection to an upstream: its byte stream and what has been read from it but
//! not used yet.

use std::future::Future;
use std::io;
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use http::Method;
use hyper_rustls::MaybeHttpsStream;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::wire::{Head, parse_head};

/// The byte stream of an upstream connection, TLS or not.
pub(crate) type Io = TokioIo<MaybeHttpsStream<TokioIo<TcpStream>>>;

/// Room made in the read buffer before each read.
const READ_SIZE: usize = 16 * 1024;
/// Largest response head. A pooled connection whose buffer grew past this gets a new one.
pub(crate) const MAX_HEAD_BYTES: usize = 64 * 1024;

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

    /// Writes a whole request: its head, then the part of its body not joined to the head.
    pub(crate) async fn write(&mut self, head: &[u8], body: Option<&Bytes>) -> io::Result<()> {
        self.io.write_all(head).await?;
        if let Some(body) = body {
            self.io.write_all(body).await?;
        }
        self.io.flush().await
    }

    /// Reads until a whole response head has arrived, and parses it.
    pub(crate) async fn read_head(&mut self, method: &Method) -> io::Result<Head> {
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
            if std::future::poll_fn(|cx| self.poll_fill(cx)).await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the upstream closed the connection without a response",
                ));
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
