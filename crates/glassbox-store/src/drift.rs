//! Samples for drift reports and counts for flag rates, as the quality API requests them.
//!
//! A drift report compares two windows of the same group of model calls. The store returns
//! the raw samples of one window per group and leaves the statistics to the caller, so the
//! same samples serve any test the caller runs.

use std::collections::BTreeMap;

use glassbox_model::Analyzer;

/// The cap that the drift report sets: spans read per group and window.
pub const DEFAULT_DRIFT_SAMPLE_SPANS: usize = 20_000;

/// The model calls and scores a drift sample covers.
#[derive(Debug, Clone)]
pub struct DriftFilter {
    /// Start of the window, nanoseconds since the Unix epoch, inclusive.
    pub from_unix_nano: u64,
    /// End of the window, exclusive.
    pub to_unix_nano: u64,
    /// `service.name`.
    pub service: Option<String>,
    /// Model: the request model of a span, or its response model when it has no request
    /// model. Scores match on the model copied from their target.
    pub model: Option<String>,
    /// Provider.
    pub provider: Option<String>,
    /// Maximum number of spans read per group, the latest by start time. The same cap
    /// applies to the scores of each name in a group.
    pub max_per_group: usize,
}

/// The samples of one (service, model) group in one window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DriftSamples {
    /// `service.name`, `None` for spans without one.
    pub service: Option<String>,
    /// Request model, else response model, `None` for spans without either.
    pub model: Option<String>,
    /// Spans of kind `llm` in the window, before the cap.
    pub spans_in_window: u64,
    /// Spans the samples come from: at most the cap.
    pub spans_sampled: u64,
    /// Input tokens of the sampled spans that report them.
    pub input_tokens: Vec<u64>,
    /// Output tokens of the sampled spans that report them.
    pub output_tokens: Vec<u64>,
    /// Sampled spans per detected input language (ISO 639-1). Spans without a detected
    /// language are not counted.
    pub input_languages: BTreeMap<String, u64>,
    /// Sampled spans with at least one flag of each analyzer. Analyzers without a flagged
    /// span are absent.
    pub flagged: BTreeMap<Analyzer, u64>,
    /// Numeric values of the numeric and boolean scores (true as 1, false as 0) whose target
    /// started in the window, per score name, latest targets first.
    pub scores: BTreeMap<String, Vec<f64>>,
}

/// The flagged model calls that a flag-rate series counts.
#[derive(Debug, Clone, Default)]
pub struct FlagRateFilter {
    /// Start of the range, nanoseconds since the Unix epoch, inclusive.
    pub from_unix_nano: u64,
    /// End of the range, exclusive.
    pub to_unix_nano: u64,
    /// `service.name`.
    pub service: Option<String>,
    /// Request model, else response model.
    pub model: Option<String>,
    /// With an analyzer, the series are per finding of that analyzer; without one, per
    /// analyzer.
    pub analyzer: Option<Analyzer>,
}

/// Counts of model calls per time step: all of them, and those flagged per key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlagRates {
    /// Spans of kind `llm` per step start (nanoseconds since the Unix epoch), in time
    /// order. Steps without spans are absent.
    pub spans: Vec<(u64, u64)>,
    /// Flagged spans per key (an analyzer name, or a finding when the filter names an
    /// analyzer) and step start, keys in alphabetical order. A span with two findings of
    /// one analyzer counts once for the analyzer and once for each finding.
    pub flagged: BTreeMap<String, Vec<(u64, u64)>>,
}
