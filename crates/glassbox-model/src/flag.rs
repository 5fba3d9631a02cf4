//! Analyzer flags: findings of the rule-based checks that run on model calls at ingest.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One rule-based analyzer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Analyzer {
    /// Personal data in messages: emails, phone numbers, payment cards, IBANs, national ids
    /// and IP addresses.
    Pii,
    /// Credentials in messages: provider API keys, access tokens, private keys and JWTs.
    Secrets,
    /// Signs of prompt injection in user messages and tool results.
    PromptInjection,
    /// A model output that declines the request.
    Refusal,
    /// A finished call whose output has neither text nor a tool call.
    EmptyOutput,
    /// An output cut off at the token limit.
    Truncation,
    /// An output that does not parse although JSON output was requested.
    InvalidJson,
    /// The languages of input and output, flagged when they differ.
    Language,
}

impl Analyzer {
    /// Every analyzer, in the order their flags appear on a span.
    pub const ALL: [Analyzer; 8] = [
        Analyzer::Pii,
        Analyzer::Secrets,
        Analyzer::PromptInjection,
        Analyzer::Refusal,
        Analyzer::EmptyOutput,
        Analyzer::Truncation,
        Analyzer::InvalidJson,
        Analyzer::Language,
    ];

    /// Returns the snake_case name used in the configuration, the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Analyzer::Pii => "pii",
            Analyzer::Secrets => "secrets",
            Analyzer::PromptInjection => "prompt_injection",
            Analyzer::Refusal => "refusal",
            Analyzer::EmptyOutput => "empty_output",
            Analyzer::Truncation => "truncation",
            Analyzer::InvalidJson => "invalid_json",
            Analyzer::Language => "language",
        }
    }

    /// Returns the findings the analyzer reports. The language analyzer's finding is
    /// `language:` followed by the output's ISO 639-1 code, listed here as `language:*`.
    pub fn findings(self) -> &'static [&'static str] {
        match self {
            Analyzer::Pii => &[
                "email",
                "phone",
                "credit_card",
                "iban",
                "us_ssn",
                "uk_nino",
                "fr_nir",
                "ipv4",
                "ipv6",
            ],
            Analyzer::Secrets => &[
                "openai_api_key",
                "anthropic_api_key",
                "aws_access_key",
                "aws_secret_key",
                "github_token",
                "google_api_key",
                "slack_token",
                "stripe_secret_key",
                "huggingface_token",
                "jwt",
                "private_key",
            ],
            Analyzer::PromptInjection => &[
                "ignore_instructions",
                "jailbreak",
                "system_prompt_leak",
                "special_tokens",
                "hidden_text",
            ],
            Analyzer::Refusal => &["refusal"],
            Analyzer::EmptyOutput => &["empty"],
            Analyzer::Truncation => &["length"],
            Analyzer::InvalidJson => &["invalid_json"],
            Analyzer::Language => &["language:*"],
        }
    }

    /// Returns the analyzer that reports `finding`, `None` for an unknown finding.
    pub fn of_finding(finding: &str) -> Option<Analyzer> {
        if let Some(code) = finding.strip_prefix("language:") {
            let is_code = code.len() == 2 && code.bytes().all(|byte| byte.is_ascii_lowercase());
            return is_code.then_some(Analyzer::Language);
        }
        Analyzer::ALL
            .into_iter()
            .find(|analyzer| analyzer.findings().contains(&finding))
    }

    /// Parses the snake_case name; returns `None` for anything else.
    pub fn parse(text: &str) -> Option<Analyzer> {
        Analyzer::ALL
            .into_iter()
            .find(|analyzer| analyzer.as_str() == text)
    }
}

impl fmt::Display for Analyzer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The side of a model call that a flag is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// The messages sent to the model.
    Input,
    /// The messages returned by the model.
    Output,
}

/// The place in a span's messages that a flag points at.
///
/// `start..end` are byte offsets into one string: the message's `content`, or, when
/// `tool_call_index` is set, a string inside that tool call's arguments. `0..0` means the flag
/// is about a whole message, or about the whole input or output when `message_index` is
/// `None`. When masking is
/// on, offsets refer to the masked text, so the range of a masked match covers its
/// placeholder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Input or output messages.
    pub part: Part,
    /// The index of the message in `input_messages` or `output_messages`.
    pub message_index: Option<usize>,
    /// The index of the tool call in the message's `tool_calls`, for a match in its arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_index: Option<usize>,
    /// The JSON Pointer (RFC 6901) of the string value inside the tool call's arguments;
    /// empty when the arguments are a single string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argument_path: Option<String>,
    /// Byte offset of the first byte of the match.
    pub start: usize,
    /// Byte offset one past the last byte of the match.
    pub end: usize,
}

impl Location {
    /// Creates a location that covers a whole side of the call.
    pub fn whole(part: Part) -> Location {
        Location {
            part,
            message_index: None,
            tool_call_index: None,
            argument_path: None,
            start: 0,
            end: 0,
        }
    }

    /// Creates a location inside one message's content.
    pub fn in_content(part: Part, message_index: usize, start: usize, end: usize) -> Location {
        Location {
            part,
            message_index: Some(message_index),
            tool_call_index: None,
            argument_path: None,
            start,
            end,
        }
    }
}

/// One finding of one analyzer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    /// The analyzer that raised the flag.
    pub analyzer: Analyzer,
    /// The kind of finding, such as `email`, `openai_api_key`, `ignore_instructions`,
    /// `length` or `language:fr`.
    pub finding: String,
    /// A sentence for people. It never quotes the matched text.
    pub message: String,
    /// The place of the finding, serialized as `position`.
    #[serde(rename = "position")]
    pub location: Location,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_round_trip() {
        for analyzer in Analyzer::ALL {
            assert_eq!(Analyzer::parse(analyzer.as_str()), Some(analyzer));
            let json = serde_json::to_string(&analyzer).unwrap();
            assert_eq!(json, format!("\"{}\"", analyzer.as_str()));
        }
        assert_eq!(Analyzer::parse("Pii"), None);
    }

    #[test]
    fn flag_serializes_with_position() {
        let flag = Flag {
            analyzer: Analyzer::PromptInjection,
            finding: "ignore_instructions".to_owned(),
            message: "an instruction to ignore previous instructions".to_owned(),
            location: Location::in_content(Part::Input, 1, 4, 20),
        };

        let value = serde_json::to_value(&flag).unwrap();

        assert_eq!(
            value,
            json!({
                "analyzer": "prompt_injection",
                "finding": "ignore_instructions",
                "message": "an instruction to ignore previous instructions",
                "position": {"part": "input", "message_index": 1, "start": 4, "end": 20}
            })
        );
        assert_eq!(serde_json::from_value::<Flag>(value).unwrap(), flag);
    }
}
