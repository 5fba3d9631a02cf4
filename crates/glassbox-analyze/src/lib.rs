//! Rule-based analyzers that run on every LLM span at ingest.
//!
//! [`analyze`] takes a span of kind `llm` after normalization and before storage, and
//! returns [`Flag`]s, each with the analyzer that raised it, a finding name, a message for
//! people and the byte range it points at. The analyzers are regular expressions, checksums
//! and word lists. They call no model, do no I/O and do not log. They prefer missing a finding
//! to raising a false one.
//!
//! | analyzer | findings | reads |
//! |---|---|---|
//! | `pii` | `email`, `phone`, `credit_card`, `iban`, `us_ssn`, `uk_nino`, `fr_nir`, `ipv4`, `ipv6` | every message and tool call argument |
//! | `secrets` | `openai_api_key`, `anthropic_api_key`, `aws_access_key`, `aws_secret_key`, `github_token`, `google_api_key`, `slack_token`, `stripe_secret_key`, `huggingface_token`, `jwt`, `private_key` | every message and tool call argument |
//! | `prompt_injection` | `ignore_instructions`, `jailbreak`, `system_prompt_leak`, `special_tokens`, `hidden_text` | user messages and tool results |
//! | `refusal` | `refusal` | the opening of each output message, and the finish reasons |
//! | `empty_output` | `empty` | the output messages |
//! | `truncation` | `length` | the finish reasons |
//! | `invalid_json` | `invalid_json` | the output, when the request asked for JSON |
//! | `language` | `language:xx`, the output's ISO 639-1 code | the last user message and the output |
//!
//! With [`AnalyzerConfig::mask_pii`] or [`AnalyzerConfig::mask_secrets`], `analyze` also
//! rewrites the span. Each match becomes a placeholder (`[EMAIL]`, `[CREDIT_CARD]`,
//! `[OPENAI_API_KEY]`) in the message contents and tool call arguments. With masking on, a
//! placeholder already in the text (content masked at ingest that joined its span later) is
//! reported as its finding too. The original text is also replaced wherever it appears again in the span's attributes, event attributes and
//! metadata. Flag positions then point at the placeholders in the masked text, and the
//! analyzers that run after masking (injection, refusal, JSON, language) read the masked
//! text.
//!
//! ```
//! use glassbox_analyze::{Analyzer, AnalyzerConfig, analyze};
//! use glassbox_model::{Message, Span, SpanId, SpanKind, TraceId};
//!
//! let mut span = Span::new(TraceId([1; 16]), SpanId([2; 8]), "chat gpt-4o");
//! span.kind = SpanKind::Llm;
//! span.input_messages = Some(vec![Message::text("user", "Mail me at jane.doe@acme.io")]);
//! span.output_messages = Some(vec![Message::text("assistant", "Done.")]);
//!
//! let config = AnalyzerConfig { mask_pii: true, ..AnalyzerConfig::default() };
//! let analysis = analyze(&mut span, &config);
//!
//! let flag = &analysis.flags[0];
//! assert_eq!((flag.analyzer, flag.finding.as_str()), (Analyzer::Pii, "email"));
//! let masked = span.input_messages.as_ref().unwrap()[0].content.as_deref().unwrap();
//! assert_eq!(masked, "Mail me at [EMAIL]");
//! assert_eq!(&masked[flag.location.start..flag.location.end], "[EMAIL]");
//! ```

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod analyzer;
mod checks;
mod completion;
mod detection;
mod flag;
mod injection;
mod json_output;
mod language;
mod pattern;
mod pii;
mod quoting;
mod refusal;
mod secrets;
mod sensitive;

use glassbox_model::{Message, Span, SpanKind};
use serde_json::Value;

pub use analyzer::AnalyzerConfig;
pub use flag::Analysis;
pub use glassbox_model::{Analyzer, Flag, Location, Part};
pub use language::{SAMPLE_BYTES, detect_language, language_name};

