//! Server-sent event streams: framing, pacing between output deltas, and the injected faults
//! (a cut connection, a line that is not JSON).

use std::io;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use futures_util::stream;
use serde_json::Value;

/// One event, framed and ready to send.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub bytes: Bytes,
    /// Whether the event carries output, so that the pacing delays apply before it.
    pub delta: bool,
}

impl Frame {
    /// Frames `data: JSON` without an event name, as OpenAI's chat and completions streams do.
    pub fn data(data: &Value, delta: bool) -> Self {
        Self {
            bytes: Bytes::from(format!("data: {data}\n\n")),
            delta,
        }
    }

    /// Frames `event: NAME` and `data: JSON`, as Anthropic and the Responses API do.
    pub fn event(name: &str, data: &Value, delta: bool) -> Self {
        Self {
            bytes: Bytes::from(format!("event: {name}\ndata: {data}\n\n")),
            delta,
        }
    }

    /// Frames the terminator of OpenAI's chat and completions streams.
    pub fn done() -> Self {
        Self {
            bytes: Bytes::from_static(b"data: [DONE]\n\n"),
            delta: false,
        }
    }
}

/// Delays applied before output deltas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pacing {
    pub first_token: Duration,
    pub chunk: Duration,
}

impl Pacing {
    /// Time a stream with `deltas` output deltas spends waiting.
    pub fn total(&self, deltas: usize) -> Duration {
        match deltas {
            0 => Duration::ZERO,
            n => self.first_token + self.chunk * (n as u32).saturating_sub(1),
        }
    }
}

/// A planned stream of events and the faults to inject into it.
#[derive(Debug, Clone)]
pub(crate) struct EventStream {
    pub frames: Vec<Frame>,
    pub pacing: Pacing,
    /// Events sent before the connection is aborted.
    pub cut_after: Option<usize>,
    /// Event name for the frame that is not JSON, or `None` to send a bare `data:` line.
    pub malformed: Option<Option<&'static str>>,
}

impl EventStream {
    /// Builds the `text/event-stream` response.
    pub fn into_response(mut self) -> Response {
        if let Some(event) = self.malformed {
            let middle = self.frames.len() / 2;
            self.frames.insert(middle, malformed_frame(event));
        }

        let body = paced_body(self.frames, self.pacing, self.cut_after);
        let mut response = Response::new(body);
        let content_type = HeaderValue::from_static("text/event-stream; charset=utf-8");
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response
    }
}

fn malformed_frame(event: Option<&str>) -> Frame {
    let bytes = match event {
        Some(name) => format!("event: {name}\ndata: {{\"type\": malformed\n\n"),
        None => "data: {\"id\": malformed\n\n".to_owned(),
    };
    Frame {
        bytes: Bytes::from(bytes),
        delta: false,
    }
}

/// Builds a body that sends `frames` with the pacing delays and aborts after `cut_after` frames.
fn paced_body(frames: Vec<Frame>, pacing: Pacing, cut_after: Option<usize>) -> Body {
    let cursor = Cursor {
        frames: frames.into_iter(),
        pacing,
        cut_after,
        sent: 0,
        sent_delta: false,
        finished: false,
    };
    Body::from_stream(stream::unfold(cursor, Cursor::next_chunk))
}

/// Position in a stream being sent.
struct Cursor {
    frames: std::vec::IntoIter<Frame>,
    pacing: Pacing,
    cut_after: Option<usize>,
    sent: usize,
    sent_delta: bool,
    finished: bool,
}

impl Cursor {
    async fn next_chunk(mut self) -> Option<(io::Result<Bytes>, Self)> {
        if self.finished {
            return None;
        }
        if self.cut_after == Some(self.sent) {
            // A body error makes hyper drop the connection without the final empty chunk, so the
            // client sees a truncated body rather than a clean end. Hyper discards what it has
            // not written yet when the error comes, and it writes while the body is pending, so
            // the stream yields once before failing to get the events already sent onto the wire.
            tokio::task::yield_now().await;
            self.finished = true;
            let cut = io::Error::new(io::ErrorKind::ConnectionAborted, "stream cut by mock");
            return Some((Err(cut), self));
        }

        let frame = self.frames.next()?;
        let wait = self.wait_before(&frame);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        self.sent += 1;
        Some((Ok(frame.bytes), self))
    }

    fn wait_before(&mut self, frame: &Frame) -> Duration {
        if !frame.delta {
            return Duration::ZERO;
        }
        if self.sent_delta {
            self.pacing.chunk
        } else {
            self.sent_delta = true;
            self.pacing.first_token
        }
    }
}

/// Builds a JSON body response for an injected fault: the first `cut_after` bytes followed by an
/// aborted connection, or a body that is not JSON.
pub(crate) fn broken_json_response(body: Bytes, cut_after: Option<usize>) -> Response {
    let body = match cut_after {
        Some(length) => {
            let part = Frame {
                bytes: body.slice(..length.min(body.len())),
                delta: false,
            };
            paced_body(vec![part], Pacing::default(), Some(1))
        }
        None => Body::from(Bytes::from_static(b"{\"id\": malformed")),
    };

    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use serde_json::json;

    use super::*;

    fn plan(cut_after: Option<usize>, malformed: Option<Option<&'static str>>) -> EventStream {
        EventStream {
            frames: vec![
                Frame::data(&json!({"n": 1}), false),
                Frame::data(&json!({"n": 2}), true),
                Frame::done(),
            ],
            pacing: Pacing::default(),
            cut_after,
            malformed,
        }
    }

    async fn collect(stream: EventStream) -> Vec<Result<String, String>> {
        let body = stream.into_response().into_body();
        body.into_data_stream()
            .map(|chunk| {
                chunk
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                    .map_err(|error| error.to_string())
            })
            .collect()
            .await
    }

    #[tokio::test]
    async fn stream_sends_all_frames() {
        let chunks = collect(plan(None, None)).await;

        assert_eq!(
            chunks,
            [
                Ok("data: {\"n\":1}\n\n".to_owned()),
                Ok("data: {\"n\":2}\n\n".to_owned()),
                Ok("data: [DONE]\n\n".to_owned()),
            ]
        );
    }

    #[tokio::test]
    async fn stream_cut_ends_with_error() {
        let chunks = collect(plan(Some(2), None)).await;

        assert_eq!(chunks.len(), 3);
        assert!(chunks[1].is_ok());
        assert!(chunks[2].is_err());
    }

    #[tokio::test]
    async fn stream_malformed_in_middle() {
        let chunks = collect(plan(None, Some(Some("content_block_delta")))).await;

        assert_eq!(chunks.len(), 4);
        assert_eq!(
            chunks[1],
            Ok("event: content_block_delta\ndata: {\"type\": malformed\n\n".to_owned())
        );
    }

    #[test]
    fn pacing_total() {
        let pacing = Pacing {
            first_token: Duration::from_millis(30),
            chunk: Duration::from_millis(5),
        };

        assert_eq!(pacing.total(0), Duration::ZERO);
        assert_eq!(pacing.total(1), Duration::from_millis(30));
        assert_eq!(pacing.total(4), Duration::from_millis(45));
    }
}
