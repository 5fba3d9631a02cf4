//! `glassbox demo` against a real server: a short backfill and a short live run, then what
//! the API shows of them.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

use crate::server::Server;

const RANGE: &str = "from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z";
const BACKFILL_TRACES: usize = 80;
const LIVE_TRACES: usize = 6;

/// Runs `glassbox demo` with `args` and returns its standard output.
fn demo(target: &str, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["demo", "--target", target])
        .args(args)
        .env("GLASSBOX_LOG", "warn")
        .env_remove("GLASSBOX_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "demo {args:?} failed: {stdout}{stderr}"
    );
    stdout
}

fn list<'a>(json: &'a Value, key: &str) -> &'a Vec<Value> {
    json[key].as_array().unwrap()
}

fn keys(groups: &[Value]) -> BTreeSet<String> {
    groups
        .iter()
        .filter_map(|group| group["key"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn demo_fills_a_server() {
    let server = Server::start();
    let backfill = demo(
        &server.otlp_http,
        &["--seed", "7", "--backfill", "2h", "--traces", "80"],
    );
    assert!(backfill.contains("sent 80 traces"), "{backfill}");
    let live = demo(
        &server.otlp_http,
        &["--seed", "7", "--traces", "6", "--rate", "30"],
    );
    assert!(live.contains("sent 6 traces"), "{live}");

    every_trace_is_stored(&server).await;
    every_span_kind_is_present(&server).await;
    every_provider_is_present(&server).await;
    every_error_type_is_counted(&server).await;
    sessions_hold_several_traces(&server).await;
    self_hosted_models_are_unpriced(&server).await;
    tokens_and_ttft_are_filled(&server).await;
    conventions_and_services_mix(&server).await;
    analyzers_flag_model_calls(&server).await;
}

async fn every_trace_is_stored(server: &Server) {
    let page = server.get_json("/api/v1/traces?limit=1000").await;
    assert!(page["next_cursor"].is_null());
    let traces = list(&page, "traces");
    assert_eq!(traces.len(), BACKFILL_TRACES + LIVE_TRACES);
    let services: BTreeSet<&str> = traces
        .iter()
        .filter_map(|trace| trace["service_name"].as_str())
        .collect();
    let expected = [
        "batch-summarizer",
        "coding-agent",
        "rag-search-api",
        "support-chatbot",
    ];
    assert_eq!(services, expected.into_iter().collect());
}

async fn every_span_kind_is_present(server: &Server) {
    for kind in [
        "llm",
        "embedding",
        "tool",
        "retrieval",
        "rerank",
        "agent",
        "chain",
        "other",
    ] {
        let page = server
            .get_json(&format!("/api/v1/spans?kind={kind}&limit=1"))
            .await;
        assert_eq!(list(&page, "spans").len(), 1, "no {kind} span");
    }
}

async fn every_provider_is_present(server: &Server) {
    let summary = server
        .get_json(&format!(
            "/api/v1/metrics/summary?{RANGE}&group_by=provider"
        ))
        .await;
    let providers = keys(list(&summary, "groups"));
    for provider in [
        "openai",
        "anthropic",
        "gcp.gemini",
        "mistral_ai",
        "vllm",
        "ollama",
    ] {
        assert!(
            providers.contains(provider),
            "no {provider} in {providers:?}"
        );
    }
}

async fn every_error_type_is_counted(server: &Server) {
    let summary = server
        .get_json(&format!("/api/v1/metrics/summary?{RANGE}&group_by=model"))
        .await;
    let groups = list(&summary, "groups");
    for error_type in [
        "rate_limited",
        "timeout",
        "server_error",
        "client_error",
        "content_filter",
    ] {
        let count: u64 = groups
            .iter()
            .map(|group| group["errors_by_type"][error_type].as_u64().unwrap())
            .sum();
        assert!(count > 0, "no {error_type} error");
    }
    let calls: u64 = groups
        .iter()
        .map(|group| group["count"].as_u64().unwrap())
        .sum();
    let errors: u64 = groups
        .iter()
        .map(|group| group["error_count"].as_u64().unwrap())
        .sum();
    assert!(errors * 5 < calls, "{errors} errors in {calls} calls");
}

async fn sessions_hold_several_traces(server: &Server) {
    let page = server.get_json("/api/v1/sessions?limit=1000").await;
    let counts: Vec<u64> = list(&page, "sessions")
        .iter()
        .map(|session| session["trace_count"].as_u64().unwrap())
        .collect();
    let long = counts.iter().filter(|count| **count >= 2).count();
    assert!(long >= 3, "sessions with several traces: {counts:?}");
    assert!(counts.iter().all(|count| *count <= 6), "{counts:?}");
    for session in list(&page, "sessions") {
        assert!(session["user_id"].is_string(), "{session}");
    }
}

async fn self_hosted_models_are_unpriced(server: &Server) {
    let unpriced = server.get_json("/api/v1/prices/unpriced").await;
    let models: BTreeSet<&str> = list(&unpriced, "models")
        .iter()
        .filter_map(|model| model["model"].as_str())
        .collect();
    let expected = ["llama-3.1-70b-instruct", "llama3.1:8b"];
    assert_eq!(models, expected.into_iter().collect());
}

async fn tokens_and_ttft_are_filled(server: &Server) {
    let summary = server
        .get_json(&format!("/api/v1/metrics/summary?{RANGE}"))
        .await;
    let total = &list(&summary, "groups")[0];
    assert!(
        total["cached_input_tokens"].as_u64().unwrap() > 0,
        "{total}"
    );
    assert!(
        total["cache_write_input_tokens"].as_u64().unwrap() > 0,
        "{total}"
    );
    assert!(total["reasoning_tokens"].as_u64().unwrap() > 0, "{total}");
    assert!(total["cost_usd"].as_f64().unwrap() > 0.0, "{total}");

    let page = server.get_json("/api/v1/spans?kind=llm&limit=1000").await;
    let streamed: Vec<&Value> = list(&page, "spans")
        .iter()
        .filter(|span| span["streaming"] == true && span["status"] != "error")
        .collect();
    assert!(!streamed.is_empty());
    for span in streamed {
        assert!(span["ttft_ms"].as_f64().unwrap() > 0.0, "{}", span["name"]);
    }
}

async fn conventions_and_services_mix(server: &Server) {
    let page = server.get_json("/api/v1/spans?kind=llm&limit=1000").await;
    let openinference = list(&page, "spans")
        .iter()
        .filter(|span| span["attributes"]["openinference.span.kind"] == "LLM")
        .count();
    assert!(openinference > 0, "no OpenInference model call");

    let traces = server
        .get_json("/api/v1/traces?service=rag-search-api&limit=1000")
        .await;
    let called_by_chatbot = list(&traces, "traces")
        .iter()
        .any(|trace| trace["service_name"] == "support-chatbot");
    assert!(called_by_chatbot, "no trace spans two services");
}

/// Every analyzer that the demo's traces are made to trip, even in a short run.
const FLAGGED_ANALYZERS: [&str; 7] = [
    "pii",
    "secrets",
    "prompt_injection",
    "refusal",
    "truncation",
    "invalid_json",
    "language",
];

/// Returns the flag totals per analyzer over all time.
async fn flag_totals(server: &Server) -> Vec<(String, u64)> {
    let flags = server
        .get_json(&format!("/api/v1/metrics/flags?{RANGE}"))
        .await;
    list(&flags, "series")
        .iter()
        .map(|series| {
            let analyzer = series["key"].as_str().unwrap().to_owned();
            (analyzer, series["total"].as_u64().unwrap())
        })
        .collect()
}

async fn analyzers_flag_model_calls(server: &Server) {
    let totals = flag_totals(server).await;
    for analyzer in FLAGGED_ANALYZERS {
        let total = totals
            .iter()
            .find(|(key, _)| key == analyzer)
            .map_or(0, |(_, total)| *total);
        assert!(total > 0, "no {analyzer} flag in {totals:?}");
    }

    let page = server.get_json("/api/v1/spans?kind=llm&limit=1000").await;
    let calls = list(&page, "spans").len();
    let flagged = server
        .get_json("/api/v1/spans?kind=llm&flag=any&limit=1000")
        .await;
    let flagged = list(&flagged, "spans").len();
    assert!(
        flagged * 4 < calls,
        "{flagged} of {calls} model calls are flagged"
    );
}

/// Waits until `serve --demo` has written its history, scores and experiments; returns the
/// experiments of the demo dataset.
async fn demo_experiments(server: &Server) -> Vec<Value> {
    for _ in 0..1_200 {
        let page = server
            .get_json("/api/v1/experiments?dataset=demo-faq")
            .await;
        let experiments = list(&page, "experiments").clone();
        let completed = experiments
            .iter()
            .filter(|experiment| experiment["status"] == "completed")
            .count();
        if completed == 2 {
            return experiments;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the demo's two experiments did not complete within 120 s");
}

#[tokio::test]
async fn serve_demo_fills_the_quality_page() {
    let server = Server::start_demo();
    let experiments = demo_experiments(&server).await;

    let names: BTreeSet<&str> = experiments
        .iter()
        .filter_map(|experiment| experiment["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["faq-replay-exact", "faq-replay-overlap"]
            .into_iter()
            .collect()
    );
    for experiment in &experiments {
        let totals = &experiment["totals"];
        assert_eq!(totals["items"], 20, "{experiment}");
        let levenshtein = totals["score_means"]["levenshtein"].as_f64().unwrap();
        assert!(
            levenshtein > 0.5 && levenshtein < 1.0,
            "some recorded answers differ: {experiment}"
        );
    }
    let dataset = server.get_json("/api/v1/datasets/demo-faq").await;
    assert_eq!(dataset["dataset"]["item_count"], 20, "{dataset}");

    let totals = flag_totals(&server).await;
    let analyzers = totals.iter().filter(|(_, total)| *total > 0).count();
    assert!(analyzers >= 4, "flags of {analyzers} analyzers: {totals:?}");

    scores_rate_answers(&server).await;
    drift_report_finds_longer_answers(&server).await;
}

async fn scores_rate_answers(server: &Server) {
    let helpfulness = server
        .get_json(&format!(
            "/api/v1/metrics/scores?{RANGE}&name=helpfulness&group_by=model"
        ))
        .await;
    let means: Vec<(&str, f64)> = list(&helpfulness, "groups")
        .iter()
        .map(|group| {
            let model = group["key"].as_str().unwrap();
            (model, group["mean"].as_f64().unwrap())
        })
        .collect();
    let mean_of = |model: &str| {
        means
            .iter()
            .find(|(key, _)| *key == model)
            .map(|(_, mean)| *mean)
            .unwrap_or_else(|| panic!("no helpfulness of {model}: {means:?}"))
    };
    assert!(
        mean_of("gemini-2.0-flash") < mean_of("gpt-4o"),
        "gemini-2.0-flash is not rated lower: {means:?}"
    );
    for (_, mean) in &means {
        assert!((1.0..=5.0).contains(mean), "{means:?}");
    }

    let thumbs = server
        .get_json(&format!(
            "/api/v1/metrics/scores?{RANGE}&name=thumbs_up&group_by=source"
        ))
        .await;
    let group = &list(&thumbs, "groups")[0];
    assert_eq!(group["key"], "feedback", "{thumbs}");
    assert!(group["count"].as_u64().unwrap() > 50, "{thumbs}");
}

async fn drift_report_finds_longer_answers(server: &Server) {
    let report = server.get_json("/api/v1/quality/drift").await;
    let groups = list(&report, "groups");
    let search = groups
        .iter()
        .find(|group| {
            group["service"] == "rag-search-api" && group["model"] == "claude-3-5-haiku-20241022"
        })
        .unwrap_or_else(|| panic!("no search API group in {report}"));
    let moved: Vec<&str> = search["moved"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(moved.contains(&"output_tokens"), "{search}");

    let support = groups
        .iter()
        .find(|group| group["service"] == "support-chatbot" && group["model"] == "gpt-4o")
        .unwrap_or_else(|| panic!("no support chatbot group in {report}"));
    let support_moved = support["moved"].as_array().unwrap();
    assert!(
        !support_moved.iter().any(|metric| metric == "output_tokens"),
        "{support}"
    );
}

#[tokio::test]
async fn serve_demo_sends_calls_through_the_gateway() {
    let server = Server::start_demo();
    for _ in 0..300 {
        let spans = server
            .get_json("/api/v1/spans?service=glassbox-gateway&limit=10")
            .await;
        if let Some(span) = list(&spans, "spans").first() {
            assert_eq!(span["scope_name"], "glassbox.gateway", "{span}");
            assert!(
                span["provider"] == "openai" || span["provider"] == "anthropic",
                "{span}"
            );
            assert!(span["request_model"].as_str().is_some(), "{span}");
            let upstream = span["attributes"]["glassbox.gateway.upstream"]
                .as_str()
                .unwrap();
            assert!(upstream.starts_with("demo-"), "{span}");
            let health = server.get_json("/api/v1/health").await;
            assert!(
                health["gateway"]["calls"].as_u64().unwrap() >= 1,
                "{health}"
            );
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no gateway span within 30 s of starting serve --demo");
}
