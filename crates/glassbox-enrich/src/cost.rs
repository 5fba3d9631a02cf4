//! Setting a span's cost fields from the price that applies to it.

use glassbox_model::{CostStatus, Span, SpanKind};

use crate::lookup::PriceSet;

/// Sets `cost_usd`, `cost_status` and `computed_cost_usd` of a span from `prices`.
///
/// A reported cost is kept, with the computed one beside it when a price applies. Otherwise a
/// model call gets a computed cost, or the unpriced status when it has token counts but no
/// price matches. Agent and chain spans get no computed cost: when they carry token counts,
/// those are usually the sum of their child model calls, which are priced themselves.
pub(crate) fn price_span(prices: &PriceSet, span: &mut Span) {
    let reported = span.cost_status == Some(CostStatus::Reported);
    span.computed_cost_usd = None;
    if !reported {
        span.cost_usd = None;
        span.cost_status = None;
    }
    if matches!(span.kind, SpanKind::Agent | SpanKind::Chain) || span.model().is_none() {
        return;
    }

    let computed = computed_cost(prices, span);
    span.computed_cost_usd = computed;
    if reported {
        return;
    }
    if let Some(cost) = computed {
        span.cost_usd = Some(cost);
        span.cost_status = Some(CostStatus::Computed);
    } else if !span.usage.is_empty() {
        span.cost_status = Some(CostStatus::Unpriced);
    }
}

/// Returns the cost of the span under the price that applies, or `None` when no price applies
/// or the span has nothing that the price counts.
fn computed_cost(prices: &PriceSet, span: &Span) -> Option<f64> {
    let selected = prices.select(
        span.provider.as_deref(),
        [
            span.response_model.as_deref(),
            span.request_model.as_deref(),
        ],
        span.start_time_unix_nano,
    )?;
    let price = selected.prices();
    let has_counts = span.usage.input.is_some() || span.usage.output.is_some();
    if !has_counts && !price.prices_calls_without_tokens() {
        return None;
    }
    Some(price.cost(&span.usage, span.duration_ms() / 1000.0))
}
