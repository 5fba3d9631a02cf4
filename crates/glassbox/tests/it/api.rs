//! The HTTP API over the recorded payloads: filters, pagination, sessions, errors and the
//! OpenAPI document.

use std::time::Duration;

use serde_json::Value;

use crate::fixtures::{Payload, all_payloads, post_http};
use crate::server::Server;

async fn filled_server() -> Server {
    let server = Server::start();
    let payloads: Vec<Payload> = all_payloads()
        .into_iter()
        .filter(|payload| payload.encoding == glassbox_otlp::Encoding::Protobuf)
        .collect();
    for payload in &payloads {
        let (status, _) = post_http(&server.otlp_http, payload).await;
        assert_eq!(status, 200, "{}", payload.path.display());
    }
    server
}

fn list<'a>(json: &'a Value, key: &str) -> &'a Vec<Value> {
    json[key].as_array().unwrap()
}

async fn all_traces(server: &Server, query: &str) -> Vec<Value> {
    let json = server
        .get_json(&format!("/api/v1/traces?limit=1000&{query}"))
        .await;
    assert!(json["next_cursor"].is_null());
    list(&json, "traces").clone()
}

async fn error_of(server: &Server, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{}{path}", server.api)).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn api_over_recorded_payloads() {
    let server = filled_server().await;
    let everything = all_traces(&server, "").await;
    assert!(everything.len() > 100, "{} traces", everything.len());

    pagination_walks_every_trace(&server, &everything).await;
    filters_narrow_traces(&server, &everything).await;
    full_text_search_finds_messages(&server).await;
    spans_filter_by_kind_and_trace(&server).await;
    trace_detail_orders_spans(&server, &everything).await;
    sessions_group_traces(&server).await;
    invalid_parameters_are_400(&server).await;
    openapi_lists_every_endpoint(&server).await;
    metrics_agree_with_spans(&server).await;
    traces_count_unpriced_calls(&server, &everything).await;
    metrics_reject_invalid_parameters(&server).await;
    custom_prices_and_reprice(&server).await;
    metric_points_come_back_as_series(&server).await;
}

async fn metric_points_come_back_as_series(server: &Server) {
    let range = "from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z";
    let names = server
        .get_json(&format!("/api/v1/metrics/names?{range}"))
        .await;
    let names = list(&names, "names");
    assert!(!names.is_empty(), "the fixtures carry OTLP metrics");
    let gauge_or_sum = names
        .iter()
        .find(|name| matches!(name["kind"].as_str(), Some("gauge" | "sum")))
        .expect("a gauge or sum among the fixture metrics");
    let name = gauge_or_sum["name"].as_str().unwrap();
    let points = server
        .get_json(&format!(
            "/api/v1/metrics/points?name={name}&{range}&step=1d"
        ))
        .await;
    let series = list(&points, "series");
    assert!(!series.is_empty(), "{points}");
    let stored: usize = series.iter().map(|one| list(one, "steps").len()).sum();
    assert!(stored >= 1);
    assert_eq!(points["step_seconds"], 86_400);

    for (path, parameter) in [
        ("/api/v1/metrics/points", "name"),
        ("/api/v1/metrics/points?name=x&labels=novalue", "labels"),
        ("/api/v1/metrics/points?name=x&step=7s", "step"),
        (
            "/api/v1/metrics/points?name=x&from=2000-01-01T00:00:00Z&step=60",
            "step",
        ),
        ("/api/v1/metrics/names?from=soon", "from"),
    ] {
        let (status, body) = error_of(server, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(parameter),
            "{path}: {body}"
        );
    }
}

async fn pagination_walks_every_trace(server: &Server, everything: &[Value]) {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/traces?limit=7&cursor={cursor}"),
            None => "/api/v1/traces?limit=7".to_owned(),
        };
        let page = server.get_json(&path).await;
        let traces = list(&page, "traces");
        assert!(traces.len() <= 7);
        seen.extend(
            traces
                .iter()
                .map(|trace| trace["trace_id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = everything
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, expected);
    let starts: Vec<&str> = everything
        .iter()
        .map(|t| t["start_time"].as_str().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|pair| pair[0] >= pair[1]),
        "not newest first"
    );
}

