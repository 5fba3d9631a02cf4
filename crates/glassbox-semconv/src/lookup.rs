//! Typed, lenient reads from an attribute map built once per span or log record.
//!
//! Every read returns `None` for a value of the wrong type instead of failing, so one odd
//! attribute never costs the span: the raw value stays in `Span::attributes`.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// Largest JSON text that is parsed; longer text is kept raw and not interpreted.
pub const MAX_JSON_BYTES: usize = 4 * 1024 * 1024;

/// A read-only view of attributes converted to JSON values.
#[derive(Clone, Copy)]
pub struct Attributes<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Attributes<'a> {
    /// Wraps an attribute map.
    pub fn new(map: &'a Map<String, Value>) -> Self {
        Self { map }
    }

    /// Returns the underlying map.
    pub fn map(&self) -> &'a Map<String, Value> {
        self.map
    }

    /// Returns the value of a key.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// Returns a non-empty string value.
    pub fn text(&self, key: &str) -> Option<&'a str> {
        non_empty_str(self.map.get(key)?)
    }

    /// Returns the first non-empty string among the keys.
    pub fn first_text(&self, keys: &[&str]) -> Option<&'a str> {
        keys.iter().find_map(|key| self.text(key))
    }

    /// Returns a non-negative integer count; strings and fractions give `None`.
    pub fn count(&self, key: &str) -> Option<u64> {
        as_count(self.map.get(key)?)
    }

    /// Returns the first count among the keys.
    pub fn first_count(&self, keys: &[&str]) -> Option<u64> {
        keys.iter().find_map(|key| self.count(key))
    }

    /// Returns a finite number from an integer or double value.
    pub fn number(&self, key: &str) -> Option<f64> {
        as_number(self.map.get(key)?)
    }

    /// Returns the first number among the keys, with the index of the key that held it.
    pub fn first_number(&self, keys: &[&str]) -> Option<(usize, f64)> {
        keys.iter()
            .enumerate()
            .find_map(|(index, key)| self.number(key).map(|number| (index, number)))
    }

    /// Returns a boolean value.
    pub fn flag(&self, key: &str) -> Option<bool> {
        self.map.get(key)?.as_bool()
    }

    /// Returns the first boolean among the keys.
    pub fn first_flag(&self, keys: &[&str]) -> Option<bool> {
        keys.iter().find_map(|key| self.flag(key))
    }

    /// Returns the value as structured JSON: arrays and objects as they are, strings parsed
    /// as JSON when they hold an array or an object.
    pub fn structured(&self, key: &str) -> Option<Cow<'a, Value>> {
        structured(self.map.get(key)?)
    }
}

/// Returns the string when the value is a non-empty string.
pub fn non_empty_str(value: &Value) -> Option<&str> {
    value.as_str().filter(|text| !text.is_empty())
}

/// Returns a non-negative integer count from an integer, or from a double without fraction.
pub fn as_count(value: &Value) -> Option<u64> {
    if let Some(count) = value.as_u64() {
        return Some(count);
    }
    let number = value.as_f64()?;
    let integral = number >= 0.0 && number.fract() == 0.0 && number < u64::MAX as f64;
    integral.then_some(number as u64)
}

/// Returns a finite number from an integer or double value.
pub fn as_number(value: &Value) -> Option<f64> {
    value.as_f64().filter(|number| number.is_finite())
}

/// Returns arrays and objects as they are and parses strings that hold JSON arrays or objects.
pub fn structured(value: &Value) -> Option<Cow<'_, Value>> {
    match value {
        Value::Array(_) | Value::Object(_) => Some(Cow::Borrowed(value)),
        Value::String(text) => parse_json_container(text).map(Cow::Owned),
        _ => None,
    }
}

/// Parses text that contains a JSON array or object, up to [`MAX_JSON_BYTES`].
pub fn parse_json_container(text: &str) -> Option<Value> {
    let first = text.trim_start().as_bytes().first()?;
    if !matches!(first, b'[' | b'{') {
        return None;
    }
    parse_json(text)
}

/// Parses any JSON text up to [`MAX_JSON_BYTES`]; larger or invalid text gives `None`.
pub fn parse_json(text: &str) -> Option<Value> {
    if text.len() > MAX_JSON_BYTES {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// Decodes a JSON-quoted string (`"\"stop\""` gives `stop`); other text is returned as is.
pub fn unquote_json_string(text: &str) -> Cow<'_, str> {
    if text.len() >= 2
        && text.starts_with('"')
        && text.ends_with('"')
        && let Ok(Value::String(inner)) = serde_json::from_str::<Value>(text)
    {
        return Cow::Owned(inner);
    }
    Cow::Borrowed(text)
}

/// Returns a list of strings from an array of strings or from a single string.
pub fn string_list(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) if !text.is_empty() => vec![text.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(non_empty_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn count_rejects_strings_and_fractions() {
        assert_eq!(as_count(&json!(12)), Some(12));
        assert_eq!(as_count(&json!(12.0)), Some(12));
        assert_eq!(as_count(&json!("12")), None);
        assert_eq!(as_count(&json!(1.5)), None);
        assert_eq!(as_count(&json!(-3)), None);
    }

    #[test]
    fn structured_parses_only_containers() {
        assert!(structured(&json!("[1, 2]")).is_some());
        assert!(structured(&json!("{\"a\": 1}")).is_some());
        assert!(structured(&json!("plain text")).is_none());
        assert!(structured(&json!("[not json")).is_none());
        assert!(structured(&json!(5)).is_none());
    }

    #[test]
    fn oversized_json_is_not_parsed() {
        let text = format!("[\"{}\"]", "a".repeat(MAX_JSON_BYTES));
        assert!(parse_json_container(&text).is_none());
    }

    #[test]
    fn quoted_strings_are_unquoted() {
        assert_eq!(unquote_json_string("\"stop\""), "stop");
        assert_eq!(unquote_json_string("stop"), "stop");
        assert_eq!(unquote_json_string("\"broken"), "\"broken");
    }
}
