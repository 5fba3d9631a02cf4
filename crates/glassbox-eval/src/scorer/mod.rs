//! Scorers that compare one output to an expectation or a limit.
//!
//! A [`ScorerSpec`] is the configuration form: it deserializes from JSON such as
//! `{"type": "regex", "pattern": "^yes"}`. [`ScorerSpec::build`] checks it and compiles it
//! into a [`Scorer`], so an invalid pattern or schema fails once, at configuration time,
//! and not on every output. [`Scorer::score`] then takes a [`Sample`] and returns a
//! [`Score`] in `[0, 1]`, where pass/fail scorers return 1.0 or 0.0.
//!
//! | `type` | fields | needs | value |
//! |---|---|---|---|
//! | `exact` | `trim`, `ignore_case` | expected | 1 if the output equals the expected output |
//! | `contains` | `value`, `ignore_case` | `value` or expected | 1 if the output contains the substring |
//! | `regex` | `pattern` | | 1 if the pattern matches anywhere in the output |
//! | `levenshtein` | | expected | normalized edit similarity over characters |
//! | `bleu` | | expected | sentence BLEU-4 with exponential smoothing |
//! | `rouge_l` | | expected | ROUGE-L F-measure over word tokens |
//! | `json_equal` | | expected | 1 if both parse as equal JSON values |
//! | `json_schema` | `schema` | | 1 if the output parses as JSON and validates |
//! | `length` | `min`, `max` | | 1 if the character count is within the bounds |
//! | `max_latency_ms` | `limit` | latency | 1 if the latency is at most the limit |
//! | `max_cost_usd` | `limit` | cost | 1 if the cost is at most the limit |

mod json;
mod overlap;
mod spec;
mod text;
mod threshold;

use serde::{Deserialize, Serialize};

pub use json::json_values_equal;
pub use overlap::{bleu, rouge_l};
pub use spec::ScorerSpec;

/// The result of one scorer on one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Score in `[0, 1]`. Pass/fail scorers return exactly 1.0 or 0.0.
    pub value: f64,
    /// Short explanation, mostly set when a pass/fail scorer fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Score {
    /// Returns a score of 1.0 without a reason.
    pub fn pass() -> Self {
        Self {
            value: 1.0,
            reason: None,
        }
    }

    /// Returns a score of 0.0 with a reason.
    pub fn fail(reason: impl Into<String>) -> Self {
        Self {
            value: 0.0,
            reason: Some(reason.into()),
        }
    }

    /// Returns a graded score without a reason.
    pub fn graded(value: f64) -> Self {
        Self {
            value,
            reason: None,
        }
    }
}

/// The input of a scorer: the output, with the expected output and measurements when known.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample<'a> {
    /// Output text of the model or application.
    pub output: &'a str,
    /// Expected output, for scorers that compare against one.
    pub expected: Option<&'a str>,
    /// End-to-end latency in milliseconds, for `max_latency_ms`.
    pub latency_ms: Option<f64>,
    /// Cost in US dollars, for `max_cost_usd`.
    pub cost_usd: Option<f64>,
}

impl<'a> Sample<'a> {
    /// Returns a sample with an output and an expected output.
    pub fn with_expected(output: &'a str, expected: &'a str) -> Self {
        Self {
            output,
            expected: Some(expected),
            ..Self::default()
        }
    }

    fn require_expected(&self, scorer: &'static str) -> Result<&'a str, ScoreError> {
        self.expected.ok_or(ScoreError::MissingExpected { scorer })
    }
}

/// A checked and compiled scorer, built from a [`ScorerSpec`].
#[derive(Debug, Clone)]
pub struct Scorer {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Exact(text::ExactMatch),
    Contains(text::Contains),
    Regex(regex::Regex),
    Levenshtein,
    Bleu,
    RougeL,
    JsonEqual,
    JsonSchema(Box<jsonschema::Validator>),
    Length(text::LengthBounds),
    MaxLatencyMs(f64),
    MaxCostUsd(f64),
}

impl Scorer {
    /// Returns the scorer's `type` name, as written in its spec.
    pub fn name(&self) -> &'static str {
        match &self.kind {
            Kind::Exact(_) => "exact",
            Kind::Contains(_) => "contains",
            Kind::Regex(_) => "regex",
            Kind::Levenshtein => "levenshtein",
            Kind::Bleu => "bleu",
            Kind::RougeL => "rouge_l",
            Kind::JsonEqual => "json_equal",
            Kind::JsonSchema(_) => "json_schema",
            Kind::Length(_) => "length",
            Kind::MaxLatencyMs(_) => "max_latency_ms",
            Kind::MaxCostUsd(_) => "max_cost_usd",
        }
    }

