//! The enrich stage: between normalization and the store, [`Enricher::enrich`] completes each
//! canonical span. It estimates missing token counts, prices the span, and computes its
//! generation speed, in that order. [`Enricher::reprice`] repeats only the pricing, for stored
//! spans after the prices changed.
//!
//! Prices come from a catalog built into the binary (the genai-prices data, MIT licence, in
//! `data/genai-prices/` of this crate, parsed once per process) and from operator-defined
//! [`CustomPrice`]s, which win over it. Nothing is read from disk or the network at run time.
//!
//! # Cost
//!
//! Token counts follow the OpenTelemetry GenAI definitions: `input` includes the cache reads
//! (`cached_input`) and cache writes (`cache_write_input`), and `output` includes
//! `reasoning`. Prices are US dollars per million tokens. The cost of one call is
//!
//! ```text
//! cost = ( (input − cached_input − cache_write_input) × input price
//!        + cached_input        × cache read price  (the input price when none is given)
//!        + cache_write_input   × cache write price (the input price when none is given)
//!        + (output − reasoning) × output price
//!        + reasoning           × reasoning price   (the output price when none is given)
//!        ) / 1,000,000
//!      + per-request price
//!      + per-second price × span duration in seconds
//! ```
//!
//! A missing count is zero, and so is a missing input or output price. Cached tokens are
//! therefore never counted twice, and never free unless their price is set to zero. When the
//! cache counts exceed `input` they are clamped to it. A tiered price takes the tier of the
//! call's `input` count (cache included) and applies it to every token of its type, as
//! [`prices`] explains. The catalog's `requests_kcount` becomes a per-request price of
//! `requests_kcount / 1000`.
//!
//! The cost fields of a span are set as follows:
//!
//! * The instrumentation reported a cost (`cost_status` is `reported`): `cost_usd` is kept
//!   and `computed_cost_usd` contains Glassbox's own figure when a price applies.
//! * Otherwise, when the span names a model, a price applies, and the span has input or output
//!   counts (or the price is per request or per second): `cost_status` is `computed` and
//!   `cost_usd` equals `computed_cost_usd`.
//! * Otherwise, when it names a model and has token usage: `cost_status` is `unpriced` and
//!   `cost_usd` is `None`, never zero.
//! * Spans without a model or usage, such as tools and chains, keep `cost_status` `None`.
//!
//! Agent and chain spans get no computed cost even with a model and usage, because their
//! counts are usually the sum of the child model calls, which carry their own costs.
//!
//! # Finding a price
//!
//! Model and provider names match ignoring ASCII case. The span's provider is mapped to a
//! catalog provider (`aws.bedrock` to `aws`, `gcp.vertex_ai` to `google`, `azure.ai.openai` to
//! `azure`, `x_ai` to `x-ai`, then by catalog id and the catalog's `provider_match` rules), and
//! a `provider/` prefix of the model name is understood. A dated name that the catalog does not
//! list, such as `gpt-4o-mini-2024-01-01`, is priced as its base model when exactly one model
//! matches the base. The response model is tried before the request model. The [`lookup`]
//! module documents the full order. Lookups are cached per (provider, model name).
//!
//! # Token estimates
//!
//! A successful `llm` span with messages but without input or output counts gets the missing
//! counts estimated and `tokens_estimated` set: with OpenAI's tokenizers for OpenAI models, and
//! one token per four characters for others. [`estimate`] gives the details.
//!
//! # Speed
//!
//! For `llm` spans with `output` tokens above zero and a positive duration:
//!
//! * With a time to first token (`ttft_ms`) shorter than the duration, on a call not known to
//!   be non-streamed, the generation time is `duration − ttft`, and
//!   `time_per_output_token_ms = generation time in ms / (output − 1)` (only when `output`
//!   is above 1) and `output_tokens_per_second = output / generation time in seconds`.
//! * Otherwise, on a call not known to be streamed, `output_tokens_per_second =
//!   output / duration in seconds`, and there is no time per output token.
//! * Otherwise both stay `None`.
//!
//! # Limitations
//!
//! * Spans carry no audio token counts, so audio prices are read and shown by
//!   [`Enricher::find_price`] but never applied. Image, video and text-only prices of the
//!   catalog are skipped for the same reason.
//! * Cache writes have one price. Providers that charge differently by cache lifetime (such as
//!   Anthropic's one-hour cache) are priced at the catalog's single cache write price.
//! * Costs are `f64` sums, exact to about 15 significant digits.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod catalog;
mod cost;
pub mod custom;
mod enricher;
pub mod error;
pub mod estimate;
pub mod lookup;
pub mod prices;
pub mod rule;
pub mod schedule;
mod speed;

pub use custom::{CustomPrice, parse_custom_prices};
pub use enricher::Enricher;
pub use error::PricingError;
pub use lookup::{PriceInfo, PriceSource};
pub use prices::{PriceValue, Tier, TieredPrice, TokenPrices};
pub use rule::MatchRule;
pub use schedule::PriceConstraint;
