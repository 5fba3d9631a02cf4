//! `GET /v1/models` and `GET /v1/models/{id}` in OpenAI's or Anthropic's format.

use serde_json::{Value, json};

use crate::error::Provider;
use crate::server::Payload;

/// Models that the OpenAI list shows; requests may name any model.
const OPENAI_MODELS: [&str; 4] = [
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-3.5-turbo-instruct",
    "text-embedding-3-small",
];

/// Models that the Anthropic list shows, with their display names.
const ANTHROPIC_MODELS: [(&str, &str); 2] = [
    ("claude-sonnet-4-5", "Claude Sonnet 4.5"),
    ("claude-haiku-4-5", "Claude Haiku 4.5"),
];

/// Fixed creation time of every model, in Unix seconds.
const CREATED: u64 = 1_700_000_000;
const CREATED_AT: &str = "2023-11-14T22:13:20Z";

pub(crate) fn list(provider: Provider) -> Payload {
    match provider {
        Provider::OpenAi => {
            let data: Vec<Value> = OPENAI_MODELS.iter().map(|id| openai_model(id)).collect();
            Payload::json(json!({"object": "list", "data": data}))
        }
        Provider::Anthropic => {
            let data: Vec<Value> = ANTHROPIC_MODELS
                .iter()
                .map(|(id, name)| anthropic_model(id, name))
                .collect();
            Payload::json(json!({
                "data": data,
                "has_more": false,
                "first_id": ANTHROPIC_MODELS[0].0,
                "last_id": ANTHROPIC_MODELS[ANTHROPIC_MODELS.len() - 1].0,
            }))
        }
    }
}

/// Describes any model id, listed or not, since the mock serves every model.
pub(crate) fn get(provider: Provider, id: &str) -> Payload {
    match provider {
        Provider::OpenAi => Payload::json(openai_model(id)),
        Provider::Anthropic => {
            let name = ANTHROPIC_MODELS
                .iter()
                .find(|(listed, _)| *listed == id)
                .map_or(id, |(_, name)| name);
            Payload::json(anthropic_model(id, name))
        }
    }
}

fn openai_model(id: &str) -> Value {
    json!({"id": id, "object": "model", "created": CREATED, "owned_by": "glassbox-mock"})
}

fn anthropic_model(id: &str, display_name: &str) -> Value {
    json!({
        "type": "model",
        "id": id,
        "display_name": display_name,
        "created_at": CREATED_AT,
    })
}
