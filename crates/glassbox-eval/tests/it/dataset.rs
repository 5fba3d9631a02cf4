use glassbox_eval::{
    DatasetError, DatasetFormat, DatasetLimits, RowError, parse_csv, parse_dataset, parse_jsonl,
};
use serde_json::json;

fn row_error(row: usize, message: &str) -> RowError {
    RowError {
        row,
        message: message.to_owned(),
    }
}

#[test]
fn jsonl_keeps_good_rows_and_reports_bad_ones() {
    let file = concat!(
        "{\"input\": \"What is the capital of France?\", \"expected_output\": \"Paris\"}\n",
        "\n",
        "{\"input\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Hi\"}]}\n",
        "{\"input\": \"unterminated\n",
        "{\"expected\": \"no input\"}\n",
        "   \n",
        "{\"input\": {\"city\": \"Zürich\", \"days\": 3}, \"expected\": {\"plan\": []}, \"metadata\": {\"split\": \"test\"}}\n",
    );
    let parsed = parse_jsonl(file.as_bytes(), &DatasetLimits::default());

    assert_eq!(parsed.items.len(), 3);
    assert_eq!(parsed.items[0].expected_output, Some(json!("Paris")));
    assert_eq!(parsed.items[1].input[1]["content"], json!("Hi"));
    assert_eq!(parsed.items[2].input, json!({"city": "Zürich", "days": 3}));
    assert_eq!(parsed.items[2].metadata["split"], json!("test"));

    assert_eq!(parsed.errors.len(), 2);
    assert_eq!(parsed.errors[0].row, 4);
    assert!(
        parsed.errors[0].message.starts_with("invalid JSON: "),
        "{:?}",
        parsed.errors[0]
    );
    assert_eq!(parsed.errors[1], row_error(5, "missing input"));
}

#[test]
fn jsonl_invalid_utf8_names_the_row() {
    let mut file = b"{\"input\": \"ok\"}\n".to_vec();
    file.extend_from_slice(b"{\"input\": \"caf\xE9\"}\n");
    file.extend_from_slice(b"{\"input\": \"still read\"}\n");
    let parsed = parse_jsonl(&file, &DatasetLimits::default());

    assert_eq!(parsed.items.len(), 2);
    assert_eq!(parsed.items[1].input, json!("still read"));
    assert_eq!(
        parsed.errors,
        [row_error(
            2,
            "invalid UTF-8 at byte 14 of the row; save the file as UTF-8"
        )]
    );
}

#[test]
fn jsonl_oversized_row() {
    let big = format!("{{\"input\": \"{}\"}}", "x".repeat(100));
    let file = format!("{{\"input\": \"small\"}}\n{big}\n");
    let limits = DatasetLimits { max_item_bytes: 64 };
    let parsed = parse_jsonl(file.as_bytes(), &limits);

    assert_eq!(parsed.items.len(), 1);
    assert_eq!(
        parsed.errors,
        [row_error(
            2,
            "row is 113 bytes, larger than the limit of 64 bytes"
        )]
    );
}

#[test]
fn csv_quoting_with_commas_quotes_and_newlines() {
    let file = concat!(
        "input,expected_output,category\n",
        "\"Summarize: red, green, and blue.\",\"Three colors: red, green, blue.\",summary\n",
        "\"Write two lines:\nfirst\nsecond\",\"first\r\nsecond\",multiline\n",
        "\"He said \"\"hello\"\"\",\"\"\"hello\"\"\",quotes\n",
        "Wie spät ist es?,Es ist drei Uhr.,de\n",
    );
    let parsed = parse_csv(file.as_bytes(), &DatasetLimits::default()).unwrap();

    assert_eq!(parsed.errors, []);
    assert_eq!(parsed.items.len(), 4);
    assert_eq!(
        parsed.items[0].input,
        json!("Summarize: red, green, and blue.")
    );
    assert_eq!(
        parsed.items[1].input,
        json!("Write two lines:\nfirst\nsecond")
    );
    assert_eq!(
        parsed.items[1].expected_output,
        Some(json!("first\r\nsecond"))
    );
    assert_eq!(parsed.items[2].input, json!("He said \"hello\""));
    assert_eq!(parsed.items[2].expected_output, Some(json!("\"hello\"")));
    assert_eq!(parsed.items[3].metadata["category"], json!("de"));
}

#[test]
fn csv_row_numbers_count_lines() {
    let file = concat!(
        "input,expected\n",
        "\"multi\nline\",a\n",
        "too,many,fields\n",
        ",missing input\n",
        "good,b\n",
        "short\n",
    );
    let parsed = parse_csv(file.as_bytes(), &DatasetLimits::default()).unwrap();

    let inputs: Vec<_> = parsed.items.iter().map(|item| item.input.clone()).collect();
    assert_eq!(inputs, [json!("multi\nline"), json!("good")]);
    assert_eq!(
        parsed.errors,
        [
            row_error(
                4,
                "row has 3 fields but the header has 2; quote fields that contain commas"
            ),
            row_error(5, "missing input"),
            row_error(
                7,
                "row has 1 fields but the header has 2; quote fields that contain commas"
            ),
        ]
    );
}

#[test]
fn csv_invalid_utf8_and_oversized_rows() {
    let mut file = b"input,notes\n".to_vec();
    file.extend_from_slice(b"caf\xE9,latin-1\n");
    file.extend_from_slice(b"ok,\xFF\xFE\n");
    file.extend_from_slice(format!("{},long\n", "y".repeat(80)).as_bytes());
    file.extend_from_slice(b"fine,short\n");
    let parsed = parse_csv(&file, &DatasetLimits { max_item_bytes: 64 }).unwrap();

    assert_eq!(parsed.items.len(), 1);
    assert_eq!(parsed.items[0].input, json!("fine"));
    assert_eq!(
        parsed.errors,
        [
            row_error(
                2,
                "invalid UTF-8 at byte 3 of the \"input\" field; save the file as UTF-8"
            ),
            row_error(
                3,
                "invalid UTF-8 at byte 0 of the \"notes\" field; save the file as UTF-8"
            ),
            row_error(4, "row is 84 bytes, larger than the limit of 64 bytes"),
        ]
    );
}

#[test]
fn csv_header_without_input_fails_the_file() {
    let error = parse_dataset(
        b"prompt,answer\nq,a\n",
        DatasetFormat::Csv,
        &DatasetLimits::default(),
    )
    .unwrap_err();
    assert_eq!(error, DatasetError::MissingInputColumn);
    assert_eq!(
        error.to_string(),
        "missing input column in the CSV header; name the column that holds the inputs \"input\""
    );
}

#[test]
fn parse_dataset_dispatches_on_format() {
    let limits = DatasetLimits::default();
    let jsonl = parse_dataset(b"{\"input\": \"a\"}\n", DatasetFormat::Jsonl, &limits).unwrap();
    let csv = parse_dataset(b"input\na\n", DatasetFormat::Csv, &limits).unwrap();
    assert_eq!(jsonl.items, csv.items);
}

#[test]
fn items_round_trip_through_json() {
    let parsed = parse_jsonl(
        br#"{"input": "q", "expected_output": "a", "metadata": {"k": 1}}"#,
        &DatasetLimits::default(),
    );
    let json = serde_json::to_value(&parsed).unwrap();
    assert_eq!(
        json,
        json!({"items": [{"input": "q", "expected_output": "a", "metadata": {"k": 1}}], "errors": []})
    );
}
