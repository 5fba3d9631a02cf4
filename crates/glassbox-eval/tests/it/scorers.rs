use glassbox_eval::{Sample, ScoreError, Scorer, ScorerSpec, ScorerSpecError};
use serde_json::json;

fn build(spec: serde_json::Value) -> Result<Scorer, ScorerSpecError> {
    let spec: ScorerSpec = serde_json::from_value(spec).unwrap();
    spec.build()
}

fn score(spec: serde_json::Value, sample: &Sample<'_>) -> f64 {
    build(spec).unwrap().score(sample).unwrap().value
}

#[test]
fn specs_deserialize_from_json() {
    let cases = [
        (
            json!({"type": "exact"}),
            ScorerSpec::Exact {
                trim: false,
                ignore_case: false,
            },
        ),
        (
            json!({"type": "contains", "value": "Paris", "ignore_case": true}),
            ScorerSpec::Contains {
                value: Some("Paris".to_owned()),
                ignore_case: true,
            },
        ),
        (
            json!({"type": "regex", "pattern": "^a"}),
            ScorerSpec::Regex {
                pattern: "^a".to_owned(),
            },
        ),
        (json!({"type": "levenshtein"}), ScorerSpec::Levenshtein),
        (json!({"type": "bleu"}), ScorerSpec::Bleu),
        (json!({"type": "rouge_l"}), ScorerSpec::RougeL),
        (json!({"type": "json_equal"}), ScorerSpec::JsonEqual),
        (
            json!({"type": "length", "max": 10}),
            ScorerSpec::Length {
                min: None,
                max: Some(10),
            },
        ),
        (
            json!({"type": "max_latency_ms", "limit": 1500}),
            ScorerSpec::MaxLatencyMs { limit: 1500.0 },
        ),
        (
            json!({"type": "max_cost_usd", "limit": 0.02}),
            ScorerSpec::MaxCostUsd { limit: 0.02 },
        ),
    ];
    for (json, want) in cases {
        let spec: ScorerSpec = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(spec, want, "{json}");
        assert_eq!(serde_json::to_value(&spec).unwrap()["type"], json["type"]);
    }
}

#[test]
fn spec_rejects_unknown_fields_and_types() {
    let misspelt = serde_json::from_value::<ScorerSpec>(json!({"type": "exact", "trimm": true}));
    assert!(
        misspelt
            .unwrap_err()
            .to_string()
            .contains("unknown field `trimm`")
    );

    let unknown = serde_json::from_value::<ScorerSpec>(json!({"type": "meteor"}));
    assert!(
        unknown
            .unwrap_err()
            .to_string()
            .contains("unknown variant `meteor`")
    );

    let missing = serde_json::from_value::<ScorerSpec>(json!({"type": "regex"}));
    assert!(
        missing
            .unwrap_err()
            .to_string()
            .contains("missing field `pattern`")
    );
}

#[test]
fn build_errors_name_field_and_value() {
    let cases = [
        (
            json!({"type": "regex", "pattern": "(unclosed"}),
            "regex",
            "pattern",
        ),
        (json!({"type": "length"}), "length", "min"),
        (
            json!({"type": "length", "min": 10, "max": 5}),
            "length",
            "min",
        ),
        (
            json!({"type": "contains", "value": ""}),
            "contains",
            "value",
        ),
        (
            json!({"type": "max_latency_ms", "limit": -1}),
            "max_latency_ms",
            "limit",
        ),
        (
            json!({"type": "max_cost_usd", "limit": -0.5}),
            "max_cost_usd",
            "limit",
        ),
        (
            json!({"type": "json_schema", "schema": {"type": "strnig"}}),
            "json_schema",
            "schema",
        ),
        (
            json!({"type": "json_schema", "schema": {"minLength": "3"}}),
            "json_schema",
            "schema",
        ),
        (
            json!({"type": "json_schema", "schema": {"$ref": "https://schemas.invalid/answer.json"}}),
            "json_schema",
            "schema",
        ),
    ];
    for (spec, scorer, field) in cases {
        let error = build(spec.clone()).unwrap_err();
        assert_eq!((error.scorer, error.field), (scorer, field), "{spec}");
    }

    let regex = build(json!({"type": "regex", "pattern": "(unclosed"})).unwrap_err();
    assert!(
        regex.to_string().starts_with(
            "invalid regex scorer: pattern \"(unclosed\" is not a valid regular expression"
        ),
        "{regex}"
    );
    let length = build(json!({"type": "length", "min": 10, "max": 5})).unwrap_err();
    assert_eq!(
        length.to_string(),
        "invalid length scorer: min 10 is greater than max 5"
    );
}

