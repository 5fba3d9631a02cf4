//! Gateway traffic of `glassbox serve --demo`. A built-in mock provider listens on a loopback
//! port as two upstreams, and calls go through the gateway to it every few seconds. The demo
//! thus shows gateway spans (streamed and not, errors included) beside the OTLP ones.

use std::time::Duration;

use glassbox_gateway::{Dialect, UpstreamConfig};
use glassbox_mock::{MockOptions, MockServer};
use serde_json::{Value, json};
use tokio::sync::watch;

/// Time between two gateway calls of the demo.
const CALL_INTERVAL: Duration = Duration::from_secs(3);
/// Upstream names; a `NAME/model` prefix routes a call to one.
const OPENAI_UPSTREAM: &str = "demo-openai";
const ANTHROPIC_UPSTREAM: &str = "demo-anthropic";

/// The mock provider behind the demo's gateway calls.
pub struct DemoProvider {
    mock: MockServer,
}

impl DemoProvider {
    /// Starts the mock on a loopback port chosen by the system, with delays like a real model.
    pub async fn start() -> anyhow::Result<DemoProvider> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let options = MockOptions {
            first_token_delay: Duration::from_millis(180),
            chunk_delay: Duration::from_millis(25),
            ..MockOptions::default()
        };
        Ok(DemoProvider {
            mock: glassbox_mock::spawn(listener, options)?,
        })
    }

    /// Returns the two upstreams to add to the gateway configuration.
    pub fn upstreams(&self) -> [UpstreamConfig; 2] {
        let upstream = |name: &str, dialect, base_url, provider: &str| UpstreamConfig {
            name: name.to_owned(),
            dialect,
            base_url,
            provider: Some(provider.to_owned()),
            models: Vec::new(),
            api_key_env: None,
            stream_usage: true,
        };
        [
            upstream(
                OPENAI_UPSTREAM,
                Dialect::Openai,
                self.mock.openai_base_url(),
                "openai",
            ),
            upstream(
                ANTHROPIC_UPSTREAM,
                Dialect::Anthropic,
                self.mock.anthropic_base_url(),
                "anthropic",
            ),
        ]
    }
}

/// One kind of call the demo makes.
struct DemoCall {
    path: &'static str,
    body: Value,
    behavior: Option<&'static str>,
}

/// Sends calls through the gateway at `gateway` (the main port's base URL) until `shutdown`.
/// Failures are logged at debug level: the demo must not disturb the server.
pub async fn send_calls(gateway: String, mut shutdown: watch::Receiver<bool>) {
    let client = reqwest::Client::new();
    let mut index: u64 = 0;
    while !*shutdown.borrow() {
        let call = demo_call(index);
        let session = format!("gw-session-{}", index / 4 % 6);
        let user = format!("gw-user-{}", index % 5);
        let mut request = client
            .post(format!("{gateway}{}", call.path))
            .header("authorization", "Bearer demo-key")
            .header("x-glassbox-user-id", user)
            .header("x-glassbox-session-id", session)
            .header("x-glassbox-tags", "demo,gateway")
            .json(&call.body);
        if call.path.starts_with("/v1/messages") {
            request = request.header("anthropic-version", "2023-06-01");
        }
        if let Some(behavior) = call.behavior {
            request = request.header(glassbox_mock::BEHAVIOR_HEADER, behavior);
        }
        match request.send().await {
            Ok(response) => {
                let _ = response.bytes().await;
            }
            Err(error) => tracing::debug!(%error, "demo: gateway call failed"),
        }
        index += 1;
        tokio::select! {
            () = tokio::time::sleep(CALL_INTERVAL) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Returns the call of turn `index`: a rotation of chat, streamed chat, Anthropic messages,
/// embeddings and responses, with a rate limit and a server error now and then.
fn demo_call(index: u64) -> DemoCall {
    let question = QUESTIONS[(index % QUESTIONS.len() as u64) as usize];
    let behavior = match index % 13 {
        7 => Some("error=429; retry_after=2"),
        11 => Some("error=500"),
        _ => None,
    };
    let (path, body) = match index % 5 {
        0 => ("/v1/chat/completions", chat("gpt-4o-mini", question, false)),
        1 => ("/v1/chat/completions", chat("gpt-4.1", question, true)),
        2 => ("/v1/messages", message(question, index.is_multiple_of(2))),
        3 => (
            "/v1/embeddings",
            json!({"model": format!("{OPENAI_UPSTREAM}/text-embedding-3-small"), "input": [question]}),
        ),
        _ => (
            "/v1/responses",
            json!({"model": format!("{OPENAI_UPSTREAM}/gpt-4.1-mini"), "input": question, "stream": true}),
        ),
    };
    DemoCall {
        path,
        body,
        behavior,
    }
}

fn chat(model: &str, question: &str, stream: bool) -> Value {
    json!({
        "model": format!("{OPENAI_UPSTREAM}/{model}"),
        "stream": stream,
        "messages": [
            {"role": "system", "content": "You are the shop's order assistant. Answer in two sentences."},
            {"role": "user", "content": question}
        ]
    })
}

fn message(question: &str, stream: bool) -> Value {
    json!({
        "model": format!("{ANTHROPIC_UPSTREAM}/claude-sonnet-4-5"),
        "max_tokens": 400,
        "stream": stream,
        "system": "You summarize support tickets for the shop's staff. [cached]",
        "messages": [{"role": "user", "content": question}]
    })
}

const QUESTIONS: [&str; 6] = [
    "Where is my order 1042 and when will it arrive",
    "Can I return a jacket bought three weeks ago",
    "Summarize the complaints about delayed shipping this week",
    "Which payment methods do you accept for orders abroad",
    "My discount code SPRING20 is rejected at checkout, why",
    "Draft a short apology for a customer whose parcel was damaged",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_rotate_through_every_endpoint_and_some_fail() {
        let calls: Vec<DemoCall> = (0..65).map(demo_call).collect();
        for path in [
            "/v1/chat/completions",
            "/v1/messages",
            "/v1/embeddings",
            "/v1/responses",
        ] {
            assert!(calls.iter().any(|call| call.path == path), "{path}");
        }
        assert!(calls.iter().any(|call| call.behavior.is_some()));
        assert!(calls.iter().all(|call| {
            let model = call.body["model"].as_str().unwrap_or_default();
            model.starts_with("demo-openai/") || model.starts_with("demo-anthropic/")
        }));
    }
}
