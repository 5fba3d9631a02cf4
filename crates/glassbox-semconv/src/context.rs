//! Application context: user, session, tags and metadata.
//!
//! Session ids resolve in the order `gen_ai.conversation.id`, `session.id`,
//! `langfuse.session.id`, then Traceloop association properties and Vercel telemetry
//! metadata. Metadata merges OpenInference's `metadata` JSON object, Langfuse trace metadata
//! (whole or per key, JSON-quoted values decoded), Traceloop association properties and Vercel
//! telemetry metadata, leaving out the keys already mapped to the user and session.

use serde_json::{Map, Value};

use crate::lookup::{Attributes, parse_json, parse_json_container, string_list};
use crate::names;

/// Returns the user id.
pub fn user_id(attributes: &Attributes<'_>) -> Option<String> {
    attributes.first_text(names::USER_ID).map(str::to_owned)
}

/// Returns the session id.
pub fn session_id(attributes: &Attributes<'_>) -> Option<String> {
    attributes.first_text(names::SESSION_ID).map(str::to_owned)
}

/// Returns the tags of the first tag attribute present, in order, without duplicates.
pub fn tags(attributes: &Attributes<'_>) -> Vec<String> {
    let Some(value) = names::TAGS.iter().find_map(|key| attributes.get(key)) else {
        return Vec::new();
    };
    let mut tags = match value {
        Value::String(text) => match parse_json_container(text) {
            Some(parsed) => string_list(&parsed),
            None => string_list(value),
        },
        _ => string_list(value),
    };
    let mut seen = std::collections::HashSet::new();
    tags.retain(|tag| seen.insert(tag.clone()));
    tags
}

/// Returns the application metadata.
pub fn metadata(attributes: &Attributes<'_>) -> Map<String, Value> {
    let mut metadata = Map::new();

    for key in [
        names::OPENINFERENCE_METADATA,
        names::LANGFUSE_TRACE_METADATA,
    ] {
        if let Some(Value::Object(object)) =
            attributes.structured(key).map(|value| value.into_owned())
        {
            metadata.extend(object);
        }
    }

    for (key, value) in attributes.map() {
        let Some(field) = flattened_metadata_key(key) else {
            continue;
        };
        metadata.insert(field.to_owned(), decode_json_quoted(value));
    }
    metadata
}

fn flattened_metadata_key(key: &str) -> Option<&str> {
    let field = names::METADATA_PREFIXES
        .iter()
        .find_map(|prefix| key.strip_prefix(prefix))?;
    let is_identity = names::METADATA_IDENTITY_KEYS.contains(&field);
    (!field.is_empty() && !is_identity).then_some(field)
}

/// Decodes a string that contains JSON, as Langfuse writes `"\"test\""`. Other values stay.
fn decode_json_quoted(value: &Value) -> Value {
    match value {
        Value::String(text) => parse_json(text).unwrap_or_else(|| value.clone()),
        _ => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map_of(value: Value) -> Map<String, Value> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn session_resolution_order() {
        let map = map_of(json!({
            "langfuse.session.id": "third",
            "session.id": "second",
            "gen_ai.conversation.id": "first",
        }));
        assert_eq!(session_id(&Attributes::new(&map)).as_deref(), Some("first"));
    }

    #[test]
    fn metadata_merges_every_source() {
        let map = map_of(json!({
            "metadata": "{\"tier\": \"test\"}",
            "langfuse.trace.metadata.region": "\"eu\"",
            "traceloop.association.properties.user_id": "user-1",
            "traceloop.association.properties.team": "search",
            "ai.telemetry.metadata.attempt": 2,
        }));
        let found = metadata(&Attributes::new(&map));
        assert_eq!(found.get("tier"), Some(&json!("test")));
        assert_eq!(found.get("region"), Some(&json!("eu")));
        assert_eq!(found.get("team"), Some(&json!("search")));
        assert_eq!(found.get("attempt"), Some(&json!(2)));
        assert!(!found.contains_key("user_id"));
    }

    #[test]
    fn tags_from_array_or_json_string() {
        let map = map_of(json!({"tag.tags": ["a", "b", "a"]}));
        assert_eq!(tags(&Attributes::new(&map)), ["a", "b"]);
        let map = map_of(json!({"langfuse.trace.tags": "[\"x\", \"y\"]"}));
        assert_eq!(tags(&Attributes::new(&map)), ["x", "y"]);
    }
}
