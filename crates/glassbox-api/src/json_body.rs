//! JSON request bodies read field by field, so every error names the item and the field
//! (`scores[3].value`), which serde's derived errors do not.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use glassbox_model::dataset::json_type;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Most problems listed in one error response; the count of the rest follows them.
const MAX_LISTED_PROBLEMS: usize = 20;

/// Largest body of a route without its own limit: axum's default of 2 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Unwraps a body extraction, turning a body over the route's limit into a 413 error that
/// names the limit.
pub fn body_bytes(
    body: Result<Bytes, BytesRejection>,
    limit_bytes: usize,
) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::payload_too_large(format!(
                "the request body is larger than {} MiB; split it into smaller requests",
                limit_bytes / (1024 * 1024)
            ))
        } else {
            ApiError::invalid_body(rejection.body_text())
        }
    })
}

/// Parses a body as JSON.
pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|error| ApiError::invalid_body(format!("{error}")))
}

/// Problems found in a body, each prefixed with the path of the offending value.
#[derive(Default)]
pub struct Problems(Vec<String>);

impl Problems {
    /// Records a problem with the value at `path`.
    pub fn add(&mut self, path: &str, problem: impl std::fmt::Display) {
        self.0.push(format!("{path} {problem}"));
    }

    /// Turns the problems into one 400 error, or `Ok` when there are none.
    pub fn into_result(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let total = self.0.len();
        let mut message = self
            .0
            .into_iter()
            .take(MAX_LISTED_PROBLEMS)
            .collect::<Vec<_>>()
            .join("; ");
        if total > MAX_LISTED_PROBLEMS {
            message.push_str(&format!(
                "; and {} more problems",
                total - MAX_LISTED_PROBLEMS
            ));
        }
        message.push_str("; nothing was written");
        Err(ApiError::invalid_body(message))
    }
}

/// The fields of one JSON object in a body, taken one by one with typed accessors. A
/// field with the wrong type is recorded as a problem and read as absent.
pub struct Fields<'a> {
    path: String,
    object: &'a Map<String, Value>,
    problems: &'a mut Problems,
    failed: bool,
}

impl<'a> Fields<'a> {
    /// Reads `value` as an object at `path`. Records a problem and returns `None` when it
    /// is not an object. Records a problem for each key outside `allowed`.
    pub fn of(
        path: String,
        value: &'a Value,
        allowed: &[&str],
        problems: &'a mut Problems,
    ) -> Option<Fields<'a>> {
        let Value::Object(object) = value else {
            problems.add(
                &path,
                format!("must be an object, got {}", json_type(value)),
            );
            return None;
        };
        let mut failed = false;
        for key in object.keys() {
            if !allowed.contains(&key.as_str()) {
                failed = true;
                problems.add(
                    &format!("{path}.{key}"),
                    format!("is not a known field; use {}", allowed.join(", ")),
                );
            }
        }
        Some(Fields {
            path,
            object,
            problems,
            failed,
        })
    }

    /// Returns the path of a field, such as `scores[2].name`.
    pub fn path_of(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    /// Records a problem with a field.
    pub fn problem(&mut self, key: &str, problem: impl std::fmt::Display) {
        let path = self.path_of(key);
        self.problems.add(&path, problem);
        self.failed = true;
    }

    /// Returns true when the object had any problem, an unknown key included.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Returns a field's value; `null` counts as absent.
    pub fn value(&self, key: &str) -> Option<&'a Value> {
        self.object.get(key).filter(|value| !value.is_null())
    }

    /// Returns a string field; records a problem when it contains another type.
    pub fn string(&mut self, key: &str) -> Option<&'a str> {
        match self.value(key)? {
            Value::String(text) => Some(text),
            other => {
                let found = json_type(other);
                self.problem(key, format!("must be a string, got {found}"));
                None
            }
        }
    }

    /// Returns a required string field; records a problem when it is absent.
    pub fn required_string(&mut self, key: &str) -> Option<&'a str> {
        if self.value(key).is_none() {
            self.problem(key, "is missing");
            return None;
        }
        self.string(key)
    }

    /// Returns a string field of at most `max_chars` characters.
    pub fn bounded_string(&mut self, key: &str, max_chars: usize) -> Option<&'a str> {
        let text = self.string(key)?;
        let chars = text.chars().count();
        if chars > max_chars {
            self.problem(
                key,
                format!("is {chars} characters long; the maximum is {max_chars}"),
            );
            return None;
        }
        Some(text)
    }

    /// Parses a string field with `parse`, recording its error.
    pub fn parsed<T, E: std::fmt::Display>(
        &mut self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let text = self.string(key)?;
        match parse(text) {
            Ok(value) => Some(value),
            Err(error) => {
                self.problem(key, error);
                None
            }
        }
    }
}