async fn filters_narrow_traces(server: &Server, everything: &[Value]) {
    let slowest = all_traces(server, "sort=slowest").await;
    assert_eq!(slowest.len(), everything.len());
    let durations: Vec<f64> = slowest
        .iter()
        .map(|trace| trace["duration_ms"].as_f64().unwrap())
        .collect();
    assert!(
        durations.windows(2).all(|pair| pair[0] >= pair[1]),
        "{durations:?}"
    );

    let service = all_traces(server, "service=corpus-openinference-openai").await;
    assert!(!service.is_empty());
    assert!(
        service
            .iter()
            .all(|t| t["service_name"] == "corpus-openinference-openai")
    );

    let claude = all_traces(server, "model=mock-claude").await;
    assert!(!claude.is_empty());
    assert!(
        claude
            .iter()
            .all(|t| list(t, "models").iter().any(|m| m == "mock-claude"))
    );

    let anthropic = all_traces(server, "provider=anthropic").await;
    assert!(anthropic.len() >= claude.len());

    let user = all_traces(server, "user_id=user-fictional-42").await;
    assert!(!user.is_empty());
    assert!(user.iter().all(|t| t["user_id"] == "user-fictional-42"));

    let errors = all_traces(server, "status=error").await;
    let expected = everything
        .iter()
        .filter(|t| t["error_count"].as_u64().unwrap() > 0)
        .count();
    assert!(expected > 5);
    assert_eq!(errors.len(), expected);

    let slow = all_traces(server, "min_duration_ms=100").await;
    assert!(
        slow.iter()
            .all(|t| t["duration_ms"].as_f64().unwrap() >= 100.0)
    );
    assert!(slow.len() < everything.len());

    let pivot = &everything[everything.len() / 2];
    let from = pivot["start_time"].as_str().unwrap();
    let later = all_traces(server, &format!("from={from}")).await;
    assert_eq!(later.len(), everything.len() / 2 + 1);
    let earlier = all_traces(server, &format!("to={from}")).await;
    assert_eq!(earlier.len() + later.len(), everything.len());
}

async fn full_text_search_finds_messages(server: &Server) {
    let mut found = Vec::new();
    for _ in 0..50 {
        found = all_traces(server, "q=Sampletown").await;
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!found.is_empty(), "the full-text index never caught up");
    for trace in &found {
        let detail = server
            .get_json(&format!(
                "/api/v1/traces/{}",
                trace["trace_id"].as_str().unwrap()
            ))
            .await;
        assert!(detail["spans"].to_string().contains("Sampletown"));
    }
    assert!(all_traces(server, "q=xylophone").await.is_empty());
    let phrase = all_traces(server, "q=blue%20widget").await;
    assert!(!phrase.is_empty());
}

async fn spans_filter_by_kind_and_trace(server: &Server) {
    let tools = server.get_json("/api/v1/spans?kind=tool&limit=1000").await;
    let tools = list(&tools, "spans");
    assert!(!tools.is_empty());
    assert!(tools.iter().all(|span| span["kind"] == "tool"));
    assert!(
        tools.iter().all(|span| span["input_tokens"].is_null()),
        "absent tokens must be null"
    );

    let failed = server
        .get_json("/api/v1/spans?kind=llm&status=error&limit=1000")
        .await;
    let failed = list(&failed, "spans");
    assert!(!failed.is_empty());
    assert!(
        failed
            .iter()
            .all(|span| span["status"] == "error" && span["kind"] == "llm")
    );

    let trace_id = tools[0]["trace_id"].as_str().unwrap();
    let of_trace = server
        .get_json(&format!("/api/v1/spans?trace_id={trace_id}&limit=1000"))
        .await;
    assert!(
        list(&of_trace, "spans")
            .iter()
            .all(|span| span["trace_id"] == trace_id)
    );

    let first = server.get_json("/api/v1/spans?limit=3").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = server
        .get_json(&format!("/api/v1/spans?limit=3&cursor={cursor}"))
        .await;
    assert_ne!(
        list(&first, "spans")[0]["span_id"],
        list(&second, "spans")[0]["span_id"]
    );
}

