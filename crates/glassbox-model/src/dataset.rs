//! Datasets: named collections of inputs with optional expected outputs, which experiments
//! run a model over.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{SpanId, TraceId};

/// Maximum length of a dataset name, in characters.
pub const MAX_DATASET_NAME_CHARS: usize = 200;
/// Maximum length of a dataset description, in characters.
pub const MAX_DATASET_DESCRIPTION_CHARS: usize = 10_000;
/// Largest dataset item, in bytes of its serialized JSON (input, expected output and
/// metadata together).
pub const MAX_DATASET_ITEM_BYTES: usize = 1024 * 1024;

/// A dataset and how many items it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// 32 lowercase hex characters, chosen by the store.
    pub id: String,
    /// Unique name: 1 to 200 characters of `A-Z`, `a-z`, `0-9`, `.`, `_` and `-`.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Creation time, nanoseconds since the Unix epoch.
    pub created_unix_nano: u64,
    /// Number of items.
    pub item_count: u64,
}

/// One input of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetItem {
    /// 32 lowercase hex characters, chosen by the store.
    pub id: String,
    /// The dataset's id.
    pub dataset_id: String,
    /// The input: a string, an array of chat messages or an object.
    pub input: Value,
    /// The output that a correct response matches, when known.
    pub expected_output: Option<Value>,
    /// Free-form data, such as the model and span an item was copied from.
    pub metadata: Map<String, Value>,
    /// The trace the item was copied from.
    pub source_trace_id: Option<TraceId>,
    /// The span the item was copied from.
    pub source_span_id: Option<SpanId>,
    /// Creation time, nanoseconds since the Unix epoch.
    pub created_unix_nano: u64,
}

/// Checks a dataset name: 1 to [`MAX_DATASET_NAME_CHARS`] characters of ASCII letters,
/// digits, `.`, `_` and `-`. Returns the problem otherwise.
pub fn check_dataset_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if name.len() > MAX_DATASET_NAME_CHARS {
        return Err(format!(
            "is {} characters long; the maximum is {MAX_DATASET_NAME_CHARS}",
            name.chars().count()
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if let Some(bad) = name.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "contains {bad:?}; use only letters, digits, '.', '_' and '-'"
        ));
    }
    Ok(())
}

/// Checks the input of a dataset item: a string, an array (of chat messages) or an object.
pub fn check_item_input(input: &Value) -> Result<(), String> {
    match input {
        Value::String(_) | Value::Array(_) | Value::Object(_) => Ok(()),
        Value::Null => Err("must not be null".to_owned()),
        other => Err(format!(
            "must be a string, an array of messages or an object, got {}",
            json_type(other)
        )),
    }
}

/// Returns the JSON type name of a value, for error messages.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_names() {
        assert!(check_dataset_name("qa-set_v1.2").is_ok());
        assert!(check_dataset_name("").is_err());
        assert!(check_dataset_name(&"a".repeat(201)).is_err());
        assert_eq!(
            check_dataset_name("qa set").unwrap_err(),
            "contains ' '; use only letters, digits, '.', '_' and '-'"
        );
        assert!(check_dataset_name("é").is_err());
    }

    #[test]
    fn item_inputs() {
        assert!(check_item_input(&serde_json::json!("hi")).is_ok());
        assert!(check_item_input(&serde_json::json!([{"role": "user"}])).is_ok());
        assert!(check_item_input(&serde_json::json!({"q": 1})).is_ok());
        assert_eq!(
            check_item_input(&serde_json::json!(3)).unwrap_err(),
            "must be a string, an array of messages or an object, got a number"
        );
        assert!(check_item_input(&Value::Null).is_err());
    }
}
