//! LLM-as-judge without the network: prompt templates, the Chat Completions request and
//! response bodies, and turning a judge's reply into a score.
//!
//! A judge call goes through these steps, and the caller sends the request in between:
//!
//! 1. [`JudgeTemplate::render`] fills the prompt with the input, output and reference.
//! 2. [`chat_completions_request`] wraps it in an OpenAI Chat Completions body.
//! 3. [`chat_completions_text`] takes the assistant's text out of the response body.
//! 4. [`parse_verdict`] finds the score in that text and normalizes it with a
//!    [`JudgeScale`].

mod openai;
mod template;
mod verdict;

pub use openai::{ChatRequestOptions, chat_completions_request, chat_completions_text};
pub use template::{
    DEFAULT_REFERENCE_TEMPLATE, DEFAULT_SYSTEM_PROMPT, DEFAULT_TEMPLATE, JudgeInputs, JudgeTemplate,
};
pub use verdict::{JudgeScale, JudgeVerdict, parse_verdict};

/// Maximum length of judge or provider text quoted in an error, in characters.
const EXCERPT_CHARS: usize = 100;

/// An error in a judge template, response or verdict.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JudgeError {
    /// A template uses a placeholder other than `input`, `output` and `expected`.
    #[error("unknown placeholder {{{{{name}}}}} in judge template, use one of {known}")]
    UnknownPlaceholder {
        /// The name between the braces, cut to 40 characters.
        name: String,
        /// The names a template may use.
        known: &'static str,
    },
    /// A template opens `{{` and never closes it.
    #[error("unclosed placeholder in judge template at byte {offset}, add the closing }}}}")]
    UnclosedPlaceholder {
        /// Byte offset of the opening braces.
        offset: usize,
    },
    /// A template uses `{{expected}}` and no expected output was given.
    #[error("missing expected output for a judge template that uses {{{{expected}}}}")]
    MissingExpected,
    /// A scale whose bounds are not finite or not increasing.
    #[error("invalid judge scale {min} to {max}: min must be less than max, and both finite")]
    InvalidScale {
        /// Lower bound given.
        min: f64,
        /// Upper bound given.
        max: f64,
    },
    /// The response body is an API error.
    #[error("judge provider returned an error: {message}")]
    ProviderError {
        /// The provider's error message, cut to 100 characters.
        message: String,
    },
    /// The model declined to give a score.
    #[error("judge model refused to score: {excerpt:?}")]
    Refusal {
        /// The start of the refusal.
        excerpt: String,
    },
    /// The response body has no assistant text.
    #[error("invalid judge response: {message}")]
    InvalidResponse {
        /// The missing or invalid part of the body.
        message: String,
    },
    /// No score could be found in the judge's text.
    #[error("no score found in judge output {excerpt:?}; ask for JSON such as {{\"score\": 0.8}}")]
    Unparsable {
        /// The start of the judge's text.
        excerpt: String,
    },
    /// The score lies outside the configured scale.
    #[error("judge score {score} is outside the scale {min} to {max} (judge output {excerpt:?})")]
    OutOfScale {
        /// The score as the judge wrote it.
        score: f64,
        /// Lower bound of the scale.
        min: f64,
        /// Upper bound of the scale.
        max: f64,
        /// The start of the judge's text.
        excerpt: String,
    },
    /// The judge wrote a score out of a different maximum, such as `4/5` on a 0 to 10 scale.
    #[error(
        "judge score is out of {denominator} but the scale is {min} to {max} (judge output {excerpt:?})"
    )]
    ScaleMismatch {
        /// The maximum the judge wrote after `/` or `out of`.
        denominator: f64,
        /// Lower bound of the scale.
        min: f64,
        /// Upper bound of the scale.
        max: f64,
        /// The start of the judge's text.
        excerpt: String,
    },
}

/// Returns at most [`EXCERPT_CHARS`] characters of `text`, trimmed, with `…` when cut.
fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_cuts_at_char_boundary() {
        let text = "é".repeat(150);
        let cut = excerpt(&text);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(excerpt("  short  "), "short");
    }
}
