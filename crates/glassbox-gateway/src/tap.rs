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
            code: "upstream_unreachable" | "upstream_invalid_response" | "upstream_timeout",
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
pub type UpstreamBody = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

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
    /// Set the first time the upstream makes the body wait, to fire no later than
    /// `idle_timeout` after the last data. It is not moved on each chunk: when it fires early,
    /// it is set again from `last_data`.
    idle: Option<Pin<Box<tokio::time::Sleep>>>,
    last_data: tokio::time::Instant,
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
            idle: None,
            last_data: tokio::time::Instant::now(),
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

    /// Notes that data arrived now; returns the time since the call started.
    fn note_arrival(&mut self) -> Duration {
        self.last_data = tokio::time::Instant::now();
        self.call
            .as_ref()
            .map_or(Duration::ZERO, PendingCall::elapsed)
    }

    fn capture(&mut self, chunk: &Bytes, at: Duration) {
        let Some(record) = self.call.as_mut().and_then(PendingCall::record_mut) else {
            return;
        };
        if self.captured_bytes + chunk.len() > self.limits.max_capture {
            record.response.truncated = true;
            return;
        }
        self.captured_bytes += chunk.len();
        record.response.push(at, chunk);
    }

    /// Takes one upstream chunk that arrived `at` after the call started: keeps a copy for the
    /// recorder, and adds what the client should see to `out`.
    fn take(&mut self, chunk: &Bytes, at: Duration, out: &mut BytesMut) {
        self.capture(chunk, at);
        self.passed_bytes += chunk.len() as u64;
        match self.stripper.as_mut() {
            Some(stripper) => stripper.push(chunk, out),
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
        // Chunks taken in one poll came in together, so the clock is read once for all.
        let mut arrived = None;
        loop {
            match this.upstream.as_mut().poll_next(cx) {
                Poll::Pending if out.is_empty() => return this.poll_idle(cx),
                // Send what arrived so far; the upstream will wake this task for the rest.
                Poll::Pending => return Poll::Ready(Some(Ok(out.freeze()))),
                Poll::Ready(Some(Ok(chunk))) => {
                    let at = *arrived.get_or_insert_with(|| this.note_arrival());
                    this.take(&chunk, at, &mut out);
                    if this.done || out.len() >= COALESCE_BYTES {
                        return Poll::Ready(Some(Ok(out.freeze())));
                    }
                }
                Poll::Ready(Some(Err(error))) => {
                    let cause = error.to_string();
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
        let deadline = self.last_data + self.limits.idle_timeout;
        let idle = self
            .idle
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        loop {
            if idle.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if deadline <= idle.deadline() {
                break;
            }
            // Data came after the timer was set, so it fired early and runs again from there.
            idle.as_mut().reset(deadline);
        }
        let cause = format!(
            "no data for {} s (the idle timeout)",
            self.limits.idle_timeout.as_secs()
        );
        self.finish(Outcome::UpstreamBroke(cause.clone()));
        Poll::Ready(Some(Err(io::Error::new(io::ErrorKind::TimedOut, cause))))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    /// An upstream that sends each chunk after its pause.
    struct Paced {
        chunks: VecDeque<(Duration, &'static [u8])>,
        pause: Option<Pin<Box<tokio::time::Sleep>>>,
    }

    impl Stream for Paced {
        type Item = io::Result<Bytes>;

        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            let Some(&(wait, chunk)) = self.chunks.front() else {
                return Poll::Ready(None);
            };
            let pause = self
                .pause
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(wait)));
            if pause.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.pause = None;
            self.chunks.pop_front();
            Poll::Ready(Some(Ok(Bytes::from_static(chunk))))
        }
    }

    const IDLE_TIMEOUT: Duration = Duration::from_millis(200);

    fn tap(chunks: &[(u64, &'static [u8])]) -> Tap {
        let upstream = Paced {
            chunks: chunks
                .iter()
                .map(|&(millis, chunk)| (Duration::from_millis(millis), chunk))
                .collect(),
            pause: None,
        };
        let limits = TapLimits {
            max_capture: 1024,
            idle_timeout: IDLE_TIMEOUT,
            expected_length: None,
        };
        Tap::new(Box::pin(upstream), None, None, limits)
    }

    /// Reads the body to its end and returns the bytes and the error that ended it, if any.
    async fn read(mut tap: Tap) -> (Vec<u8>, Option<io::Error>) {
        let mut body = Vec::new();
        while let Some(item) = std::future::poll_fn(|cx| Pin::new(&mut tap).poll_next(cx)).await {
            match item {
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(error) => return (body, Some(error)),
            }
        }
        (body, None)
    }

    #[tokio::test]
    async fn silence_past_the_idle_timeout_cuts_the_body() {
        let started = Instant::now();
        let (body, error) = read(tap(&[(0, b"first"), (5_000, b"late")])).await;

        assert_eq!(body, b"first");
        let error = error.expect("the body should end with an error");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= IDLE_TIMEOUT);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    /// The idle timer is not moved on each chunk, so this fails unless it is set again when
    /// it fires after recent data.
    #[tokio::test]
    async fn steady_chunks_outlast_the_idle_timeout() {
        let chunks = [
            (50, &b"a"[..]),
            (50, b"b"),
            (50, b"c"),
            (50, b"d"),
            (50, b"e"),
        ];
        let chunks = [chunks, chunks].concat();
        let (body, error) = read(tap(&chunks)).await;

        assert!(error.is_none(), "{error:?}");
        assert_eq!(body, b"abcdeabcde");
    }
}
