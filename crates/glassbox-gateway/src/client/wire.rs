//! HTTP/1.1 on the wire: the request as bytes, the response head parsed from bytes, and the
//! framing of the response body (a length, chunks, or the connection's end).
//!
//! The body decoder hands over everything that has arrived at once. A stream whose events
//! came in one read leaves as one piece, where a decoder that yields chunk by chunk would pass
//! each event through the layers above on its own.

use std::io;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, StatusCode, Version};

/// Maximum number of header lines in a response head.
const MAX_HEADERS: usize = 100;
/// Maximum length of a chunk-size line or a trailer line.
const MAX_LINE: usize = 4 * 1024;

/// Bodies up to this size are written together with the head, in one write. Larger ones are
/// written apart, so that they are not copied.
const JOINED_BODY_BYTES: usize = 16 * 1024;

/// Returns the bytes to write for the request: its head, followed by its body when the body is
/// small. The URI must be in origin form (path and query) with the `Host` header set.
pub(crate) fn encode_request(request: &Request<Bytes>) -> Vec<u8> {
    let body = request.body();
    let joined = body.len() <= JOINED_BODY_BYTES;
    let target = request
        .uri()
        .path_and_query()
        .map_or("/", |path| path.as_str());
    let capacity = 256 + request.headers().len() * 48 + if joined { body.len() } else { 0 };
    let mut wire = Vec::with_capacity(capacity);
    wire.extend_from_slice(request.method().as_str().as_bytes());
    wire.push(b' ');
    wire.extend_from_slice(target.as_bytes());
    wire.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in request.headers() {
        if name == header::CONTENT_LENGTH || name == header::TRANSFER_ENCODING {
            continue;
        }
        wire.extend_from_slice(name.as_str().as_bytes());
        wire.extend_from_slice(b": ");
        wire.extend_from_slice(value.as_bytes());
        wire.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() || !omits_empty_length(request.method()) {
        wire.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    wire.extend_from_slice(b"\r\n");
    if joined {
        wire.extend_from_slice(body);
    }
    wire
}

/// Returns the part of the body that [`encode_request`] left out.
pub(crate) fn body_apart(request: &Request<Bytes>) -> Option<&Bytes> {
    (request.body().len() > JOINED_BODY_BYTES).then(|| request.body())
}

/// Methods whose requests usually carry no body, so an empty one needs no length.
fn omits_empty_length(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

/// A parsed response head and what follows it.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) status: StatusCode,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
    pub(crate) framing: Framing,
    /// Whether the connection may carry another request once the body has been read.
    pub(crate) keep_alive: bool,
    /// How long the upstream keeps an idle connection open, from `keep-alive: timeout=N`.
    pub(crate) keep_alive_timeout: Option<Duration>,
}

/// The framing of a response body: what marks its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body: a response to `HEAD`, a 204 or a 304.
    Empty,
    /// `content-length` bytes.
    Length(u64),
    /// `transfer-encoding: chunked`.
    Chunked,
    /// Everything until the upstream closes the connection.
    UntilClose,
}

/// Removes the complete informational (1xx) responses at the start of `buffer`, and returns
/// true once a final response has begun there. An unfinished head counts only when its status
/// line shows it is not informational.
pub(crate) fn final_response_began(buffer: &mut BytesMut) -> bool {
    loop {
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut slots);
        let parsed = response.parse(buffer);
        let interim = response
            .code
            .map(|code| (100..200).contains(&code) && code != 101);
        match (parsed, interim) {
            (Ok(httparse::Status::Complete(length)), Some(true)) => buffer.advance(length),
            (Ok(httparse::Status::Partial), interim) => return interim == Some(false),
            // A final head, or bytes that are not one, which reading the head will report.
            _ => return true,
        }
    }
}