    /// Returns true when the scorer reads [`Sample::expected`] and fails without it.
    ///
    /// `contains` with a fixed `value` does not need one.
    pub fn needs_expected(&self) -> bool {
        match &self.kind {
            Kind::Contains(contains) => contains.value.is_none(),
            Kind::Exact(_) | Kind::Levenshtein | Kind::Bleu | Kind::RougeL | Kind::JsonEqual => {
                true
            }
            _ => false,
        }
    }

    /// Scores one sample.
    ///
    /// # Errors
    ///
    /// Returns an error when the sample lacks what the scorer needs (expected output,
    /// latency or cost), or when the expected output of `json_equal` is not valid JSON. An
    /// output that fails a check is a score of 0, not an error.
    pub fn score(&self, sample: &Sample<'_>) -> Result<Score, ScoreError> {
        let name = self.name();
        match &self.kind {
            Kind::Exact(exact) => Ok(exact.score(sample.output, sample.require_expected(name)?)),
            Kind::Contains(contains) => contains.score(sample),
            Kind::Regex(regex) => Ok(text::regex_match(regex, sample.output)),
            Kind::Levenshtein => Ok(text::levenshtein(
                sample.output,
                sample.require_expected(name)?,
            )),
            Kind::Bleu => Ok(Score::graded(bleu(
                sample.output,
                sample.require_expected(name)?,
            ))),
            Kind::RougeL => Ok(Score::graded(rouge_l(
                sample.output,
                sample.require_expected(name)?,
            ))),
            Kind::JsonEqual => json::json_equal(sample.output, sample.require_expected(name)?),
            Kind::JsonSchema(validator) => Ok(json::json_schema(validator, sample.output)),
            Kind::Length(bounds) => Ok(bounds.score(sample.output)),
            Kind::MaxLatencyMs(limit) => threshold::max_latency_ms(*limit, sample.latency_ms),
            Kind::MaxCostUsd(limit) => threshold::max_cost_usd(*limit, sample.cost_usd),
        }
    }
}

/// An invalid [`ScorerSpec`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid {scorer} scorer: {field} {message}")]
pub struct ScorerSpecError {
    /// The scorer's `type`.
    pub scorer: &'static str,
    /// The field that is wrong.
    pub field: &'static str,
    /// The problem, quoting the value where it is short.
    pub message: String,
}

/// A sample that a scorer cannot score.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreError {
    /// The scorer compares against an expected output and the sample has none.
    #[error(
        "missing expected output: the {scorer} scorer needs one, so add an expected output to the item"
    )]
    MissingExpected {
        /// The scorer's `type`.
        scorer: &'static str,
    },
    /// The expected output of `json_equal` does not parse as JSON.
    #[error("invalid expected output for json_equal: not valid JSON ({message})")]
    InvalidExpectedJson {
        /// The JSON parser's message, which gives the line and column.
        message: String,
    },
    /// A threshold scorer has no measurement to compare.
    #[error("missing {measurement}: the {scorer} scorer needs it on the sample")]
    MissingMeasurement {
        /// The scorer's `type`.
        scorer: &'static str,
        /// `latency` or `cost`.
        measurement: &'static str,
    },
    /// A measurement is NaN, infinite or negative.
    #[error("invalid {measurement} {value}: must be a finite number of at least 0")]
    InvalidMeasurement {
        /// `latency` or `cost`.
        measurement: &'static str,
        /// The value given.
        value: f64,
    },
}
