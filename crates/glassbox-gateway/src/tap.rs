//! The response body on its way to the client. Chunks pass on as they arrive, a copy (up to a
//! limit) goes to the recorder, and the call is recorded when the body ends, breaks off, or is
//! dropped because the client went away.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;

use crate::record::{CallRecord, Outcome};
use crate::recorder::Recorder;
use crate::sse::UsageStripper;

/// A call whose record is not handed over yet. Dropping it records the call as abandoned by
/// the client, which is what happens when a client disconnects while the gateway waits.
#[derive(Debug)]
pub struct PendingCall {
    record: Option<CallRecord>,
    recorder: Recorder,
    started: Instant,
    upstream_sent: Option<Duration>,
}

impl PendingCall {
    /// Wraps a record started at `started`.
    pub fn new(record: CallRecord, recorder: Recorder, started: Instant) -> PendingCall {
        PendingCall {
            record: Some(record),
            recorder,
            started,
            upstream_sent: None,
        }
    }

    /// Returns the record to fill in, while the call is pending.
    pub fn record_mut(&mut self) -> Option<&mut CallRecord> {
        self.record.as_mut()
    }

    /// Notes that the request left for the upstream now.
    pub fn mark_sent(&mut self) {
        self.upstream_sent = Some(self.started.elapsed());
    }

    /// Returns the time since the call started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Finishes the record with `outcome` and hands it to the recorder; later calls do nothing.
    pub fn finish(&mut self, outcome: Outcome) {
        let Some(mut record) = self.record.take() else {
            return;
        };
        let total = self.started.elapsed();
        if let (Some(cause), Some(upstream)) = (upstream_failure(&outcome), &record.upstream) {
            let _ = self.recorder.stats().upstream_failed(&upstream.name, cause);
        }
        record.outcome = outcome;
        record.timings.total = total;
        record.timings.upstream = self.upstream_sent.map(|sent| total.saturating_sub(sent));
        self.recorder.record(record);
    }
}

/// Returns why a call failed at its upstream, for the log, or `None` when it did not.
fn upstream_failure(outcome: &Outcome) -> Option<&str> {
    match outcome {
        Outcome::UpstreamBroke(cause) => Some(cause),
        Outcome::Rejected {
            code: "upstream_unreachable" | "upstream_timeout",
            message,
        } => Some(message),
        _ => None,
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        self.finish(Outcome::ClientGone);
    }
}

/// Chunks that arrive together are sent together, up to this many bytes, which saves writes
/// without holding anything back.
const COALESCE_BYTES: usize = 64 * 1024;

/// The boxed upstream body.
pub type UpstreamBody = Pin<Box<dyn Stream<Item = Result<Bytes, hyper::Error>> + Send>>;

/// Limits of one response body.
#[derive(Debug, Clone, Copy)]
pub struct TapLimits {
    /// Bytes kept for the recorder at most.
    pub max_capture: usize,
    /// Maximum silence of the upstream before the body is cut.
    pub idle_timeout: Duration,
    /// The body length the upstream announced. Once that much has passed the response is
    /// complete, even though the client's connection may stop reading before the stream ends.
    pub expected_length: Option<u64>,
}

/// The response body sent to the client.
pub struct Tap {
    upstream: UpstreamBody,
    stripper: Option<UsageStripper>,
    call: Option<PendingCall>,
    limits: TapLimits,
    idle: Pin<Box<tokio::time::Sleep>>,
    captured_bytes: usize,
    passed_bytes: u64,
    done: bool,
    /// An upstream error to end the body with, after the bytes that came before it.
    pending_error: Option<String>,
    /// True once the body has yielded nothing for one poll with `pending_error` set.
    error_held: bool,
}

impl Tap {
    /// Wraps an upstream body. With `stripper`, the usage the gateway asked for is removed
    /// before the client sees the stream. Without `call`, nothing is recorded.
    pub fn new(
        upstream: UpstreamBody,
        stripper: Option<UsageStripper>,
        call: Option<PendingCall>,
        limits: TapLimits,
    ) -> Tap {
        Tap {
            upstream,
            stripper,
            call,
            idle: Box::pin(tokio::time::sleep(limits.idle_timeout)),
            limits,
            captured_bytes: 0,
            passed_bytes: 0,
            done: false,
            pending_error: None,
            error_held: false,
        }
    }

