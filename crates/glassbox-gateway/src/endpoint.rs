//! The endpoints the gateway serves and what each records.

use glassbox_model::SpanKind;

use crate::config::Dialect;

/// One provider endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// OpenAI `POST /v1/chat/completions`.
    ChatCompletions,
    /// OpenAI `POST /v1/completions` (legacy text completions).
    Completions,
    /// OpenAI `POST /v1/embeddings`.
    Embeddings,
    /// OpenAI `POST /v1/responses`.
    Responses,
    /// Anthropic `POST /v1/messages`.
    Messages,
    /// Anthropic `POST /v1/messages/count_tokens`.
    CountTokens,
    /// `GET /v1/models` and `GET /v1/models/{id}`, in either dialect.
    Models(Dialect),
}

impl Endpoint {
    /// Returns the dialect of the upstreams that serve it.
    pub fn dialect(self) -> Dialect {
        match self {
            Endpoint::ChatCompletions
            | Endpoint::Completions
            | Endpoint::Embeddings
            | Endpoint::Responses => Dialect::Openai,
            Endpoint::Messages | Endpoint::CountTokens => Dialect::Anthropic,
            Endpoint::Models(dialect) => dialect,
        }
    }

    /// Returns the GenAI operation name recorded on the span.
    pub fn operation(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions | Endpoint::Responses | Endpoint::Messages => "chat",
            Endpoint::Completions => "text_completion",
            Endpoint::Embeddings => "embeddings",
            Endpoint::CountTokens => "count_tokens",
            Endpoint::Models(_) => "list_models",
        }
    }

    /// Returns the span kind: calls that spend tokens are model calls, the rest are `other`.
    pub fn kind(self) -> SpanKind {
        match self {
            Endpoint::ChatCompletions
            | Endpoint::Completions
            | Endpoint::Responses
            | Endpoint::Messages => SpanKind::Llm,
            Endpoint::Embeddings => SpanKind::Embedding,
            Endpoint::CountTokens | Endpoint::Models(_) => SpanKind::Other,
        }
    }

    /// Returns true for endpoints that take a JSON body naming a model.
    pub fn takes_model(self) -> bool {
        !matches!(self, Endpoint::Models(_))
    }

    /// Returns true when the endpoint's streams can be asked for usage with
    /// `stream_options.include_usage`.
    pub fn asks_stream_usage(self) -> bool {
        matches!(self, Endpoint::ChatCompletions | Endpoint::Completions)
    }
}
