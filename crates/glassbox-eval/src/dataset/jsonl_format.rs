//! JSON Lines datasets.

use serde_json::{Map, Value};

use super::{
    DatasetItem, DatasetLimits, ParsedDataset, RowError, check_input, invalid_utf8_message,
    json_type, oversized_message, strip_byte_order_mark,
};

/// Parses a JSON Lines dataset with the keys listed in the module docs.
///
/// Lines end with `\n` or `\r\n`. Each bad line becomes a [`RowError`] with its 1-based line
/// number, and the other lines are still read.
pub fn parse_jsonl(bytes: &[u8], limits: &DatasetLimits) -> ParsedDataset {
    let mut parsed = ParsedDataset::default();
    let lines = strip_byte_order_mark(bytes).split(|byte| *byte == b'\n');
    for (index, line) in lines.enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match parse_line(line, limits) {
            Ok(Some(item)) => parsed.items.push(item),
            Ok(None) => {}
            Err(message) => parsed.errors.push(RowError {
                row: index + 1,
                message,
            }),
        }
    }
    parsed
}

/// Returns `None` for a blank line.
fn parse_line(line: &[u8], limits: &DatasetLimits) -> Result<Option<DatasetItem>, String> {
    if line.len() > limits.max_item_bytes {
        return Err(oversized_message(line.len(), limits));
    }

    let text = std::str::from_utf8(line).map_err(|error| invalid_utf8_message(&error))?;
    if text.trim().is_empty() {
        return Ok(None);
    }

    let value: Value =
        serde_json::from_str(text).map_err(|error| format!("invalid JSON: {error}"))?;
    let Value::Object(object) = value else {
        return Err(format!(
            "invalid row: must be a JSON object, got {}",
            json_type(&value)
        ));
    };
    item_from_object(object).map(Some)
}

fn item_from_object(mut object: Map<String, Value>) -> Result<DatasetItem, String> {
    let input = object.remove("input").unwrap_or(Value::Null);
    check_input(&input)?;

    let expected_output = take_expected(&mut object)?;
    let mut metadata = take_metadata(&mut object)?;
    for (key, value) in object {
        metadata.entry(key).or_insert(value);
    }

    Ok(DatasetItem {
        input,
        expected_output,
        metadata,
    })
}

/// Takes `expected_output` or its alias `expected`. A JSON null counts as absent.
fn take_expected(object: &mut Map<String, Value>) -> Result<Option<Value>, String> {
    let expected_output = object
        .remove("expected_output")
        .filter(|value| !value.is_null());
    let expected = object.remove("expected").filter(|value| !value.is_null());
    match (expected_output, expected) {
        (Some(_), Some(_)) => {
            Err("conflicting keys expected_output and expected; keep one of them".to_owned())
        }
        (expected_output, expected) => Ok(expected_output.or(expected)),
    }
}

fn take_metadata(object: &mut Map<String, Value>) -> Result<Map<String, Value>, String> {
    match object.remove("metadata") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(metadata)) => Ok(metadata),
        Some(other) => Err(format!(
            "invalid metadata: must be a JSON object, got {}",
            json_type(&other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(text: &str) -> ParsedDataset {
        parse_jsonl(text.as_bytes(), &DatasetLimits::default())
    }

    #[test]
    fn reads_all_keys() {
        let parsed = parse(
            r#"{"input": "2+2?", "expected_output": "4", "metadata": {"topic": "math"}, "id": 7}"#,
        );
        assert_eq!(parsed.errors, []);
        let item = &parsed.items[0];
        assert_eq!(item.input, json!("2+2?"));
        assert_eq!(item.expected_output, Some(json!("4")));
        assert_eq!(
            Value::Object(item.metadata.clone()),
            json!({"topic": "math", "id": 7})
        );
    }

    #[test]
    fn metadata_key_wins_over_top_level() {
        let parsed = parse(r#"{"input": "q", "id": 1, "metadata": {"id": 2}}"#);
        assert_eq!(parsed.items[0].metadata["id"], json!(2));
    }

    #[test]
    fn expected_alias_and_null() {
        let parsed = parse(
            "{\"input\": \"q\", \"expected\": {\"a\": 1}}\n{\"input\": \"q\", \"expected_output\": null}",
        );
        assert_eq!(parsed.items[0].expected_output, Some(json!({"a": 1})));
        assert_eq!(parsed.items[1].expected_output, None);
    }

    #[test]
    fn row_errors_name_the_problem() {
        let cases = [
            (r#"{"expected": "4"}"#, "missing input"),
            (
                r#"["input"]"#,
                "invalid row: must be a JSON object, got array",
            ),
            (
                r#"{"input": "q", "metadata": "x"}"#,
                "invalid metadata: must be a JSON object, got string",
            ),
            (
                r#"{"input": "q", "expected": "a", "expected_output": "b"}"#,
                "conflicting keys expected_output and expected; keep one of them",
            ),
            (
                r#"{"input": true}"#,
                "invalid input: must be a string, an array of messages or an object, got boolean",
            ),
        ];
        for (line, want) in cases {
            let parsed = parse(line);
            assert_eq!(
                parsed.errors,
                [RowError {
                    row: 1,
                    message: want.to_owned()
                }],
                "{line}"
            );
        }
    }

    #[test]
    fn crlf_and_byte_order_mark() {
        let parsed = parse_jsonl(
            b"\xEF\xBB\xBF{\"input\": \"a\"}\r\n{\"input\": \"b\"}\r\n",
            &DatasetLimits::default(),
        );
        assert_eq!(parsed.errors, []);
        assert_eq!(parsed.items.len(), 2);
        assert_eq!(parsed.items[1].input, json!("b"));
    }
}