/// Parses a response head from the start of `buffer` and removes it, or returns `Ok(None)`
/// when the head is not complete yet. Informational (1xx) responses before the final one are skipped.
pub(crate) fn parse_head(buffer: &mut BytesMut, method: &Method) -> io::Result<Option<Head>> {
    loop {
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut slots);
        let length = match response.parse(buffer) {
            Ok(httparse::Status::Complete(length)) => length,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(error) => return Err(invalid(format!("malformed response head: {error}"))),
        };
        let code = response.code.unwrap_or_default();
        let status = StatusCode::from_u16(code)
            .map_err(|_| invalid(format!("invalid status code {code}")))?;
        let version = if response.version == Some(0) {
            Version::HTTP_10
        } else {
            Version::HTTP_11
        };
        let headers = header_map(response.headers)?;
        buffer.advance(length);

        if status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(invalid(
                "the upstream switched protocols unasked".to_owned(),
            ));
        }
        if status.is_informational() {
            continue;
        }
        let framing = framing(&headers, status, method)?;
        // Both a length and chunked framing may be a sign of response splitting (RFC 9112,
        // section 6.3), so such a connection carries no other request.
        let ambiguous = headers.contains_key(header::TRANSFER_ENCODING)
            && headers.contains_key(header::CONTENT_LENGTH);
        let keep_alive =
            framing != Framing::UntilClose && !ambiguous && keeps_alive(&headers, version);
        let keep_alive_timeout = keep_alive_timeout(&headers);
        return Ok(Some(Head {
            status,
            version,
            headers,
            framing,
            keep_alive,
            keep_alive_timeout,
        }));
    }
}

fn header_map(parsed: &[httparse::Header<'_>]) -> io::Result<HeaderMap> {
    let mut headers = HeaderMap::with_capacity(parsed.len());
    for line in parsed {
        let name = HeaderName::from_bytes(line.name.as_bytes())
            .map_err(|_| invalid(format!("invalid header name {:?}", line.name)))?;
        let value = HeaderValue::from_bytes(line.value)
            .map_err(|_| invalid(format!("invalid value of header {:?}", line.name)))?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// Applies the rules of RFC 9112, section 6.3, to find where the body ends.
fn framing(headers: &HeaderMap, status: StatusCode, method: &Method) -> io::Result<Framing> {
    if *method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok(Framing::Empty);
    }
    if headers.contains_key(header::TRANSFER_ENCODING) {
        let last = headers
            .get_all(header::TRANSFER_ENCODING)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .rfind(|coding| !coding.is_empty());
        return Ok(match last {
            Some(coding) if coding.eq_ignore_ascii_case("chunked") => Framing::Chunked,
            _ => Framing::UntilClose,
        });
    }
    let mut length = None;
    for value in headers.get_all(header::CONTENT_LENGTH) {
        for part in value.to_str().unwrap_or_default().split(',') {
            let parsed: u64 = part
                .trim()
                .parse()
                .map_err(|_| invalid(format!("invalid content-length {value:?}")))?;
            if length.is_some_and(|seen| seen != parsed) {
                return Err(invalid("conflicting content-length headers".to_owned()));
            }
            length = Some(parsed);
        }
    }
    Ok(length.map_or(Framing::UntilClose, Framing::Length))
}

fn keeps_alive(headers: &HeaderMap, version: Version) -> bool {
    let options = connection_options(headers);
    let has = |option: &str| options.iter().any(|listed| listed == option);
    match version {
        Version::HTTP_10 => has("keep-alive"),
        _ => !has("close"),
    }
}

/// Returns the options that a message's `Connection` header lists, in lower case: `close`,
/// `keep-alive`, or the names of headers that concern this connection only.
pub(crate) fn connection_options(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|token| token.trim().to_ascii_lowercase())
        .filter(|token| !token.is_empty())
        .collect()
}

/// Reads the `timeout` parameter of a `keep-alive` header, in seconds.
fn keep_alive_timeout(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("keep-alive")?.to_str().ok()?;
    value.split(',').find_map(|parameter| {
        let (name, seconds) = parameter.split_once('=')?;
        let seconds: u64 = seconds.trim().parse().ok()?;
        name.trim()
            .eq_ignore_ascii_case("timeout")
            .then(|| Duration::from_secs(seconds))
    })
}

/// Reads a response body out of the connection's buffer.
#[derive(Debug)]
pub(crate) struct Decoder {
    state: State,
    /// An error found after data that was handed over first; the next decode returns it.
    error: Option<io::Error>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Bytes left of a body of known length.
    Length(u64),
    /// Before a chunk-size line.
    ChunkSize,
    /// Bytes left of a chunk's data.
    ChunkData(u64),
    /// Before the line break that ends a chunk's data.
    ChunkEnd,
    /// After the last chunk: trailer lines until an empty one.
    Trailers,
    UntilClose,
    Done,
}

impl Decoder {
    pub(crate) fn new(framing: Framing) -> Decoder {
        let state = match framing {
            Framing::Empty | Framing::Length(0) => State::Done,
            Framing::Length(length) => State::Length(length),
            Framing::Chunked => State::ChunkSize,
            Framing::UntilClose => State::UntilClose,
        };
        Decoder { state, error: None }
    }

    /// Returns true once the whole body has been read.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Returns the bytes of body left, when known.
    pub(crate) fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Length(left) => Some(left),
            State::Done => Some(0),
            _ => None,
        }
    }

    /// Takes the body's bytes out of `buffer`, as far as they have arrived, or returns
    /// `Ok(None)` when none have.
    pub(crate) fn decode(&mut self, buffer: &mut BytesMut) -> io::Result<Option<Bytes>> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        match self.state {
            State::Length(left) => {
                let take = left.min(buffer.len() as u64);
                self.state = match left - take {
                    0 => State::Done,
                    rest => State::Length(rest),
                };
                Ok((take > 0).then(|| buffer.split_to(take as usize).freeze()))
            }
            State::UntilClose => Ok((!buffer.is_empty()).then(|| buffer.split().freeze())),
            State::Done => Ok(None),
            _ => {
                let mut data = BytesMut::new();
                let decoded = self.decode_chunks(buffer, &mut data);
                if data.is_empty() {
                    return decoded.map(|()| None);
                }
                self.error = decoded.err();
                Ok(Some(data.freeze()))
            }
        }
    }

    /// Steps through the chunks in `buffer`, adding their data to `data`, until the buffer
    /// runs out or the body ends.
    fn decode_chunks(&mut self, buffer: &mut BytesMut, data: &mut BytesMut) -> io::Result<()> {
        loop {
            match self.state {
                State::ChunkSize => {
                    let Some(line) = take_line(buffer)? else {
                        return Ok(());
                    };
                    self.state = match chunk_size(&line)? {
                        0 => State::Trailers,
                        size => State::ChunkData(size),
                    };
                }
                State::ChunkData(left) => {
                    if buffer.is_empty() {
                        return Ok(());
                    }
                    let take = left.min(buffer.len() as u64) as usize;
                    data.extend_from_slice(&buffer[..take]);
                    buffer.advance(take);
                    self.state = match left - take as u64 {
                        0 => State::ChunkEnd,
                        rest => State::ChunkData(rest),
                    };
                }
                State::ChunkEnd => {
                    let Some(line) = take_line(buffer)? else {
                        return Ok(());
                    };
                    if !line.is_empty() {
                        return Err(invalid("chunk data longer than its size".to_owned()));
                    }
                    self.state = State::ChunkSize;
                }
                State::Trailers => {
                    let Some(line) = take_line(buffer)? else {
                        return Ok(());
                    };
                    if line.is_empty() {
                        self.state = State::Done;
                    }
                }
                State::Length(_) | State::UntilClose | State::Done => return Ok(()),
            }
        }
    }

    /// Notes that the upstream closed the connection. That is an error unless the body was
    /// complete or ends with the connection.
    pub(crate) fn end_of_input(&mut self) -> io::Result<()> {
        match self.state {
            State::Done => Ok(()),
            State::UntilClose => {
                self.state = State::Done;
                Ok(())
            }
            _ => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the connection closed before the body was complete",
            )),
        }
    }
}

