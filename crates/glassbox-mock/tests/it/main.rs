//! The mock on a real socket, checked with reqwest: JSON bodies, streams read event by event,
//! injected faults and the request log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod anthropic;
mod faults;
mod openai;

use glassbox_mock::{MockOptions, MockServer};
use serde_json::Value;
use tokio::net::TcpListener;

/// Starts a mock on a free loopback port.
async fn start(options: MockOptions) -> MockServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    glassbox_mock::spawn(listener, options).unwrap()
}

/// Sends `body` as JSON to `path` with extra headers.
async fn post(
    server: &MockServer,
    path: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let url = format!("http://{}{path}", server.addr());
    let mut request = reqwest::Client::new().post(url).json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

async fn get(server: &MockServer, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let url = format!("http://{}{path}", server.addr());
    let mut request = reqwest::Client::new().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// One server-sent event: its `event:` name, if any, and its `data:` text.
#[derive(Debug, Clone, PartialEq)]
struct Event {
    name: Option<String>,
    data: String,
}

impl Event {
    fn json(&self) -> Value {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|error| panic!("event data {:?} is not JSON: {error}", self.data))
    }
}

/// Events read from a stream, and whether the body ended with an error instead of cleanly.
struct Stream {
    events: Vec<Event>,
    truncated: bool,
}

/// Reads a streaming body chunk by chunk, parsing each event once its blank line has arrived.
async fn read_stream(mut response: reqwest::Response) -> Stream {
    let mut buffer = String::new();
    let mut events = Vec::new();
    let truncated = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => buffer.push_str(std::str::from_utf8(&chunk).unwrap()),
            Ok(None) => break false,
            Err(_) => break true,
        }
        while let Some(end) = buffer.find("\n\n") {
            events.push(parse_event(&buffer[..end]));
            buffer.drain(..end + 2);
        }
    };
    assert!(buffer.is_empty(), "unterminated event {buffer:?}");
    Stream { events, truncated }
}

fn parse_event(text: &str) -> Event {
    let mut name = None;
    let mut data = Vec::new();
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("event: ") {
            name = Some(value.to_owned());
        } else if let Some(value) = line.strip_prefix("data: ") {
            data.push(value);
        } else {
            panic!("unexpected line {line:?} in event {text:?}");
        }
    }
    Event {
        name,
        data: data.join("\n"),
    }
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("missing header {name}"))
        .to_str()
        .unwrap()
}
