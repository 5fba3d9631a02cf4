//! Token counts with the OpenTelemetry definitions: input includes cache reads and writes,
//! output includes reasoning.
//!
//! Each count comes from the first alias present; two aliases of one count are never added.
//! Langfuse's `usage_details` JSON object is read when no attribute carries a count.
//!
//! Some sources report Anthropic's raw input count, which leaves out cache reads and writes.
//! Such a count is made inclusive by adding the cache counts. This happens when the source is
//! known to be exclusive (OpenLIT on Anthropic, a raw Anthropic usage object in Langfuse). It
//! also happens when all three counts are present and input is smaller than reads plus
//! writes. A reported total that was built from the exclusive count is then recomputed.

use glassbox_model::TokenUsage;
use serde_json::Value;

use crate::lookup::{Attributes, as_count, parse_json_container};
use crate::names;

/// Facts about the sender that decide how its input count is read.
#[derive(Debug, Clone, Copy, Default)]
pub struct UsageContext {
    /// The span comes from OpenLIT.
    pub openlit: bool,
    /// The normalized provider is `anthropic`.
    pub anthropic: bool,
}

/// Token counts as read, before the input count is made inclusive.
#[derive(Debug, Clone, Copy, Default)]
struct RawUsage {
    input: Option<u64>,
    output: Option<u64>,
    total: Option<u64>,
    cache_read: Option<u64>,
    cache_write: Option<u64>,
    reasoning: Option<u64>,
    input_excludes_cache: bool,
}

/// Returns the token usage of a span.
pub fn usage(attributes: &Attributes<'_>, context: UsageContext) -> TokenUsage {
    let mut raw = from_attributes(attributes);
    if raw.is_empty()
        && let Some(details) = attributes.text(names::LANGFUSE_USAGE_DETAILS)
    {
        raw = from_langfuse_details(details);
    }
    if context.openlit && context.anthropic {
        raw.input_excludes_cache = true;
    }
    finish(raw)
}

fn from_attributes(attributes: &Attributes<'_>) -> RawUsage {
    RawUsage {
        input: attributes.first_count(names::INPUT_TOKENS),
        output: attributes.first_count(names::OUTPUT_TOKENS),
        total: attributes.first_count(names::TOTAL_TOKENS),
        cache_read: attributes.first_count(names::CACHE_READ_TOKENS),
        cache_write: attributes.first_count(names::CACHE_WRITE_TOKENS),
        reasoning: attributes.first_count(names::REASONING_TOKENS),
        input_excludes_cache: false,
    }
}

/// Reads Langfuse's usage object: OpenAI chat keys, OpenAI Responses keys, Anthropic's raw
/// keys, or Langfuse's own generic keys (`input`, `output`, `total`).
fn from_langfuse_details(text: &str) -> RawUsage {
    let Some(Value::Object(details)) = parse_json_container(text) else {
        return RawUsage::default();
    };
    let count = |key: &str| details.get(key).and_then(as_count);
    let nested = |outer: &str, inner: &str| {
        details
            .get(outer)
            .and_then(|value| value.get(inner))
            .and_then(as_count)
    };
    let anthropic_raw = details.contains_key("input_tokens")
        && (details.contains_key("cache_read_input_tokens")
            || details.contains_key("cache_creation_input_tokens"));
    RawUsage {
        input: count("input_tokens")
            .or_else(|| count("prompt_tokens"))
            .or_else(|| count("input")),
        output: count("output_tokens")
            .or_else(|| count("completion_tokens"))
            .or_else(|| count("output")),
        total: count("total_tokens").or_else(|| count("total")),
        cache_read: nested("prompt_tokens_details", "cached_tokens")
            .or_else(|| nested("input_tokens_details", "cached_tokens"))
            .or_else(|| count("cache_read_input_tokens"))
            .or_else(|| count("input_cached_tokens")),
        cache_write: count("cache_creation_input_tokens"),
        reasoning: nested("completion_tokens_details", "reasoning_tokens")
            .or_else(|| nested("output_tokens_details", "reasoning_tokens"))
            .or_else(|| count("output_reasoning_tokens")),
        input_excludes_cache: anthropic_raw,
    }
}

impl RawUsage {
    fn is_empty(&self) -> bool {
        self.input.is_none()
            && self.output.is_none()
            && self.total.is_none()
            && self.cache_read.is_none()
            && self.cache_write.is_none()
            && self.reasoning.is_none()
    }

    /// Decides whether the input count leaves out the cache counts (rule: with all three
    /// counts present, an input smaller than reads plus writes cannot include them).
    fn excludes_cache(&self) -> bool {
        if self.input_excludes_cache {
            return true;
        }
        match (self.input, self.cache_read, self.cache_write) {
            (Some(input), Some(read), Some(write)) => input < read.saturating_add(write),
            _ => false,
        }
    }
}

