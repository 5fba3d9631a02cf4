//! The recorded OTLP payloads, normalized and enriched.
//!
//! `otlp/` requested mock models that no price list contains, so their model spans must come
//! out unpriced or keep the cost the instrumentation reported. `otlp-priced/` requested
//! `gpt-4o-mini` (answered as the unlisted `gpt-4o-mini-2024-01-01`), `text-embedding-3-small`
//! and `claude-3-5-haiku-20241022`: their model spans must get the cost that follows from the
//! recorded token counts and the catalog's prices, worked out by hand below.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use glassbox_enrich::Enricher;
use glassbox_model::{CostStatus, Span, SpanKind, TokenUsage};
use serde_json::Value;

use crate::payload;
use crate::support::assert_cost;

/// Catalog prices in USD per million tokens: input, cache read, cache write, output.
struct Price {
    input: f64,
    cache_read: f64,
    cache_write: f64,
    output: f64,
}

/// gpt-4o-mini: input 0.15, cache read 0.075, output 0.6 (no cache write price: input's).
const GPT_4O_MINI: Price = Price {
    input: 0.15,
    cache_read: 0.075,
    cache_write: 0.15,
    output: 0.6,
};
/// claude-3-5-haiku: input 0.8, cache read 0.08, cache write 1, output 4.
const CLAUDE_3_5_HAIKU: Price = Price {
    input: 0.8,
    cache_read: 0.08,
    cache_write: 1.0,
    output: 4.0,
};
/// text-embedding-3-small: input 0.02.
const TEXT_EMBEDDING_3_SMALL: Price = Price {
    input: 0.02,
    cache_read: 0.02,
    cache_write: 0.02,
    output: 0.0,
};

/// Ground truth of the recorded calls (the fixtures' README) and the cost worked out by hand.
struct GroundTruth {
    name: &'static str,
    usage: TokenUsage,
    cost: f64,
}

fn ground_truths() -> [GroundTruth; 4] {
    let counts = |input, cached, cache_write, output| TokenUsage {
        input: Some(input),
        cached_input: cached,
        cache_write_input: cache_write,
        output,
        ..TokenUsage::default()
    };
    [
        // OpenAI chat: (19 − 4) × 0.15 + 4 × 0.075 + 17 × 0.6 = 2.25 + 0.3 + 10.2 = 12.75.
        GroundTruth {
            name: "openai chat",
            usage: counts(19, Some(4), None, Some(17)),
            cost: 12.75e-6,
        },
        // OpenAI chat from a library that reports no cached count: 19 × 0.15 + 17 × 0.6
        // = 2.85 + 10.2 = 13.05.
        GroundTruth {
            name: "openai chat without cache count",
            usage: counts(19, None, None, Some(17)),
            cost: 13.05e-6,
        },
        // Anthropic: (25 − 4 − 0) × 0.8 + 4 × 0.08 + 0 × 1 + 15 × 4 = 16.8 + 0.32 + 60 = 77.12.
        GroundTruth {
            name: "anthropic messages",
            usage: counts(25, Some(4), Some(0), Some(15)),
            cost: 77.12e-6,
        },
        // Embeddings: 12 × 0.02 = 0.24.
        GroundTruth {
            name: "openai embeddings",
            usage: counts(12, None, None, None),
            cost: 0.24e-6,
        },
    ]
}

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

/// Lists the trace expected files of a corpus folder, sorted.
fn trace_expectations(corpus: &str) -> Vec<(PathBuf, Value)> {
    let mut files = Vec::new();
    for folder in std::fs::read_dir(fixtures_root().join(corpus))
        .unwrap()
        .flatten()
    {
        for entry in std::fs::read_dir(folder.path()).unwrap().flatten() {
            let path = entry.path();
            if path.to_string_lossy().ends_with(".expected.json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let expected: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            (path, expected)
        })
        .filter(|(_, expected)| expected["signal"] == "traces")
        .collect()
}

/// Normalizes and enriches every payload of an expected file; returns the spans by id, one
/// map per payload.
fn enriched_payloads(
    enricher: &Enricher,
    file: &Path,
    expected: &Value,
) -> Vec<(String, HashMap<String, Span>)> {
    let folder = file.parent().unwrap();
    let payloads = expected["payload_files"].as_array().unwrap();
    payloads
        .iter()
        .map(|name| {
            let name = name.as_str().unwrap();
            let request = payload::traces(&folder.join(name)).unwrap();
            let spans = payload::normalized_spans(&request)
                .into_iter()
                .map(|mut span| {
                    enricher.enrich(&mut span);
                    (span.span_id.to_string(), span)
                })
                .collect();
            (name.to_owned(), spans)
        })
        .collect()
}

fn price_of(model: &str) -> Option<&'static Price> {
    if model.starts_with("gpt-4o-mini") {
        Some(&GPT_4O_MINI)
    } else if model.starts_with("claude-3-5-haiku") {
        Some(&CLAUDE_3_5_HAIKU)
    } else if model == "text-embedding-3-small" {
        Some(&TEXT_EMBEDDING_3_SMALL)
    } else {
        None
    }
}

