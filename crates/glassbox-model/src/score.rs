//! Scores: a named judgement of a trace or one of its spans, from an API client, user
//! feedback, an evaluator, an LLM judge or an experiment.
//!
//! A score copies the service, provider, model and start time of its target when it is
//! stored, so score aggregates group and filter without joining spans.

use serde::{Deserialize, Serialize};

use crate::ids::{SpanId, TraceId};

/// Maximum length of a score name, in characters.
pub const MAX_SCORE_NAME_CHARS: usize = 200;
/// Maximum length of a categorical value, in characters.
pub const MAX_CATEGORY_CHARS: usize = 200;
/// Maximum length of a comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 10_000;
/// Maximum length of an author, in characters.
pub const MAX_AUTHOR_CHARS: usize = 200;

/// The value of a score, written as `{"data_type": ..., "value": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "data_type", content = "value", rename_all = "snake_case")]
pub enum ScoreValue {
    /// A finite number.
    Numeric(f64),
    /// Pass or fail, thumbs up or down.
    Boolean(bool),
    /// A label such as `correct` or `off_topic`.
    Categorical(String),
}

impl ScoreValue {
    /// Returns the data type of the value.
    pub fn data_type(&self) -> ScoreDataType {
        match self {
            ScoreValue::Numeric(_) => ScoreDataType::Numeric,
            ScoreValue::Boolean(_) => ScoreDataType::Boolean,
            ScoreValue::Categorical(_) => ScoreDataType::Categorical,
        }
    }

    /// Returns the number that aggregates use: the value itself, 1 or 0 for a boolean, and
    /// `None` for a categorical value.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            ScoreValue::Numeric(number) => Some(*number),
            ScoreValue::Boolean(flag) => Some(if *flag { 1.0 } else { 0.0 }),
            ScoreValue::Categorical(_) => None,
        }
    }
}

/// The data type of a score value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreDataType {
    /// A finite number.
    Numeric,
    /// `true` or `false`.
    Boolean,
    /// A string label.
    Categorical,
}

impl ScoreDataType {
    /// Every data type.
    pub const ALL: [ScoreDataType; 3] = [
        ScoreDataType::Numeric,
        ScoreDataType::Boolean,
        ScoreDataType::Categorical,
    ];

    /// Returns the lowercase name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            ScoreDataType::Numeric => "numeric",
            ScoreDataType::Boolean => "boolean",
            ScoreDataType::Categorical => "categorical",
        }
    }

    /// Parses the lowercase name; returns `None` for anything else.
    pub fn parse(text: &str) -> Option<ScoreDataType> {
        ScoreDataType::ALL
            .into_iter()
            .find(|data_type| data_type.as_str() == text)
    }
}

/// The producer of a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreSource {
    /// A client of the scores API.
    #[default]
    Api,
    /// An end user's feedback, such as a thumbs up.
    Feedback,
    /// A rule-based or programmatic evaluator.
    Evaluator,
    /// A model that judged the output.
    LlmJudge,
    /// A run of an experiment over a dataset.
    Experiment,
}

impl ScoreSource {
    /// Every source.
    pub const ALL: [ScoreSource; 5] = [
        ScoreSource::Api,
        ScoreSource::Feedback,
        ScoreSource::Evaluator,
        ScoreSource::LlmJudge,
        ScoreSource::Experiment,
    ];

    /// Returns the lowercase name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            ScoreSource::Api => "api",
            ScoreSource::Feedback => "feedback",
            ScoreSource::Evaluator => "evaluator",
            ScoreSource::LlmJudge => "llm_judge",
            ScoreSource::Experiment => "experiment",
        }
    }

    /// Parses the lowercase name; returns `None` for anything else.
    pub fn parse(text: &str) -> Option<ScoreSource> {
        ScoreSource::ALL
            .into_iter()
            .find(|source| source.as_str() == text)
    }
}

/// A stored score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// 32 lowercase hex characters, chosen by the client or the store. Storing a score
    /// with the id of a stored one replaces it.
    pub id: String,
    /// The scored trace.
    pub trace_id: TraceId,
    /// The scored span; `None` for a score of the whole trace.
    pub span_id: Option<SpanId>,
    /// The measured quality, such as `helpfulness` or `thumbs`.
    pub name: String,
    /// The value and its data type.
    #[serde(flatten)]
    pub value: ScoreValue,
    /// The producer of the score.
    pub source: ScoreSource,
    /// Free text, such as a judge's reasoning.
    pub comment: Option<String>,
    /// The person or program that gave the score.
    pub author: Option<String>,
    /// Time the store first received the score, nanoseconds since the Unix epoch.
    pub created_unix_nano: u64,
    /// `service.name` of the target span, or of the trace's root span.
    pub service: Option<String>,
    /// Provider of the target span, or of the trace's first model call.
    pub provider: Option<String>,
    /// Request model (else response model) of the target span, or of the trace's first
    /// model call.
    pub model: Option<String>,
    /// Start of the target span, or of the trace, nanoseconds since the Unix epoch.
    pub target_start_unix_nano: u64,
}

/// Checks a score name: 1 to [`MAX_SCORE_NAME_CHARS`] characters without control
/// characters. Returns the problem otherwise.
pub fn check_score_name(name: &str) -> Result<(), String> {
    check_label(name, MAX_SCORE_NAME_CHARS)
}

/// Checks a label (a score name or a categorical value): not empty, at most `max_chars`
/// characters, no control characters.
pub fn check_label(text: &str, max_chars: usize) -> Result<(), String> {
    if text.is_empty() {
        return Err("must not be empty".to_owned());
    }
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(format!(
            "is {chars} characters long; the maximum is {max_chars}"
        ));
    }
    if text.chars().any(char::is_control) {
        return Err("must not contain control characters".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_serializes_with_data_type() {
        let json = serde_json::to_value(ScoreValue::Numeric(0.5)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"data_type": "numeric", "value": 0.5})
        );
        let json = serde_json::to_value(ScoreValue::Categorical("good".into())).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"data_type": "categorical", "value": "good"})
        );
    }

    #[test]
    fn boolean_counts_as_one_or_zero() {
        assert_eq!(ScoreValue::Boolean(true).as_number(), Some(1.0));
        assert_eq!(ScoreValue::Boolean(false).as_number(), Some(0.0));
        assert_eq!(ScoreValue::Categorical("x".into()).as_number(), None);
    }

    #[test]
    fn names_round_trip() {
        for source in ScoreSource::ALL {
            assert_eq!(ScoreSource::parse(source.as_str()), Some(source));
        }
        for data_type in ScoreDataType::ALL {
            assert_eq!(ScoreDataType::parse(data_type.as_str()), Some(data_type));
        }
        assert_eq!(ScoreSource::parse("judge"), None);
    }

    #[test]
    fn label_checks() {
        assert!(check_score_name("helpfulness").is_ok());
        assert!(check_score_name("").is_err());
        assert!(check_score_name("a\nb").is_err());
        assert!(check_score_name(&"é".repeat(200)).is_ok());
        let error = check_score_name(&"a".repeat(201)).unwrap_err();
        assert_eq!(error, "is 201 characters long; the maximum is 200");
    }
}
