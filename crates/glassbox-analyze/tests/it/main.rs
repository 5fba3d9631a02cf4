//! Tests of `analyze` on whole spans: masking, each analyzer's flags and their positions,
//! the configuration, and a long conversation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod analyzers;
mod conversation;
mod masking;

use glassbox_analyze::{Analysis, Analyzer, Flag};
use glassbox_model::{Message, Span, SpanId, SpanKind, TraceId};

/// Returns an LLM span with the given messages.
pub fn llm_span(input: Vec<Message>, output: Vec<Message>) -> Span {
    let mut span = Span::new(TraceId([7; 16]), SpanId([9; 8]), "chat gpt-4o");
    span.kind = SpanKind::Llm;
    span.input_messages = Some(input);
    span.output_messages = Some(output);
    span.finish_reasons = vec!["stop".to_owned()];
    span
}

/// Returns the content of an input message.
pub fn input_text(span: &Span, index: usize) -> &str {
    span.input_messages.as_ref().unwrap()[index]
        .content
        .as_deref()
        .unwrap()
}

/// Returns the flags of one analyzer.
pub fn flags_of(analysis: &Analysis, analyzer: Analyzer) -> Vec<&Flag> {
    analysis
        .flags
        .iter()
        .filter(|flag| flag.analyzer == analyzer)
        .collect()
}

/// Returns the findings of one analyzer.
pub fn findings_of(analysis: &Analysis, analyzer: Analyzer) -> Vec<&str> {
    flags_of(analysis, analyzer)
        .into_iter()
        .map(|flag| flag.finding.as_str())
        .collect()
}
