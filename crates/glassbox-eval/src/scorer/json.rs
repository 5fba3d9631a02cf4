//! Scorers on JSON output: equality with the expected value and JSON Schema validation.

use serde_json::{Number, Value};

use super::{Score, ScoreError};

/// Maximum length of a validation message in a reason, in characters. Messages quote the
/// offending value, which can be as large as the output.
const MAX_REASON_CHARS: usize = 200;

pub(super) fn json_equal(output: &str, expected: &str) -> Result<Score, ScoreError> {
    let expected: Value =
        serde_json::from_str(expected).map_err(|error| ScoreError::InvalidExpectedJson {
            message: error.to_string(),
        })?;

    let output: Value = match serde_json::from_str(output) {
        Ok(output) => output,
        Err(error) => return Ok(Score::fail(format!("output is not valid JSON: {error}"))),
    };

    if json_values_equal(&output, &expected) {
        Ok(Score::pass())
    } else {
        Ok(Score::fail("output JSON differs from the expected JSON"))
    }
}

/// Compares JSON values with object keys in any order and numbers by value, so `1` equals
/// `1.0`. Integers are compared exactly, and a float is compared with an integer after
/// converting the integer to `f64`.
pub fn json_values_equal(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(left), Value::Number(right)) => numbers_equal(left, right),
        (Value::Array(left), Value::Array(right)) => {
            left.len() == right.len()
                && left.iter().zip(right).all(|(l, r)| json_values_equal(l, r))
        }
        (Value::Object(left), Value::Object(right)) => {
            left.len() == right.len()
                && left
                    .iter()
                    .all(|(key, l)| right.get(key).is_some_and(|r| json_values_equal(l, r)))
        }
        _ => left == right,
    }
}

fn numbers_equal(left: &Number, right: &Number) -> bool {
    if let (Some(left), Some(right)) = (as_integer(left), as_integer(right)) {
        return left == right;
    }
    left.as_f64() == right.as_f64()
}

fn as_integer(number: &Number) -> Option<i128> {
    number
        .as_i64()
        .map(i128::from)
        .or_else(|| number.as_u64().map(i128::from))
}

pub(super) fn json_schema(validator: &jsonschema::Validator, output: &str) -> Score {
    let output: Value = match serde_json::from_str(output) {
        Ok(output) => output,
        Err(error) => return Score::fail(format!("output is not valid JSON: {error}")),
    };

    match validator.validate(&output) {
        Ok(()) => Score::pass(),
        Err(error) => Score::fail(schema_reason(&error)),
    }
}

fn schema_reason(error: &jsonschema::ValidationError<'_>) -> String {
    let message = truncate(&error.to_string(), MAX_REASON_CHARS);
    let path = error.instance_path().as_str();
    if path.is_empty() {
        format!("output does not match the schema: {message}")
    } else {
        format!("output does not match the schema at {path}: {message}")
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scorer::{Sample, ScorerSpec};

    #[test]
    fn json_equal_cases() {
        let cases = [
            (r#"{"a": 1, "b": [1, 2]}"#, r#"{"b": [1, 2], "a": 1}"#, 1.0),
            ("1", "1.0", 1.0),
            ("1e2", "100", 1.0),
            ("-0.0", "0", 1.0),
            (r#"{"n": 1.5}"#, r#"{"n": 1.50}"#, 1.0),
            ("18446744073709551615", "18446744073709551615", 1.0),
            ("18446744073709551615", "18446744073709551614", 0.0),
            ("9007199254740993", "9007199254740992", 0.0),
            (r#"{"a": 1}"#, r#"{"a": 1, "b": null}"#, 0.0),
            ("[1, 2]", "[2, 1]", 0.0),
            (r#""1""#, "1", 0.0),
            (r#"{"ville": "Zürich"}"#, r#"{"ville":"Z\u00fcrich"}"#, 1.0),
            ("not json", "{}", 0.0),
            ("  {\"ok\": true}\n", "{\"ok\":true}", 1.0),
        ];
        for (output, expected, want) in cases {
            let score = json_equal(output, expected).unwrap();
            assert_eq!(score.value, want, "{output} vs {expected}");
        }
    }

    #[test]
    fn json_equal_rejects_invalid_expected() {
        let error = json_equal("{}", "{oops").unwrap_err();
        assert!(
            matches!(error, ScoreError::InvalidExpectedJson { .. }),
            "{error}"
        );
    }

    #[test]
    fn json_equal_reason_for_invalid_output() {
        let score = json_equal("{\"a\":", "{}").unwrap();
        let reason = score.reason.unwrap();
        assert!(reason.starts_with("output is not valid JSON: "), "{reason}");
    }

    fn schema_score(schema: Value, output: &str) -> (f64, Option<String>) {
        let scorer = ScorerSpec::JsonSchema { schema }.build().unwrap();
        let score = scorer
            .score(&Sample {
                output,
                ..Sample::default()
            })
            .unwrap();
        (score.value, score.reason)
    }

    #[test]
    fn json_schema_cases() {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "age": {"type": "integer", "minimum": 0},
                "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2}
            },
            "required": ["name"],
            "additionalProperties": false
        });
        let cases = [
            (r#"{"name": "Zoë", "age": 30}"#, 1.0),
            (r#"{"name": "Zoë", "tags": ["a", "b"]}"#, 1.0),
            (r#"{"age": 30}"#, 0.0),
            (r#"{"name": ""}"#, 0.0),
            (r#"{"name": "x", "age": -1}"#, 0.0),
            (r#"{"name": "x", "age": 1.5}"#, 0.0),
            (r#"{"name": "x", "tags": ["c"]}"#, 0.0),
            (r#"{"name": "x", "tags": ["a", "b", "a"]}"#, 0.0),
            (r#"{"name": "x", "extra": 1}"#, 0.0),
            ("[]", 0.0),
            ("name: x", 0.0),
        ];
        for (output, want) in cases {
            assert_eq!(schema_score(schema.clone(), output).0, want, "{output}");
        }
    }

    #[test]
    fn json_schema_reason_names_path() {
        let schema = json!({"properties": {"age": {"type": "integer"}}});
        let (value, reason) = schema_score(schema, r#"{"age": "ten"}"#);
        assert_eq!(value, 0.0);
        assert_eq!(
            reason.unwrap(),
            r#"output does not match the schema at /age: "ten" is not of type "integer""#
        );
    }

    #[test]
    fn json_schema_resolves_local_refs() {
        let schema = json!({
            "$defs": {"answer": {"enum": ["yes", "no"]}},
            "properties": {"answer": {"$ref": "#/$defs/answer"}}
        });
        assert_eq!(schema_score(schema.clone(), r#"{"answer": "yes"}"#).0, 1.0);
        assert_eq!(schema_score(schema, r#"{"answer": "maybe"}"#).0, 0.0);
    }

    #[test]
    fn truncate_long_reason() {
        assert_eq!(truncate("ääää", 2), "ää…");
        assert_eq!(truncate("ää", 2), "ää");
    }
}
