//! Prices by token type, tiered prices, and the cost of one call.
//!
//! Token prices are in US dollars per million tokens. A tiered price follows the "cliff" model
//! of the catalog. When the call's input tokens (cache reads and writes included) exceed a
//! tier's `start`, the tier's price applies to every token of that type in the call, not only
//! to the tokens above the threshold. Of several tiers, the one with the highest `start`
//! below the input count applies.

use glassbox_model::TokenUsage;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::PricingError;

/// A price in US dollars per million tokens: one number, or a base price with tiers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PriceValue {
    /// The same price whatever the size of the call.
    Flat(f64),
    /// A price that depends on the call's input tokens.
    Tiered(TieredPrice),
}

/// A base price and the tiers that replace it for larger calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TieredPrice {
    /// The price per million tokens up to the first tier.
    pub base: f64,
    /// The tiers; their order does not matter.
    pub tiers: Vec<Tier>,
}

/// One tier of a tiered price.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tier {
    /// The threshold: the tier applies when the call has more input tokens than this.
    pub start: u64,
    /// The price per million tokens for every token of the type once the tier applies.
    pub price: f64,
}

impl PriceValue {
    /// Returns the price per million tokens for a call with `input_tokens` input tokens.
    pub fn rate(&self, input_tokens: u64) -> f64 {
        match self {
            PriceValue::Flat(price) => *price,
            PriceValue::Tiered(tiered) => tiered
                .tiers
                .iter()
                .filter(|tier| input_tokens > tier.start)
                .max_by_key(|tier| tier.start)
                .map_or(tiered.base, |tier| tier.price),
        }
    }

    /// Returns every number of the price: the flat price, or the base and each tier's price.
    fn numbers(&self) -> impl Iterator<Item = f64> + '_ {
        let (first, tiers) = match self {
            PriceValue::Flat(price) => (*price, &[][..]),
            PriceValue::Tiered(tiered) => (tiered.base, tiered.tiers.as_slice()),
        };
        std::iter::once(first).chain(tiers.iter().map(|tier| tier.price))
    }
}

/// The prices of one model, by token type, with optional per-call and per-second prices.
///
/// A missing token price falls back as the cost definition in the crate documentation gives:
/// cache reads and writes to the input price, and reasoning to the output price. Any other
/// missing price counts as zero.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TokenPrices {
    /// Input tokens that were neither read from nor written to the prompt cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_mtok: Option<PriceValue>,
    /// Input tokens read from the prompt cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_read_mtok: Option<PriceValue>,
    /// Input tokens written to the prompt cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_write_mtok: Option<PriceValue>,
    /// Output tokens other than reasoning tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_mtok: Option<PriceValue>,
    /// Output tokens spent on reasoning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_mtok: Option<PriceValue>,
    /// Audio input tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_audio_mtok: Option<PriceValue>,
    /// Audio input tokens read from the prompt cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_audio_read_mtok: Option<PriceValue>,
    /// Audio output tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_audio_mtok: Option<PriceValue>,
    /// US dollars per call, whatever its tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_request: Option<f64>,
    /// US dollars per second of span duration, for self-hosted models billed by time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_second: Option<f64>,
}

impl TokenPrices {
    /// Returns the slot of the token price named `field`, such as `input_mtok`.
    fn token_price_mut(&mut self, field: &str) -> Option<&mut Option<PriceValue>> {
        let slot = match field {
            "input_mtok" => &mut self.input_mtok,
            "cache_read_mtok" => &mut self.cache_read_mtok,
            "cache_write_mtok" => &mut self.cache_write_mtok,
            "output_mtok" => &mut self.output_mtok,
            "reasoning_mtok" => &mut self.reasoning_mtok,
            "input_audio_mtok" => &mut self.input_audio_mtok,
            "cache_audio_read_mtok" => &mut self.cache_audio_read_mtok,
            "output_audio_mtok" => &mut self.output_audio_mtok,
            _ => return None,
        };
        Some(slot)
    }