/// Computes the cost of a span's counts by the definition in the crate docs, written out
/// again here.
fn hand_cost(price: &Price, usage: &TokenUsage) -> f64 {
    let input = usage.input.unwrap_or(0) as f64;
    let cached = usage.cached_input.unwrap_or(0) as f64;
    let cache_write = usage.cache_write_input.unwrap_or(0) as f64;
    let output = usage.output.unwrap_or(0) as f64;
    ((input - cached - cache_write) * price.input
        + cached * price.cache_read
        + cache_write * price.cache_write
        + output * price.output)
        / 1e6
}

#[test]
fn mock_models_are_unpriced_or_reported() {
    let enricher = Enricher::new(Vec::new()).unwrap();
    let (mut unpriced, mut reported) = (0, 0);
    for (file, expected) in trace_expectations("otlp") {
        for (payload, spans) in enriched_payloads(&enricher, &file, &expected) {
            for want in expected["spans"].as_array().unwrap() {
                let span_id = want["span_id"].as_str().unwrap();
                let span = spans
                    .get(span_id)
                    .unwrap_or_else(|| panic!("{payload}: span {span_id} missing"));
                let case = format!("{payload} span {span_id} ({})", span.name);
                assert_eq!(
                    span.computed_cost_usd, None,
                    "{case}: mock models have no price"
                );
                match want.get("expected_cost_status").and_then(Value::as_str) {
                    Some("unpriced") => {
                        unpriced += 1;
                        assert_eq!(span.cost_status, Some(CostStatus::Unpriced), "{case}");
                        assert_eq!(span.cost_usd, None, "{case}");
                    }
                    Some("reported") => {
                        reported += 1;
                        assert_eq!(span.cost_status, Some(CostStatus::Reported), "{case}");
                        assert_cost(span.cost_usd, want["cost_usd"].as_f64().unwrap(), &case);
                    }
                    _ => assert_ne!(span.cost_status, Some(CostStatus::Computed), "{case}"),
                }
            }
        }
    }
    println!("otlp: {unpriced} unpriced, {reported} reported spans checked");
    assert!(unpriced >= 90, "only {unpriced} unpriced spans checked");
    assert!(reported >= 9, "only {reported} reported spans checked");
}

#[test]
fn real_models_get_catalog_costs() {
    let enricher = Enricher::new(Vec::new()).unwrap();
    let truths = ground_truths();
    let mut matched = [0usize; 4];
    let (mut computed, mut reported) = (0, 0);

    for (file, expected) in trace_expectations("otlp-priced") {
        for (payload, spans) in enriched_payloads(&enricher, &file, &expected) {
            for want in expected["spans"].as_array().unwrap() {
                let span_id = want["span_id"].as_str().unwrap();
                let span = spans
                    .get(span_id)
                    .unwrap_or_else(|| panic!("{payload}: span {span_id} missing"));
                let case = format!("{payload} span {span_id} ({})", span.name);
                if want.get("expected_cost_status").and_then(Value::as_str) == Some("reported") {
                    assert_eq!(span.cost_status, Some(CostStatus::Reported), "{case}");
                    assert_cost(span.cost_usd, want["cost_usd"].as_f64().unwrap(), &case);
                }

                let has_counts = span.usage.input.is_some() || span.usage.output.is_some();
                let Some(price) = span.model().and_then(price_of).filter(|_| has_counts) else {
                    if !matches!(span.kind, SpanKind::Llm | SpanKind::Embedding) {
                        assert_eq!(span.cost_status, None, "{case}: not a model call");
                    }
                    assert_eq!(span.computed_cost_usd, None, "{case}");
                    continue;
                };
                assert!(
                    !span.tokens_estimated,
                    "{case}: recorded counts must not be estimated"
                );

                let cost = hand_cost(price, &span.usage);
                assert_cost(span.computed_cost_usd, cost, &case);
                if span.cost_status == Some(CostStatus::Reported) {
                    reported += 1;
                } else {
                    computed += 1;
                    assert_eq!(span.cost_status, Some(CostStatus::Computed), "{case}");
                    assert_eq!(span.cost_usd, span.computed_cost_usd, "{case}");
                }

                let usage = span.usage;
                let same_counts = |truth: &GroundTruth| {
                    truth.usage.input == usage.input
                        && truth.usage.output == usage.output
                        && truth.usage.cached_input.unwrap_or(0) == usage.cached_input.unwrap_or(0)
                        && truth.usage.cache_write_input.unwrap_or(0)
                            == usage.cache_write_input.unwrap_or(0)
                };
                if let Some(index) = truths.iter().position(same_counts) {
                    matched[index] += 1;
                    assert_cost(
                        span.computed_cost_usd,
                        truths[index].cost,
                        &format!("{case}: {}", truths[index].name),
                    );
                }
            }
        }
    }

    println!(
        "otlp-priced: {computed} computed, {reported} reported with a computed cost; ground truths matched {matched:?}"
    );
    assert!(computed >= 40, "only {computed} computed spans checked");
    for (truth, count) in truths.iter().zip(matched) {
        assert!(count > 0, "no span with the {} counts", truth.name);
    }
}
