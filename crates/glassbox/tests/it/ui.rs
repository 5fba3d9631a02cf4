//! The dashboard of a real `glassbox serve`, filled with the recorded fixture payloads, the
//! demo's history and a span whose prompt is hostile HTML. Plain HTTP checks status codes,
//! headers and escaping; headless Chromium checks console errors, values, filters, links and
//! script.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::browser::{self, Browser};
use crate::fixtures::{all_payloads, post_http};
use crate::server::Server;
use crate::ui_quality::{self, FLAGGED_EMAIL, FLAGGED_SPAN, FLAGGED_TRACE};

/// The pages of the navigation.
const LISTING_PAGES: [&str; 9] = [
    "/",
    "/traces",
    "/models",
    "/functions",
    "/costs",
    "/sessions",
    "/users",
    "/infra",
    "/quality",
];

/// Prompt text that would run script if the dashboard did not escape it.
const HOSTILE_PROMPT: &str =
    "<img src=x onerror=\"window.__hacked=1\"></script><script>window.__hacked=2</script>";
/// Root span name with markup.
const HOSTILE_NAME: &str = "<b onmouseover=\"window.__hacked=3\">hostile</b>";
const HOSTILE_TRACE: &str = "7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a";

fn now_nanos() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap()
}

fn rfc3339(nanos: u64) -> String {
    glassbox_api::format_nanos(nanos)
}

/// Builds one OTLP/JSON trace: an agent span and a chat span with a hostile prompt and output.
fn hostile_payload(at: u64) -> Value {
    let attribute = |key: &str, value: Value| json!({"key": key, "value": value});
    let text = |value: &str| json!({"stringValue": value});
    let messages = json!([{"role": "user", "content": HOSTILE_PROMPT}]).to_string();
    let output =
        json!([{"role": "assistant", "content": "</pre><svg onload=\"window.__hacked=4\">"}])
            .to_string();
    json!({"resourceSpans": [{
        "resource": {"attributes": [attribute("service.name", text("hostile-service"))]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": [
            {
                "traceId": HOSTILE_TRACE, "spanId": "1111111111111111", "name": HOSTILE_NAME,
                "kind": 1, "startTimeUnixNano": at.to_string(),
                "endTimeUnixNano": (at + 900_000_000).to_string(),
                "attributes": [attribute("session.id", text("hostile-session")), attribute("user.id", text("<i>mallory</i>"))],
            },
            {
                "traceId": HOSTILE_TRACE, "spanId": "2222222222222222", "parentSpanId": "1111111111111111",
                "name": "chat gpt-4o", "kind": 3, "startTimeUnixNano": (at + 100_000_000).to_string(),
                "endTimeUnixNano": (at + 800_000_000).to_string(),
                "attributes": [
                    attribute("gen_ai.operation.name", text("chat")),
                    attribute("gen_ai.provider.name", text("openai")),
                    attribute("gen_ai.request.model", text("gpt-4o")),
                    attribute("gen_ai.usage.input_tokens", json!({"intValue": "12"})),
                    attribute("gen_ai.usage.output_tokens", json!({"intValue": "5"})),
                    attribute("gen_ai.input.messages", text(&messages)),
                    attribute("gen_ai.output.messages", text(&output)),
                    attribute("session.id", text("hostile-session")),
                ],
            },
        ]}],
    }]})
}

/// A demo server with every fixture payload and the hostile trace.
async fn filled_server() -> (Server, u64) {
    // The demo's history without live traffic, so nothing changes while pages are compared
    // with the API, and the host collector for the Infrastructure page.
    let server = Server::start_in_temp(&[("GLASSBOX_INFRA__HOST__ENABLED", "true")]);
    let backfill = std::process::Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args([
            "demo",
            "--backfill",
            "3d",
            "--traces",
            "1500",
            "--seed",
            "7",
            "--target",
        ])
        .arg(&server.otlp_http)
        .env("GLASSBOX_LOG", "warn")
        .env_remove("GLASSBOX_CONFIG")
        .output()
        .unwrap();
    assert!(
        backfill.status.success(),
        "{}",
        String::from_utf8_lossy(&backfill.stderr)
    );
    for payload in all_payloads() {
        let (status, body) = post_http(&server.api, &payload).await;
        assert_eq!(
            status,
            200,
            "{}: {}",
            payload.path.display(),
            String::from_utf8_lossy(&body)
        );
    }
    let at = now_nanos() - 600 * 1_000_000_000;
    let response = reqwest::Client::new()
        .post(format!("{}/v1/traces", server.otlp_http))
        .json(&hostile_payload(at))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = reqwest::Client::new()
        .post(format!("{}/v1/traces", server.otlp_http))
        .json(&ui_quality::flagged_payload(at))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    wait_for_trace(&server, HOSTILE_TRACE).await;
    wait_for_trace(&server, FLAGGED_TRACE).await;
    // The range every comparison uses: everything sent, ending on a whole minute since
    // summaries read per-minute rollups.
    let minute = 60 * 1_000_000_000;
    let to = (now_nanos() / minute + 2) * minute;
    (server, to)
}

