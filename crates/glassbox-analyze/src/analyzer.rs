//! The analyzers and the configuration that selects them.

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
    /// Every analyzer, in the order their flags appear in an [`Analysis`](crate::Analysis).
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

/// The selection of analyzers and the masking options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyzerConfig {
    /// The analyzers that report flags. Default: all of them.
    pub enabled: Vec<Analyzer>,
    /// Replaces each PII match with a placeholder such as `[EMAIL]` before the span is stored.
    /// PII is detected for masking even when [`Analyzer::Pii`] is not enabled, but then no flag
    /// is reported. Default: false.
    pub mask_pii: bool,
    /// Replaces each secret with `[SECRET]` before the span is stored. Secrets are detected for
    /// masking even when [`Analyzer::Secrets`] is not enabled, but then no flag is reported.
    /// Default: false.
    pub mask_secrets: bool,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        AnalyzerConfig {
            enabled: Analyzer::ALL.to_vec(),
            mask_pii: false,
            mask_secrets: false,
        }
    }
}

impl AnalyzerConfig {
    /// Returns true when `analyzer` reports flags.
    pub fn is_enabled(&self, analyzer: Analyzer) -> bool {
        self.enabled.contains(&analyzer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn config_defaults_to_all_analyzers() {
        let config: AnalyzerConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(config, AnalyzerConfig::default());
        assert_eq!(config.enabled.len(), Analyzer::ALL.len());
        assert!(!config.mask_pii);
        assert!(!config.mask_secrets);
    }

    #[test]
    fn config_rejects_unknown_fields() {
        let parsed = serde_json::from_str::<AnalyzerConfig>(r#"{"mask_emails": true}"#);
        assert!(parsed.is_err());
    }
}
