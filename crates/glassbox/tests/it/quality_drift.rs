//! Drift reports and flag rates over OTLP spans sent to a real server. One group's output
//! tokens and input language move between the windows. A control group is drawn from the
//! same distributions in both windows, and a third group is too small to judge.

use std::time::Duration;

use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::Value;

use crate::otlp::{chat_span, encode, int, post, request, text};
use crate::server::Server;

const PROTOBUF: &str = "application/x-protobuf";
const DAY: u64 = 86_400 * 1_000_000_000;
const MINUTE: u64 = 60_000_000_000;
/// 2026-01-01T00:00:00Z, the start of the baseline window.
const BASELINE_START: u64 = 1_767_225_600 * 1_000_000_000;
/// 2026-01-08T00:00:00Z, the end of the baseline and the start of the recent window.
const RECENT_START: u64 = BASELINE_START + 7 * DAY;
const WINDOWS: &str = "baseline_from=2026-01-01T00:00:00Z&baseline_to=2026-01-08T00:00:00Z\
    &from=2026-01-08T00:00:00Z&to=2026-01-09T00:00:00Z";

const ENGLISH: &str = "Can you tell me what the weather is like in Paris today?";
const FRENCH: &str = "Et demain, est-ce qu'il va pleuvoir sur la ville ?";
const EMAIL: &str = "jane.doe@northwind-mail.com";

/// Model calls per group and window; the small group has [`SMALL_SPANS`].
const SPANS: u64 = 300;
const SMALL_SPANS: u64 = 10;

/// How one group's calls of one window are drawn.
struct Draw {
    service: &'static str,
    seed: u64,
    spans: u64,
    output_mean: f64,
    french_share: f64,
}

/// Draws from a normal distribution with the Box–Muller transform.
fn normal(rng: &mut fastrand::Rng, mean: f64, sd: f64) -> f64 {
    let u1 = 1.0 - rng.f64();
    let u2 = rng.f64();
    mean + sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Builds the calls of one group and window, one per minute from `start`. Output tokens
/// come from N(`output_mean`, 40), input tokens from N(500, 100), and every tenth input
/// carries an email address.
fn calls(draw: &Draw, first_trace: u64, start: u64) -> Vec<Span> {
    let mut rng = fastrand::Rng::with_seed(draw.seed);
    (0..draw.spans)
        .map(|index| {
            let mut span = chat_span(first_trace + index, 0, None, start + index * MINUTE);
            let tokens = |value: f64| value.round().max(1.0) as i64;
            let input_tokens = tokens(normal(&mut rng, 500.0, 100.0));
            let output_tokens = tokens(normal(&mut rng, draw.output_mean, 40.0));
            let mut content = if rng.f64() < draw.french_share {
                FRENCH.to_owned()
            } else {
                ENGLISH.to_owned()
            };
            if index % 10 == 0 {
                content.push_str(&format!(" {EMAIL}"));
            }
            let messages = serde_json::json!([
                {"role": "user", "parts": [{"type": "text", "content": content}]}
            ]);
            span.attributes.retain(|attribute| {
                !attribute.key.starts_with("gen_ai.usage.")
                    && attribute.key != "gen_ai.input.messages"
            });
            span.attributes.extend([
                int("gen_ai.usage.input_tokens", input_tokens),
                int("gen_ai.usage.output_tokens", output_tokens),
                text("gen_ai.input.messages", &messages.to_string()),
            ]);
            span
        })
        .collect()
}

async fn send(server: &Server, service: &str, spans: Vec<Span>) {
    for chunk in spans.chunks(100) {
        let body = encode(&request(service, chunk.to_vec()));
        let response = post(&server.api, body, PROTOBUF, None).await;
        assert_eq!(response.status(), 200);
    }
}

/// Sends every group's calls of both windows and returns how many were sent.
async fn send_groups(server: &Server) -> u64 {
    let groups = [
        // One standard deviation more output tokens, and mostly French input.
        (("shifted", SPANS), (200.0, 0.1), (240.0, 0.8)),
        (("control", SPANS), (200.0, 0.1), (200.0, 0.1)),
        (("small", SMALL_SPANS), (200.0, 0.1), (240.0, 0.8)),
    ];
    let mut sent = 0;
    for (index, ((service, spans), baseline, recent)) in (0u64..).zip(groups) {
        let draw = |seed: u64, (output_mean, french_share): (f64, f64)| Draw {
            service,
            seed,
            spans,
            output_mean,
            french_share,
        };
        let baseline = draw(100 + index, baseline);
        let recent = draw(200 + index, recent);
        let first_trace = index * 10_000;
        send(
            server,
            baseline.service,
            calls(&baseline, first_trace, BASELINE_START),
        )
        .await;
        send(
            server,
            recent.service,
            calls(&recent, first_trace + 5_000, RECENT_START),
        )
        .await;
        sent += 2 * spans;
    }
    sent
}

/// Waits until the store contains `expected` model calls over both windows.
async fn wait_for_calls(server: &Server, expected: u64) {
    let path = "/api/v1/metrics/flags?from=2026-01-01T00:00:00Z&to=2026-01-09T00:00:00Z&step=1d";
    let mut stored = 0;
    for _ in 0..200 {
        stored = server.get_json(path).await["total_spans"].as_u64().unwrap();
        if stored == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{stored} of {expected} model calls stored after 10 s");
}

fn group<'a>(report: &'a Value, service: &str) -> &'a Value {
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|group| group["service"] == service)
        .unwrap_or_else(|| panic!("no group of {service}: {report}"))
}

