//! The configuration form of a scorer and its checks.

use serde::{Deserialize, Serialize};

use super::text::{Contains, ExactMatch, LengthBounds};
use super::{Kind, Scorer, ScorerSpecError};

/// Configuration of one scorer, tagged by `type`, as listed in the module docs.
///
/// Unknown fields are rejected, so a misspelt option fails instead of being ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScorerSpec {
    /// The output equals the expected output.
    Exact {
        /// Compare with leading and trailing whitespace removed from both sides. Default false.
        #[serde(default)]
        trim: bool,
        /// Compare after Unicode lowercasing of both sides. Default false.
        #[serde(default)]
        ignore_case: bool,
    },
    /// The output contains a substring.
    Contains {
        /// Substring to look for. When absent, the sample's expected output is used.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<String>,
        /// Compare after Unicode lowercasing of both sides. Default false.
        #[serde(default)]
        ignore_case: bool,
    },
    /// The output matches a regular expression anywhere (use `^` and `$` to anchor).
    Regex {
        /// Pattern in the syntax of the `regex` crate. `(?i)` makes it case-insensitive.
        pattern: String,
    },
    /// Normalized Levenshtein similarity over Unicode scalar values.
    Levenshtein,
    /// Sentence BLEU-4 against the expected output.
    Bleu,
    /// ROUGE-L F-measure against the expected output.
    RougeL,
    /// The output and the expected output are equal JSON values.
    JsonEqual,
    /// The output is JSON that validates against a schema.
    JsonSchema {
        /// JSON Schema, of the draft named by `$schema` or else draft 2020-12.
        schema: serde_json::Value,
    },
    /// The output's length in Unicode scalar values is within bounds, both inclusive.
    Length {
        /// Minimum length, or no minimum when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<usize>,
        /// Maximum length, or no maximum when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<usize>,
    },
    /// The latency is at most a limit.
    MaxLatencyMs {
        /// Limit in milliseconds.
        limit: f64,
    },
    /// The cost is at most a limit.
    MaxCostUsd {
        /// Limit in US dollars.
        limit: f64,
    },
}

impl ScorerSpec {
    /// Checks the spec and compiles it into a [`Scorer`].
    ///
    /// # Errors
    ///
    /// Returns an error naming the field when a pattern or schema does not compile, a
    /// `contains` value is empty, `length` has no bound or `min` above `max`, or a limit
    /// is negative or not finite.
    pub fn build(&self) -> Result<Scorer, ScorerSpecError> {
        let kind = match self {
            Self::Exact { trim, ignore_case } => Kind::Exact(ExactMatch {
                trim: *trim,
                ignore_case: *ignore_case,
            }),
            Self::Contains { value, ignore_case } => {
                Kind::Contains(build_contains(value, *ignore_case)?)
            }
            Self::Regex { pattern } => Kind::Regex(build_regex(pattern)?),
            Self::Levenshtein => Kind::Levenshtein,
            Self::Bleu => Kind::Bleu,
            Self::RougeL => Kind::RougeL,
            Self::JsonEqual => Kind::JsonEqual,
            Self::JsonSchema { schema } => Kind::JsonSchema(Box::new(build_schema(schema)?)),
            Self::Length { min, max } => Kind::Length(build_length(*min, *max)?),
            Self::MaxLatencyMs { limit } => {
                Kind::MaxLatencyMs(check_limit("max_latency_ms", *limit)?)
            }
            Self::MaxCostUsd { limit } => Kind::MaxCostUsd(check_limit("max_cost_usd", *limit)?),
        };
        Ok(Scorer { kind })
    }
}

impl TryFrom<&ScorerSpec> for Scorer {
    type Error = ScorerSpecError;

    fn try_from(spec: &ScorerSpec) -> Result<Self, Self::Error> {
        spec.build()
    }
}

fn invalid(scorer: &'static str, field: &'static str, message: String) -> ScorerSpecError {
    ScorerSpecError {
        scorer,
        field,
        message,
    }
}

fn build_contains(value: &Option<String>, ignore_case: bool) -> Result<Contains, ScorerSpecError> {
    if value.as_deref() == Some("") {
        let message = "must not be empty; omit it to use the expected output".to_owned();
        return Err(invalid("contains", "value", message));
    }

    Ok(Contains {
        value: value.clone(),
        ignore_case,
    })
}

fn build_regex(pattern: &str) -> Result<regex::Regex, ScorerSpecError> {
    regex::Regex::new(pattern).map_err(|error| {
        let message = format!("{pattern:?} is not a valid regular expression: {error}");
        invalid("regex", "pattern", message)
    })
}

fn build_schema(schema: &serde_json::Value) -> Result<jsonschema::Validator, ScorerSpecError> {
    jsonschema::validator_for(schema).map_err(|error| {
        let message = format!("is not a valid JSON Schema: {error}");
        invalid("json_schema", "schema", message)
    })
}

fn build_length(min: Option<usize>, max: Option<usize>) -> Result<LengthBounds, ScorerSpecError> {
    match (min, max) {
        (None, None) => Err(invalid(
            "length",
            "min",
            "and max are both missing; set at least one".to_owned(),
        )),
        (Some(min), Some(max)) if min > max => Err(invalid(
            "length",
            "min",
            format!("{min} is greater than max {max}"),
        )),
        _ => Ok(LengthBounds { min, max }),
    }
}

fn check_limit(scorer: &'static str, limit: f64) -> Result<f64, ScorerSpecError> {
    if limit.is_finite() && limit >= 0.0 {
        return Ok(limit);
    }
    Err(invalid(
        scorer,
        "limit",
        format!("{limit} must be a finite number of at least 0"),
    ))
}
