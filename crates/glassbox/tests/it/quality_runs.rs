//! Experiments and online evaluators in a real server, calling the mock provider through the
//! server's own gateway. The mock's reply is `Mock reply to: ` and the first eight words of
//! the last user message, so expected outputs and judge scores are known in advance.

use std::process::Command;
use std::time::Duration;

use glassbox_mock::{MockOptions, MockServer};
use serde_json::{Value, json};

use crate::server::Server;

async fn mock() -> MockServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    glassbox_mock::spawn(listener, MockOptions::default()).unwrap()
}

/// Starts a server whose gateway sends OpenAI calls to the mock, with `config` as its file.
fn server_with(mock: &MockServer, config: &str) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("glassbox.toml");
    std::fs::write(&path, config).unwrap();
    let openai = mock.openai_base_url();
    let server = Server::start_with_env_and_args(
        &[("GLASSBOX_OPENAI_BASE_URL", openai.as_str())],
        &["--config", path.to_str().unwrap()],
    );
    (server, dir)
}

async fn post(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", server.api))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn create_dataset(server: &Server, name: &str, items: Value) {
    let (status, body) = post(server, "/api/v1/datasets", &json!({"name": name})).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = post(
        server,
        &format!("/api/v1/datasets/{name}/items"),
        &json!({"items": items}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

/// Waits until the experiment has left the `running` state.
async fn finished(server: &Server, id: &str) -> Value {
    for _ in 0..200 {
        let detail = server.get_json(&format!("/api/v1/experiments/{id}")).await;
        if detail["experiment"]["status"] != "running" {
            return detail;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("experiment {id} still runs after 10 s");
}

/// Waits for the gateway's recorder to store a trace.
async fn recorded_trace(server: &Server, trace: &str) -> Value {
    for _ in 0..100 {
        let response = reqwest::get(format!("{}/api/v1/traces/{trace}", server.api))
            .await
            .unwrap();
        if response.status() == 200 {
            return response.json().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("trace {trace} was not recorded within 5 s");
}

fn scores_of(detail: &Value) -> Vec<(String, Value)> {
    detail["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| {
            (
                result["item_id"].as_str().unwrap().to_owned(),
                result["scores"].clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn experiment_runs_items_through_the_model_and_scores_them() {
    let mock = mock().await;
    let (server, _dir) = server_with(&mock, "");
    create_dataset(
        &server,
        "capitals",
        json!([
            {"input": "Capital of France?", "expected_output": "Mock reply to: Capital of France?"},
            {"input": [{"role": "user", "content": "Capital of Peru?"}], "expected_output": "Lima"},
        ]),
    )
    .await;

    let spec = json!({
        "dataset": "capitals",
        "model": "gpt-4o-mini",
        "scorers": [{"type": "exact"}, {"type": "contains", "value": "Capital"}],
        "judge": {"model": "gpt-4o-mini", "template": "Score: 0.75 is the grade; answer {{output}}"},
    });
    let (status, started) = post(&server, "/api/v1/experiments", &spec).await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["status"], "running");
    assert_eq!(started["name"], "capitals · gpt-4o-mini");

    let detail = finished(&server, started["id"].as_str().unwrap()).await;
    let experiment = &detail["experiment"];
    assert_eq!(experiment["status"], "completed", "{detail}");
    assert_eq!(experiment["totals"]["items"], 2);
    assert_eq!(experiment["totals"]["errors"], 0, "{detail}");
    assert_eq!(experiment["totals"]["score_means"]["exact"], 0.5);
    assert_eq!(experiment["totals"]["score_means"]["contains"], 1.0);
    assert_eq!(experiment["totals"]["score_means"]["llm_judge"], 0.75);
    let results = detail["results"].as_array().unwrap();
    assert_eq!(results[0]["output"], "Mock reply to: Capital of France?");
    assert_eq!(results[1]["output"], "Mock reply to: Capital of Peru?");
    assert_eq!(results[0]["input_tokens"], 3);
    assert!(results[0]["latency_ms"].as_f64().unwrap() > 0.0);
    assert!(
        results[0]["cost_usd"].as_f64().unwrap() > 0.0,
        "gpt-4o-mini has a price"
    );

    let trace = results[0]["trace_id"].as_str().unwrap();
    let recorded = recorded_trace(&server, trace).await;
    let span = &recorded["spans"][0];
    assert_eq!(span["metadata"]["glassbox-experiment"], experiment["id"]);
    assert_eq!(span["request_model"], "gpt-4o-mini");
    assert_eq!(
        mock.log().requests().len(),
        4,
        "two items and two judge calls"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replayed_experiments_compare() {
    let mock = mock().await;
    let (server, _dir) = server_with(&mock, "");
    create_dataset(
        &server,
        "replays",
        json!([
            {"input": "a", "expected_output": "kitten", "metadata": {"output": "sitting"}},
            {"input": "b", "expected_output": "flaw", "metadata": {"output": "flaw"}},
            {"input": "c", "expected_output": "x"},
        ]),
    )
    .await;

    let spec =
        json!({"dataset": "replays", "mode": "replay", "scorers": [{"type": "levenshtein"}]});
    let (status, first) = post(&server, "/api/v1/experiments", &spec).await;
    assert_eq!(status, 202, "{first}");
    let detail = finished(&server, first["id"].as_str().unwrap()).await;
    assert_eq!(detail["experiment"]["status"], "completed");
    assert_eq!(
        detail["experiment"]["totals"]["errors"], 1,
        "item c has no recorded output"
    );
    let scores = scores_of(&detail);
    let kitten = &scores[0].1["levenshtein"];
    assert!(
        (kitten.as_f64().unwrap() - (1.0 - 3.0 / 7.0)).abs() < 1e-9,
        "{kitten}"
    );
    assert_eq!(scores[1].1["levenshtein"], 1.0);
    assert!(
        detail["results"][2]["error"]
            .as_str()
            .unwrap()
            .contains("metadata.output")
    );
    assert!(mock.log().requests().is_empty(), "replay calls no model");

    let (_, second) = post(
        &server,
        "/api/v1/experiments",
        &json!({"dataset": "replays", "mode": "replay", "scorers": [{"type": "levenshtein"}, {"type": "exact"}]}),
    )
    .await;
    finished(&server, second["id"].as_str().unwrap()).await;
    let comparison = server
        .get_json(&format!(
            "/api/v1/experiments/compare?a={}&b={}",
            first["id"].as_str().unwrap(),
            second["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        comparison["scores"]["levenshtein"]["delta"], 0.0,
        "{comparison}"
    );
    assert_eq!(comparison["scores"]["exact"]["a"], Value::Null);
    assert_eq!(comparison["scores"]["exact"]["b"], 0.5);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_experiments_are_rejected() {
    let mock = mock().await;
    let (server, _dir) = server_with(&mock, "");
    create_dataset(
        &server,
        "one",
        json!([{"input": "q", "expected_output": "a"}]),
    )
    .await;
    let (status, _) = post(&server, "/api/v1/datasets", &json!({"name": "empty"})).await;
    assert_eq!(status, 201);

    let cases = [
        (
            json!({"dataset": "missing", "model": "m", "scorers": [{"type": "exact"}]}),
            404,
            "missing",
        ),
        (
            json!({"dataset": "empty", "model": "m", "scorers": [{"type": "exact"}]}),
            400,
            "no items",
        ),
        (
            json!({"dataset": "one", "scorers": [{"type": "exact"}]}),
            400,
            "model is required",
        ),
        (
            json!({"dataset": "one", "model": "m", "scorers": [{"type": "regex", "pattern": "("}]}),
            400,
            "pattern",
        ),
        (
            json!({"dataset": "one", "model": "m", "scorers": [{"type": "exact"}], "colour": 1}),
            400,
            "colour",
        ),
        (
            json!({"dataset": "one", "model": "m", "scorers": [{"type": "exact"}], "concurrency": 99}),
            400,
            "concurrency",
        ),
    ];
    for (spec, expected_status, expected_text) in cases {
        let (status, body) = post(&server, "/api/v1/experiments", &spec).await;
        assert_eq!(status, expected_status, "{spec}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected_text), "{spec}: {message}");
    }
    let listed = server.get_json("/api/v1/experiments").await;
    assert_eq!(listed["experiments"], json!([]), "nothing was created");
}

/// Waits until the trace has `count` scores.
async fn scores_for(server: &Server, trace: &str, count: usize) -> Vec<Value> {
    for _ in 0..150 {
        let listing = server
            .get_json(&format!("/api/v1/scores?trace_id={trace}"))
            .await;
        let scores = listing["scores"].as_array().unwrap().clone();
        if scores.len() >= count {
            return scores;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("trace {trace} did not get {count} scores within 15 s");
}

const EVALUATORS: &str = r#"
[[evaluators]]
name = "short_answer"
check = { type = "length", max = 200 }

[[evaluators]]
name = "mentions_weather"
filter = { model = "gpt-4o-mini" }
check = { type = "regex", pattern = "(?i)weather" }

[[evaluators]]
name = "other_model_only"
filter = { model = "claude-3-5-haiku" }
check = { type = "length", max = 1 }

[[evaluators]]
name = "helpfulness"
judge = { model = "gpt-4o-mini", template = "Score: 0.6 fits; judge {{output}} for {{input}}" }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn evaluators_score_live_calls_but_not_their_own() {
    let mock = mock().await;
    let (server, _dir) = server_with(&mock, EVALUATORS);
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", server.api))
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .json(&json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "How is the weather today?"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let scores = scores_for(&server, trace, 3).await;
    let mut by_name: Vec<(String, Value, String)> = scores
        .iter()
        .map(|score| {
            (
                score["name"].as_str().unwrap().to_owned(),
                score["value"].clone(),
                score["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    by_name.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        by_name,
        [
            ("helpfulness".to_owned(), json!(0.6), "llm_judge".to_owned()),
            (
                "mentions_weather".to_owned(),
                json!(true),
                "evaluator".to_owned()
            ),
            (
                "short_answer".to_owned(),
                json!(true),
                "evaluator".to_owned()
            ),
        ]
    );

    // The judge's own call is recorded but never scored.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let judged = server.get_json("/api/v1/spans?kind=llm&limit=10").await;
    let spans = judged["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 2, "the call and its judgment");
    let judge_span = spans
        .iter()
        .find(|span| span["metadata"]["glassbox-evaluator"] == "helpfulness")
        .expect("the judge call is traced");
    let judge_trace = judge_span["trace_id"].as_str().unwrap();
    let listing = server
        .get_json(&format!("/api/v1/scores?trace_id={judge_trace}"))
        .await;
    assert_eq!(listing["scores"], json!([]));
}

#[test]
fn invalid_evaluator_configuration_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("glassbox.toml");
    std::fs::write(
        &path,
        "[[evaluators]]\nname = \"x\"\ncheck = { type = \"regex\", pattern = \"(\" }\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--otlp-http-listen",
            "off",
            "--otlp-grpc-listen",
            "off",
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&path)
        .env_remove("GLASSBOX_CONFIG")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("evaluator \"x\"") && stderr.contains("pattern"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn experiment_command_prints_the_totals() {
    let mock = mock().await;
    let (server, _dir) = server_with(&mock, "");
    create_dataset(
        &server,
        "cli",
        json!([
            {"input": "Ping?", "expected_output": "Mock reply to: Ping?"},
            {"input": "Pong?", "expected_output": "something else"},
        ]),
    )
    .await;

    let api = server.api.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_glassbox"))
            .args(["experiment", "run", "--server", &api, "--dataset", "cli"])
            .args([
                "--model",
                "gpt-4o-mini",
                "--scorer",
                "exact",
                "--name",
                "cli run",
            ])
            .env_remove("GLASSBOX_CONFIG")
            .output()
            .unwrap()
    })
    .await
    .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("(cli run): completed"), "{stdout}");
    assert!(stdout.contains("items: 2, errors: 0"), "{stdout}");
    assert!(stdout.contains("  exact: 0.500"), "{stdout}");

    let unknown_upstream = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args([
            "experiment",
            "run",
            "--server",
            &server.api,
            "--dataset",
            "cli",
        ])
        .args(["--model", "gpt-4o-mini", "--upstream", "nowhere"])
        .output()
        .unwrap();
    assert!(!unknown_upstream.status.success());
    let stderr = String::from_utf8_lossy(&unknown_upstream.stderr);
    assert!(
        stderr.contains("every item") && stderr.contains("nowhere"),
        "{stderr}"
    );

    let missing = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args([
            "experiment",
            "run",
            "--server",
            &server.api,
            "--dataset",
            "nope",
            "--model",
            "m",
        ])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("HTTP 404") && stderr.contains("nope"),
        "{stderr}"
    );
}
