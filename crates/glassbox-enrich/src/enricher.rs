//! The enrich stage's entry point: one [`Enricher`] shared by every ingest worker.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use glassbox_model::Span;

use crate::catalog;
use crate::cost::price_span;
use crate::custom::CustomPrice;
use crate::error::PricingError;
use crate::estimate::estimate_tokens;
use crate::lookup::{PriceInfo, PriceSet};
use crate::speed::set_speed;

/// Prices spans and completes their token counts and speed figures.
///
/// Contains the built-in catalog and the custom prices. The custom prices can be replaced at
/// run time while other threads enrich spans, and each span is priced with either the old or
/// the new list, never a mix. The type is `Send + Sync`, so share it in an `Arc`.
pub struct Enricher {
    prices: RwLock<Arc<PriceSet>>,
}

impl Enricher {
    /// Creates an enricher with the built-in catalog and `custom` prices, which win over it.
    ///
    /// Fails when a custom price is invalid (the error names its position and field) or, as a
    /// build defect, when the bundled catalog cannot be read.
    pub fn new(custom: Vec<CustomPrice>) -> Result<Enricher, PricingError> {
        let prices = PriceSet::new(catalog::builtin()?, custom)?;
        Ok(Enricher {
            prices: RwLock::new(Arc::new(prices)),
        })
    }

    /// Replaces the custom prices atomically. On error the old ones stay in force.
    pub fn set_custom_prices(&self, custom: Vec<CustomPrice>) -> Result<(), PricingError> {
        let catalog = Arc::clone(self.current().catalog());
        let prices = Arc::new(PriceSet::new(catalog, custom)?);
        *self.prices.write().unwrap_or_else(PoisonError::into_inner) = prices;
        Ok(())
    }

    /// Returns the custom prices in force, in their configured order.
    pub fn custom_prices(&self) -> Vec<CustomPrice> {
        self.current().custom_prices().to_vec()
    }

    /// Enriches a span on ingest: estimates missing token counts, then sets the cost, then the
    /// speed figures.
    pub fn enrich(&self, span: &mut Span) {
        estimate_tokens(span);
        self.reprice(span);
        set_speed(span);
    }

    /// Sets the cost fields again from the current prices, for stored spans after a price
    /// change. Token counts and speed figures are left as they are.
    pub fn reprice(&self, span: &mut Span) {
        price_span(&self.current(), span);
    }

    /// Returns the price that applies to `model` of `provider` at `at_unix_nano` (nanoseconds
    /// since the Unix epoch), with the entry it comes from, or `None` when no price matches.
    pub fn find_price(
        &self,
        provider: Option<&str>,
        model: &str,
        at_unix_nano: u64,
    ) -> Option<PriceInfo> {
        self.current().find_price(provider, model, at_unix_nano)
    }

    fn current(&self) -> Arc<PriceSet> {
        Arc::clone(&self.prices.read().unwrap_or_else(PoisonError::into_inner))
    }
}

impl fmt::Debug for Enricher {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Enricher")
            .field("custom_prices", &self.current().custom_prices().len())
            .finish_non_exhaustive()
    }
}