#[test]
fn missing_expected_is_an_error() {
    let output_only = Sample {
        output: "Paris",
        ..Sample::default()
    };
    for name in [
        "exact",
        "contains",
        "levenshtein",
        "bleu",
        "rouge_l",
        "json_equal",
    ] {
        let scorer = build(json!({"type": name})).unwrap();
        assert!(scorer.needs_expected(), "{name}");
        assert_eq!(
            scorer.score(&output_only),
            Err(ScoreError::MissingExpected {
                scorer: scorer.name()
            }),
            "{name}"
        );
    }

    let error = build(json!({"type": "bleu"}))
        .unwrap()
        .score(&output_only)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "missing expected output: the bleu scorer needs one, so add an expected output to the item"
    );
}

#[test]
fn scorers_without_expectation() {
    let output_only = Sample {
        output: r#"{"answer": "yes"}"#,
        ..Sample::default()
    };
    let cases = [
        (json!({"type": "contains", "value": "yes"}), 1.0),
        (json!({"type": "regex", "pattern": "\"answer\""}), 1.0),
        (json!({"type": "length", "min": 5, "max": 17}), 1.0),
        (json!({"type": "length", "max": 16}), 0.0),
        (
            json!({"type": "json_schema", "schema": {"required": ["answer"]}}),
            1.0,
        ),
        (
            json!({"type": "json_schema", "schema": {"required": ["confidence"]}}),
            0.0,
        ),
    ];
    for (spec, want) in cases {
        let scorer = build(spec.clone()).unwrap();
        assert!(!scorer.needs_expected(), "{spec}");
        assert_eq!(scorer.score(&output_only).unwrap().value, want, "{spec}");
    }
}

#[test]
fn graded_scorers_on_one_sample() {
    let sample = Sample::with_expected("the cat sat on a mat", "the cat sat on the mat");
    let cases = [
        (json!({"type": "levenshtein"}), 1.0 - 3.0 / 22.0),
        (json!({"type": "bleu"}), 0.537_284_965_911_771),
        (json!({"type": "rouge_l"}), 5.0 / 6.0),
        (json!({"type": "exact"}), 0.0),
    ];
    for (spec, want) in cases {
        let got = score(spec.clone(), &sample);
        assert!((got - want).abs() < 1e-12, "{spec}: {got}");
    }
}

#[test]
fn json_equal_ignores_key_order_and_number_form() {
    let sample = Sample::with_expected(
        r#"{"total": 10.0, "items": [{"sku": "A-1", "qty": 2}], "paid": true}"#,
        r#"{"paid": true, "items": [{"qty": 2.0, "sku": "A-1"}], "total": 10}"#,
    );
    assert_eq!(score(json!({"type": "json_equal"}), &sample), 1.0);

    let changed = Sample::with_expected(r#"{"qty": 2.5}"#, r#"{"qty": 2}"#);
    assert_eq!(score(json!({"type": "json_equal"}), &changed), 0.0);
}

#[test]
fn threshold_scorers_read_measurements() {
    let sample = Sample {
        output: "",
        latency_ms: Some(820.0),
        cost_usd: Some(0.004),
        ..Sample::default()
    };
    assert_eq!(
        score(json!({"type": "max_latency_ms", "limit": 1000}), &sample),
        1.0
    );
    assert_eq!(
        score(json!({"type": "max_latency_ms", "limit": 800}), &sample),
        0.0
    );
    assert_eq!(
        score(json!({"type": "max_cost_usd", "limit": 0.004}), &sample),
        1.0
    );
    assert_eq!(
        score(json!({"type": "max_cost_usd", "limit": 0.001}), &sample),
        0.0
    );

    let no_latency = build(json!({"type": "max_latency_ms", "limit": 1}))
        .unwrap()
        .score(&Sample::default())
        .unwrap_err();
    assert_eq!(
        no_latency,
        ScoreError::MissingMeasurement {
            scorer: "max_latency_ms",
            measurement: "latency"
        }
    );
}

#[test]
fn score_serializes_without_empty_reason() {
    let pass = build(json!({"type": "contains", "value": "a"})).unwrap();
    let score = pass
        .score(&Sample {
            output: "abc",
            ..Sample::default()
        })
        .unwrap();
    assert_eq!(serde_json::to_value(&score).unwrap(), json!({"value": 1.0}));

    let score = pass
        .score(&Sample {
            output: "xyz",
            ..Sample::default()
        })
        .unwrap();
    assert_eq!(
        serde_json::to_value(&score).unwrap(),
        json!({"value": 0.0, "reason": "output does not contain the expected substring"})
    );
}
