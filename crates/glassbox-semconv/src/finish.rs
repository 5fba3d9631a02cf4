//! Finish reasons, kept as the source sent them (`stop`, `tool_calls`, `end_turn`, ...).
//!
//! Sources, first present wins: `gen_ai.response.finish_reasons`, the single-value attributes
//! of OpenInference, OpenLLMetry, the Anthropic SDK and the Vercel AI SDK, Langfuse's
//! JSON-quoted `metadata.finish_reason`, and finally the finish reasons next to the output
//! messages. On OpenInference spans its own `llm.finish_reason` comes first, because its
//! `gen_ai.*` translation rewrites `tool_calls` to `tool_call`. No value is mapped to a canonical set here, so a provider's value reads as the
//! provider documents it.

use crate::lookup::{Attributes, string_list, unquote_json_string};
use crate::messages::is_openinference;
use crate::names;

/// Returns the finish reasons of a span; `from_messages` are those found next to the output
/// messages.
pub fn finish_reasons(attributes: &Attributes<'_>, from_messages: Vec<String>) -> Vec<String> {
    if is_openinference(attributes)
        && let Some(reason) = attributes.text(names::FINISH_REASON_SINGLE[0])
    {
        return vec![reason.to_owned()];
    }
    let listed = attributes
        .get(names::FINISH_REASONS)
        .map(string_list)
        .unwrap_or_default();
    if !listed.is_empty() {
        return listed;
    }
    if let Some(reason) = attributes.first_text(names::FINISH_REASON_SINGLE) {
        return vec![reason.to_owned()];
    }
    if let Some(reason) = attributes.text(names::LANGFUSE_FINISH_REASON) {
        return vec![unquote_json_string(reason).into_owned()];
    }
    from_messages
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value, json};

    fn reasons_of(value: Value, from_messages: Vec<String>) -> Vec<String> {
        let map: Map<String, Value> = serde_json::from_value(value).unwrap();
        finish_reasons(&Attributes::new(&map), from_messages)
    }

    #[test]
    fn array_wins_over_messages() {
        let found = reasons_of(
            json!({"gen_ai.response.finish_reasons": ["tool_calls"]}),
            vec!["tool_call".to_owned()],
        );
        assert_eq!(found, ["tool_calls"]);
    }

    #[test]
    fn single_values_and_quoted_langfuse_value() {
        assert_eq!(
            reasons_of(json!({"anthropic.message.stop_reason": "end_turn"}), vec![]),
            ["end_turn"]
        );
        assert_eq!(
            reasons_of(
                json!({"langfuse.observation.metadata.finish_reason": "\"stop\""}),
                vec![]
            ),
            ["stop"]
        );
    }

    #[test]
    fn messages_are_the_last_source() {
        assert_eq!(reasons_of(json!({}), vec!["stop".to_owned()]), ["stop"]);
    }
}
