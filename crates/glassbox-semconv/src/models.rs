//! Request model, response model and response id.
//!
//! Two sources name one model whose role depends on the outcome: OpenInference's
//! `llm.model_name` and Langfuse's `langfuse.observation.model.name` hold the model named in
//! the response on success, and the requested model when the call failed. OpenInference's
//! requested model is otherwise only in the `model` key of its invocation parameters.
//! `embedding.model_name` does not say which of the two it is, so it is only the last
//! fallback for the request model. On OpenInference spans the invocation parameters come
//! before `gen_ai.request.model`, which its GenAI translation fills with the response model.

use serde_json::Value;

use crate::lookup::{Attributes, non_empty_str};
use crate::messages::is_openinference;
use crate::names;

/// The model fields of a span.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Models {
    /// The model named in the request.
    pub request: Option<String>,
    /// The model named in the response.
    pub response: Option<String>,
}

/// Returns the request and response models.
pub fn models(
    attributes: &Attributes<'_>,
    invocation_parameters: Option<&Value>,
    failed: bool,
) -> Models {
    let outcome_dependent = attributes
        .text(names::OPENINFERENCE_MODEL_NAME)
        .or_else(|| attributes.text(names::LANGFUSE_MODEL_NAME));

    let requested = invocation_parameters
        .and_then(|parameters| parameters.get("model"))
        .and_then(non_empty_str);
    let mut request = if is_openinference(attributes) {
        attributes
            .text(names::OPENINFERENCE_REQUEST_MODEL)
            .or(requested)
            .or_else(|| attributes.first_text(names::REQUEST_MODEL))
    } else {
        attributes.first_text(names::REQUEST_MODEL).or(requested)
    };
    let mut response = attributes.first_text(names::RESPONSE_MODEL);

    if failed {
        request = request.or(outcome_dependent);
    } else {
        response = response.or(outcome_dependent);
    }
    request = request.or_else(|| attributes.text(names::OPENINFERENCE_EMBEDDING_MODEL_NAME));

    Models {
        request: request.map(str::to_owned),
        response: response.map(str::to_owned),
    }
}

/// Parses OpenInference's invocation parameters (a JSON string of an object).
pub fn invocation_parameters(attributes: &Attributes<'_>) -> Option<Value> {
    names::INVOCATION_PARAMETERS.iter().find_map(|key| {
        let parsed = attributes.structured(key)?;
        parsed.is_object().then(|| parsed.into_owned())
    })
}

/// Returns the provider's response id.
pub fn response_id(attributes: &Attributes<'_>) -> Option<String> {
    attributes.first_text(names::RESPONSE_ID).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn models_of(value: Value, failed: bool) -> Models {
        let map: Map<String, Value> = serde_json::from_value(value).unwrap();
        let attributes = Attributes::new(&map);
        let parameters = invocation_parameters(&attributes);
        models(&attributes, parameters.as_ref(), failed)
    }

    #[test]
    fn openinference_model_name_follows_outcome() {
        let attributes = json!({
            "llm.model_name": "gpt-4o-mini-2024-07-18",
            "llm.invocation_parameters": "{\"model\": \"gpt-4o-mini\"}",
        });
        let success = models_of(attributes.clone(), false);
        assert_eq!(success.request.as_deref(), Some("gpt-4o-mini"));
        assert_eq!(success.response.as_deref(), Some("gpt-4o-mini-2024-07-18"));
        let failure = models_of(json!({"llm.model_name": "gpt-4o-mini"}), true);
        assert_eq!(failure.request.as_deref(), Some("gpt-4o-mini"));
        assert_eq!(failure.response, None);
    }

    #[test]
    fn vercel_model_id_is_the_request_model() {
        let found = models_of(
            json!({"ai.model.id": "gpt-4o", "ai.response.model": "gpt-4o-2024-08-06"}),
            false,
        );
        assert_eq!(found.request.as_deref(), Some("gpt-4o"));
        assert_eq!(found.response.as_deref(), Some("gpt-4o-2024-08-06"));
    }

    #[test]
    fn broken_invocation_parameters_are_ignored() {
        let found = models_of(json!({"llm.invocation_parameters": "{not json"}), false);
        assert_eq!(found, Models::default());
    }
}
