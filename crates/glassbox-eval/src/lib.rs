//! The pure parts of evaluation: scoring outputs, preparing and reading LLM-as-judge calls,
//! measuring drift between two windows, and parsing dataset files.
//!
//! Nothing here does I/O, calls a model, reads the store or logs. Callers fetch spans,
//! send judge requests and save scores, and this crate turns their inputs into numbers and
//! errors that name the bad value.
//!
//! | module | concept | main entry points |
//! |---|---|---|
//! | [`scorer`] | compare one output with an expectation or a limit, giving a score in `[0, 1]` | [`ScorerSpec`], [`Scorer::score`] |
//! | [`judge`] | judge prompts, Chat Completions bodies, reading the judge's score | [`JudgeTemplate`], [`chat_completions_request`], [`parse_verdict`] |
//! | [`drift`] | PSI and Kolmogorov–Smirnov between a baseline and a recent sample | [`compare_numeric`], [`compare_categorical`] |
//! | [`dataset`] | JSONL and CSV dataset files into items, with per-row errors | [`parse_dataset`], [`parse_jsonl`], [`parse_csv`] |
//!
//! ```
//! use glassbox_eval::{Sample, ScorerSpec};
//!
//! let spec: ScorerSpec = serde_json::from_str(r#"{"type": "exact", "trim": true}"#).unwrap();
//! let scorer = spec.build().unwrap();
//!
//! let score = scorer.score(&Sample::with_expected("Paris\n", "Paris")).unwrap();
//! assert_eq!(score.value, 1.0);
//! ```

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod dataset;
pub mod drift;
pub mod judge;
pub mod scorer;

pub use dataset::{
    DatasetError, DatasetFormat, DatasetItem, DatasetLimits, ParsedDataset, RowError, parse_csv,
    parse_dataset, parse_jsonl,
};
pub use drift::{DriftConfig, DriftLevel, DriftStat, compare_categorical, compare_numeric};
pub use judge::{
    ChatRequestOptions, JudgeError, JudgeInputs, JudgeScale, JudgeTemplate, JudgeVerdict,
    chat_completions_request, chat_completions_text, parse_verdict,
};
pub use scorer::{Sample, Score, ScoreError, Scorer, ScorerSpec, ScorerSpecError};
