//! Infrastructure in a real `glassbox serve`. A vLLM metrics page served on loopback is
//! scraped through `--scrape` and `[[infra.targets]]`. The test checks its health in the API
//! and on the Infrastructure page, its state next to a call of its model, and its cost.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};

use crate::server::Server;

const MODEL: &str = "meta-llama/Llama-3.1-8B-Instruct";

async fn serve_vllm_page() -> String {
    let page = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../glassbox-prometheus/tests/data/vllm-0.11.txt"),
    )
    .unwrap();
    let app = Router::new().route("/metrics", get(move || async move { page.clone() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/metrics")
}

fn chat_span(trace_id: &str, at: u64) -> Value {
    let text = |value: &str| json!({"stringValue": value});
    json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": text("rag")}]},
        "scopeSpans": [{"spans": [{
            "traceId": trace_id, "spanId": "3333333333333333", "name": "chat llama", "kind": 3,
            "startTimeUnixNano": at.to_string(), "endTimeUnixNano": (at + 500_000_000).to_string(),
            "attributes": [
                {"key": "gen_ai.operation.name", "value": text("chat")},
                {"key": "gen_ai.provider.name", "value": text("vllm")},
                {"key": "gen_ai.request.model", "value": text(MODEL)},
                {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "100"}},
                {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "20"}},
            ],
        }]}],
    }]})
}

async fn targets(server: &Server) -> Vec<Value> {
    server.get_json("/api/v1/infra/targets").await["targets"]
        .as_array()
        .unwrap()
        .clone()
}

async fn page(server: &Server, path: &str) -> String {
    let response = reqwest::get(format!("{}{path}", server.api)).await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scraped_server_shows_beside_its_calls() {
    let url = serve_vllm_page().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("glassbox.toml");
    std::fs::write(
        &config,
        format!(
            "[[infra.targets]]\nname = \"gpu-box\"\nkind = \"vllm\"\nurl = \"{url}\"\n\
             interval_secs = 1\ngpu_hour_usd = 2.0\ngpus = 2\n"
        ),
    )
    .unwrap();
    let server = Server::start_with(&[
        "--config",
        config.to_str().unwrap(),
        "--scrape",
        "tgi=http://127.0.0.1:9/metrics",
    ]);

    // Both targets are listed; the page of the first is scraped, the second refuses.
    let mut listed = Vec::new();
    for _ in 0..100 {
        listed = targets(&server).await;
        let scraped = |name: &str| {
            listed
                .iter()
                .any(|target| target["name"] == name && target["scrapes"].as_u64() >= Some(1))
        };
        if scraped("gpu-box") && scraped("tgi@127.0.0.1:9") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let box_target = listed
        .iter()
        .find(|target| target["name"] == "gpu-box")
        .unwrap();
    assert_eq!(box_target["health"], "healthy", "{box_target}");
    assert_eq!(box_target["models"], json!([MODEL]));
    assert!(
        box_target["latest"]
            .as_array()
            .unwrap()
            .iter()
            .any(|value| value["name"] == "inference.requests.running")
    );
    let refused = listed
        .iter()
        .find(|target| target["name"] == "tgi@127.0.0.1:9")
        .unwrap();
    assert_eq!(refused["health"], "unhealthy", "{refused}");
    assert!(
        refused["last_error"]
            .as_str()
            .unwrap()
            .contains("request failed"),
        "{refused}"
    );

    // A call of the served model shows what the server reported around it.
    let now = u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap();
    let trace_id = "4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b";
    let response = reqwest::Client::new()
        .post(format!("{}/v1/traces", server.otlp_http))
        .json(&chat_span(trace_id, now - 1_000_000_000))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let trace = page(&server, &format!("/traces/{trace_id}")).await;
    assert!(
        trace.contains("What gpu-box reported around the call"),
        "no server state"
    );
    assert!(trace.contains("Waiting requests"));

    // The infrastructure page, the metric points API, the models and costs pages.
    let infra = page(&server, "/infra?range=15m").await;
    assert!(infra.contains("gpu-box"));
    assert!(infra.contains("Running requests"));
    let points = server
        .get_json("/api/v1/metrics/points?name=inference.requests.running&labels=target%3Dgpu-box")
        .await;
    assert_eq!(points["series"].as_array().unwrap().len(), 1, "{points}");
    let models = page(&server, "/models?range=15m").await;
    assert!(models.contains("Self-hosted models: GPU utilization against tokens per second"));
    let costs = page(&server, "/costs?range=15m").await;
    assert!(costs.contains("Self-hosted cost"));
    assert!(costs.contains("GPU-hours"));
    // The served model appears with its share of the server's cost beside API models.
    let link = "model=meta-llama%2FLlama-3.1-8B-Instruct\">";
    let row = costs
        .split(link)
        .nth(1)
        .expect("a cost row of the served model");
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains('$'), "{row}");
}
