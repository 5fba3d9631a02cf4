//! CSV datasets with a header row.

use csv::{ByteRecord, ErrorKind, ReaderBuilder};
use serde_json::{Map, Value};

use super::{
    DatasetError, DatasetItem, DatasetLimits, ParsedDataset, RowError, oversized_message,
    strip_byte_order_mark,
};

/// The role of one column of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    Input,
    Expected,
    Metadata(String),
}

/// Parses a CSV dataset whose first row names the columns.
///
/// Column names are matched after trimming whitespace and ignoring ASCII case. Metadata keys
/// keep the name as written, trimmed. Fields follow RFC 4180: a quoted field may contain
/// commas, doubled quotes and line breaks. Blank lines are skipped. A row's size is the sum
/// of its field lengths in bytes.
///
/// # Errors
///
/// Returns a [`DatasetError`] when the header is invalid, has no `input` column, or has
/// both `expected_output` and `expected`.
pub fn parse_csv(bytes: &[u8], limits: &DatasetLimits) -> Result<ParsedDataset, DatasetError> {
    let mut reader = ReaderBuilder::new()
        .has_headers(true)
        .from_reader(strip_byte_order_mark(bytes));
    let columns = read_columns(&mut reader)?;

    let mut parsed = ParsedDataset::default();
    let mut record = ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let row = record
                    .position()
                    .map_or(0, |position| position_row(position.line()));
                match item_from_record(&record, &columns, limits) {
                    Ok(item) => parsed.items.push(item),
                    Err(message) => parsed.errors.push(RowError { row, message }),
                }
            }
            Err(error) => parsed.errors.push(record_error(&error)),
        }
    }
    Ok(parsed)
}

fn position_row(line: u64) -> usize {
    usize::try_from(line).unwrap_or(usize::MAX)
}

fn read_columns(reader: &mut csv::Reader<&[u8]>) -> Result<Vec<Column>, DatasetError> {
    let header = reader
        .byte_headers()
        .map_err(|error| DatasetError::InvalidHeader {
            message: error.to_string(),
        })?;

    let mut columns = Vec::with_capacity(header.len());
    for (index, name) in header.iter().enumerate() {
        let name = std::str::from_utf8(name).map_err(|_| DatasetError::InvalidHeader {
            message: format!(
                "column {} is not valid UTF-8; save the file as UTF-8",
                index + 1
            ),
        })?;
        columns.push(column_for(name.trim()));
    }

    check_columns(&columns)?;
    Ok(columns)
}

fn column_for(name: &str) -> Column {
    match name.to_ascii_lowercase().as_str() {
        "input" => Column::Input,
        "expected_output" | "expected" => Column::Expected,
        _ => Column::Metadata(name.to_owned()),
    }
}

fn check_columns(columns: &[Column]) -> Result<(), DatasetError> {
    let count = |wanted: &Column| columns.iter().filter(|column| *column == wanted).count();
    if count(&Column::Input) == 0 {
        return Err(DatasetError::MissingInputColumn);
    }
    if count(&Column::Expected) > 1 {
        return Err(DatasetError::ConflictingExpectedColumns);
    }
    Ok(())
}

fn item_from_record(
    record: &ByteRecord,
    columns: &[Column],
    limits: &DatasetLimits,
) -> Result<DatasetItem, String> {
    let size = record.as_slice().len();
    if size > limits.max_item_bytes {
        return Err(oversized_message(size, limits));
    }

    let mut input = None;
    let mut expected_output = None;
    let mut metadata = Map::new();
    for (column, field) in columns.iter().zip(record.iter()) {
        let text = field_text(field, column)?;
        if text.is_empty() {
            continue;
        }

        let value = Value::String(text.to_owned());
        match column {
            Column::Input => input = input.or(Some(value)),
            Column::Expected => expected_output = Some(value),
            Column::Metadata(name) => {
                metadata.insert(name.clone(), value);
            }
        }
    }

    let input = input.ok_or_else(|| "missing input".to_owned())?;
    Ok(DatasetItem {
        input,
        expected_output,
        metadata,
    })
}

fn field_text<'a>(field: &'a [u8], column: &Column) -> Result<&'a str, String> {
    std::str::from_utf8(field).map_err(|error| {
        let name = match column {
            Column::Input => "input",
            Column::Expected => "expected output",
            Column::Metadata(name) => name,
        };
        format!(
            "invalid UTF-8 at byte {} of the {name:?} field; save the file as UTF-8",
            error.valid_up_to()
        )
    })
}

fn record_error(error: &csv::Error) -> RowError {
    let row = error
        .position()
        .map_or(0, |position| position_row(position.line()));
    let message = match error.kind() {
        ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "row has {len} fields but the header has {expected_len}; quote fields that contain commas"
        ),
        _ => format!("invalid CSV row: {error}"),
    };
    RowError { row, message }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(text: &str) -> ParsedDataset {
        parse_csv(text.as_bytes(), &DatasetLimits::default()).unwrap()
    }

    #[test]
    fn reads_columns() {
        let parsed = parse("input,expected,topic,source\nWhat is 2+2?,4,math,\n");
        assert_eq!(parsed.errors, []);
        let item = &parsed.items[0];
        assert_eq!(item.input, json!("What is 2+2?"));
        assert_eq!(item.expected_output, Some(json!("4")));
        assert_eq!(
            Value::Object(item.metadata.clone()),
            json!({"topic": "math"})
        );
    }

    #[test]
    fn header_names_are_trimmed_and_case_insensitive() {
        let parsed = parse(" Input ,Expected_Output, Lang \nq,a,de\n");
        assert_eq!(parsed.items[0].expected_output, Some(json!("a")));
        assert_eq!(parsed.items[0].metadata["Lang"], json!("de"));
    }

    #[test]
    fn header_errors() {
        let limits = DatasetLimits::default();
        assert_eq!(
            parse_csv(b"question,answer\nq,a\n", &limits),
            Err(DatasetError::MissingInputColumn)
        );
        assert_eq!(
            parse_csv(b"input,expected,expected_output\nq,a,b\n", &limits),
            Err(DatasetError::ConflictingExpectedColumns)
        );
        assert!(matches!(
            parse_csv(b"input,\xFFname\nq,a\n", &limits),
            Err(DatasetError::InvalidHeader { .. })
        ));
        assert_eq!(
            parse_csv(b"", &limits),
            Err(DatasetError::MissingInputColumn)
        );
    }

    #[test]
    fn empty_input_is_missing() {
        let parsed = parse("input,expected\n,4\n");
        assert_eq!(
            parsed.errors,
            [RowError {
                row: 2,
                message: "missing input".to_owned()
            }]
        );
    }
}
