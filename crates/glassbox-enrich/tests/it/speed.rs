//! Speed figures set by the enricher.

use glassbox_enrich::Enricher;
use glassbox_model::{Span, TokenUsage};

use crate::support::{model_call, usage};

const MS: u64 = 1_000_000;

fn enriched(
    duration_ms: u64,
    ttft_ms: Option<f64>,
    output: Option<u64>,
    streaming: Option<bool>,
) -> Span {
    let tokens = output.map_or(TokenUsage::default(), |output| usage(10, 0, 0, output, 0));
    let mut span = model_call(Some("openai"), "gpt-4o", tokens);
    span.end_time_unix_nano = span.start_time_unix_nano + duration_ms * MS;
    span.ttft_ms = ttft_ms;
    span.streaming = streaming;
    Enricher::new(Vec::new()).unwrap().enrich(&mut span);
    span
}

#[test]
fn with_ttft() {
    // 2,050 ms, first token at 50 ms: 2 s for 101 tokens, 100 gaps of 20 ms.
    let span = enriched(2_050, Some(50.0), Some(101), Some(true));
    assert_eq!(span.time_per_output_token_ms, Some(20.0));
    assert_eq!(span.output_tokens_per_second, Some(50.5));
}

#[test]
fn without_ttft() {
    // 30 tokens in 1.5 s.
    let span = enriched(1_500, None, Some(30), None);
    assert_eq!(span.time_per_output_token_ms, None);
    assert_eq!(span.output_tokens_per_second, Some(20.0));
}

#[test]
fn zero_and_one_output_tokens() {
    let zero_tokens = enriched(1_000, Some(100.0), Some(0), Some(true));
    assert_eq!(zero_tokens.time_per_output_token_ms, None);
    assert_eq!(zero_tokens.output_tokens_per_second, None);
    // One token over the 900 ms after the first token.
    let one_token = enriched(1_000, Some(100.0), Some(1), Some(true));
    assert_eq!(one_token.time_per_output_token_ms, None);
    assert_eq!(one_token.output_tokens_per_second, Some(1.0 / 0.9));
}

#[test]
fn missing_duration_or_tokens() {
    let no_duration = enriched(0, Some(100.0), Some(10), Some(true));
    assert_eq!(no_duration.output_tokens_per_second, None);
    assert_eq!(no_duration.time_per_output_token_ms, None);
    let no_tokens = enriched(1_000, Some(100.0), None, Some(true));
    assert_eq!(no_tokens.output_tokens_per_second, None);
}
