//! Custom prices: operator-defined prices that win over the built-in catalog.
//!
//! A custom price names an optional provider, a model rule, an optional start date and at
//! least one price. In TOML (the key that contains the list is the configuration's choice):
//!
//! ```toml
//! [[pricing.custom]]
//! provider = "openai"                  # optional; compared with the span's provider
//! match = { equals = "gpt-4o" }        # equals, starts_with, ends_with, contains, regex, and, or
//! start_date = "2025-01-01"            # optional; in force from 00:00 UTC of that date
//! input_mtok = 2.0                     # US dollars per million tokens
//! cache_read_mtok = 1.0
//! output_mtok = { base = 8.0, tiers = [{ start = 200000, price = 12.0 }] }
//!
//! [[pricing.custom]]
//! match = { starts_with = "llama-3.1-70b" }
//! per_second = 0.0011                  # a self-hosted model billed by GPU time
//! ```
//!
//! The same entries in JSON are objects with the same keys. Unknown keys are rejected, so a
//! misspelled token type (`input_mtoks`) fails instead of pricing nothing.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::PricingError;
use crate::prices::{TokenPrices, parse_number, set_token_price};
use crate::rule::{MatchRule, Matcher};
use crate::schedule::date_start_unix_nano;

/// One operator-defined price.
///
/// Deserializing checks the entry as [`CustomPrice::validate`] does, with messages that name
/// the offending key. Serializing writes the same flat shape back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawCustomPrice")]
pub struct CustomPrice {
    /// The provider the price is for, or `None` for any provider. It is compared, ignoring
    /// ASCII case, with the span's normalized provider (`openai`, `aws.bedrock`, ...) and with
    /// the `provider/` prefix of the model name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The rule that selects the model names the price is for.
    #[serde(rename = "match")]
    pub model_match: MatchRule,
    /// The date (`YYYY-MM-DD`, UTC) from which the price is in force, or `None` for always.
    /// Several entries for the same model with different dates form its price history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// The prices.
    #[serde(flatten)]
    pub prices: TokenPrices,
}

impl CustomPrice {
    /// Checks the entry: a non-empty provider, a rule that compiles (valid regexes, no empty
    /// `and` / `or`), a valid start date, and at least one price, each finite and
    /// non-negative.
    pub fn validate(&self) -> Result<(), PricingError> {
        CompiledCustomPrice::compile(self).map(|_| ())
    }
}

/// Parses a JSON list of custom prices and validates every entry.
///
/// Errors name the entry's position and the offending key, for example
/// `invalid custom price 1: invalid regex "gpt-(4" in `match`: ...`.
pub fn parse_custom_prices(json: &str) -> Result<Vec<CustomPrice>, PricingError> {
    let entries: Vec<Value> = serde_json::from_str(json).map_err(|error| PricingError::Parse {
        message: error.to_string(),
    })?;
    entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| parse_entry(entry).map_err(|error| error.at_index(index)))
        .collect()
}

fn parse_entry(entry: Value) -> Result<CustomPrice, PricingError> {
    let raw: RawCustomPrice =
        serde_json::from_value(entry).map_err(|error| PricingError::Parse {
            message: error.to_string(),
        })?;
    CustomPrice::try_from(raw)
}

/// A custom price ready for matching.
#[derive(Debug)]
pub(crate) struct CompiledCustomPrice {
    /// The provider, lowercased.
    pub(crate) provider: Option<Box<str>>,
    pub(crate) matcher: Matcher,
    /// The instant the price comes into force, 0 for an entry without a start date.
    pub(crate) start_unix_nano: u64,
}

impl CompiledCustomPrice {
    pub(crate) fn compile(price: &CustomPrice) -> Result<CompiledCustomPrice, PricingError> {
        let provider = match price.provider.as_deref().map(str::trim) {
            Some("") => return Err(PricingError::EmptyProvider),
            other => other.map(|provider| provider.to_ascii_lowercase().into_boxed_str()),
        };
        let matcher = Matcher::compile(&price.model_match, true)?;
        let start_unix_nano = match &price.start_date {
            Some(date) => date_start_unix_nano(date)?,
            None => 0,
        };
        if price.prices.is_empty() {
            return Err(PricingError::NoPrice);
        }
        price.prices.validate()?;
        Ok(CompiledCustomPrice {
            provider,
            matcher,
            start_unix_nano,
        })
    }

    /// Returns whether the entry is for the span's provider or the model name's prefix, both
    /// lowercase.
    pub(crate) fn provider_matches(&self, provider: Option<&str>, prefix: Option<&str>) -> bool {
        match &self.provider {
            None => true,
            Some(wanted) => provider == Some(wanted) || prefix == Some(wanted),
        }
    }
}

/// The serialized shape of a custom price, before its prices are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCustomPrice {
    #[serde(default)]
    provider: Option<String>,
    #[serde(rename = "match")]
    model_match: MatchRule,
    #[serde(default)]
    start_date: Option<String>,
    #[serde(default)]
    input_mtok: Option<Value>,
    #[serde(default)]
    cache_read_mtok: Option<Value>,
    #[serde(default)]
    cache_write_mtok: Option<Value>,
    #[serde(default)]
    output_mtok: Option<Value>,
    #[serde(default)]
    reasoning_mtok: Option<Value>,
    #[serde(default)]
    input_audio_mtok: Option<Value>,
    #[serde(default)]
    cache_audio_read_mtok: Option<Value>,
    #[serde(default)]
    output_audio_mtok: Option<Value>,
    #[serde(default)]
    per_request: Option<Value>,
    #[serde(default)]
    per_second: Option<Value>,
}

impl TryFrom<RawCustomPrice> for CustomPrice {
    type Error = PricingError;

    fn try_from(raw: RawCustomPrice) -> Result<CustomPrice, PricingError> {
        let mut prices = TokenPrices::default();
        let token_prices = [
            ("input_mtok", &raw.input_mtok),
            ("cache_read_mtok", &raw.cache_read_mtok),
            ("cache_write_mtok", &raw.cache_write_mtok),
            ("output_mtok", &raw.output_mtok),
            ("reasoning_mtok", &raw.reasoning_mtok),
            ("input_audio_mtok", &raw.input_audio_mtok),
            ("cache_audio_read_mtok", &raw.cache_audio_read_mtok),
            ("output_audio_mtok", &raw.output_audio_mtok),
        ];
        for (field, value) in token_prices {
            if let Some(value) = value {
                set_token_price(&mut prices, field, value)?;
            }
        }
        prices.per_request = optional_number("per_request", raw.per_request.as_ref())?;
        prices.per_second = optional_number("per_second", raw.per_second.as_ref())?;

        let price = CustomPrice {
            provider: raw.provider,
            model_match: raw.model_match,
            start_date: raw.start_date,
            prices,
        };
        price.validate()?;
        Ok(price)
    }
}

fn optional_number(field: &str, value: Option<&Value>) -> Result<Option<f64>, PricingError> {
    value.map(|value| parse_number(field, value)).transpose()
}
