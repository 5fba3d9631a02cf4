//! Errors of the pricing stage: invalid custom prices and an unreadable built-in catalog.

use thiserror::Error;

/// Why a custom price, a price list or the built-in catalog was rejected.
///
/// Messages are lowercase and name the offending field, the value and the expected form.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PricingError {
    /// A price is negative, not finite, or not a number.
    #[error(
        "invalid `{field}`: expected a non-negative number of US dollars{unit}, got {value}",
        unit = unit_hint(.field)
    )]
    InvalidPrice {
        /// The price field, such as `input_mtok`.
        field: String,
        /// The value as given, in JSON notation.
        value: String,
    },
    /// A tier of a tiered price has no `start` threshold.
    #[error(
        "invalid `{field}`: tier {tier} has no `start`; give every tier a `start` \
         (input tokens above which its price applies) and a `price`"
    )]
    TierWithoutStart {
        /// The price field, such as `input_mtok`.
        field: String,
        /// The position of the tier in `tiers`, from 0.
        tier: usize,
    },
    /// A tiered price is malformed in another way than a missing threshold.
    #[error("invalid `{field}`: {problem}")]
    InvalidTier {
        /// The price field, such as `input_mtok`.
        field: String,
        /// The problem, naming the key and value.
        problem: String,
    },
    /// A `regex` rule does not compile.
    #[error("invalid regex {pattern:?} in `match`: {message}")]
    InvalidRegex {
        /// The pattern as given.
        pattern: String,
        /// The regex compiler's message.
        message: String,
    },
    /// An `and` or `or` rule has no rules inside.
    #[error("invalid `match`: `{operator}` needs at least one rule")]
    EmptyRule {
        /// `and` or `or`.
        operator: &'static str,
    },
    /// The `start_date` is not a calendar date.
    #[error("invalid `start_date` {value:?}: expected a date as YYYY-MM-DD")]
    InvalidStartDate {
        /// The value as given.
        value: String,
    },
    /// The `provider` is empty.
    #[error("invalid `provider`: expected a provider name such as \"openai\", got an empty string")]
    EmptyProvider,
    /// A custom price sets no price at all.
    #[error(
        "no price given: set at least one of input_mtok, cache_read_mtok, cache_write_mtok, \
         output_mtok, reasoning_mtok, input_audio_mtok, cache_audio_read_mtok, \
         output_audio_mtok, per_request or per_second"
    )]
    NoPrice,
    /// One entry of a custom price list is invalid.
    #[error("invalid custom price {index}: {error}")]
    CustomPrice {
        /// The position of the entry in the list, from 0.
        index: usize,
        /// The problem with the entry.
        error: Box<PricingError>,
    },
    /// A custom price list does not have the expected structure, such as an unknown key.
    #[error("invalid custom price list: {message}")]
    Parse {
        /// The parser's message, naming the key or the position.
        message: String,
    },
    /// The price catalog built into the binary cannot be read, which is a build defect.
    #[error("invalid built-in price catalog: {message}")]
    Catalog {
        /// The problem, naming the provider or model.
        message: String,
    },
}

impl PricingError {
    /// Wraps an error of the custom price at `index` of a list.
    pub(crate) fn at_index(self, index: usize) -> PricingError {
        PricingError::CustomPrice {
            index,
            error: Box::new(self),
        }
    }
}

fn unit_hint(field: &str) -> &'static str {
    match field {
        "per_request" => " per call",
        "per_second" => " per second",
        _ => " per million tokens",
    }
}