/// Runs the enabled analyzers on a span of kind `llm`; other spans get an empty analysis and
/// are left unchanged.
///
/// When [`AnalyzerConfig::mask_pii`] or [`AnalyzerConfig::mask_secrets`] is set, the span is
/// rewritten so the original values are not stored, and flag positions refer to the masked
/// text. Flags come grouped by analyzer in the order of [`Analyzer::ALL`], and by position
/// within an analyzer. The result depends only on the span and the configuration.
pub fn analyze(span: &mut Span, config: &AnalyzerConfig) -> Analysis {
    let mut analysis = Analysis::default();
    if span.kind != SpanKind::Llm {
        return analysis;
    }

    sensitive::scan_span(span, config, &mut analysis.flags);

    let span: &Span = span;
    let flags = &mut analysis.flags;
    if config.is_enabled(Analyzer::PromptInjection) {
        flags.extend(checks::prompt_injection(span));
    }
    if config.is_enabled(Analyzer::Refusal) {
        flags.extend(checks::refusal(span));
    }
    if config.is_enabled(Analyzer::EmptyOutput) {
        flags.extend(checks::empty_output(span));
    }
    if config.is_enabled(Analyzer::Truncation) {
        flags.extend(checks::truncation(span));
    }
    if config.is_enabled(Analyzer::InvalidJson) {
        flags.extend(checks::invalid_json(span));
    }

    if config.is_enabled(Analyzer::Language) {
        let languages = checks::languages(span);
        analysis.input_language = languages.input.map(str::to_owned);
        analysis.output_language = languages.output.map(str::to_owned);
        analysis.flags.extend(languages.flag);
    }
    cap_flags(&mut analysis.flags);
    analysis
}

/// Most flags kept of one finding in one span. Masking still covers every match.
pub const MAX_FLAGS_PER_FINDING: usize = 100;

/// Keeps the first [`MAX_FLAGS_PER_FINDING`] flags of each finding, and adds to the message of
/// the last one kept how many more there were, so a huge message cannot make a huge flag list.
fn cap_flags(flags: &mut Vec<Flag>) {
    let mut seen: Vec<(Analyzer, String, usize, usize)> = Vec::new();
    let mut kept = Vec::with_capacity(flags.len().min(MAX_FLAGS_PER_FINDING * 4));
    for flag in flags.drain(..) {
        let index = match seen.iter().position(|(analyzer, finding, ..)| {
            *analyzer == flag.analyzer && *finding == flag.finding
        }) {
            Some(index) => index,
            None => {
                seen.push((flag.analyzer, flag.finding.clone(), 0, 0));
                seen.len() - 1
            }
        };
        let entry = &mut seen[index];
        if entry.2 < MAX_FLAGS_PER_FINDING {
            entry.2 += 1;
            entry.3 = kept.len();
            kept.push(flag);
        } else {
            entry.2 += 1;
        }
    }
    for (_, _, count, last) in seen {
        if count > MAX_FLAGS_PER_FINDING {
            let more = count - MAX_FLAGS_PER_FINDING;
            kept[last]
                .message
                .push_str(&format!("; {more} more not listed"));
        }
    }
    *flags = kept;
}

/// Runs [`analyze`] and records the result on the span: its flags and the languages of input
/// and output.
pub fn annotate(span: &mut Span, config: &AnalyzerConfig) {
    let analysis = analyze(span, config);
    span.flags = analysis.flags;
    span.input_language = analysis.input_language;
    span.output_language = analysis.output_language;
}

/// Masks PII and secrets in messages that arrive apart from their span, when
/// [`AnalyzerConfig::mask_pii`] or [`AnalyzerConfig::mask_secrets`] is set. The span's
/// flags are computed once the content has joined it. Returns how many matches were masked.
pub fn mask_messages(messages: &mut [Message], config: &AnalyzerConfig) -> usize {
    if !config.masks() {
        return 0;
    }
    sensitive::mask_messages(messages, config)
}

/// Masks PII and secrets in every string of a JSON value, such as a log record's body, when
/// masking is configured. Returns how many matches were masked.
pub fn mask_json(value: &mut Value, config: &AnalyzerConfig) -> usize {
    if !config.masks() {
        return 0;
    }
    sensitive::mask_json(value, config)
}
