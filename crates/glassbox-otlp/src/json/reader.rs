//! Field access over a parsed JSON document that remembers where it is, so every error names
//! the offending path (`resourceSpans[0].scopeSpans[1].spans[2].traceId`).

use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use serde_json::{Map, Value};

use crate::error::DecodeError;

/// A JSON object being read, with the path that led to it.
pub(crate) struct Object<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Object<'a> {
    /// Wraps the document root, which must be an object.
    pub(crate) fn root(value: &'a Value) -> Result<Object<'a>, DecodeError> {
        match value {
            Value::Object(map) => Ok(Object {
                map,
                path: String::new(),
            }),
            _ => Err(json_error("", "the document must be a JSON object")),
        }
    }

    fn field_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Looks a field up by its lowerCamelCase name, accepting the proto snake_case name too.
    fn get(&self, key: &str) -> Option<&'a Value> {
        match self.map.get(key) {
            Some(Value::Null) | None => {
                let snake = to_snake_case(key);
                self.map.get(&snake).filter(|value| !value.is_null())
            }
            found => found,
        }
    }

    /// Returns the objects of an array field; a missing field is an empty list.
    pub(crate) fn objects(&self, key: &str) -> Result<Vec<Object<'a>>, DecodeError> {
        let Some(value) = self.get(key) else {
            return Ok(Vec::new());
        };
        let path = self.field_path(key);
        let Value::Array(items) = value else {
            return Err(json_error(&path, "must be an array"));
        };
        items
            .iter()
            .enumerate()
            .map(|(index, item)| match item {
                Value::Object(map) => Ok(Object {
                    map,
                    path: format!("{path}[{index}]"),
                }),
                _ => Err(json_error(&format!("{path}[{index}]"), "must be an object")),
            })
            .collect()
    }

    /// Returns an object field, if present.
    pub(crate) fn object(&self, key: &str) -> Result<Option<Object<'a>>, DecodeError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Object {
                map,
                path: self.field_path(key),
            })),
            Some(_) => Err(json_error(&self.field_path(key), "must be an object")),
        }
    }

    /// Returns a string field; missing is empty.
    pub(crate) fn string(&self, key: &str) -> Result<String, DecodeError> {
        match self.get(key) {
            None => Ok(String::new()),
            Some(Value::String(text)) => Ok(text.clone()),
            Some(_) => Err(json_error(&self.field_path(key), "must be a string")),
        }
    }

    /// Returns a 64-bit unsigned field, written as a decimal string or a number.
    pub(crate) fn u64(&self, key: &str) -> Result<u64, DecodeError> {
        match self.get(key) {
            None => Ok(0),
            Some(value) => parse_u64(value).ok_or_else(|| {
                json_error(
                    &self.field_path(key),
                    "must be an unsigned integer (a number or a decimal string)",
                )
            }),
        }
    }

    /// Returns an optional 64-bit float field.
    pub(crate) fn optional_f64(&self, key: &str) -> Result<Option<f64>, DecodeError> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => parse_f64(value)
                .map(Some)
                .ok_or_else(|| json_error(&self.field_path(key), "must be a number")),
        }
    }

    /// Returns a 64-bit float field; missing is zero.
    pub(crate) fn f64(&self, key: &str) -> Result<f64, DecodeError> {
        Ok(self.optional_f64(key)?.unwrap_or(0.0))
    }

    /// Returns a 32-bit unsigned field.
    pub(crate) fn u32(&self, key: &str) -> Result<u32, DecodeError> {
        let value = self.u64(key)?;
        u32::try_from(value).map_err(|_| json_error(&self.field_path(key), "must fit in 32 bits"))
    }

    /// Returns a 32-bit signed field.
    pub(crate) fn i32(&self, key: &str) -> Result<i32, DecodeError> {
        match self.get(key) {
            None => Ok(0),
            Some(value) => parse_i64(value)
                .and_then(|number| i32::try_from(number).ok())
                .ok_or_else(|| json_error(&self.field_path(key), "must be a 32-bit integer")),
        }
    }

    /// Returns a boolean field; missing is false.
    pub(crate) fn bool(&self, key: &str) -> Result<bool, DecodeError> {
        match self.get(key) {
            None => Ok(false),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(_) => Err(json_error(&self.field_path(key), "must be true or false")),
        }
    }

    /// Returns an enum field, written as an integer or, leniently, as its name.
    pub(crate) fn enumeration(&self, key: &str, names: &[&str]) -> Result<i32, DecodeError> {
        match self.get(key) {
            Some(Value::String(name)) if parse_i64(&Value::String(name.clone())).is_none() => names
                .iter()
                .position(|candidate| candidate == name)
                .and_then(|index| i32::try_from(index).ok())
                .ok_or_else(|| {
                    json_error(
                        &self.field_path(key),
                        &format!("unknown enum value {name:?}; expected an integer"),
                    )
                }),
            _ => self.i32(key),
        }
    }

    /// Returns a trace or span id written as hex; an empty string or a missing field is empty.
    pub(crate) fn hex_id(&self, key: &str, length: usize) -> Result<Vec<u8>, DecodeError> {
        let text = self.string(key)?;
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let path = self.field_path(key);
        let bytes = hex::decode(&text).map_err(|_| {
            json_error(&path, "must be a hex string (OTLP/JSON ids are not base64)")
        })?;
        if bytes.len() != length {
            return Err(json_error(
                &path,
                &format!(
                    "must be {length} bytes ({} hex characters), got {} characters",
                    length * 2,
                    text.len()
                ),
            ));
        }
        Ok(bytes)
    }

    /// Returns a list of unsigned integers (bucket counts).
    pub(crate) fn u64_list(&self, key: &str) -> Result<Vec<u64>, DecodeError> {
        self.list(key, parse_u64, "unsigned integers")
    }

    /// Returns a list of floats (bucket bounds).
    pub(crate) fn f64_list(&self, key: &str) -> Result<Vec<f64>, DecodeError> {
        self.list(key, parse_f64, "numbers")
    }

    fn list<T>(
        &self,
        key: &str,
        parse: fn(&Value) -> Option<T>,
        what: &str,
    ) -> Result<Vec<T>, DecodeError> {
        let Some(value) = self.get(key) else {
            return Ok(Vec::new());
        };
        let error = || {
            json_error(
                &self.field_path(key),
                &format!("must be an array of {what}"),
            )
        };
        let Value::Array(items) = value else {
            return Err(error());
        };
        items
            .iter()
            .map(|item| parse(item).ok_or_else(error))
            .collect()
    }

    /// Returns the raw value of a field, for `AnyValue` decoding.
    pub(crate) fn raw(&self, key: &str) -> Option<(&'a Value, String)> {
        self.get(key).map(|value| (value, self.field_path(key)))
    }

    /// Returns the path of this object, for messages.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Returns the underlying map, for `AnyValue` decoding.
    pub(crate) fn map(&self) -> &'a Map<String, Value> {
        self.map
    }
}

/// Decodes standard base64 text, the proto JSON form of `bytes` fields other than ids.
pub(crate) fn decode_base64(text: &str, path: &str) -> Result<Vec<u8>, DecodeError> {
    BASE64_STANDARD
        .decode(text)
        .map_err(|_| json_error(path, "must be base64 text"))
}

/// Builds the error for a value at `path`.
pub(crate) fn json_error(path: &str, problem: &str) -> DecodeError {
    let location = if path.is_empty() {
        "document".to_owned()
    } else {
        path.to_owned()
    };
    DecodeError::InvalidJson(format!("{location}: {problem}"))
}

fn parse_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

/// Parses a signed integer written as a number or a decimal string.
pub(crate) fn parse_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

fn parse_f64(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => match text.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => text.parse().ok(),
        },
        _ => None,
    }
}

fn to_snake_case(key: &str) -> String {
    let mut snake = String::with_capacity(key.len() + 4);
    for character in key.chars() {
        if character.is_ascii_uppercase() {
            snake.push('_');
            snake.push(character.to_ascii_lowercase());
        } else {
            snake.push(character);
        }
    }
    snake
}