fn finish(raw: RawUsage) -> TokenUsage {
    let mut input = raw.input;
    let mut total = raw.total;

    if raw.excludes_cache()
        && let Some(exclusive) = raw.input
    {
        let cache = raw.cache_read.unwrap_or(0) + raw.cache_write.unwrap_or(0);
        let inclusive = exclusive.saturating_add(cache);
        input = Some(inclusive);
        let built_from_exclusive = raw
            .output
            .is_some_and(|output| total == Some(exclusive.saturating_add(output)));
        if built_from_exclusive {
            total = raw.output.map(|output| inclusive.saturating_add(output));
        }
    }

    if total.is_none() {
        total = input
            .zip(raw.output)
            .map(|(input, output)| input.saturating_add(output));
    }

    TokenUsage {
        input,
        output: raw.output,
        cached_input: raw.cache_read,
        cache_write_input: raw.cache_write,
        reasoning: raw.reasoning,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn usage_of(value: Value, context: UsageContext) -> TokenUsage {
        let map: Map<String, Value> = serde_json::from_value(value).unwrap();
        usage(&Attributes::new(&map), context)
    }

    #[test]
    fn inclusive_anthropic_counts_stay() {
        let found = usage_of(
            json!({
                "gen_ai.usage.input_tokens": 25,
                "gen_ai.usage.cache_read.input_tokens": 4,
                "gen_ai.usage.cache_write.input_tokens": 0,
                "gen_ai.usage.output_tokens": 15,
            }),
            UsageContext::default(),
        );
        assert_eq!(found.input, Some(25));
        assert_eq!(found.total, Some(40));
    }

    #[test]
    fn smaller_input_than_cache_is_made_inclusive() {
        let found = usage_of(
            json!({
                "gen_ai.usage.input_tokens": 3,
                "gen_ai.usage.cache_read.input_tokens": 100,
                "gen_ai.usage.cache_creation.input_tokens": 20,
                "gen_ai.usage.output_tokens": 15,
            }),
            UsageContext::default(),
        );
        assert_eq!(found.input, Some(123));
        assert_eq!(found.cached_input, Some(100));
        assert_eq!(found.cache_write_input, Some(20));
        assert_eq!(found.total, Some(138));
    }

    #[test]
    fn openlit_anthropic_input_is_exclusive() {
        let context = UsageContext {
            openlit: true,
            anthropic: true,
        };
        let found = usage_of(
            json!({
                "gen_ai.usage.input_tokens": 21,
                "gen_ai.usage.cache_read.input_tokens": 4,
                "gen_ai.usage.cache_creation.input_tokens": 0,
                "gen_ai.usage.output_tokens": 15,
                "gen_ai.client.token.usage": 36,
            }),
            context,
        );
        assert_eq!(found.input, Some(25));
        assert_eq!(found.total, Some(40));
    }

    #[test]
    fn langfuse_anthropic_usage_object_is_exclusive() {
        let details = r#"{"input_tokens": 21, "cache_read_input_tokens": 4, "cache_creation_input_tokens": 2, "output_tokens": 15}"#;
        let found = usage_of(
            json!({"langfuse.observation.usage_details": details}),
            UsageContext::default(),
        );
        assert_eq!(found.input, Some(27));
        assert_eq!(found.cached_input, Some(4));
        assert_eq!(found.cache_write_input, Some(2));
        assert_eq!(found.total, Some(42));
    }

    #[test]
    fn langfuse_chat_usage_object_is_read() {
        let details = r#"{"completion_tokens": 17, "prompt_tokens": 19, "total_tokens": 36,
            "completion_tokens_details": {"reasoning_tokens": 5},
            "prompt_tokens_details": {"cached_tokens": 4}}"#;
        let found = usage_of(
            json!({"langfuse.observation.usage_details": details}),
            UsageContext::default(),
        );
        assert_eq!(found.input, Some(19));
        assert_eq!(found.output, Some(17));
        assert_eq!(found.cached_input, Some(4));
        assert_eq!(found.reasoning, Some(5));
        assert_eq!(found.total, Some(36));
    }

    #[test]
    fn vercel_names_of_every_version_are_read() {
        let v4 = usage_of(
            json!({"ai.usage.promptTokens": 10, "ai.usage.completionTokens": 5}),
            UsageContext::default(),
        );
        assert_eq!(
            (v4.input, v4.output, v4.total),
            (Some(10), Some(5), Some(15))
        );
        let v6 = usage_of(
            json!({
                "ai.usage.inputTokens": 10,
                "ai.usage.outputTokens": 5,
                "ai.usage.totalTokens": 15,
                "ai.usage.inputTokenDetails.cacheReadTokens": 4,
                "ai.usage.outputTokenDetails.reasoningTokens": 2,
            }),
            UsageContext::default(),
        );
        assert_eq!(v6.input, Some(10));
        assert_eq!(v6.cached_input, Some(4));
        assert_eq!(v6.reasoning, Some(2));
    }

    #[test]
    fn string_counts_are_ignored() {
        let found = usage_of(
            json!({"gen_ai.usage.input_tokens": "19", "gen_ai.usage.output_tokens": 17}),
            UsageContext::default(),
        );
        assert_eq!(found.input, None);
        assert_eq!(found.output, Some(17));
        assert_eq!(found.total, None);
    }
}