    /// Ends the body with the upstream's error, after one poll that yields nothing. The bytes
    /// before the error may have come in the same read and still wait in the server's write
    /// buffer. An error discards that buffer, so the empty poll lets the server send them first.
    fn poll_error(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        if !self.error_held {
            self.error_held = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.done = true;
        let cause = self.pending_error.take().unwrap_or_default();
        Poll::Ready(Some(Err(io::Error::other(cause))))
    }

    fn capture(&mut self, chunk: &Bytes) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        let at = call.elapsed();
        let Some(record) = call.record_mut() else {
            return;
        };
        if self.captured_bytes + chunk.len() > self.limits.max_capture {
            record.response.truncated = true;
            return;
        }
        self.captured_bytes += chunk.len();
        record.response.push(at, chunk);
    }

    /// Takes one upstream chunk: resets the idle timer, keeps a copy for the recorder, and adds
    /// what the client should see to `out`.
    fn take(&mut self, chunk: &Bytes, out: &mut BytesMut) {
        let deadline = tokio::time::Instant::now() + self.limits.idle_timeout;
        self.idle.as_mut().reset(deadline);
        self.capture(chunk);
        self.passed_bytes += chunk.len() as u64;
        match self.stripper.as_mut() {
            Some(stripper) => out.extend_from_slice(&stripper.push(chunk)),
            None => out.extend_from_slice(chunk),
        }
        if self.limits.expected_length == Some(self.passed_bytes) {
            self.finish(Outcome::Completed);
        }
    }

    fn finish(&mut self, outcome: Outcome) {
        self.done = true;
        if let Some(mut call) = self.call.take() {
            call.finish(outcome);
        }
    }
}

impl Stream for Tap {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.pending_error.is_some() {
            return this.poll_error(cx);
        }
        if this.done {
            return Poll::Ready(None);
        }
        let mut out = BytesMut::new();
        loop {
            match this.upstream.as_mut().poll_next(cx) {
                Poll::Pending if out.is_empty() => return this.poll_idle(cx),
                // Send what arrived so far; the upstream will wake this task for the rest.
                Poll::Pending => return Poll::Ready(Some(Ok(out.freeze()))),
                Poll::Ready(Some(Ok(chunk))) => {
                    this.take(&chunk, &mut out);
                    if this.done || out.len() >= COALESCE_BYTES {
                        return Poll::Ready(Some(Ok(out.freeze())));
                    }
                }
                Poll::Ready(Some(Err(error))) => {
                    let cause = describe(&error);
                    this.finish(Outcome::UpstreamBroke(cause.clone()));
                    this.done = false;
                    this.pending_error = Some(cause);
                    // What arrived before the error still goes out; the error ends the body next.
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(out.freeze())));
                    }
                    return this.poll_error(cx);
                }
                Poll::Ready(None) => {
                    if let Some(rest) = this.stripper.as_mut().map(UsageStripper::finish) {
                        out.extend_from_slice(&rest);
                    }
                    this.finish(Outcome::Completed);
                    return Poll::Ready((!out.is_empty()).then(|| Ok(out.freeze())));
                }
            }
        }
    }
}

impl Tap {
    /// Ends the body with an error when the upstream stayed silent too long.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        if self.idle.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let cause = format!(
            "no data for {} s (the idle timeout)",
            self.limits.idle_timeout.as_secs()
        );
        self.finish(Outcome::UpstreamBroke(cause.clone()));
        Poll::Ready(Some(Err(io::Error::new(io::ErrorKind::TimedOut, cause))))
    }
}

/// Describes an upstream body error.
fn describe(error: &hyper::Error) -> String {
    if error.is_incomplete_message() {
        return "the connection closed before the body was complete".to_owned();
    }
    error.to_string()
}