/// Removes one line and its line break (`\r\n` or `\n`) from `buffer`, or returns `Ok(None)`
/// when the line break has not arrived yet.
fn take_line(buffer: &mut BytesMut) -> io::Result<Option<BytesMut>> {
    let Some(end) = memchr::memchr(b'\n', buffer) else {
        if buffer.len() > MAX_LINE {
            return Err(invalid("chunk line too long".to_owned()));
        }
        return Ok(None);
    };
    let mut line = buffer.split_to(end + 1);
    line.truncate(end);
    if line.last() == Some(&b'\r') {
        line.truncate(end - 1);
    }
    Ok(Some(line))
}

/// Reads the hexadecimal size at the start of a chunk-size line and ignores any extensions.
fn chunk_size(line: &[u8]) -> io::Result<u64> {
    let digits = line
        .split(|byte| *byte == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    let text = std::str::from_utf8(digits).unwrap_or_default();
    if text.is_empty() || text.len() > 15 {
        return Err(invalid(format!(
            "invalid chunk size {:?}",
            String::from_utf8_lossy(line)
        )));
    }
    u64::from_str_radix(text, 16).map_err(|_| invalid(format!("invalid chunk size {text:?}")))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(bytes: &[u8], method: &Method) -> io::Result<Option<Head>> {
        parse_head(&mut BytesMut::from(bytes), method)
    }

    /// Decodes `wire` fed in pieces of `step` bytes and returns the data and whether it ended.
    fn decode_in_steps(framing: Framing, wire: &[u8], step: usize) -> (Vec<u8>, bool) {
        let mut decoder = Decoder::new(framing);
        let mut buffer = BytesMut::new();
        let mut body = Vec::new();
        for piece in wire.chunks(step) {
            buffer.extend_from_slice(piece);
            while let Some(data) = decoder.decode(&mut buffer).unwrap() {
                body.extend_from_slice(&data);
            }
        }
        (body, decoder.is_done())
    }

    #[test]
    fn request_sets_its_own_length() {
        let request = Request::post("/v1/chat/completions")
            .header("host", "api.example.com")
            .header("content-length", "999")
            .header("transfer-encoding", "chunked")
            .body(Bytes::from_static(b"{}"))
            .unwrap();
        let wire = encode_request(&request);
        assert_eq!(
            wire,
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: api.example.com\r\ncontent-length: 2\r\n\r\n{}"
        );

        let request = Request::get("/metrics?x=1").body(Bytes::new()).unwrap();
        assert_eq!(
            encode_request(&request),
            b"GET /metrics?x=1 HTTP/1.1\r\n\r\n"
        );
        assert!(body_apart(&request).is_none());
    }

    #[test]
    fn large_body_is_written_apart() {
        let body = Bytes::from(vec![b'x'; JOINED_BODY_BYTES + 1]);
        let request = Request::post("/v1/embeddings").body(body).unwrap();
        let head = encode_request(&request);
        assert!(head.ends_with(b"content-length: 16385\r\n\r\n"));
        assert_eq!(
            body_apart(&request).map(Bytes::len),
            Some(JOINED_BODY_BYTES + 1)
        );
    }

    #[test]
    fn head_gives_status_headers_and_framing() {
        let mut buffer = BytesMut::from(
            &b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: 2\r\n\r\n{}"[..],
        );
        let head = parse_head(&mut buffer, &Method::POST).unwrap().unwrap();
        assert_eq!(head.status, 429);
        assert_eq!(head.headers["retry-after"], "3");
        assert_eq!(head.framing, Framing::Length(2));
        assert!(head.keep_alive);
        assert_eq!(&buffer[..], b"{}");
    }

    #[test]
    fn partial_head_waits_for_more() {
        assert!(
            head(b"HTTP/1.1 200 OK\r\ncontent-le", &Method::GET)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn informational_responses_are_skipped() {
        let head = head(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            &Method::POST,
        )
        .unwrap()
        .unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.framing, Framing::Length(0));
    }

    #[test]
    fn final_response_is_told_from_interim_ones() {
        let check = |bytes: &[u8]| {
            let mut buffer = BytesMut::from(bytes);
            let began = final_response_began(&mut buffer);
            (began, buffer)
        };

        let (began, rest) = check(b"HTTP/1.1 100 Continue\r\n\r\n");
        assert!(!began);
        assert!(rest.is_empty());
        let (began, rest) = check(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 413 Payload");
        assert!(began);
        assert_eq!(&rest[..], b"HTTP/1.1 413 Payload");
        assert!(check(b"HTTP/1.1 413 Payload Too Large\r\n").0);
        assert!(check(b"not a response\r\n\r\n").0);
        assert!(check(b"HTTP/1.1 101 Switching Protocols\r\n\r\n").0);

        for undecided in [
            &b""[..],
            b"HTTP/1.1 1",
            b"HTTP/1.1 41",
            b"HTTP/1.1 103 Early Hints\r\n",
        ] {
            let (began, rest) = check(undecided);
            assert!(!began, "{}", String::from_utf8_lossy(undecided));
            assert_eq!(&rest[..], undecided);
        }
    }

    #[test]
    fn framing_follows_the_rules() {
        let framing = |bytes: &[u8], method: Method| head(bytes, &method).unwrap().unwrap();

        let chunked = framing(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n",
            Method::POST,
        );
        assert_eq!(chunked.framing, Framing::Chunked);
        assert!(!chunked.keep_alive);
        let no_content = framing(
            b"HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n",
            Method::POST,
        );
        assert_eq!(no_content.framing, Framing::Empty);
        let head_request = framing(
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n",
            Method::HEAD,
        );
        assert_eq!(head_request.framing, Framing::Empty);

        let until_close = framing(b"HTTP/1.1 200 OK\r\n\r\n", Method::GET);
        assert_eq!(until_close.framing, Framing::UntilClose);
        assert!(!until_close.keep_alive);
        let close = framing(
            b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            Method::GET,
        );
        assert!(!close.keep_alive);
        let old = framing(b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n", Method::GET);
        assert!(!old.keep_alive);
    }

    #[test]
    fn keep_alive_timeout_is_read() {
        let timeout = |bytes: &[u8]| {
            head(bytes, &Method::GET)
                .unwrap()
                .unwrap()
                .keep_alive_timeout
        };

        let node = b"HTTP/1.1 200 OK\r\nkeep-alive: timeout=5\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(timeout(node), Some(Duration::from_secs(5)));
        let both =
            b"HTTP/1.1 200 OK\r\nKeep-Alive: max=100, Timeout = 30\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(timeout(both), Some(Duration::from_secs(30)));
        let none = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(timeout(none), None);
    }

    #[test]
    fn bad_heads_are_errors() {
        for bytes in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
            b"SMTP ready\r\n\r\n",
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        ] {
            let error = head(bytes, &Method::GET).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
        }
    }

    #[test]
    fn chunks_are_decoded_however_they_arrive() {
        let wire = b"5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\ntrailer: x\r\n\r\n";
        for step in [1, 2, 3, 7, wire.len()] {
            let (body, done) = decode_in_steps(Framing::Chunked, wire, step);
            assert_eq!(body, b"hello, world", "step {step}");
            assert!(done, "step {step}");
        }
    }

    #[test]
    fn chunks_that_arrived_together_leave_as_one_piece() {
        let mut decoder = Decoder::new(Framing::Chunked);
        let mut buffer = BytesMut::from(&b"2\r\nab\r\n2\r\ncd\r\n0\r\n\r\nnext"[..]);
        let data = decoder.decode(&mut buffer).unwrap().unwrap();
        assert_eq!(&data[..], b"abcd");
        assert!(decoder.is_done());
        // What follows the body belongs to the connection, not to this body.
        assert_eq!(&buffer[..], b"next");
    }

    #[test]
    fn length_body_stops_at_its_length() {
        let (body, done) = decode_in_steps(Framing::Length(5), b"hello", 2);
        assert_eq!(body, b"hello");
        assert!(done);

        let mut decoder = Decoder::new(Framing::Length(5));
        let mut buffer = BytesMut::from(&b"hel"[..]);
        assert_eq!(decoder.decode(&mut buffer).unwrap().unwrap(), "hel");
        assert_eq!(decoder.remaining(), Some(2));
        let error = decoder.end_of_input().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn body_until_close_ends_with_the_connection() {
        let mut decoder = Decoder::new(Framing::UntilClose);
        let mut buffer = BytesMut::from(&b"all of it"[..]);
        assert_eq!(decoder.decode(&mut buffer).unwrap().unwrap(), "all of it");
        assert!(!decoder.is_done());
        decoder.end_of_input().unwrap();
        assert!(decoder.is_done());
    }

    #[test]
    fn bad_chunks_are_errors() {
        for wire in [
            &b"zz\r\nhello\r\n"[..],
            b"2\r\nhello\r\n",
            b"ffffffffffffffffff\r\n",
        ] {
            let mut decoder = Decoder::new(Framing::Chunked);
            let mut buffer = BytesMut::from(wire);
            // Data before the bad part comes first.
            let error = loop {
                match decoder.decode(&mut buffer) {
                    Ok(Some(_)) => continue,
                    Ok(None) => panic!("no error for {wire:?}"),
                    Err(error) => break error,
                }
            };
            assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{wire:?}");
        }
        let mut decoder = Decoder::new(Framing::Chunked);
        let mut buffer = BytesMut::from(&vec![b'1'; MAX_LINE + 1][..]);
        assert!(decoder.decode(&mut buffer).is_err());
    }

    #[test]
    fn data_before_a_bad_chunk_comes_first() {
        let mut decoder = Decoder::new(Framing::Chunked);
        let mut buffer = BytesMut::from(&b"2\r\nab\r\nQQ\r\n"[..]);

        assert_eq!(decoder.decode(&mut buffer).unwrap().unwrap(), "ab");
        let error = decoder.decode(&mut buffer).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }
}
