//! Parsing dataset files into items to evaluate.
//!
//! Two formats are read from bytes already in memory:
//!
//! - JSONL: one JSON object per line with `input`, `expected_output` (or `expected`) and
//!   `metadata`. Other top-level keys are moved into `metadata`, where a key already in
//!   `metadata` wins. Blank lines are skipped.
//! - CSV with a header row: the `input` column, an optional `expected_output` (or
//!   `expected`) column, and any other columns, which become string metadata. Empty cells
//!   are left out.
//!
//! A bad row does not stop the parse. It becomes a [`RowError`] with its line number, and
//! the caller decides whether to keep the good items. Only a CSV header without an `input`
//! column fails the whole file. A UTF-8 byte order mark at the start is ignored.

mod csv_format;
mod jsonl_format;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use csv_format::parse_csv;
pub use jsonl_format::parse_jsonl;

/// Default [`DatasetLimits::max_item_bytes`]: 1 MiB.
pub const DEFAULT_MAX_ITEM_BYTES: usize = 1024 * 1024;

const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

/// One item of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetItem {
    /// The request: a string, an array of chat messages with a `role`, or an object of
    /// named inputs.
    pub input: Value,
    /// The reference output, when the item has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_output: Option<Value>,
    /// Free-form fields carried along with the item.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
}

impl DatasetItem {
    /// Returns the expected output as text for scorers: a string as it is, and any other
    /// JSON value serialized compactly.
    pub fn expected_text(&self) -> Option<Cow<'_, str>> {
        match self.expected_output.as_ref()? {
            Value::String(text) => Some(Cow::Borrowed(text)),
            other => Some(Cow::Owned(other.to_string())),
        }
    }
}

/// A row that could not be read into an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// 1-based line number: the line of a JSONL record, or the line on which a CSV record
    /// starts (the header is line 1).
    pub row: usize,
    /// The problem with the row. It names fields and positions but never quotes content.
    pub message: String,
}

/// The items read from a dataset file and the rows that failed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParsedDataset {
    /// Items in file order.
    pub items: Vec<DatasetItem>,
    /// Failed rows in file order.
    pub errors: Vec<RowError>,
}

/// Limits applied while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatasetLimits {
    /// Largest accepted row, in bytes of the file. Default 1 MiB.
    pub max_item_bytes: usize,
}

impl Default for DatasetLimits {
    fn default() -> Self {
        Self {
            max_item_bytes: DEFAULT_MAX_ITEM_BYTES,
        }
    }
}

/// A dataset file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetFormat {
    /// JSON Lines.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

impl DatasetFormat {
    /// Guesses the format from a file name's extension: `.jsonl`, `.ndjson` or `.csv`, in
    /// any case.
    pub fn from_file_name(name: &str) -> Option<Self> {
        let extension = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match extension.as_str() {
            "jsonl" | "ndjson" => Some(Self::Jsonl),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }
}

/// An error that stops the whole file from being read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatasetError {
    /// The CSV header row has no `input` column.
    #[error(
        "missing input column in the CSV header; name the column that holds the inputs \"input\""
    )]
    MissingInputColumn,
    /// The CSV header has both `expected_output` and `expected`.
    #[error("conflicting CSV columns expected_output and expected; keep one of them")]
    ConflictingExpectedColumns,
    /// The CSV header row is not valid UTF-8 or not valid CSV.
    #[error("invalid CSV header: {message}")]
    InvalidHeader {
        /// The parser's description of the problem.
        message: String,
    },
}

/// Parses a dataset file in the given format.
///
/// # Errors
///
/// Returns a [`DatasetError`] only for a CSV header that cannot be used. Bad rows are
/// reported in [`ParsedDataset::errors`].
pub fn parse_dataset(
    bytes: &[u8],
    format: DatasetFormat,
    limits: &DatasetLimits,
) -> Result<ParsedDataset, DatasetError> {
    match format {
        DatasetFormat::Jsonl => Ok(parse_jsonl(bytes, limits)),
        DatasetFormat::Csv => parse_csv(bytes, limits),
    }
}

fn strip_byte_order_mark(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(BYTE_ORDER_MARK).unwrap_or(bytes)
}

fn oversized_message(size: usize, limits: &DatasetLimits) -> String {
    format!(
        "row is {size} bytes, larger than the limit of {} bytes",
        limits.max_item_bytes
    )
}

fn invalid_utf8_message(error: &std::str::Utf8Error) -> String {
    format!(
        "invalid UTF-8 at byte {} of the row; save the file as UTF-8",
        error.valid_up_to()
    )
}

/// Checks that an input is a non-empty string, an array of messages with a string `role`,
/// or an object.
fn check_input(input: &Value) -> Result<(), String> {
    match input {
        Value::String(text) if text.is_empty() => Err("input is empty".to_owned()),
        Value::String(_) | Value::Object(_) => Ok(()),
        Value::Array(messages) => check_messages(messages),
        Value::Null => Err("missing input".to_owned()),
        other => Err(format!(
            "invalid input: must be a string, an array of messages or an object, got {}",
            json_type(other)
        )),
    }
}

fn check_messages(messages: &[Value]) -> Result<(), String> {
    if messages.is_empty() {
        return Err("input is an empty array of messages".to_owned());
    }
    for (index, message) in messages.iter().enumerate() {
        if message.get("role").and_then(Value::as_str).is_none() {
            return Err(format!(
                "invalid input[{index}]: a message must be an object with a string \"role\""
            ));
        }
    }
    Ok(())
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn format_from_file_name() {
        assert_eq!(
            DatasetFormat::from_file_name("qa.JSONL"),
            Some(DatasetFormat::Jsonl)
        );
        assert_eq!(
            DatasetFormat::from_file_name("a.b.ndjson"),
            Some(DatasetFormat::Jsonl)
        );
        assert_eq!(
            DatasetFormat::from_file_name("qa.csv"),
            Some(DatasetFormat::Csv)
        );
        assert_eq!(DatasetFormat::from_file_name("qa.json"), None);
        assert_eq!(DatasetFormat::from_file_name("csv"), None);
    }

    #[test]
    fn expected_text_forms() {
        let mut item = DatasetItem {
            input: json!("q"),
            expected_output: Some(json!("Paris")),
            metadata: Map::new(),
        };
        assert_eq!(item.expected_text().as_deref(), Some("Paris"));

        item.expected_output = Some(json!({"answer": [true, 1.5]}));
        assert_eq!(
            item.expected_text().as_deref(),
            Some(r#"{"answer":[true,1.5]}"#)
        );

        item.expected_output = None;
        assert_eq!(item.expected_text(), None);
    }

    #[test]
    fn input_checks() {
        assert_eq!(check_input(&json!("hi")), Ok(()));
        assert_eq!(check_input(&json!({"question": "hi"})), Ok(()));
        assert_eq!(
            check_input(&json!([{"role": "user", "content": "hi"}])),
            Ok(())
        );
        assert_eq!(check_input(&json!("")), Err("input is empty".to_owned()));
        assert_eq!(
            check_input(&json!(42)),
            Err(
                "invalid input: must be a string, an array of messages or an object, got number"
                    .to_owned()
            )
        );
        assert_eq!(
            check_input(&json!([{"role": "user"}, "hi"])),
            Err("invalid input[1]: a message must be an object with a string \"role\"".to_owned())
        );
    }
}
