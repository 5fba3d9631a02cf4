//! Span kind and operation: what a span represents, whichever convention marked it.
//!
//! The kind comes from the first signal present, in this order:
//! 1. `gen_ai.operation.name`, or the operation that OpenLLMetry's request type or the Vercel
//!    operation id declares;
//! 2. the Langfuse observation type, OpenInference's span kind, the Traceloop decorator kind;
//! 3. tool attributes, because Pydantic AI tool spans carry only those;
//! 4. any model attribute, for a model call without an operation.
//!
//! Span names are never used, because they differ between libraries for one operation.
//!
//! Not handled yet: OpenInference `PROMPT` and Langfuse `span` / `event` observations have no
//! canonical kind, so such spans fall through to the later signals and usually end as `other`.

use glassbox_model::SpanKind;

use crate::lookup::Attributes;
use crate::names;

/// `gen_ai.operation.name` values (OpenTelemetry, genai main and OpenLIT) and their kinds.
const OPERATION_KINDS: &[(&str, SpanKind)] = &[
    ("chat", SpanKind::Llm),
    ("text_completion", SpanKind::Llm),
    ("generate_content", SpanKind::Llm),
    ("completion", SpanKind::Llm),
    ("generate", SpanKind::Llm),
    ("responses", SpanKind::Llm),
    ("embeddings", SpanKind::Embedding),
    ("embedding", SpanKind::Embedding),
    ("retrieval", SpanKind::Retrieval),
    ("retrieve", SpanKind::Retrieval),
    ("vectordb", SpanKind::Retrieval),
    ("search_memory", SpanKind::Retrieval),
    ("rerank", SpanKind::Rerank),
    ("execute_tool", SpanKind::Tool),
    ("invoke_agent", SpanKind::Agent),
    ("create_agent", SpanKind::Agent),
    ("agent", SpanKind::Agent),
    ("plan", SpanKind::Agent),
    ("invoke_workflow", SpanKind::Chain),
    ("handle_conversation_turn", SpanKind::Chain),
    ("workflow", SpanKind::Chain),
    ("framework", SpanKind::Chain),
    ("execute_task", SpanKind::Chain),
    ("team", SpanKind::Chain),
];

/// Langfuse observation types and their kinds; `span` and `event` have no counterpart.
const LANGFUSE_KINDS: &[(&str, SpanKind)] = &[
    ("generation", SpanKind::Llm),
    ("embedding", SpanKind::Embedding),
    ("tool", SpanKind::Tool),
    ("retriever", SpanKind::Retrieval),
    ("agent", SpanKind::Agent),
    ("chain", SpanKind::Chain),
    ("guardrail", SpanKind::Guardrail),
    ("evaluator", SpanKind::Evaluator),
];

/// OpenInference span kinds and their kinds; `PROMPT` and `UNKNOWN` have no counterpart.
const OPENINFERENCE_KINDS: &[(&str, SpanKind)] = &[
    ("LLM", SpanKind::Llm),
    ("EMBEDDING", SpanKind::Embedding),
    ("CHAIN", SpanKind::Chain),
    ("RETRIEVER", SpanKind::Retrieval),
    ("RERANKER", SpanKind::Rerank),
    ("TOOL", SpanKind::Tool),
    ("AGENT", SpanKind::Agent),
    ("GUARDRAIL", SpanKind::Guardrail),
    ("EVALUATOR", SpanKind::Evaluator),
];

/// Traceloop decorator kinds and their kinds.
const TRACELOOP_KINDS: &[(&str, SpanKind)] = &[
    ("workflow", SpanKind::Chain),
    ("task", SpanKind::Chain),
    ("agent", SpanKind::Agent),
    ("tool", SpanKind::Tool),
];

/// OpenLLMetry request types and the operation names they stand for.
const REQUEST_TYPE_OPERATIONS: &[(&str, &str)] = &[
    ("chat", "chat"),
    ("completion", "text_completion"),
    ("embedding", "embeddings"),
    ("rerank", "rerank"),
];

/// Vercel operation id suffixes and the operation names they stand for. Only the `do*` spans
/// are single provider calls; the outer `ai.generateText` span aggregates its steps.
const VERCEL_OPERATIONS: &[(&str, &str)] = &[
    (".doGenerate", "chat"),
    (".doStream", "chat"),
    (".doEmbed", "embeddings"),
];

/// Model attributes whose presence marks a model call when nothing else classifies the span.
const MODEL_MARKERS: &[&str] = &[
    "gen_ai.request.model",
    "gen_ai.response.model",
    "llm.model_name",
    "langfuse.observation.model.name",
];

/// Returns the operation: `gen_ai.operation.name` as sent, else the operation that
/// OpenLLMetry's request type or the Vercel operation id declares.
pub fn operation(attributes: &Attributes<'_>) -> Option<String> {
    if let Some(name) = attributes.text(names::OPERATION_NAME) {
        return Some(name.to_owned());
    }
    if let Some(request_type) = attributes.text(names::LLM_REQUEST_TYPE) {
        return find(REQUEST_TYPE_OPERATIONS, request_type).map(str::to_owned);
    }
    vercel_operation(attributes).map(str::to_owned)
}

