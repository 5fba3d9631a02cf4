//! The quality pages of the dashboard against the API of the same server: a model call whose
//! prompt contains hostile HTML around an email address (so the PII analyzer flags it), scores
//! sent through the scores API, and two replay experiments over one dataset.

use std::time::Duration;

use serde_json::{Value, json};

use crate::browser::Browser;
use crate::server::Server;
use crate::ui::{attributes, count_text, open, texts};

/// The address the PII analyzer finds in the flagged prompt.
pub const FLAGGED_EMAIL: &str = "jane.doe@northwind-mail.com";
/// A prompt whose markup would run script if the flag excerpt were not escaped.
pub const FLAGGED_PROMPT: &str = "<script>window.__hacked=5</script>Write to <b onmouseover=\"window.__hacked=6\">jane.doe@northwind-mail.com</b> today";
pub const FLAGGED_TRACE: &str = "7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b";
pub const FLAGGED_SPAN: &str = "3333333333333333";
/// A score comment that would run script if it were not escaped.
const HOSTILE_COMMENT: &str = "<img src=x onerror=\"window.__hacked=7\">";
const DATASET: &str = "ui-replays";

/// Builds one OTLP/JSON trace with a chat span of model `gpt-4o` whose prompt is
/// [`FLAGGED_PROMPT`].
pub fn flagged_payload(at: u64) -> Value {
    let attribute = |key: &str, value: Value| json!({"key": key, "value": value});
    let text = |value: &str| json!({"stringValue": value});
    let messages = json!([{"role": "user", "content": FLAGGED_PROMPT}]).to_string();
    let output = json!([{"role": "assistant", "content": "I will write to them."}]).to_string();
    json!({"resourceSpans": [{
        "resource": {"attributes": [attribute("service.name", text("flagged-service"))]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": [{
            "traceId": FLAGGED_TRACE, "spanId": FLAGGED_SPAN, "name": "chat gpt-4o", "kind": 3,
            "startTimeUnixNano": at.to_string(), "endTimeUnixNano": (at + 700_000_000).to_string(),
            "attributes": [
                attribute("gen_ai.operation.name", text("chat")),
                attribute("gen_ai.provider.name", text("openai")),
                attribute("gen_ai.request.model", text("gpt-4o")),
                attribute("gen_ai.usage.input_tokens", json!({"intValue": "20"})),
                attribute("gen_ai.usage.output_tokens", json!({"intValue": "6"})),
                attribute("gen_ai.input.messages", text(&messages)),
                attribute("gen_ai.output.messages", text(&output)),
            ],
        }]}],
    }]})
}

async fn post(server: &Server, path: &str, body: &Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", server.api))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!((200..300).contains(&status), "POST {path}: {status} {body}");
    body
}

/// Waits until an experiment has left the `running` state.
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

/// Scores the flagged trace and its span, and runs two replay experiments; returns the ids
/// of the experiments, baseline first.
async fn seed(server: &Server) -> (String, String) {
    let scores = json!({"scores": [
        {"trace_id": FLAGGED_TRACE, "span_id": FLAGGED_SPAN, "name": "helpfulness", "value": 0.25,
         "comment": HOSTILE_COMMENT, "author": "<i>reviewer</i>"},
        {"trace_id": FLAGGED_TRACE, "name": "thumbs", "value": true, "data_type": "boolean", "source": "feedback"},
        {"trace_id": FLAGGED_TRACE, "name": "topic", "value": "<b>billing</b>", "data_type": "categorical"},
    ]});
    post(server, "/api/v1/scores", &scores).await;

    post(server, "/api/v1/datasets", &json!({"name": DATASET})).await;
    let items = json!({"items": [
        {"input": "a", "expected_output": "kitten", "metadata": {"output": "sitting"}},
        {"input": "b", "expected_output": "flaw", "metadata": {"output": "flaw"}},
        {"input": "c", "expected_output": "<b>bold</b>", "metadata": {"output": "<script>window.__hacked=8</script>"}},
    ]});
    post(server, &format!("/api/v1/datasets/{DATASET}/items"), &items).await;

    let mut ids = Vec::new();
    for scorers in [
        json!([{"type": "levenshtein"}]),
        json!([{"type": "levenshtein"}, {"type": "exact"}]),
    ] {
        let spec = json!({"dataset": DATASET, "mode": "replay", "scorers": scorers});
        let started = post(server, "/api/v1/experiments", &spec).await;
        let id = started["id"].as_str().unwrap().to_owned();
        let detail = finished(server, &id).await;
        assert_eq!(detail["experiment"]["status"], "completed", "{detail}");
        ids.push(id);
    }
    (ids[0].clone(), ids[1].clone())
}

/// Formats a score as the pages do: three decimals.
fn score_text(value: &Value) -> String {
    format!("{:.3}", value.as_f64().unwrap())
}

/// Formats a change as the comparison page does.
fn change_text(value: &Value) -> String {
    match value.as_f64() {
        None => "–".to_owned(),
        Some(delta) if delta > 0.0 => format!("+{delta:.3}"),
        Some(delta) if delta < 0.0 => format!("-{:.3}", -delta),
        Some(_) => "0".to_owned(),
    }
}