async fn wait_for_trace(server: &Server, trace_id: &str) {
    for _ in 0..100 {
        let response = reqwest::get(format!("{}/api/v1/traces/{trace_id}", server.api))
            .await
            .unwrap();
        if response.status() == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("trace {trace_id} was not stored");
}

async fn get(server: &Server, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let response = reqwest::get(format!("{}{path}", server.api)).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_answer_with_safe_headers_and_escaped_text() {
    let (server, _) = filled_server().await;
    let detail_pages = [
        "/sessions/hostile-session".to_owned(),
        format!("/traces/{HOSTILE_TRACE}"),
        "/traces?range=30d&sort=slowest".to_owned(),
        format!("/traces/{FLAGGED_TRACE}?span={FLAGGED_SPAN}"),
        "/quality?range=7d&model=gpt-4o".to_owned(),
    ];
    for path in LISTING_PAGES
        .iter()
        .copied()
        .chain(detail_pages.iter().map(String::as_str))
    {
        let (status, headers, body) = get(&server, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(
            policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"),
            "{policy}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(body.starts_with("<!DOCTYPE html>"), "{path}");
        assert!(!body.contains("<script>"), "{path} has an inline script");
    }

    let (_, _, body) = get(&server, &format!("/traces/{HOSTILE_TRACE}")).await;
    assert!(
        body.contains(
            "&lt;img src=x onerror=&quot;window.__hacked=1&quot;&gt;&lt;/script&gt;&lt;script&gt;"
        ),
        "the prompt is not escaped"
    );
    assert!(body.contains("&lt;b onmouseover="));
    assert!(!body.contains("<img src=x"));
    assert!(!body.contains("<svg onload"));

    // The flag excerpt escapes the prompt around the highlighted address.
    let (_, _, body) = get(
        &server,
        &format!("/traces/{FLAGGED_TRACE}?span={FLAGGED_SPAN}"),
    )
    .await;
    assert!(
        body.contains(&format!(
            "&lt;script&gt;window.__hacked=5&lt;/script&gt;Write to &lt;b onmouseover=&quot;window.__hacked=6&quot;&gt;<mark>{FLAGGED_EMAIL}</mark>&lt;/b&gt;"
        )),
        "the flag excerpt is not escaped around its mark"
    );
    assert!(!body.contains("<script>window.__hacked"));

    for (path, status, needle) in [
        ("/traces?range=2w", 400, "range"),
        ("/traces?sort=cheapest", 400, "sort"),
        ("/?from=yesterday", 400, "from"),
        ("/traces/nothex", 400, "trace_id"),
        (
            "/traces/00000000000000000000000000000001",
            404,
            "not stored",
        ),
        ("/sessions/no-such-session", 404, "not stored"),
        ("/traces?cursor=garbage", 400, "cursor"),
        ("/assets/missing.css", 404, "no such asset"),
        ("/no/such/page", 404, "No page at /no/such/page"),
        ("/traces?errors=1", 400, "unknown parameter"),
        ("/traces?status=ok", 400, "status"),
        (
            "/quality?baseline_to=2999-01-01T00:00:00Z",
            400,
            "baseline_to",
        ),
        ("/quality?baseline_from=soon", 400, "baseline_from"),
        ("/quality?flag=pii", 400, "unknown parameter"),
        ("/quality/experiments/compare?a=x", 400, "b"),
        ("/quality/experiments/nope", 404, "not stored"),
    ] {
        let (found, _, body) = get(&server, path).await;
        assert_eq!(found, status, "{path}");
        assert!(body.contains(needle), "{path}: {body}");
    }
    let (status, headers, _) = get(&server, "/assets/app.js").await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
}

/// Reads the visible text of every element matching a selector.
pub async fn texts(browser: &Browser, selector: &str) -> Vec<String> {
    let script = format!(
        "return Array.from(document.querySelectorAll({selector:?})).map(e => e.textContent.trim());"
    );
    browser
        .eval(&script)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value.as_str().unwrap().to_owned())
        .collect()
}

pub async fn attributes(browser: &Browser, selector: &str, name: &str) -> Vec<String> {
    let script = format!(
        "return Array.from(document.querySelectorAll({selector:?})).map(e => e.getAttribute({name:?}));"
    );
    browser
        .eval(&script)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Opens a page and fails on any console error or warning (a blocked script, a failed load).
pub async fn open(browser: &Browser, url: &str) {
    browser.goto(url).await;
    let problems: Vec<Value> = browser
        .console()
        .await
        .into_iter()
        .filter(|entry| matches!(entry["level"].as_str(), Some("SEVERE" | "WARNING")))
        .collect();
    assert!(problems.is_empty(), "console of {url}: {problems:?}");
    let hacked = browser.eval("return window.__hacked === undefined;").await;
    assert_eq!(
        hacked,
        json!(true),
        "a script from stored text ran on {url}"
    );
}

pub fn count_text(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_headless_chromium() {
    let Some((driver, chromium)) = browser::tools() else {
        return;
    };
    let (server, to) = filled_server().await;
    let browser = Browser::start(&driver, &chromium).await;
    let range = format!("from=2000-01-01T00:00:00Z&to={}", rfc3339(to));
    let base = &server.api;

    // The console check works: an error logged on purpose is reported.
    browser.goto(&format!("{base}/")).await;
    browser
        .eval("console.error('expected'); return true;")
        .await;
    assert!(
        browser
            .console()
            .await
            .iter()
            .any(|entry| entry["level"] == "SEVERE")
    );

    // Every page loads without console errors.
    for path in LISTING_PAGES {
        open(&browser, &format!("{base}{path}?{range}")).await;
    }

    // The overview's headline figures are the API's.
    let summary = server
        .get_json(&format!("/api/v1/metrics/summary?{range}"))
        .await;
    let total = &summary["groups"][0];
    open(&browser, &format!("{base}/?{range}")).await;
    let stats = texts(&browser, ".stat").await;
    assert!(
        stats.iter().any(|stat| stat.starts_with("Requests")
            && stat.contains(&count_text(total["count"].as_u64().unwrap()))),
        "{stats:?}"
    );
    assert!(
        stats.iter().any(|stat| stat.starts_with("Errors")
            && stat.contains(&count_text(total["error_count"].as_u64().unwrap()))),
        "{stats:?}"
    );
    assert_eq!(texts(&browser, "figure.chart").await.len(), 6);

    // The trace list shows the API's first page in the same order.
    let traces = server.get_json(&format!("/api/v1/traces?{range}")).await;
    let expected: Vec<&str> = traces["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|trace| trace["trace_id"].as_str().unwrap())
        .collect();
    open(&browser, &format!("{base}/traces?{range}")).await;
    assert_eq!(
        attributes(&browser, "#traces tbody tr", "data-trace-id").await,
        expected
    );

    // Sorting by duration agrees with the API.
    let slowest = server
        .get_json(&format!("/api/v1/traces?{range}&sort=slowest&limit=5"))
        .await;
    open(&browser, &format!("{base}/traces?{range}&sort=slowest")).await;
    let shown = attributes(&browser, "#traces tbody tr", "data-trace-id").await;
    for (index, trace) in slowest["traces"].as_array().unwrap().iter().enumerate() {
        assert_eq!(shown[index], trace["trace_id"].as_str().unwrap());
    }

    // The filter form narrows the list to the API's result for the same filter.
    let model = "gpt-4o";
    let script = format!(
        "document.querySelector('form.filters input[name=model]').value = {model:?}; document.querySelector('form.filters').submit(); return true;"
    );
    browser.eval(&script).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        browser.url().await.contains("model=gpt-4o"),
        "{}",
        browser.url().await
    );
    let filtered = server
        .get_json(&format!(
            "/api/v1/traces?{range}&model={model}&sort=slowest"
        ))
        .await;
    let expected: Vec<&str> = filtered["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|trace| trace["trace_id"].as_str().unwrap())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(
        attributes(&browser, "#traces tbody tr", "data-trace-id").await,
        expected
    );

    // A trace link leads to its waterfall, with one row per stored span.
    let first = expected[0];
    let detail = server.get_json(&format!("/api/v1/traces/{first}")).await;
    let link = format!("#traces tbody tr[data-trace-id='{first}'] td:nth-child(2) a");
    browser
        .eval(&format!(
            "document.querySelector({link:?}).click(); return true;"
        ))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(browser.url().await.ends_with(&format!("/traces/{first}")));
    let rows = attributes(&browser, ".waterfall tbody tr", "data-span-id").await;
    assert_eq!(rows.len(), detail["spans"].as_array().unwrap().len());
    assert!(
        !texts(&browser, ".critical-mark").await.is_empty(),
        "no critical path"
    );

    // Models: every model of the API appears with its call count.
    let models = server
        .get_json(&format!("/api/v1/metrics/summary?{range}&group_by=model"))
        .await;
    open(&browser, &format!("{base}/models?{range}")).await;
    let shown_models = attributes(&browser, "#models tbody tr", "data-model").await;
    for group in models["groups"].as_array().unwrap() {
        if let Some(name) = group["key"].as_str() {
            assert!(
                shown_models.iter().any(|shown| shown == name),
                "{name} missing from {shown_models:?}"
            );
        }
    }

    // Two models side by side.
    open(
        &browser,
        &format!("{base}/models?{range}&a=gpt-4o&b=claude-sonnet-4-20250514"),
    )
    .await;
    assert_eq!(
        texts(&browser, "#compare .compare h3").await,
        ["gpt-4o", "claude-sonnet-4-20250514"]
    );

    // Functions agree with the API.
    let functions = server.get_json(&format!("/api/v1/functions?{range}")).await;
    open(&browser, &format!("{base}/functions?{range}")).await;
    let shown = texts(&browser, "#functions tbody tr td:first-child").await;
    assert_eq!(
        shown.len(),
        functions["functions"].as_array().unwrap().len()
    );

    // Costs count the same model calls as the API.
    open(&browser, &format!("{base}/costs?{range}")).await;
    let stats = texts(&browser, ".stat").await;
    let now = server
        .get_json(&format!("/api/v1/metrics/summary?{range}"))
        .await;
    let calls = count_text(total["count"].as_u64().unwrap());
    assert!(
        stats
            .iter()
            .any(|stat| stat.starts_with("Model calls") && stat.contains(&calls)),
        "{calls} then {}: {stats:?}",
        now["groups"][0]["count"]
    );
    assert!(
        stats
            .iter()
            .any(|stat| stat.starts_with("Model calls") && stat.contains(&calls)),
        "{stats:?}"
    );

    // Users: each shown user's trace count is the API's count of that user's traces.
    open(&browser, &format!("{base}/users?{range}")).await;
    let users = texts(&browser, "#users tbody tr td:first-child").await;
    let counts = texts(&browser, "#users tbody tr td:nth-child(2)").await;
    assert!(!users.is_empty());
    for (user, shown) in users.iter().zip(&counts).take(3) {
        let traces = server
            .get_json(&format!("/api/v1/traces?{range}&user_id={user}&limit=1000"))
            .await;
        let count = traces["traces"].as_array().unwrap().len() as u64;
        assert_eq!(shown, &count_text(count), "{user}");
    }

    // Sessions list and the hostile session as a conversation, shown as text.
    open(&browser, &format!("{base}/sessions?{range}")).await;
    assert!(
        texts(&browser, "#sessions tbody tr td:first-child")
            .await
            .iter()
            .any(|id| id == "hostile-session")
    );
    open(&browser, &format!("{base}/sessions/hostile-session")).await;
    let conversation = texts(&browser, "#conversation .message pre").await;
    assert!(
        conversation.iter().any(|text| text == HOSTILE_PROMPT),
        "{conversation:?}"
    );

    // The hostile trace: names and prompts are text, and no script ran.
    open(&browser, &format!("{base}/traces/{HOSTILE_TRACE}")).await;
    assert!(
        texts(&browser, "h1")
            .await
            .iter()
            .any(|title| title.contains(HOSTILE_NAME))
    );
    let messages = texts(&browser, ".message pre").await;
    assert!(
        messages.iter().any(|text| text == HOSTILE_PROMPT),
        "{messages:?}"
    );
    browser
        .pointer(".waterfall tbody tr:first-child td.name", 0, None)
        .await;
    assert_eq!(
        browser.eval("return window.__hacked === undefined;").await,
        json!(true)
    );

    // Hovering a chart shows its values; dragging across it selects a new range.
    open(&browser, &format!("{base}/?range=24h")).await;
    browser.pointer("svg.timeseries", 0, None).await;
    let tip = browser
        .eval("const t = document.getElementById('tip'); return t.hidden ? '' : t.textContent;")
        .await;
    assert!(tip.as_str().unwrap().contains("requests: "), "{tip}");
    browser.pointer("svg.timeseries", -150, Some(200)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let url = browser.url().await;
    assert!(
        url.contains("from=") && url.contains("to=") && !url.contains("range="),
        "{url}"
    );
    open(&browser, &url).await;

    ui_quality::check_quality_pages(&browser, &server, &range).await;

    browser.close().await;
}
