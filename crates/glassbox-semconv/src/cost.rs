//! Cost that the instrumentation computed itself.
//!
//! Sources: OpenLIT's `gen_ai.usage.cost`, OpenInference's `llm.cost.total`, and Langfuse's
//! `cost_details` JSON object (its `total`, else the sum of its entries). A cost found here is
//! `Reported`; spans without one keep no cost status, for the pricing stage to decide.
//!
//! Langfuse's OpenAI wrapper writes all-zero `cost_details` on failed calls without pricing
//! anything, so a zero Langfuse cost on a failed span is not taken as a reported cost.

use serde_json::Value;

use crate::lookup::{Attributes, as_number, parse_json_container};
use crate::names;

/// Returns the cost in US dollars that the span reports, if any.
pub fn reported_cost(attributes: &Attributes<'_>, failed: bool) -> Option<f64> {
    if let Some((_, cost)) = attributes.first_number(names::COST_USD) {
        return valid(cost);
    }
    let details = attributes.text(names::LANGFUSE_COST_DETAILS)?;
    let cost = langfuse_total(details)?;
    if failed && cost == 0.0 {
        return None;
    }
    valid(cost)
}

fn langfuse_total(text: &str) -> Option<f64> {
    let Some(Value::Object(details)) = parse_json_container(text) else {
        return None;
    };
    if let Some(total) = details.get("total").and_then(as_number) {
        return Some(total);
    }
    let mut entries = details.values().filter_map(as_number).peekable();
    entries.peek()?;
    Some(entries.sum())
}

fn valid(cost: f64) -> Option<f64> {
    (cost.is_finite() && cost >= 0.0).then_some(cost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn cost_of(value: Value, failed: bool) -> Option<f64> {
        let map: Map<String, Value> = serde_json::from_value(value).unwrap();
        reported_cost(&Attributes::new(&map), failed)
    }

    #[test]
    fn langfuse_total_or_sum() {
        let total = json!({"langfuse.observation.cost_details": "{\"input\": 1, \"total\": 3}"});
        assert_eq!(cost_of(total, false), Some(3.0));
        let parts =
            json!({"langfuse.observation.cost_details": "{\"input\": 0.5, \"output\": 0.25}"});
        assert_eq!(cost_of(parts, false), Some(0.75));
    }

    #[test]
    fn zero_langfuse_cost_on_failure_is_ignored() {
        let zero = json!({"langfuse.observation.cost_details": "{\"input\": 0, \"output\": 0, \"total\": 0}"});
        assert_eq!(cost_of(zero.clone(), true), None);
        assert_eq!(cost_of(zero, false), Some(0.0));
    }

    #[test]
    fn openlit_and_openinference_costs() {
        assert_eq!(
            cost_of(json!({"gen_ai.usage.cost": 1.5e-5}), false),
            Some(1.5e-5)
        );
        assert_eq!(
            cost_of(json!({"llm.cost.total": 0.002}), false),
            Some(0.002)
        );
        assert_eq!(cost_of(json!({"gen_ai.usage.cost": "cheap"}), false), None);
    }
}
