//! The analyzers and the configuration that selects them.

use glassbox_model::Analyzer;
use serde::{Deserialize, Serialize};

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
    /// Replaces each secret with its kind in capitals, such as `[OPENAI_API_KEY]`, before the
    /// span is stored. Secrets are detected for
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

    /// Returns true when PII or secrets are masked before storage.
    pub fn masks(&self) -> bool {
        self.mask_pii || self.mask_secrets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
