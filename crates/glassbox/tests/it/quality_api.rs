//! Scores, datasets and experiments over the HTTP API of a real server. The tests cover
//! input checks with the status and the offending field, batches that are written whole or
//! not at all, file imports with row errors, and the comparison of two experiments.

use std::collections::BTreeMap;

use glassbox_model::{ExperimentResult, ExperimentStatus};
use glassbox_store::{NewDatasetItem, NewExperiment, QualityStore, SqliteOptions, SqliteStore};
use serde_json::{Value, json};

use crate::otlp::{chat_span, encode, post, request, span_hex, trace_hex};
use crate::server::Server;

/// Start of the recorded chat span: 2023-11-14T22:13:20Z.
const T0: u64 = 1_700_000_000_000_000_000;
const RANGE: &str = "from=2023-11-14T22:00:00Z&to=2023-11-14T23:00:00Z";

/// Starts a server holding one trace (seed 1) with one chat span (seed 1) of service
/// `shop`.
async fn server_with_chat_span() -> Server {
    let server = Server::start();
    let body = encode(&request("shop", vec![chat_span(1, 1, None, T0)]));
    let response = post(&server.otlp_http, body, "application/x-protobuf", None).await;
    assert_eq!(response.status(), 200);
    server
}

async fn send(server: &Server, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", server.api);
    let request = match method {
        "POST" => client.post(url),
        "DELETE" => client.delete(url),
        _ => client.get(url),
    };
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, json)
}

async fn post_json(server: &Server, path: &str, body: Value) -> (u16, Value) {
    send(server, "POST", path, Some(body)).await
}