async fn trace_detail_orders_spans(server: &Server, everything: &[Value]) {
    let biggest = everything
        .iter()
        .max_by_key(|t| t["span_count"].as_u64().unwrap())
        .unwrap();
    let id = biggest["trace_id"].as_str().unwrap();
    let detail = server.get_json(&format!("/api/v1/traces/{id}")).await;
    let spans = list(&detail, "spans");
    assert_eq!(spans.len() as u64, biggest["span_count"].as_u64().unwrap());
    let starts: Vec<&str> = spans
        .iter()
        .map(|s| s["start_time"].as_str().unwrap())
        .collect();
    assert!(starts.windows(2).all(|pair| pair[0] <= pair[1]));
    let roots = spans
        .iter()
        .filter(|s| s["parent_span_id"].is_null())
        .count();
    assert_eq!(roots, 1);
    assert_eq!(
        detail["trace"]["root_span_id"],
        spans
            .iter()
            .find(|s| s["parent_span_id"].is_null())
            .unwrap()["span_id"]
    );
    let time = starts[0];
    assert_eq!(time.len(), "2026-12-04T19:43:55.713508815Z".len(), "{time}");
}

async fn sessions_group_traces(server: &Server) {
    let sessions = server.get_json("/api/v1/sessions").await;
    let sessions = list(&sessions, "sessions");
    assert!(!sessions.is_empty());
    let session = sessions
        .iter()
        .find(|s| s["session_id"] == "session-0001")
        .unwrap();
    let detail = server.get_json("/api/v1/sessions/session-0001").await;
    let traces = list(&detail, "traces");
    assert_eq!(
        traces.len() as u64,
        session["trace_count"].as_u64().unwrap()
    );
    assert!(traces.iter().all(|t| t["session_id"] == "session-0001"));
    let (status, body) = error_of(server, "/api/v1/sessions/no-such-session").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
}

async fn invalid_parameters_are_400(server: &Server) {
    let cases = [
        ("/api/v1/traces?limit=0", "limit"),
        ("/api/v1/traces?limit=abc", "limit"),
        ("/api/v1/traces?from=yesterday", "from"),
        (
            "/api/v1/traces?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
            "from",
        ),
        ("/api/v1/traces?status=ok", "status"),
        ("/api/v1/traces?min_duration_ms=-1", "min_duration_ms"),
        ("/api/v1/traces?cursor=garbage", "cursor"),
        ("/api/v1/traces?colour=blue", "colour"),
        ("/api/v1/traces?q=%20", "q"),
        ("/api/v1/spans?kind=robot", "kind"),
        ("/api/v1/spans?trace_id=abc", "trace_id"),
        ("/api/v1/traces/abc", "trace_id"),
        ("/api/v1/traces?sort=cheapest", "sort"),
        ("/api/v1/sessions?sort=slowest", "sort"),
    ];
    for (path, parameter) in cases {
        let (status, body) = error_of(server, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["code"], "invalid_parameter", "{path}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(parameter), "{path}: {message}");
    }
    let (status, body) = error_of(server, "/api/v1/traces/0123456789abcdef0123456789abcdef").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
}

async fn openapi_lists_every_endpoint(server: &Server) {
    let document = server.get_json("/api/v1/openapi.json").await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/traces",
        "/api/v1/traces/{trace_id}",
        "/api/v1/spans",
        "/api/v1/sessions",
        "/api/v1/sessions/{session_id}",
        "/api/v1/health",
        "/api/v1/metrics/summary",
        "/api/v1/metrics/timeseries",
        "/api/v1/functions",
    ] {
        assert!(document["paths"][path]["get"].is_object(), "{path} missing");
    }
}

const RANGE: &str = "from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z";

async fn model_spans(server: &Server) -> Vec<Value> {
    let mut spans = Vec::new();
    for kind in ["llm", "embedding"] {
        let page = server
            .get_json(&format!("/api/v1/spans?kind={kind}&limit=1000"))
            .await;
        assert!(page["next_cursor"].is_null());
        spans.extend(list(&page, "spans").iter().cloned());
    }
    spans
}