    /// Returns the token prices with their field names.
    fn token_prices(&self) -> [(&'static str, Option<&PriceValue>); 8] {
        [
            ("input_mtok", self.input_mtok.as_ref()),
            ("cache_read_mtok", self.cache_read_mtok.as_ref()),
            ("cache_write_mtok", self.cache_write_mtok.as_ref()),
            ("output_mtok", self.output_mtok.as_ref()),
            ("reasoning_mtok", self.reasoning_mtok.as_ref()),
            ("input_audio_mtok", self.input_audio_mtok.as_ref()),
            ("cache_audio_read_mtok", self.cache_audio_read_mtok.as_ref()),
            ("output_audio_mtok", self.output_audio_mtok.as_ref()),
        ]
    }

    /// Returns whether no price at all is set.
    pub fn is_empty(&self) -> bool {
        self.token_prices().iter().all(|(_, price)| price.is_none())
            && self.per_request.is_none()
            && self.per_second.is_none()
    }

    /// Returns whether a price applies to a call without token counts.
    pub(crate) fn prices_calls_without_tokens(&self) -> bool {
        self.per_request.is_some() || self.per_second.is_some()
    }

    /// Checks that every price is a finite, non-negative number.
    pub fn validate(&self) -> Result<(), PricingError> {
        for (field, price) in self.token_prices() {
            if let Some(bad) = price
                .into_iter()
                .flat_map(PriceValue::numbers)
                .find(|n| !valid(*n))
            {
                return Err(invalid_price(field, &bad));
            }
        }
        for (field, price) in [
            ("per_request", self.per_request),
            ("per_second", self.per_second),
        ] {
            if let Some(bad) = price.filter(|price| !valid(*price)) {
                return Err(invalid_price(field, &bad));
            }
        }
        Ok(())
    }

    /// Computes the cost in US dollars of one call, as the crate documentation defines it.
    ///
    /// `duration_s` is the span duration in seconds, used by `per_second`.
    pub fn cost(&self, usage: &TokenUsage, duration_s: f64) -> f64 {
        let input = usage.input.unwrap_or(0);
        let output = usage.output.unwrap_or(0);

        // Cache reads and writes are parts of `input`, so clamping them to it keeps
        // inconsistent counts from pricing any token twice.
        let cached = usage.cached_input.unwrap_or(0).min(input);
        let cache_write = usage.cache_write_input.unwrap_or(0).min(input - cached);
        let uncached = input - cached - cache_write;
        let reasoning = usage.reasoning.unwrap_or(0).min(output);

        let rate = |price: Option<&PriceValue>| price.map(|price| price.rate(input));
        let input_rate = rate(self.input_mtok.as_ref()).unwrap_or(0.0);
        let cache_read_rate = rate(self.cache_read_mtok.as_ref()).unwrap_or(input_rate);
        let cache_write_rate = rate(self.cache_write_mtok.as_ref()).unwrap_or(input_rate);
        let output_rate = rate(self.output_mtok.as_ref()).unwrap_or(0.0);
        let reasoning_rate = rate(self.reasoning_mtok.as_ref()).unwrap_or(output_rate);

        let token_cost = uncached as f64 * input_rate
            + cached as f64 * cache_read_rate
            + cache_write as f64 * cache_write_rate
            + (output - reasoning) as f64 * output_rate
            + reasoning as f64 * reasoning_rate;
        token_cost / 1e6
            + self.per_request.unwrap_or(0.0)
            + self.per_second.unwrap_or(0.0) * duration_s.max(0.0)
    }
}

fn valid(price: f64) -> bool {
    price.is_finite() && price >= 0.0
}

fn invalid_price(field: &str, value: &dyn std::fmt::Display) -> PricingError {
    PricingError::InvalidPrice {
        field: field.to_owned(),
        value: value.to_string(),
    }
}

/// Reads a token price from JSON: a number, or `{"base": n, "tiers": [{"start": n, "price": n}]}`.
pub(crate) fn parse_price_value(field: &str, value: &Value) -> Result<PriceValue, PricingError> {
    match value {
        Value::Object(object) => parse_tiered(field, object).map(PriceValue::Tiered),
        _ => parse_number(field, value).map(PriceValue::Flat),
    }
}

/// Reads a non-negative number of US dollars.
pub(crate) fn parse_number(field: &str, value: &Value) -> Result<f64, PricingError> {
    value
        .as_f64()
        .filter(|number| valid(*number))
        .ok_or_else(|| invalid_price(field, value))
}

fn parse_tiered(field: &str, object: &Map<String, Value>) -> Result<TieredPrice, PricingError> {
    if let Some(key) = object.keys().find(|key| *key != "base" && *key != "tiers") {
        return Err(invalid_tier(
            field,
            format!("unknown key `{key}`, expected `base` and `tiers`"),
        ));
    }
    let base = object
        .get("base")
        .ok_or_else(|| invalid_tier(field, "missing `base` price".to_owned()))?;
    let base = parse_number(field, base)?;
    let tiers = match object.get("tiers") {
        None => Vec::new(),
        Some(Value::Array(tiers)) => tiers
            .iter()
            .enumerate()
            .map(|(index, tier)| parse_tier(field, index, tier))
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(invalid_tier(
                field,
                format!("`tiers` must be a list, got {other}"),
            ));
        }
    };
    Ok(TieredPrice { base, tiers })
}

fn parse_tier(field: &str, index: usize, tier: &Value) -> Result<Tier, PricingError> {
    let Value::Object(tier) = tier else {
        return Err(invalid_tier(
            field,
            format!("tier {index} must be an object, got {tier}"),
        ));
    };
    if let Some(key) = tier.keys().find(|key| *key != "start" && *key != "price") {
        return Err(invalid_tier(
            field,
            format!("tier {index} has unknown key `{key}`, expected `start` and `price`"),
        ));
    }
    let start = tier
        .get("start")
        .ok_or_else(|| PricingError::TierWithoutStart {
            field: field.to_owned(),
            tier: index,
        })?;
    let start = start.as_u64().ok_or_else(|| {
        invalid_tier(
            field,
            format!("tier {index} `start` must be a whole number of tokens, got {start}"),
        )
    })?;
    let price = tier
        .get("price")
        .ok_or_else(|| invalid_tier(field, format!("tier {index} has no `price`")))?;
    let price = parse_number(field, price)?;
    Ok(Tier { start, price })
}

