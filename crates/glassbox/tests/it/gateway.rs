//! The gateway in a real `glassbox serve`, driven by the official OpenAI and Anthropic Python
//! SDKs, in front of the mock provider.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use glassbox_mock::{CACHED_TOKENS, MockOptions, MockServer};
use serde_json::{Value, json};

use crate::server::Server;

/// Finds the Python that has the SDKs: `SDK_TEST_PYTHON`, else the virtual environment that
/// `.ci/run` creates. `None` outside CI when neither exists; in CI that is a failure.
#[expect(clippy::print_stderr, reason = "a skipped test says why")]
fn sdk_python() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("SDK_TEST_PYTHON") {
        return Some(PathBuf::from(path));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/sdk-venv/bin/python");
    if venv.exists() {
        return Some(venv);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must provide the SDKs: .ci/run creates target/sdk-venv"
    );
    eprintln!("skipping the SDK test: run .ci/run once to create target/sdk-venv");
    None
}

async fn mock() -> MockServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = MockOptions {
        first_token_delay: Duration::from_millis(20),
        ..MockOptions::default()
    };
    glassbox_mock::spawn(listener, options).unwrap()
}

fn server_for(mock: &MockServer, extra: &[(&str, &str)]) -> Server {
    let openai = mock.openai_base_url();
    let anthropic = mock.anthropic_base_url();
    let mut env = vec![
        ("GLASSBOX_OPENAI_BASE_URL", openai.as_str()),
        ("GLASSBOX_ANTHROPIC_BASE_URL", anthropic.as_str()),
    ];
    env.extend_from_slice(extra);
    Server::start_in_temp(&env)
}

/// Waits for the trace's first span in the API.
async fn span_of(server: &Server, trace: &str) -> Value {
    for _ in 0..200 {
        let response = reqwest::get(format!("{}/api/v1/traces/{trace}", server.api))
            .await
            .unwrap();
        if response.status() == 200 {
            let mut detail: Value = response.json().await.unwrap();
            return detail["spans"][0].take();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("trace {trace} was not recorded within 5 s");
}

fn output_text(span: &Value) -> String {
    span["output_messages"][0]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn official_sdks_see_the_same_answers_and_calls_are_recorded() {
    let Some(python) = sdk_python() else { return };
    let mock = mock().await;
    let server = server_for(&mock, &[]);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/sdk_clients.py");
    let direct = format!("http://{}", mock.addr());
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .args(["--gateway", &server_url(&server), "--direct", &direct])
            .output()
            .map(|output| (output, server))
    })
    .await
    .unwrap()
    .unwrap();
    let (output, server) = output;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the SDK script failed:\n{stderr}");

    let results: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(results.len(), 16, "{results:?}");
    for result in &results {
        check_scenario(&server, result).await;
    }

    let health = server.get_json("/api/v1/health").await;
    assert_eq!(health["gateway"]["lost_spans"], 0);
    assert_eq!(health["status"], "ok", "{health}");
    assert!(health["gateway"]["recorded_spans"].as_u64().unwrap() >= 14);
}

fn server_url(server: &Server) -> String {
    server.api.clone()
}

async fn check_scenario(server: &Server, result: &Value) {
    let name = result["scenario"].as_str().unwrap();
    if name.ends_with("_models") {
        return;
    }
    let span = span_of(server, result["trace_id"].as_str().unwrap()).await;
    assert_eq!(span["user_id"], "sdk-user", "{name}");
    assert!(span["duration_ms"].as_f64().unwrap() > 0.0, "{name}");
    for key in ["input_tokens", "output_tokens"] {
        if let Some(expected) = result[key].as_u64() {
            let expected = match (name.starts_with("anthropic"), key) {
                (true, "input_tokens") => {
                    expected + result["cache_read_input_tokens"].as_u64().unwrap_or(0)
                }
                _ => expected,
            };
            assert_eq!(span[key], expected, "{name} {key}");
        }
    }
    if let Some(text) = result["text"].as_str() {
        assert_eq!(output_text(&span), text, "{name}");
    }
    match name {
        "openai_rate_limited" | "anthropic_server_error" => {
            assert_eq!(span["status"], "error", "{name}");
            assert_eq!(
                span["attributes"]["http.response.status_code"],
                result["status"]
            );
        }
        "anthropic_count_tokens" => assert_eq!(span["kind"], "other"),
        _ => {
            assert_eq!(span["status"], "ok", "{name}: {}", span["status_message"]);
            assert_eq!(span["cost_status"], "computed", "{name}");
        }
    }
    if name.contains("stream") {
        // The mock waits before the first text; a tool call's name may come sooner.
        let ttft = span["ttft_ms"].as_f64().unwrap();
        assert!(ttft >= 20.0 || name.contains("tool"), "{name}: ttft {ttft}");
        assert_eq!(span["streaming"], true);
    }
    if name == "anthropic_message" {
        assert_eq!(span["cached_input_tokens"], CACHED_TOKENS);
    }
    if name == "openai_chat_stream" {
        // The client asked for no usage; the gateway asked for it on its behalf.
        assert!(span["input_tokens"].as_u64().unwrap() > 0);
        assert_eq!(span["attributes"]["gen_ai.usage.estimated"], Value::Null);
    }
    if name == "openai_tool_stream" {
        let arguments: Value =
            serde_json::from_str(result["tool_arguments"].as_str().unwrap()).unwrap();
        assert_eq!(
            span["output_messages"][0]["tool_calls"][0]["arguments"],
            arguments
        );
    }
    if name == "anthropic_tool_stream" {
        assert_eq!(
            span["output_messages"][0]["tool_calls"][0]["arguments"],
            result["tool_input"]
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn configured_key_replaces_the_clients_and_is_never_stored() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let key = "sk-configured-upstream-key-123";
    let options = MockOptions {
        expected_api_key: Some(key.to_owned()),
        ..MockOptions::default()
    };
    let mock = glassbox_mock::spawn(listener, options).unwrap();
    let server = server_for(
        &mock,
        &[
            ("GATEWAY_TEST_UPSTREAM_KEY", key),
            (
                "GLASSBOX_GATEWAY__OPENAI__API_KEY_ENV",
                "GATEWAY_TEST_UPSTREAM_KEY",
            ),
        ],
    );
    let trace = "5b8efff798038103d269b633813fc60c";
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", server.api))
        .bearer_auth("sk-client-key-that-upstream-rejects")
        .header("traceparent", format!("00-{trace}-eee19b7ec3c1b174-01"))
        .json(&json!({"model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": format!("echo {key}")}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let forwarded = &mock.log().requests()[0];
    assert_eq!(
        forwarded.header("authorization").unwrap(),
        format!("Bearer {key}")
    );

    let span = span_of(&server, trace).await;
    let stored = span.to_string();
    assert!(!stored.contains(key), "{stored}");
    assert!(!stored.contains("sk-client-key"), "{stored}");
}
