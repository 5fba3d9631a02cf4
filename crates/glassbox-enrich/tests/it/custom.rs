//! Custom price input: the accepted shapes in JSON and TOML, and each kind of bad input
//! rejected with an error that names the field.

use glassbox_enrich::{
    CustomPrice, Enricher, MatchRule, PriceValue, PricingError, Tier, TieredPrice, TokenPrices,
    parse_custom_prices,
};

/// Parses one JSON entry and returns the error of entry 0, unwrapped.
fn entry_error(json: &str) -> PricingError {
    match parse_custom_prices(&format!("[{json}]")) {
        Err(PricingError::CustomPrice { index: 0, error }) => *error,
        other => panic!("expected an error for entry 0 of {json}, got {other:?}"),
    }
}

#[test]
fn negative_price_rejected() {
    let error = entry_error(r#"{"match": {"equals": "m"}, "input_mtok": -1}"#);
    assert_eq!(
        error,
        PricingError::InvalidPrice {
            field: "input_mtok".into(),
            value: "-1".into()
        }
    );
    assert!(error.to_string().contains("`input_mtok`"), "{error}");
}

#[test]
fn non_numeric_price_rejected() {
    let error = entry_error(r#"{"match": {"equals": "m"}, "output_mtok": "cheap"}"#);
    assert_eq!(
        error,
        PricingError::InvalidPrice {
            field: "output_mtok".into(),
            value: "\"cheap\"".into()
        }
    );
    let error = entry_error(r#"{"match": {"equals": "m"}, "per_request": true}"#);
    assert!(error.to_string().contains("`per_request`"), "{error}");
    assert!(error.to_string().contains("per call"), "{error}");
}

#[test]
fn unknown_token_type_rejected() {
    let error = entry_error(r#"{"match": {"equals": "m"}, "input_mtoks": 1}"#);
    let PricingError::Parse { message } = &error else {
        panic!("expected a parse error, got {error:?}");
    };
    assert!(message.contains("unknown field `input_mtoks`"), "{message}");
}

#[test]
fn invalid_regex_rejected() {
    let error = entry_error(r#"{"match": {"regex": "gpt-(4"}, "input_mtok": 1}"#);
    assert!(
        matches!(error, PricingError::InvalidRegex { ref pattern, .. } if pattern == "gpt-(4"),
        "{error:?}"
    );
    assert!(error.to_string().contains("`match`"), "{error}");
}

#[test]
fn tier_without_threshold_rejected() {
    let error = entry_error(
        r#"{"match": {"equals": "m"}, "input_mtok": {"base": 1, "tiers": [{"start": 10, "price": 2}, {"price": 3}]}}"#,
    );
    assert_eq!(
        error,
        PricingError::TierWithoutStart {
            field: "input_mtok".into(),
            tier: 1
        }
    );
    assert!(error.to_string().contains("`start`"), "{error}");
}

#[test]
fn entry_without_price_rejected() {
    let error = entry_error(r#"{"match": {"equals": "m"}}"#);
    assert_eq!(error, PricingError::NoPrice);
    assert!(error.to_string().contains("per_second"), "{error}");
}

#[test]
fn other_bad_fields_rejected() {
    let error =
        entry_error(r#"{"match": {"equals": "m"}, "start_date": "2025-02-30", "input_mtok": 1}"#);
    assert!(
        error.to_string().contains("`start_date` \"2025-02-30\""),
        "{error}"
    );
    let error = entry_error(r#"{"provider": " ", "match": {"equals": "m"}, "input_mtok": 1}"#);
    assert_eq!(error, PricingError::EmptyProvider);
    let error = entry_error(r#"{"match": {"or": []}, "input_mtok": 1}"#);
    assert_eq!(error, PricingError::EmptyRule { operator: "or" });
    let error = entry_error(r#"{"input_mtok": 1}"#);
    assert!(
        error.to_string().contains("missing field `match`"),
        "{error}"
    );
}

#[test]
fn error_names_entry_position() {
    let error = parse_custom_prices(
        r#"[{"match": {"equals": "a"}, "input_mtok": 1}, {"match": {"equals": "b"}, "input_mtok": -2}]"#,
    )
    .unwrap_err();
    assert!(
        error.to_string().starts_with("invalid custom price 1: "),
        "{error}"
    );
}

#[test]
fn constructed_prices_are_validated() {
    let price = CustomPrice {
        provider: None,
        model_match: MatchRule::Equals("m".into()),
        start_date: None,
        prices: TokenPrices {
            output_mtok: Some(PriceValue::Tiered(TieredPrice {
                base: 1.0,
                tiers: vec![Tier {
                    start: 100,
                    price: f64::INFINITY,
                }],
            })),
            ..TokenPrices::default()
        },
    };
    let error = Enricher::new(vec![price]).unwrap_err();
    assert!(
        matches!(&error, PricingError::CustomPrice { index: 0, error } if matches!(**error, PricingError::InvalidPrice { ref field, .. } if field == "output_mtok")),
        "{error:?}"
    );
}

#[test]
fn json_round_trip() {
    let json = r#"[{"provider": "openai", "match": {"or": [{"equals": "a"}, {"regex": "^b-\\d+$"}]},
        "start_date": "2025-01-01", "input_mtok": 0.5,
        "output_mtok": {"base": 2, "tiers": [{"start": 200000, "price": 4}]}, "per_request": 0.001}]"#;
    let prices = parse_custom_prices(json).unwrap();
    let written = serde_json::to_string(&prices).unwrap();
    let again: Vec<CustomPrice> = serde_json::from_str(&written).unwrap();
    assert_eq!(again, prices);
    assert!(!written.contains("null"), "{written}");
}

#[test]
fn toml_configuration_shape() {
    use figment::providers::{Format, Toml};

    #[derive(serde::Deserialize)]
    struct Pricing {
        custom: Vec<CustomPrice>,
    }
    let toml = r#"
        [[custom]]
        provider = "openai"
        match = { equals = "gpt-4o" }
        start_date = "2025-01-01"
        input_mtok = 2
        cache_read_mtok = 1.0
        output_mtok = { base = 8.0, tiers = [{ start = 200000, price = 12.0 }] }

        [[custom]]
        match = { starts_with = "llama-3.1-70b" }
        per_second = 0.0011
    "#;
    let pricing: Pricing = figment::Figment::from(Toml::string(toml))
        .extract()
        .unwrap();
    assert_eq!(pricing.custom.len(), 2);
    assert_eq!(
        pricing.custom[0].prices.input_mtok,
        Some(PriceValue::Flat(2.0))
    );
    assert_eq!(pricing.custom[1].prices.per_second, Some(0.0011));
    Enricher::new(pricing.custom).unwrap();

    let misspelled = "[[custom]]\nmatch = { equals = \"m\" }\noutput_mtk = 1\n";
    let error = figment::Figment::from(Toml::string(misspelled))
        .extract::<Pricing>()
        .err()
        .unwrap();
    assert!(error.to_string().contains("output_mtk"), "{error}");
    let negative = "[[custom]]\nmatch = { equals = \"m\" }\ninput_mtok = -3\n";
    let error = figment::Figment::from(Toml::string(negative))
        .extract::<Pricing>()
        .err()
        .unwrap();
    assert!(error.to_string().contains("`input_mtok`"), "{error}");
}
