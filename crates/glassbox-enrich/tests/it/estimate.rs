//! Token estimates for model calls that carry messages but no counts.

use glassbox_enrich::Enricher;
use glassbox_enrich::estimate::{MESSAGE_OVERHEAD, REPLY_PRIMING, approximate_tokens};
use glassbox_model::{CostStatus, Message, Span, SpanStatus, TokenUsage};

use crate::support::{model_call, usage};

const SENTENCE: &str = "The quick brown fox jumps over the lazy dog.";

fn chat(model: &str, question: &str, answer: &str) -> Span {
    let mut span = model_call(Some("openai"), model, TokenUsage::default());
    span.input_messages = Some(vec![Message::text("user", question)]);
    span.output_messages = Some(vec![Message::text("assistant", answer)]);
    span
}

fn o200k_tokens(text: &str) -> u64 {
    tiktoken_rs::o200k_base()
        .unwrap()
        .encode_ordinary(text)
        .len() as u64
}

#[test]
fn o200k_counts_known_sentence() {
    // Sanity check of the tokenizer itself: o200k_base splits the pangram into 10 tokens
    // (nine words with their leading spaces, and the period).
    assert_eq!(o200k_tokens(SENTENCE), 10);
}

#[test]
fn openai_messages_use_tokenizer() {
    let enricher = Enricher::new(Vec::new()).unwrap();
    let mut span = chat("gpt-4o-mini", SENTENCE, SENTENCE);
    enricher.enrich(&mut span);

    // Input: 3 framing tokens, the role "user" (1 token) and the text, then 3 for the reply.
    let input = MESSAGE_OVERHEAD + o200k_tokens("user") + o200k_tokens(SENTENCE) + REPLY_PRIMING;
    assert_eq!(span.usage.input, Some(input));
    assert_eq!(span.usage.input, Some(17));
    assert_eq!(span.usage.output, Some(10));
    assert_eq!(span.usage.total, Some(27));
    assert!(span.tokens_estimated);
    // The estimate is priced: 17 × 0.15 + 10 × 0.6 = 2.55 + 6 = 8.55 → 0.00000855.
    assert_eq!(span.cost_status, Some(CostStatus::Computed));
    crate::support::assert_cost(span.cost_usd, 8.55e-6, "estimated chat");
}

#[test]
fn more_text_gives_more_tokens() {
    let enricher = Enricher::new(Vec::new()).unwrap();
    let mut previous = 0;
    for repeat in [1, 2, 8, 64] {
        let mut span = chat("gpt-4o", &SENTENCE.repeat(repeat), "ok");
        enricher.enrich(&mut span);
        let input = span.usage.input.unwrap();
        assert!(
            input > previous,
            "{repeat} repeats gave {input} tokens after {previous}"
        );
        previous = input;
    }
}

#[test]
fn other_models_use_character_approximation() {
    let enricher = Enricher::new(Vec::new()).unwrap();
    let mut span = chat("claude-3-5-haiku-20241022", SENTENCE, "Done.");
    span.provider = Some("anthropic".into());
    enricher.enrich(&mut span);

    // 44 characters → 11 tokens; "user" → 1; "Done." (5 characters) → 2.
    assert_eq!(approximate_tokens(SENTENCE), 11);
    assert_eq!(
        span.usage.input,
        Some(MESSAGE_OVERHEAD + 1 + 11 + REPLY_PRIMING)
    );
    assert_eq!(span.usage.output, Some(2));
    assert!(span.tokens_estimated);
}

#[test]
fn reported_counts_are_untouched() {
    let enricher = Enricher::new(Vec::new()).unwrap();
    let mut span = chat("gpt-4o", SENTENCE, SENTENCE);
    span.usage = usage(19, 4, 0, 17, 5);
    enricher.enrich(&mut span);
    assert_eq!(span.usage, usage(19, 4, 0, 17, 5));
    assert!(!span.tokens_estimated);
}

#[test]
fn only_missing_count_is_estimated() {
    let enricher = Enricher::new(Vec::new()).unwrap();
    let mut span = chat("gpt-4o", SENTENCE, SENTENCE);
    span.usage.input = Some(100);
    enricher.enrich(&mut span);
    assert_eq!(span.usage.input, Some(100));
    assert_eq!(span.usage.output, Some(10));
    assert!(span.tokens_estimated);
}

#[test]
fn failed_and_non_llm_spans_are_not_estimated() {
    let enricher = Enricher::new(Vec::new()).unwrap();
    let mut failed = chat("gpt-4o", SENTENCE, SENTENCE);
    failed.status = SpanStatus::Error;
    enricher.enrich(&mut failed);
    assert_eq!(failed.usage, TokenUsage::default());
    assert!(!failed.tokens_estimated);

    let mut tool = chat("gpt-4o", SENTENCE, SENTENCE);
    tool.kind = glassbox_model::SpanKind::Tool;
    enricher.enrich(&mut tool);
    assert_eq!(tool.usage, TokenUsage::default());
}