/// Opens the quality page, an experiment and the comparison of two, and the flagged span,
/// comparing their figures with the API's. `range` is the query string of the range.
pub async fn check_quality_pages(browser: &Browser, server: &Server, range: &str) {
    let (first, second) = seed(server).await;
    let base = &server.api;

    // Flag counts per analyzer are the API's totals.
    let flags = server
        .get_json(&format!("/api/v1/metrics/flags?{range}"))
        .await;
    open(browser, &format!("{base}/quality?{range}")).await;
    for series in flags["series"].as_array().unwrap() {
        let analyzer = series["key"].as_str().unwrap();
        let shown = texts(
            browser,
            &format!("#flag-table tr[data-analyzer={analyzer}] td.count"),
        )
        .await;
        assert_eq!(
            shown,
            [count_text(series["total"].as_u64().unwrap())],
            "{analyzer}"
        );
    }
    assert!(flags["series"][0]["total"].as_u64().unwrap() > 0, "{flags}");
    let pii_link = attributes(browser, "#flag-table tr[data-analyzer=pii] a", "href").await;
    assert!(pii_link[0].starts_with("/traces?from="), "{pii_link:?}");
    assert!(pii_link[0].ends_with("&flag=pii"), "{pii_link:?}");

    // The flagged span is listed and links to its trace with the span selected.
    let flagged = attributes(browser, "#flagged-spans tbody tr", "data-span-id").await;
    assert!(flagged.iter().any(|id| id == FLAGGED_SPAN), "{flagged:?}");

    // Score means per name and model are the API's.
    let scores = server
        .get_json(&format!(
            "/api/v1/metrics/scores?{range}&name=helpfulness&group_by=model"
        ))
        .await;
    let group = &scores["groups"][0];
    assert_eq!(group["key"], "gpt-4o", "{scores}");
    let shown = texts(
        browser,
        "#score-table tr[data-score=helpfulness][data-model=gpt-4o] td.mean",
    )
    .await;
    assert_eq!(shown, [score_text(&group["mean"])]);
    let topic = texts(browser, "#score-table tr[data-score=topic] td:last-child").await;
    assert_eq!(
        topic,
        ["<b>billing</b> 1"],
        "categories are counted as text"
    );
    assert!(!texts(browser, "#scores figure.chart").await.is_empty());

    // The latest experiments are listed and offered for comparison.
    let listed = attributes(browser, "#experiment-table tbody tr", "data-experiment-id").await;
    assert_eq!(listed[..2], [second.clone(), first.clone()]);
    assert!(!texts(browser, "#drift").await.is_empty());

    // A range with a week of demo history before it has drift groups with levels.
    open(browser, &format!("{base}/quality?range=24h")).await;
    assert!(!texts(browser, "#drift .drift-group").await.is_empty());
    assert!(
        !texts(browser, "#drift .badge[class*=level-]")
            .await
            .is_empty()
    );

    check_experiment_page(browser, server, &first).await;
    check_compare_page(browser, server, &first, &second).await;
    check_flagged_span(browser, server).await;
}

async fn check_experiment_page(browser: &Browser, server: &Server, id: &str) {
    let detail = server.get_json(&format!("/api/v1/experiments/{id}")).await;
    open(browser, &format!("{}/quality/experiments/{id}", server.api)).await;
    let mean = &detail["experiment"]["totals"]["score_means"]["levenshtein"];
    assert_eq!(
        texts(browser, "#score-means td[data-score=levenshtein]").await,
        [score_text(mean)]
    );
    let items: Vec<&str> = detail["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| result["item_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        attributes(browser, "#result-table tbody tr", "data-item-id").await,
        items
    );
    let outputs = texts(browser, "#result-table pre").await;
    assert!(
        outputs.iter().any(|output| output == "sitting"),
        "{outputs:?}"
    );
    assert!(
        outputs
            .iter()
            .any(|output| output == "<script>window.__hacked=8</script>"),
        "a hostile output is shown as text: {outputs:?}"
    );
}

async fn check_compare_page(browser: &Browser, server: &Server, a: &str, b: &str) {
    let comparison = server
        .get_json(&format!("/api/v1/experiments/compare?a={a}&b={b}"))
        .await;
    open(
        browser,
        &format!("{}/quality/experiments/compare?a={a}&b={b}", server.api),
    )
    .await;
    for (name, difference) in comparison["scores"].as_object().unwrap() {
        let row = format!("#compare-table tr[data-figure='score {name}']");
        assert_eq!(
            texts(browser, &format!("{row} td.delta")).await,
            [change_text(&difference["delta"])],
            "{name}"
        );
    }
    let order: Vec<&str> = comparison["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["item_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        attributes(browser, "#compare-item-table tbody tr", "data-item-id").await,
        order
    );

    // The form reopens the comparison with the two experiments swapped.
    let script = format!(
        "const f = document.getElementById('compare-form'); f.a.value = {b:?}; f.b.value = {a:?}; f.submit(); return true;"
    );
    browser.eval(&script).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let url = browser.url().await;
    assert!(url.contains(&format!("a={b}&b={a}")), "{url}");
}

async fn check_flagged_span(browser: &Browser, server: &Server) {
    let url = format!("{}/traces/{FLAGGED_TRACE}?span={FLAGGED_SPAN}", server.api);
    open(browser, &url).await;
    let flag = texts(browser, "#flags .flag[data-analyzer=pii] mark").await;
    assert_eq!(flag, [FLAGGED_EMAIL]);
    let excerpt = texts(browser, "#flags .flag[data-analyzer=pii] pre.excerpt").await;
    assert_eq!(
        excerpt,
        [FLAGGED_PROMPT],
        "the excerpt is the prompt as text"
    );
    let place = texts(browser, "#flags .flag[data-analyzer=pii] .role").await;
    assert!(place[0].contains("input message 1"), "{place:?}");

    let names = attributes(browser, "#span-scores tbody tr", "data-score").await;
    assert_eq!(names.len(), 3, "{names:?}");
    let comments = texts(browser, "#span-scores pre").await;
    assert_eq!(comments, [HOSTILE_COMMENT]);
}