/// Returns the kind of a span.
pub fn kind(attributes: &Attributes<'_>, operation: Option<&str>) -> SpanKind {
    let declared = operation
        .and_then(|name| find(OPERATION_KINDS, name))
        .or_else(|| lookup_kind(attributes, names::LANGFUSE_OBSERVATION_TYPE, LANGFUSE_KINDS))
        .or_else(|| {
            lookup_kind(
                attributes,
                names::OPENINFERENCE_SPAN_KIND,
                OPENINFERENCE_KINDS,
            )
        })
        .or_else(|| lookup_kind(attributes, names::TRACELOOP_SPAN_KIND, TRACELOOP_KINDS));
    if let Some(kind) = declared {
        return kind;
    }
    if is_vercel_tool_call(attributes) || attributes.first_text(names::TOOL_NAME).is_some() {
        return SpanKind::Tool;
    }
    if attributes.first_text(names::TOOL_CALL_ID).is_some() {
        return SpanKind::Tool;
    }
    if attributes.first_text(MODEL_MARKERS).is_some() {
        return SpanKind::Llm;
    }
    SpanKind::Other
}

fn lookup_kind(
    attributes: &Attributes<'_>,
    key: &str,
    table: &[(&str, SpanKind)],
) -> Option<SpanKind> {
    find(table, attributes.text(key)?)
}

fn vercel_operation(attributes: &Attributes<'_>) -> Option<&'static str> {
    let id = attributes.text(names::VERCEL_OPERATION_ID)?;
    if id == "ai.toolCall" {
        return Some("execute_tool");
    }
    VERCEL_OPERATIONS
        .iter()
        .find(|(suffix, _)| id.ends_with(suffix))
        .map(|(_, operation)| *operation)
}

fn is_vercel_tool_call(attributes: &Attributes<'_>) -> bool {
    attributes.text(names::VERCEL_OPERATION_ID) == Some("ai.toolCall")
}

fn find<T: Copy>(table: &[(&str, T)], key: &str) -> Option<T> {
    table
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, value)| *value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value, json};

    fn classify(pairs: &[(&str, &str)]) -> (SpanKind, Option<String>) {
        let map: Map<String, Value> = pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), json!(value)))
            .collect();
        let attributes = Attributes::new(&map);
        let operation = operation(&attributes);
        (kind(&attributes, operation.as_deref()), operation)
    }

    #[test]
    fn operation_name_decides_first() {
        let (kind, operation) = classify(&[
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.tool.name", "get_weather"),
        ]);
        assert_eq!(kind, SpanKind::Llm);
        assert_eq!(operation.as_deref(), Some("chat"));
    }

    #[test]
    fn vendor_kinds_give_no_operation() {
        let (kind, operation) = classify(&[("openinference.span.kind", "RETRIEVER")]);
        assert_eq!(kind, SpanKind::Retrieval);
        assert_eq!(operation, None);
        let (kind, _) = classify(&[("traceloop.span.kind", "task")]);
        assert_eq!(kind, SpanKind::Chain);
    }

    #[test]
    fn vercel_operation_ids_map() {
        let (kind, operation) = classify(&[("ai.operationId", "ai.streamText.doStream")]);
        assert_eq!(kind, SpanKind::Llm);
        assert_eq!(operation.as_deref(), Some("chat"));
        let (kind, operation) = classify(&[("ai.operationId", "ai.embedMany.doEmbed")]);
        assert_eq!(kind, SpanKind::Embedding);
        assert_eq!(operation.as_deref(), Some("embeddings"));
        let (kind, operation) = classify(&[("ai.operationId", "ai.toolCall")]);
        assert_eq!(kind, SpanKind::Tool);
        assert_eq!(operation.as_deref(), Some("execute_tool"));
        let (kind, operation) = classify(&[("ai.operationId", "ai.generateText")]);
        assert_eq!(kind, SpanKind::Other);
        assert_eq!(operation, None);
    }

    #[test]
    fn request_type_maps_to_operation() {
        let (kind, operation) = classify(&[("llm.request.type", "completion")]);
        assert_eq!(kind, SpanKind::Llm);
        assert_eq!(operation.as_deref(), Some("text_completion"));
    }

    #[test]
    fn tool_keys_alone_mark_a_tool() {
        let (kind, _) = classify(&[("gen_ai.tool.call.id", "call_1")]);
        assert_eq!(kind, SpanKind::Tool);
    }

    #[test]
    fn langfuse_span_type_falls_through() {
        let (kind, _) = classify(&[("langfuse.observation.type", "span")]);
        assert_eq!(kind, SpanKind::Other);
    }
}