fn metric<'a>(group: &'a Value, name: &str) -> &'a Value {
    group["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|metric| metric["metric"] == name)
        .unwrap_or_else(|| panic!("no metric {name}: {group}"))
}

fn levels(group: &Value) -> Vec<(String, String)> {
    group["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|metric| {
            (
                metric["metric"].as_str().unwrap().to_owned(),
                metric["level"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(metric, level)| ((*metric).to_owned(), (*level).to_owned()))
        .collect()
}

async fn error_of(server: &Server, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{}{path}", server.api)).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn drift_report_over_otlp_spans() {
    let server = Server::start();
    let sent = send_groups(&server).await;
    wait_for_calls(&server, sent).await;

    let report = server
        .get_json(&format!("/api/v1/quality/drift?{WINDOWS}"))
        .await;

    assert_eq!(report["from"], "2026-01-08T00:00:00.000000000Z");
    assert_eq!(report["baseline_from"], "2026-01-01T00:00:00.000000000Z");
    assert_eq!(report["max_spans_per_group"], 20_000);
    let order: Vec<&str> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| group["service"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["shifted", "control", "small"]);

    let shifted = group(&report, "shifted");
    assert_eq!(shifted["model"], "gpt-4o");
    assert_eq!(shifted["baseline_spans"], SPANS);
    assert_eq!(shifted["recent_spans"], SPANS);
    assert_eq!(shifted["sampled"], false);
    assert_eq!(
        levels(shifted),
        pairs(&[
            ("input_tokens", "stable"),
            ("output_tokens", "significant"),
            ("input_language", "significant"),
            ("flag_rate:pii", "stable"),
        ])
    );
    assert_eq!(
        shifted["moved"],
        serde_json::json!(["output_tokens", "input_language"])
    );
    let output = metric(shifted, "output_tokens");
    assert_eq!(output["kind"], "numeric");
    assert_eq!(output["baseline_n"], SPANS);
    assert_eq!(output["recent_n"], SPANS);
    assert!(output["ks_p_value"].as_f64().unwrap() < 1e-6, "{output}");
    let language = metric(shifted, "input_language");
    assert_eq!(language["kind"], "categorical");
    assert_eq!(language["baseline_n"], SPANS);
    assert!(language["ks_d"].is_null());

    let control = group(&report, "control");
    assert_eq!(
        levels(control),
        pairs(&[
            ("input_tokens", "stable"),
            ("output_tokens", "stable"),
            ("input_language", "stable"),
            ("flag_rate:pii", "stable"),
        ])
    );
    assert_eq!(control["moved"], serde_json::json!([]));
    let pii = metric(control, "flag_rate:pii");
    assert_eq!(pii["baseline_rate"], 0.1);
    assert_eq!(pii["recent_rate"], 0.1);
    assert_eq!(pii["psi"], 0.0);

    let small = group(&report, "small");
    assert_eq!(small["recent_spans"], SMALL_SPANS);
    for (metric, level) in levels(small) {
        assert_eq!(level, "insufficient_data", "{metric}");
    }
    assert_eq!(small["moved"], serde_json::json!([]));
    assert!(small["max_psi"].is_null());

    let filtered = server
        .get_json(&format!(
            "/api/v1/quality/drift?{WINDOWS}&service=control&model=gpt-4o&provider=openai"
        ))
        .await;
    assert_eq!(filtered["groups"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["groups"][0]["service"], "control");

    flag_rates_count_each_day(&server).await;
    invalid_parameters_are_400(&server).await;
}

async fn flag_rates_count_each_day(server: &Server) {
    let rates = server
        .get_json("/api/v1/metrics/flags?from=2026-01-07T00:00:00Z&to=2026-01-09T00:00:00Z&step=1d")
        .await;

    assert_eq!(rates["step_seconds"], 86_400);
    assert!(rates["analyzer"].is_null());
    // The baseline's calls run from 2026-01-01 one per minute, so none falls on the 7th.
    let spans: Vec<u64> = rates["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|point| point["count"].as_u64().unwrap())
        .collect();
    assert_eq!(spans, [0, 2 * SPANS + SMALL_SPANS]);
    assert_eq!(rates["total_spans"], 2 * SPANS + SMALL_SPANS);
    let pii = &rates["series"][0];
    assert_eq!(pii["key"], "pii");
    assert_eq!(pii["total"], 2 * SPANS / 10 + 1);
    assert_eq!(pii["points"][1]["time"], "2026-01-08T00:00:00.000000000Z");
    assert_eq!(pii["points"][1]["count"], 2 * SPANS / 10 + 1);
    assert_eq!(rates["series"].as_array().unwrap().len(), 8);

    let findings = server
        .get_json("/api/v1/metrics/flags?from=2026-01-08T00:00:00Z&to=2026-01-09T00:00:00Z&step=1h&analyzer=pii&service=control")
        .await;
    assert_eq!(findings["analyzer"], "pii");
    assert_eq!(findings["total_spans"], SPANS);
    assert_eq!(findings["spans"].as_array().unwrap().len(), 24);
    // Calls run one per minute from midnight: 60 in each of the first five hours.
    assert_eq!(findings["spans"][4]["count"], 60);
    assert_eq!(findings["spans"][5]["count"], 0);
    assert_eq!(findings["series"].as_array().unwrap().len(), 1);
    let email = &findings["series"][0];
    assert_eq!(email["key"], "email");
    assert_eq!(email["total"], SPANS / 10);
    assert_eq!(email["points"][0]["count"], 6);
}

async fn invalid_parameters_are_400(server: &Server) {
    let cases = [
        ("/api/v1/quality/drift?from=yesterday", "from"),
        ("/api/v1/quality/drift?to=2026-01-01", "to"),
        (
            "/api/v1/quality/drift?baseline_from=last-week",
            "baseline_from",
        ),
        (
            "/api/v1/quality/drift?from=2026-01-08T00:00:00Z&to=2026-01-09T00:00:00Z&baseline_to=2026-01-08T12:00:00Z",
            "baseline_to",
        ),
        (
            "/api/v1/quality/drift?from=2026-01-09T00:00:00Z&to=2026-01-08T00:00:00Z",
            "from",
        ),
        (
            "/api/v1/quality/drift?baseline_from=2026-01-05T00:00:00Z&baseline_to=2026-01-04T00:00:00Z&from=2026-01-08T00:00:00Z&to=2026-01-09T00:00:00Z",
            "baseline_from",
        ),
        ("/api/v1/quality/drift?window=7d", "window"),
        ("/api/v1/metrics/flags?analyzer=email", "analyzer"),
        ("/api/v1/metrics/flags?step=90", "step"),
        ("/api/v1/metrics/flags?from=noon", "from"),
        ("/api/v1/metrics/flags?kind=llm", "kind"),
    ];
    for (path, parameter) in cases {
        let (status, body) = error_of(server, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["code"], "invalid_parameter", "{path}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(parameter), "{path}: {message}");
    }
}