async fn post_raw(server: &Server, path: &str, body: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", server.api))
        .header("content-type", "application/octet-stream")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

async fn listed_scores(server: &Server, query: &str) -> Vec<Value> {
    let page = server
        .get_json(&format!("/api/v1/scores?limit=1000&{query}"))
        .await;
    page["scores"].as_array().unwrap().clone()
}

#[tokio::test]
async fn scores_reject_bad_input_with_the_field() {
    let server = server_with_chat_span().await;
    let trace = trace_hex(1);

    let cases = [
        (
            json!({"trace_id": trace, "name": "q", "value": "high", "data_type": "numeric"}),
            "score.value must be a finite number for data_type numeric, got a string",
        ),
        (
            json!({"trace_id": trace, "name": "q", "value": 1, "data_type": "boolean"}),
            "score.value must be true or false for data_type boolean, got a number",
        ),
        (
            json!({"trace_id": trace, "name": "q", "value": [1]}),
            "score.value must be a number, a boolean or a string, got an array",
        ),
        (
            json!({"trace_id": trace, "name": "q", "value": 1, "data_type": "percent"}),
            "score.data_type \"percent\" is not one of numeric, boolean, categorical",
        ),
        (
            json!({"trace_id": "abc", "name": "q", "value": 1}),
            "score.trace_id must be 32 hex characters, got \"abc\"",
        ),
        (
            json!({"name": "q", "value": 1}),
            "score.trace_id is missing",
        ),
        (
            json!({"trace_id": trace, "name": "a\u{7}b", "value": 1}),
            "score.name must not contain control characters",
        ),
        (
            json!({"trace_id": trace, "name": "q", "value": 1, "source": "robot"}),
            "score.source \"robot\" is not one of api, feedback, evaluator, llm_judge, experiment",
        ),
        (
            json!({"trace_id": trace, "name": "q", "value": 1, "comment": "x".repeat(10_001)}),
            "score.comment is 10001 characters long; the maximum is 10000",
        ),
        (
            json!({"trace_id": trace, "name": "q", "value": 1, "author": "a".repeat(201)}),
            "score.author is 201 characters long; the maximum is 200",
        ),
    ];
    for (body, expected) in cases {
        let (status, response) = post_json(&server, "/api/v1/scores", body).await;
        assert_eq!(status, 400, "{response}");
        assert!(message(&response).contains(expected), "{response}");
    }

    let nan = format!(r#"{{"trace_id": "{trace}", "name": "q", "value": NaN}}"#);
    let (status, response) = post_raw(&server, "/api/v1/scores", &nan).await;
    assert_eq!(status, 400, "{response}");
    assert_eq!(response["error"]["code"], "invalid_body");
    let quoted_nan =
        json!({"trace_id": trace, "name": "q", "value": "NaN", "data_type": "numeric"});
    let (status, response) = post_json(&server, "/api/v1/scores", quoted_nan).await;
    assert_eq!(status, 400, "{response}");
    assert!(
        message(&response).contains("score.value must be a finite number"),
        "{response}"
    );

    let unknown_trace = trace_hex(99);
    let (status, response) = post_json(
        &server,
        "/api/v1/scores",
        json!({"trace_id": unknown_trace, "name": "q", "value": 1}),
    )
    .await;
    assert_eq!(status, 404, "{response}");
    assert!(
        message(&response).contains(&format!("trace {unknown_trace} not found")),
        "{response}"
    );
    let unknown_span = span_hex(42);
    let (status, response) = post_json(
        &server,
        "/api/v1/scores",
        json!({"trace_id": trace, "span_id": unknown_span, "name": "q", "value": 1}),
    )
    .await;
    assert_eq!(status, 404, "{response}");
    assert!(
        message(&response).contains(&format!("span {unknown_span}")),
        "{response}"
    );

    let (status, response) = send(&server, "GET", "/api/v1/scores?colour=red", None).await;
    assert_eq!(status, 400, "{response}");
    assert!(message(&response).contains("colour"), "{response}");
    assert!(
        listed_scores(&server, "").await.is_empty(),
        "nothing was stored"
    );
    assert_eq!(send(&server, "GET", "/api/v1/health", None).await.0, 200);
}

#[tokio::test]
async fn score_batches_are_atomic() {
    let server = server_with_chat_span().await;
    let trace = trace_hex(1);
    let good = json!({"trace_id": trace, "name": "quality", "value": 0.5});

    let (status, response) = post_json(
        &server,
        "/api/v1/scores",
        json!({"scores": [good, {"trace_id": trace, "name": "", "value": 1}]}),
    )
    .await;
    assert_eq!(status, 400, "{response}");
    assert!(
        message(&response).contains("scores[1].name must not be empty"),
        "{response}"
    );
    assert!(
        message(&response).contains("nothing was written"),
        "{response}"
    );

    let (status, response) = post_json(
        &server,
        "/api/v1/scores",
        json!({"scores": [good, {"trace_id": trace_hex(7), "name": "q", "value": 1}]}),
    )
    .await;
    assert_eq!(status, 404, "{response}");
    assert!(
        message(&response).starts_with("scores[1]: trace "),
        "{response}"
    );
    assert!(
        listed_scores(&server, "").await.is_empty(),
        "no partial batch"
    );

    let too_many: Vec<Value> = (0..1_001).map(|_| good.clone()).collect();
    let (status, response) =
        post_json(&server, "/api/v1/scores", json!({ "scores": too_many })).await;
    assert_eq!(status, 413, "{response}");
    assert!(message(&response).contains("at most 1000"), "{response}");
    assert!(listed_scores(&server, "").await.is_empty());
}

#[tokio::test]
async fn scores_store_list_and_aggregate() {
    let server = server_with_chat_span().await;
    let trace = trace_hex(1);
    let span = span_hex(1);
    let fixed_id = "0123456789abcdef0123456789abcdef";

    let batch = json!({"scores": [
        {"id": fixed_id, "trace_id": trace, "span_id": span, "name": "quality", "value": 0.5,
         "source": "llm_judge", "comment": "partly right", "author": "judge-1"},
        {"trace_id": trace, "name": "quality", "value": 0.75},
        {"trace_id": trace, "name": "thumbs", "value": true, "source": "feedback"},
        {"trace_id": trace, "name": "label", "value": "good"},
    ]});
    let (status, response) = post_json(&server, "/api/v1/scores", batch).await;
    assert_eq!(status, 201, "{response}");
    let stored = response["scores"].as_array().unwrap();
    assert_eq!(stored.len(), 4);
    assert_eq!(stored[0]["id"], fixed_id);
    assert_eq!(stored[0]["span_id"], span.as_str());
    assert_eq!(stored[0]["data_type"], "numeric");
    assert_eq!(stored[0]["model"], "gpt-4o");
    assert_eq!(stored[0]["provider"], "openai");
    assert_eq!(stored[0]["service"], "shop");
    assert_eq!(
        stored[0]["target_start_time"],
        "2023-11-14T22:13:20.000000000Z"
    );
    assert_eq!(stored[1]["span_id"], Value::Null);
    assert_eq!(stored[1]["model"], "gpt-4o");
    assert_eq!(stored[2]["data_type"], "boolean");
    assert_eq!(stored[3]["data_type"], "categorical");
    assert_eq!(stored[1]["id"].as_str().unwrap().len(), 32);

    // Sending the same id again replaces the score.
    let resend = json!({"id": fixed_id, "trace_id": trace, "span_id": span, "name": "quality",
        "value": 0.25, "source": "llm_judge"});
    let (status, response) = post_json(&server, "/api/v1/scores", resend).await;
    assert_eq!(status, 201, "{response}");
    let all = listed_scores(&server, "").await;
    assert_eq!(all.len(), 4);
    let replaced = all.iter().find(|score| score["id"] == fixed_id).unwrap();
    assert_eq!(replaced["value"], 0.25);
    assert_eq!(replaced["comment"], Value::Null);

    let by_span = listed_scores(&server, &format!("span_id={span}")).await;
    assert_eq!(by_span.len(), 1);
    let by_source = listed_scores(&server, "source=feedback").await;
    assert_eq!(by_source.len(), 1);
    assert_eq!(by_source[0]["value"], true);
    let (status, response) = send(&server, "GET", "/api/v1/scores?source=robot", None).await;
    assert_eq!(status, 400, "{response}");

    let first = server.get_json("/api/v1/scores?limit=3").await;
    assert_eq!(first["scores"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = server
        .get_json(&format!("/api/v1/scores?limit=3&cursor={cursor}"))
        .await;
    assert_eq!(second["scores"].as_array().unwrap().len(), 1);
    assert!(second["next_cursor"].is_null());

    let metrics = server
        .get_json(&format!("/api/v1/metrics/scores?{RANGE}&group_by=name"))
        .await;
    let groups = metrics["groups"].as_array().unwrap();
    let keys: Vec<&str> = groups.iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["quality", "label", "thumbs"]);
    assert_eq!(groups[0]["count"], 2);
    assert_eq!(groups[0]["mean"], 0.5);
    assert_eq!(groups[0]["min"], 0.25);
    assert_eq!(groups[0]["max"], 0.75);
    assert_eq!(groups[1]["mean"], Value::Null);
    assert_eq!(groups[1]["categories"], json!({"good": 1}));
    assert_eq!(groups[2]["mean"], 1.0);
    assert!(groups[0]["points"].is_null());

    let series = server
        .get_json(&format!(
            "/api/v1/metrics/scores?{RANGE}&name=quality&step=60"
        ))
        .await;
    let points = series["groups"][0]["points"].as_array().unwrap();
    assert_eq!(points.len(), 60);
    assert_eq!(points[13]["time"], "2023-11-14T22:13:00.000000000Z");
    assert_eq!(points[13]["count"], 2);
    assert_eq!(points[13]["mean"], 0.5);
    assert_eq!(points[12]["count"], 0);
    assert_eq!(points[12]["mean"], Value::Null);

    for (query, parameter) in [
        ("group_by=user", "group_by"),
        ("step=90", "step"),
        ("from=later", "from"),
        ("source=robot", "source"),
        ("metric=count", "metric"),
    ] {
        let path = format!("/api/v1/metrics/scores?{query}");
        let (status, response) = send(&server, "GET", &path, None).await;
        assert_eq!(status, 400, "{path}: {response}");
        assert!(message(&response).contains(parameter), "{path}: {response}");
    }
}

#[tokio::test]
async fn datasets_reject_duplicates_and_bad_items() {
    let server = server_with_chat_span().await;
    let (status, response) = post_json(
        &server,
        "/api/v1/datasets",
        json!({"name": "qa", "description": "questions"}),
    )
    .await;
    assert_eq!(status, 201, "{response}");
    assert_eq!(response["item_count"], 0);
    let (status, response) = post_json(&server, "/api/v1/datasets", json!({"name": "qa"})).await;
    assert_eq!(status, 409, "{response}");
    assert!(
        message(&response).contains("\"qa\" exists already"),
        "{response}"
    );
    let (status, response) = post_json(&server, "/api/v1/datasets", json!({"name": "q a"})).await;
    assert_eq!(status, 400, "{response}");
    assert!(
        message(&response).contains("body.name contains ' '"),
        "{response}"
    );

    let items = json!({"items": [
        {"input": "What is 2 + 2?", "expected_output": "4"},
        {"input": [{"role": "user", "content": "Hi"}], "metadata": {"topic": "greeting"}},
    ]});
    let (status, response) = post_json(&server, "/api/v1/datasets/qa/items", items).await;
    assert_eq!(status, 201, "{response}");
    assert_eq!(response["items"].as_array().unwrap().len(), 2);

    let bad = json!({"items": [
        {"input": "fine"},
        {"input": 5},
        {"input": "x", "metadata": [1], "colour": "red"},
    ]});
    let (status, response) = post_json(&server, "/api/v1/datasets/qa/items", bad).await;
    assert_eq!(status, 400, "{response}");
    let text = message(&response);
    assert!(
        text.contains(
            "items[1].input must be a string, an array of messages or an object, got a number"
        ),
        "{text}"
    );
    assert!(
        text.contains("items[2].metadata must be an object, got an array"),
        "{text}"
    );
    assert!(
        text.contains("items[2].colour is not a known field"),
        "{text}"
    );
    let large = json!({"items": [{"input": "y".repeat(1_048_577)}]});
    let (status, response) = post_json(&server, "/api/v1/datasets/qa/items", large).await;
    assert_eq!(status, 400, "{response}");
    assert!(
        message(&response).contains("items[0] is 1048589 bytes of JSON"),
        "{response}"
    );

    let (status, response) = post_json(
        &server,
        "/api/v1/datasets/nope/items",
        json!({"items": [{"input": "x"}]}),
    )
    .await;
    assert_eq!(status, 404, "{response}");

    let detail = server.get_json("/api/v1/datasets/qa?limit=1").await;
    assert_eq!(
        detail["dataset"]["item_count"], 2,
        "the rejected requests added nothing"
    );
    assert_eq!(detail["items"][0]["input"], "What is 2 + 2?");
    let cursor = detail["next_cursor"].as_str().unwrap();
    let next = server
        .get_json(&format!("/api/v1/datasets/qa?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(next["items"][0]["metadata"], json!({"topic": "greeting"}));
    assert!(next["next_cursor"].is_null());

    let list = server.get_json("/api/v1/datasets").await;
    assert_eq!(list["datasets"][0]["name"], "qa");

    assert_eq!(
        send(&server, "DELETE", "/api/v1/datasets/qa", None).await.0,
        204
    );
    assert_eq!(
        send(&server, "GET", "/api/v1/datasets/qa", None).await.0,
        404
    );
    assert_eq!(
        send(&server, "DELETE", "/api/v1/datasets/qa", None).await.0,
        404
    );
}

#[tokio::test]
async fn dataset_import_reports_rows() {
    let server = server_with_chat_span().await;
    let (status, _) = post_json(&server, "/api/v1/datasets", json!({"name": "imported"})).await;
    assert_eq!(status, 201);

    let jsonl = "{\"input\": \"first\", \"expected_output\": \"1\"}\n\
                 {\"input\": \n\
                 {\"input\": \"third\", \"topic\": \"math\"}\n\
                 {\"expected_output\": \"no input\"}\n";
    let (status, response) = post_raw(
        &server,
        "/api/v1/datasets/imported/import?format=jsonl",
        jsonl,
    )
    .await;
    assert_eq!(status, 400, "{response}");
    let text = message(&response);
    assert!(
        text.starts_with("invalid request body: 2 rows are invalid: row 2: "),
        "{text}"
    );
    assert!(text.contains("; row 4: "), "{text}");
    assert!(text.contains("skip_invalid=true"), "{text}");
    let detail = server.get_json("/api/v1/datasets/imported").await;
    assert_eq!(
        detail["dataset"]["item_count"], 0,
        "nothing written without skip_invalid"
    );

    let (status, response) = post_raw(
        &server,
        "/api/v1/datasets/imported/import?format=jsonl&skip_invalid=true",
        jsonl,
    )
    .await;
    assert_eq!(status, 201, "{response}");
    let items = response["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["expected_output"], "1");
    assert_eq!(items[1]["metadata"], json!({"topic": "math"}));
    let skipped: Vec<u64> = response["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["row"].as_u64().unwrap())
        .collect();
    assert_eq!(skipped, [2, 4]);

    let csv = "input,expected_output,topic\nWhat is 3 + 3?,6,math\n\"Say \"\"hi\"\"\",hi,\n";
    let (status, response) =
        post_raw(&server, "/api/v1/datasets/imported/import?format=csv", csv).await;
    assert_eq!(status, 201, "{response}");
    let items = response["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["input"], "What is 3 + 3?");
    assert_eq!(items[0]["metadata"], json!({"topic": "math"}));
    assert_eq!(items[1]["input"], "Say \"hi\"");

    let detail = server.get_json("/api/v1/datasets/imported").await;
    assert_eq!(detail["dataset"]["item_count"], 4);

    for (path, status_expected, parameter) in [
        ("/api/v1/datasets/imported/import", 400, "format"),
        ("/api/v1/datasets/imported/import?format=xml", 400, "format"),
        (
            "/api/v1/datasets/imported/import?format=csv&skip_invalid=yes",
            400,
            "skip_invalid",
        ),
        ("/api/v1/datasets/absent/import?format=csv", 404, "absent"),
    ] {
        let (status, response) = post_raw(&server, path, csv).await;
        assert_eq!(status, status_expected, "{path}: {response}");
        assert!(message(&response).contains(parameter), "{path}: {response}");
    }
    let (status, response) = post_raw(
        &server,
        "/api/v1/datasets/imported/import?format=csv",
        "question\nx\n",
    )
    .await;
    assert_eq!(status, 400, "{response}");
    assert!(
        message(&response).contains("missing input column"),
        "{response}"
    );
}

#[tokio::test]
async fn dataset_items_copy_model_spans() {
    let server = server_with_chat_span().await;
    post_json(&server, "/api/v1/datasets", json!({"name": "from-traffic"})).await;
    let trace = trace_hex(1);
    let span = span_hex(1);

    let listed = json!({"spans": [{"trace_id": trace, "span_id": span}]});
    let (status, response) = post_json(
        &server,
        "/api/v1/datasets/from-traffic/items/from-spans",
        listed,
    )
    .await;
    assert_eq!(status, 201, "{response}");
    let item = &response["items"][0];
    assert_eq!(
        item["input"],
        json!([{"role": "user", "content": "Where is the blue widget?"}])
    );
    assert_eq!(item["metadata"]["model"], "gpt-4o");
    assert_eq!(item["metadata"]["trace_id"], trace.as_str());
    assert_eq!(item["source_span_id"], span.as_str());

    let unknown = json!({"spans": [{"trace_id": trace, "span_id": span_hex(5)}]});
    let (status, response) = post_json(
        &server,
        "/api/v1/datasets/from-traffic/items/from-spans",
        unknown,
    )
    .await;
    assert_eq!(status, 404, "{response}");
    assert!(
        message(&response).contains(&format!("spans[0]: span {}", span_hex(5))),
        "{response}"
    );

    let filter =
        json!({"filter": {"model": "gpt-4o", "from": "2023-11-14T00:00:00Z", "limit": 10}});
    let (status, response) = post_json(
        &server,
        "/api/v1/datasets/from-traffic/items/from-spans",
        filter,
    )
    .await;
    assert_eq!(status, 201, "{response}");
    assert_eq!(response["items"].as_array().unwrap().len(), 1);

    let bad_filter = json!({"filter": {"limit": 0, "flag": "nonsense"}});
    let (status, response) = post_json(
        &server,
        "/api/v1/datasets/from-traffic/items/from-spans",
        bad_filter,
    )
    .await;
    assert_eq!(status, 400, "{response}");
    assert!(
        message(&response).contains("filter.limit must be an integer from 1 to 1000"),
        "{response}"
    );

    let detail = server.get_json("/api/v1/datasets/from-traffic").await;
    assert_eq!(detail["dataset"]["item_count"], 2);
}

fn result(item_id: &str, exact: f64, latency_ms: f64, cost_usd: f64) -> ExperimentResult {
    ExperimentResult {
        experiment_id: String::new(),
        item_id: item_id.to_owned(),
        output: Some(json!("answer")),
        error: None,
        scores: BTreeMap::from([("exact".to_owned(), exact)]),
        latency_ms: Some(latency_ms),
        cost_usd: Some(cost_usd),
        input_tokens: Some(10),
        output_tokens: Some(5),
        trace_id: None,
    }
}

/// Creates a dataset of three items and two finished experiments over it in the store of
/// `data_dir`; returns the experiment ids and the item ids.
async fn stored_experiments(data_dir: &std::path::Path) -> (String, String, Vec<String>) {
    let store = SqliteStore::open(data_dir, SqliteOptions::default()).unwrap();
    store.create_dataset("bench".into(), None).await.unwrap();
    let items = (0..3)
        .map(|index| NewDatasetItem {
            input: json!(format!("question {index}")),
            expected_output: Some(json!("answer")),
            metadata: serde_json::Map::new(),
            source_trace_id: None,
            source_span_id: None,
        })
        .collect();
    let items: Vec<String> = store
        .add_dataset_items("bench".into(), items)
        .await
        .unwrap()
        .into_iter()
        .map(|item| item.id)
        .collect();

    let mut ids = Vec::new();
    let runs = [
        (
            "baseline",
            [(1.0, 100.0, 0.5), (0.0, 200.0, 0.25), (1.0, 300.0, 0.25)],
        ),
        (
            "candidate",
            [(1.0, 50.0, 0.125), (1.0, 150.0, 0.125), (0.0, 100.0, 0.25)],
        ),
    ];
    for (name, figures) in runs {
        let experiment = store
            .create_experiment(NewExperiment {
                name: name.into(),
                dataset_name: "bench".into(),
                config: json!({"model": name}),
            })
            .await
            .unwrap();
        let results = items
            .iter()
            .zip(figures)
            .map(|(item, (exact, latency, cost))| result(item, exact, latency, cost))
            .collect();
        store
            .save_experiment_results(experiment.id.clone(), results)
            .await
            .unwrap();
        store
            .finish_experiment(experiment.id.clone(), ExperimentStatus::Completed, None)
            .await
            .unwrap();
        ids.push(experiment.id);
    }
    glassbox_store::WriteStore::flush(&store).await.unwrap();
    (ids[0].clone(), ids[1].clone(), items)
}

#[tokio::test]
async fn experiments_compare_two_runs() {
    let data_dir = tempfile::tempdir().unwrap();
    let (baseline, candidate, items) = stored_experiments(data_dir.path()).await;
    let server = Server::start_in(data_dir.path(), &[]);

    let list = server.get_json("/api/v1/experiments?dataset=bench").await;
    let names: Vec<&str> = list["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|experiment| experiment["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(
        names.contains(&"baseline") && names.contains(&"candidate"),
        "{names:?}"
    );

    let detail = server
        .get_json(&format!("/api/v1/experiments/{baseline}"))
        .await;
    let totals = &detail["experiment"]["totals"];
    assert_eq!(detail["experiment"]["status"], "completed");
    assert_eq!(totals["items"], 3);
    assert_eq!(totals["cost_usd"], 1.0);
    assert_eq!(totals["latency_mean_ms"], 200.0);
    assert_eq!(totals["latency_p50_ms"], 200.0);
    assert_eq!(totals["latency_p95_ms"], 290.0);
    assert_eq!(totals["input_tokens"], 30);
    assert_eq!(detail["results"].as_array().unwrap().len(), 3);
    assert_eq!(detail["results"][0]["item_id"], items[0].as_str());

    let comparison = server
        .get_json(&format!(
            "/api/v1/experiments/compare?a={baseline}&b={candidate}"
        ))
        .await;
    assert_eq!(comparison["a"]["name"], "baseline");
    assert_eq!(comparison["b"]["name"], "candidate");
    assert_eq!(
        comparison["scores"]["exact"],
        json!({"a": 2.0 / 3.0, "b": 2.0 / 3.0, "delta": 0.0})
    );
    assert_eq!(
        comparison["cost_usd"],
        json!({"a": 1.0, "b": 0.5, "delta": -0.5})
    );
    assert_eq!(
        comparison["latency_mean_ms"],
        json!({"a": 200.0, "b": 100.0, "delta": -100.0})
    );
    let compared = comparison["items"].as_array().unwrap();
    let order: Vec<&str> = compared
        .iter()
        .map(|item| item["item_id"].as_str().unwrap())
        .collect();
    let (mut changed, unchanged) = (
        vec![items[1].as_str(), items[2].as_str()],
        items[0].as_str(),
    );
    changed.sort();
    assert_eq!(
        order,
        [changed[0], changed[1], unchanged],
        "changed items first, then by id"
    );
    assert_eq!(compared[2]["max_abs_delta"], 0.0);
    let item_2 = compared
        .iter()
        .find(|item| item["item_id"] == items[2].as_str())
        .unwrap();
    assert_eq!(
        item_2["scores"]["exact"],
        json!({"a": 1.0, "b": 0.0, "delta": -1.0})
    );

    let (status, response) = send(
        &server,
        "GET",
        &format!("/api/v1/experiments/compare?a={baseline}"),
        None,
    )
    .await;
    assert_eq!(status, 400, "{response}");
    assert!(message(&response).contains("invalid b"), "{response}");
    let (status, response) = send(
        &server,
        "GET",
        &format!("/api/v1/experiments/compare?a={baseline}&b=missing"),
        None,
    )
    .await;
    assert_eq!(status, 404, "{response}");
    assert!(message(&response).contains("\"missing\""), "{response}");
    let (status, _) = send(&server, "GET", "/api/v1/experiments/nope", None).await;
    assert_eq!(status, 404);

    let document = server.get_json("/api/v1/openapi.json").await;
    for (path, method) in [
        ("/api/v1/scores", "post"),
        ("/api/v1/scores", "get"),
        ("/api/v1/metrics/scores", "get"),
        ("/api/v1/datasets", "post"),
        ("/api/v1/datasets/{name}", "delete"),
        ("/api/v1/datasets/{name}/import", "post"),
        ("/api/v1/datasets/{name}/items/from-spans", "post"),
        ("/api/v1/experiments/compare", "get"),
        ("/api/v1/experiments/{id}", "get"),
    ] {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
}