/// Checks that each trace summary counts the trace's spans without a price.
async fn traces_count_unpriced_calls(server: &Server, traces: &[Value]) {
    let mut expected: std::collections::HashMap<String, u64> = Default::default();
    for span in model_spans(server).await {
        if span["cost_status"] == "unpriced" {
            *expected
                .entry(span["trace_id"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    assert!(!expected.is_empty(), "the fixtures carry unpriced calls");

    for trace in traces {
        let trace_id = trace["trace_id"].as_str().unwrap();
        let counted = trace["unpriced_call_count"].as_u64().unwrap();
        assert_eq!(
            counted,
            expected.get(trace_id).copied().unwrap_or(0),
            "trace {trace_id}"
        );
    }
}

async fn metrics_agree_with_spans(server: &Server) {
    let spans = model_spans(server).await;
    let summary = server
        .get_json(&format!("/api/v1/metrics/summary?{RANGE}"))
        .await;
    let total = &list(&summary, "groups")[0];
    assert_eq!(total["count"].as_u64().unwrap() as usize, spans.len());
    let sum = |field: &str| {
        spans
            .iter()
            .map(|s| s[field].as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    assert_eq!(total["input_tokens"].as_u64().unwrap(), sum("input_tokens"));
    assert_eq!(
        total["output_tokens"].as_u64().unwrap(),
        sum("output_tokens")
    );
    let errors = spans.iter().filter(|s| s["status"] == "error").count() as u64;
    assert_eq!(total["error_count"].as_u64().unwrap(), errors);
    let rate_limited = total["errors_by_type"]["rate_limited"].as_u64().unwrap();
    assert!(
        rate_limited > 0 && rate_limited < errors,
        "{rate_limited} of {errors}"
    );
    let unpriced = spans
        .iter()
        .filter(|s| s["cost_status"] == "unpriced")
        .count() as u64;
    assert_eq!(total["unpriced_count"].as_u64().unwrap(), unpriced);

    let by_model = server
        .get_json(&format!("/api/v1/metrics/summary?{RANGE}&group_by=model"))
        .await;
    let counted: u64 = list(&by_model, "groups")
        .iter()
        .map(|g| g["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted as usize, spans.len());
    let claude = list(&by_model, "groups")
        .iter()
        .find(|g| g["key"] == "mock-claude")
        .unwrap();
    assert!(
        claude["latency_ms"]["p95"].as_f64().unwrap()
            >= claude["latency_ms"]["p50"].as_f64().unwrap()
    );

    let by_user = server
        .get_json(&format!("/api/v1/metrics/summary?{RANGE}&group_by=user_id"))
        .await;
    let user = list(&by_user, "groups")
        .iter()
        .find(|g| g["key"] == "user-fictional-42")
        .unwrap();
    let of_user = spans
        .iter()
        .filter(|s| s["user_id"] == "user-fictional-42")
        .count() as u64;
    assert_eq!(user["count"].as_u64().unwrap(), of_user);

    let series = server
        .get_json(&format!(
            "/api/v1/metrics/timeseries?{RANGE}&metric=count&step=1d&group_by=provider"
        ))
        .await;
    assert_eq!(series["step_seconds"], 86_400);
    let charted: f64 = list(&series, "series")
        .iter()
        .flat_map(|s| {
            list(s, "points")
                .iter()
                .map(|p| p["value"].as_f64().unwrap())
        })
        .sum();
    assert_eq!(charted as usize, spans.len());

    let functions = server.get_json(&format!("/api/v1/functions?{RANGE}")).await;
    let functions = list(&functions, "functions");
    assert!(functions.iter().any(|f| f["kind"] == "tool"));
    assert!(
        functions
            .iter()
            .all(|f| f["kind"] != "llm" && f["kind"] != "embedding")
    );
    for function in functions {
        assert!(
            function["self_ms"].as_f64().unwrap() <= function["total_ms"].as_f64().unwrap() + 1e-9
        );
    }
}

async fn metrics_reject_invalid_parameters(server: &Server) {
    let cases = [
        ("/api/v1/metrics/summary?group_by=colour", "group_by"),
        ("/api/v1/metrics/summary?kind=robot", "kind"),
        ("/api/v1/metrics/summary?metric=count", "metric"),
        (
            "/api/v1/metrics/summary?from=2027-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "from",
        ),
        ("/api/v1/metrics/timeseries?metric=colour", "metric"),
        ("/api/v1/metrics/timeseries?step=90", "step"),
        (
            "/api/v1/metrics/timeseries?step=1m&from=2000-01-01T00:00:00Z",
            "step",
        ),
        ("/api/v1/functions?to=soon", "to"),
    ];
    for (path, parameter) in cases {
        let (status, body) = error_of(server, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(parameter), "{path}: {message}");
    }
}

async fn send(method: reqwest::Method, url: String, body: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .request(method, url)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn custom_prices_and_reprice(server: &Server) {
    let unpriced = server
        .get_json(&format!("/api/v1/prices/unpriced?{RANGE}"))
        .await;
    let models = list(&unpriced, "models");
    let mock = models.iter().find(|m| m["model"] == "mock-claude").unwrap();
    let mock_calls = mock["unpriced_calls"].as_u64().unwrap();
    assert!(mock_calls > 0);

    let invalid = [
        (
            r#"[{"match": {"equals": "mock-claude"}, "input_mtok": -1}]"#,
            "input_mtok",
        ),
        (
            r#"[{"match": {"equals": "mock-claude"}, "input_mtok": "cheap"}]"#,
            "input_mtok",
        ),
        (
            r#"[{"match": {"equals": "mock-claude"}, "inputs_mtok": 1}]"#,
            "inputs_mtok",
        ),
        (
            r#"[{"match": {"regex": "mock-(claude"}, "input_mtok": 1}]"#,
            "regex",
        ),
        (
            r#"[{"match": {"equals": "mock-claude"}, "input_mtok": {"base": 1, "tiers": [{"price": 2}]}}]"#,
            "start",
        ),
        (r#"{"not": "a list"}"#, "invalid"),
    ];
    for (body, field) in invalid {
        let (status, answer) = send(
            reqwest::Method::PUT,
            format!("{}/api/v1/prices", server.api),
            body,
        )
        .await;
        assert_eq!(status, 400, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: {message}");
    }
    let prices = server.get_json("/api/v1/prices").await;
    assert!(
        list(&prices, "api").is_empty(),
        "a rejected list must change nothing"
    );

    let price = r#"[{"provider": "anthropic", "match": {"starts_with": "mock-claude"}, "input_mtok": 1.0, "cache_read_mtok": 0.1, "output_mtok": 5.0}]"#;
    let (status, answer) = send(
        reqwest::Method::PUT,
        format!("{}/api/v1/prices", server.api),
        price,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let found = server
        .get_json("/api/v1/prices/lookup?model=mock-claude&provider=anthropic")
        .await;
    assert_eq!(found["source"], "custom");

    let body =
        r#"{"from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z", "model": "mock-claude"}"#;
    let (status, answer) = send(
        reqwest::Method::POST,
        format!("{}/api/v1/reprice", server.api),
        body,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["repriced_spans"].as_u64().unwrap() > 0);

    let spans = server
        .get_json("/api/v1/spans?model=mock-claude&limit=1000")
        .await;
    for span in list(&spans, "spans") {
        if span["input_tokens"].is_null() || span["cost_status"] == "reported" {
            continue;
        }
        assert_eq!(span["cost_status"], "computed", "{span}");
        let input = span["input_tokens"].as_f64().unwrap();
        let cached = span["cached_input_tokens"].as_f64().unwrap_or(0.0);
        let output = span["output_tokens"].as_f64().unwrap();
        let expected = ((input - cached) * 1.0 + cached * 0.1 + output * 5.0) / 1e6;
        let cost = span["cost_usd"].as_f64().unwrap();
        assert!(
            (cost - expected).abs() < 1e-12,
            "{cost} != {expected}: {span}"
        );
    }
    let after = server
        .get_json(&format!("/api/v1/prices/unpriced?{RANGE}"))
        .await;
    assert!(
        list(&after, "models")
            .iter()
            .all(|m| m["model"] != "mock-claude")
    );

    let (status, answer) = send(
        reqwest::Method::POST,
        format!("{}/api/v1/reprice", server.api),
        r#"{"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}"#,
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = send(
        reqwest::Method::POST,
        format!("{}/api/v1/reprice", server.api),
        r#"{"from": "2026-02-01T00:00:00Z"}"#,
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("missing field `to`"), "{message}");
    assert!(message.contains("expected {\"from\""), "{message}");
    let (status, _) = send(
        reqwest::Method::DELETE,
        format!("{}/api/v1/prices", server.api),
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert!(list(&server.get_json("/api/v1/prices").await, "api").is_empty());
}

#[tokio::test]
async fn health_shows_queue_capacity() {
    let server = Server::start_in_temp(&[
        ("GLASSBOX_INGEST__QUEUE_BYTES", "1048576"),
        ("GLASSBOX_INGEST__QUEUE_RECORDS", "5000"),
    ]);
    let health = server.get_json("/api/v1/health").await;
    assert_eq!(health["queue_capacity_bytes"], 1_048_576, "{health}");
    assert_eq!(health["queue_capacity_records"], 5000, "{health}");
    assert_eq!(health["queued_bytes"], 0, "{health}");
    assert_eq!(health["queued_records"], 0, "{health}");
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["problems"], serde_json::json!([]), "{health}");
}