fn invalid_tier(field: &str, problem: String) -> PricingError {
    PricingError::InvalidTier {
        field: field.to_owned(),
        problem,
    }
}

/// Sets the token price named `field` from JSON. Returns false, and sets nothing, for a field
/// that is not a token price.
pub(crate) fn set_token_price(
    prices: &mut TokenPrices,
    field: &str,
    value: &Value,
) -> Result<bool, PricingError> {
    let Some(slot) = prices.token_price_mut(field) else {
        return Ok(false);
    };
    *slot = Some(parse_price_value(field, value)?);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tiered(base: f64, start: u64, price: f64) -> PriceValue {
        PriceValue::Tiered(TieredPrice {
            base,
            tiers: vec![Tier { start, price }],
        })
    }

    #[test]
    fn tier_applies_above_threshold() {
        let price = tiered(3.0, 200_000, 6.0);
        assert_eq!(price.rate(199_999), 3.0);
        assert_eq!(price.rate(200_000), 3.0);
        assert_eq!(price.rate(200_001), 6.0);
    }

    #[test]
    fn highest_reached_tier_wins() {
        let price = PriceValue::Tiered(TieredPrice {
            base: 1.0,
            tiers: vec![
                Tier {
                    start: 500,
                    price: 3.0,
                },
                Tier {
                    start: 100,
                    price: 2.0,
                },
            ],
        });
        assert_eq!(price.rate(50), 1.0);
        assert_eq!(price.rate(200), 2.0);
        assert_eq!(price.rate(600), 3.0);
    }

    #[test]
    fn cached_tokens_fall_back_to_input_price() {
        let prices = TokenPrices {
            input_mtok: Some(PriceValue::Flat(2.0)),
            output_mtok: Some(PriceValue::Flat(8.0)),
            ..TokenPrices::default()
        };
        let usage = TokenUsage {
            input: Some(1_000),
            cached_input: Some(400),
            output: Some(100),
            ..TokenUsage::default()
        };
        // 1,000 input tokens at 2 (cached ones too, no cache price) + 100 output at 8.
        let expected = (1_000.0 * 2.0 + 100.0 * 8.0) / 1e6;
        assert!((prices.cost(&usage, 0.0) - expected).abs() < 1e-15);
    }

    #[test]
    fn inconsistent_cache_counts_are_clamped() {
        let prices = TokenPrices {
            input_mtok: Some(PriceValue::Flat(1.0)),
            cache_read_mtok: Some(PriceValue::Flat(0.5)),
            ..TokenPrices::default()
        };
        let usage = TokenUsage {
            input: Some(10),
            cached_input: Some(30),
            ..TokenUsage::default()
        };
        // At most the 10 input tokens are priced, all as cache reads.
        assert!((prices.cost(&usage, 0.0) - 10.0 * 0.5 / 1e6).abs() < 1e-18);
    }

    #[test]
    fn parse_reads_numbers_and_tiers() {
        assert_eq!(
            parse_price_value("input_mtok", &json!(2)).unwrap(),
            PriceValue::Flat(2.0)
        );
        let value = json!({"base": 3, "tiers": [{"start": 200000, "price": 6}]});
        assert_eq!(
            parse_price_value("input_mtok", &value).unwrap(),
            tiered(3.0, 200_000, 6.0)
        );
    }

    #[test]
    fn parse_rejects_bad_values() {
        let error = parse_price_value("output_mtok", &json!("cheap")).unwrap_err();
        assert!(
            matches!(error, PricingError::InvalidPrice { ref field, .. } if field == "output_mtok")
        );
        let error = parse_price_value("input_mtok", &json!(-1)).unwrap_err();
        assert!(error.to_string().contains("-1"), "{error}");
        let error = parse_price_value("input_mtok", &json!({"base": 1, "tiers": [{"price": 2}]}))
            .unwrap_err();
        assert_eq!(
            error,
            PricingError::TierWithoutStart {
                field: "input_mtok".into(),
                tier: 0
            }
        );
    }

    #[test]
    fn validate_rejects_negative_and_nan() {
        let negative = TokenPrices {
            per_second: Some(-0.1),
            ..TokenPrices::default()
        };
        assert!(
            matches!(negative.validate(), Err(PricingError::InvalidPrice { ref field, .. }) if field == "per_second")
        );
        let nan = TokenPrices {
            output_mtok: Some(tiered(1.0, 10, f64::NAN)),
            ..TokenPrices::default()
        };
        assert!(
            matches!(nan.validate(), Err(PricingError::InvalidPrice { ref field, .. }) if field == "output_mtok")
        );
    }
}
