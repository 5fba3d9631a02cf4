//! Generation of GenAI traces as an OTel SDK with the GenAI conventions would export them.
//!
//! Each trace is an agent run: a root `invoke_agent` span, then LLM calls (`chat <model>`)
//! that alternate with tool calls (`execute_tool <tool>`) until a final answer. LLM spans carry
//! `gen_ai.*` attributes and about 1 KB of message content in the parts format. A batch contains
//! exactly the requested number of spans and only whole traces, so that every trace of an
//! acknowledged request can be checked afterwards.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use serde_json::{Value, json};

use crate::rng::Rng;

/// Every generated span ends before this time (2023-11-14T22:13:20Z, in Unix nanoseconds).
/// Senders shift the times of each request so that its spans end just before it is sent.
pub const TEMPLATE_EPOCH_NS: u64 = 1_700_000_000_000_000_000;

/// Spacing of trace starts inside a batch.
const TRACE_SPACING_NS: u64 = 5_000_000;

/// A batch of traces ready to encode, with the shape of each trace for later checks.
pub struct Batch {
    /// The export request.
    pub request: ExportTraceServiceRequest,
    /// The traces in the request.
    pub traces: Vec<TraceShape>,
}

/// A trace id and the number of spans the request carries for it.
#[derive(Debug, Clone, Copy)]
pub struct TraceShape {
    /// The id as generated, before the per-request mask of the sender.
    pub trace_id: [u8; 16],
    /// Spans of this trace.
    pub spans: usize,
}

/// A model as a provider names it in requests and in responses.
struct Model {
    provider: &'static str,
    request: &'static str,
    response: &'static str,
    server: &'static str,
}

const MODELS: &[Model] = &[
    Model {
        provider: "openai",
        request: "gpt-4o",
        response: "gpt-4o-2024-08-06",
        server: "api.openai.com",
    },
    Model {
        provider: "openai",
        request: "gpt-4o-mini",
        response: "gpt-4o-mini-2024-07-18",
        server: "api.openai.com",
    },
    Model {
        provider: "openai",
        request: "gpt-4.1",
        response: "gpt-4.1-2025-04-14",
        server: "api.openai.com",
    },
    Model {
        provider: "anthropic",
        request: "claude-sonnet-4-20250514",
        response: "claude-sonnet-4-20250514",
        server: "api.anthropic.com",
    },
    Model {
        provider: "anthropic",
        request: "claude-3-5-haiku-20241022",
        response: "claude-3-5-haiku-20241022",
        server: "api.anthropic.com",
    },
    Model {
        provider: "gcp.gemini",
        request: "gemini-2.0-flash",
        response: "gemini-2.0-flash-001",
        server: "generativelanguage.googleapis.com",
    },
];

const SERVICES: &[&str] = &["support-agent", "docs-assistant", "billing-copilot"];
const AGENTS: &[&str] = &[
    "support_triage",
    "refund_helper",
    "docs_qa",
    "order_tracker",
];
const TOOLS: &[&str] = &[
    "search_knowledge_base",
    "get_order_status",
    "lookup_customer",
    "create_ticket",
];

const WORDS: &[&str] = &[
    "account",
    "order",
    "refund",
    "invoice",
    "shipping",
    "delivery",
    "customer",
    "policy",
    "password",
    "subscription",
    "plan",
    "upgrade",
    "billing",
    "address",
    "payment",
    "card",
    "warehouse",
    "tracking",
    "number",
    "package",
    "return",
    "window",
    "days",
    "support",
    "ticket",
    "priority",
    "agent",
    "escalate",
    "summary",
    "details",
    "please",
    "check",
    "the",
    "a",
    "my",
    "for",
    "with",
    "and",
    "was",
    "is",
    "not",
    "yet",
    "still",
    "arrived",
    "charged",
    "twice",
    "last",
    "week",
    "month",
    "since",
    "when",
    "can",
    "you",
    "help",
    "me",
    "update",
    "cancel",
    "change",
    "confirm",
    "status",
    "latest",
    "because",
    "after",
    "before",
    "email",
    "receipt",
    "discount",
    "code",
    "applied",
    "expired",
    "region",
    "europe",
    "express",
    "standard",
    "carrier",
    "label",
    "damaged",
    "replacement",
    "within",
    "business",
    "hours",
];

/// Generates one batch of exactly `spans` spans (at least 1).
pub fn generate_batch(rng: &mut Rng, spans: usize) -> Batch {
    let mut remaining = spans.max(1);
    let mut all_spans = Vec::with_capacity(remaining);
    let mut traces = Vec::new();
    while remaining > 0 {
        let start = TEMPLATE_EPOCH_NS - 60_000_000_000 + traces.len() as u64 * TRACE_SPACING_NS;
        let trace = generate_trace(rng, remaining, start);
        remaining -= trace.len();
        traces.push(TraceShape {
            trace_id: id_array(&trace[0].trace_id),
            spans: trace.len(),
        });
        all_spans.extend(trace);
    }
    Batch {
        request: wrap(rng, all_spans),
        traces,
    }
}

fn id_array(bytes: &[u8]) -> [u8; 16] {
    let mut id = [0; 16];
    id.copy_from_slice(&bytes[..16]);
    id
}

/// Puts spans under one resource and scope, as one SDK process exports them.
fn wrap(rng: &mut Rng, spans: Vec<Span>) -> ExportTraceServiceRequest {
    let service = *rng.pick(SERVICES);
    let resource = Resource {
        attributes: vec![
            string("service.name", service),
            string("service.version", "1.4.2"),
            string("deployment.environment.name", "production"),
            string("telemetry.sdk.language", "python"),
            string("telemetry.sdk.name", "opentelemetry"),
            string("telemetry.sdk.version", "1.37.0"),
        ],
        ..Default::default()
    };
    let scope = InstrumentationScope {
        name: "opentelemetry.util.genai.handler".into(),
        version: "0.1b0".into(),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans {
                scope: Some(scope),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// The state shared by the spans of one trace.
struct TraceContext {
    trace_id: Vec<u8>,
    root_id: Vec<u8>,
    model: &'static Model,
    session: String,
    user: String,
    /// End of the last child so far, in Unix nanoseconds.
    cursor: u64,
}

/// Generates a trace of at most `max_spans` spans: the root, then LLM and tool spans.
fn generate_trace(rng: &mut Rng, max_spans: usize, start: u64) -> Vec<Span> {
    let mut trace_id = vec![0; 16];
    rng.fill(&mut trace_id);
    let mut context = TraceContext {
        trace_id,
        root_id: span_id(rng),
        model: rng.pick(MODELS),
        session: format!("sess_{:012x}", rng.next_u64() >> 16),
        user: format!("user_{}", rng.range(1, 5_000)),
        cursor: start + 2_000_000,
    };

    // Two spans per tool round plus the root and the final LLM call.
    let max_rounds = (max_spans.saturating_sub(2) / 2) as u64;
    let rounds = rng.range(0, 3).min(max_rounds) as usize;
    let mut children = Vec::new();
    if max_spans >= 2 {
        let mut history = Vec::new();
        for _ in 0..rounds {
            let tool = *rng.pick(TOOLS);
            let call_id = format!("call_{:016x}", rng.next_u64());
            children.push(llm_span(
                rng,
                &mut context,
                &history,
                Some((tool, &call_id)),
            ));
            let result = tool_result(rng, tool);
            children.push(tool_span(rng, &mut context, tool, &call_id, &result));
            history.push((tool, call_id, result));
        }
        children.push(llm_span(rng, &mut context, &history, None));
    }

    let agent = *rng.pick(AGENTS);
    let mut root = base_span(rng, &context, format!("invoke_agent {agent}"), start);
    root.parent_span_id = Vec::new();
    root.span_id = context.root_id.clone();
    root.end_time_unix_nano = context.cursor + 3_000_000;
    root.attributes = vec![
        string("gen_ai.operation.name", "invoke_agent"),
        string("gen_ai.agent.name", agent),
        string("gen_ai.provider.name", context.model.provider),
        string("session.id", &context.session),
        string("user.id", &context.user),
    ];
    let mut spans = vec![root];
    spans.extend(children);
    spans
}

fn span_id(rng: &mut Rng) -> Vec<u8> {
    let mut id = vec![0; 8];
    rng.fill(&mut id);
    id
}

/// Builds a child span of the root, starting at `start`, with ids and a start time only.
fn base_span(rng: &mut Rng, context: &TraceContext, name: String, start: u64) -> Span {
    Span {
        trace_id: context.trace_id.clone(),
        span_id: span_id(rng),
        parent_span_id: context.root_id.clone(),
        flags: 0x100,
        name,
        kind: SpanKind::Internal as i32,
        start_time_unix_nano: start,
        ..Default::default()
    }
}

/// Builds a chat span. With `tool_call` set, the output message is that tool call.
fn llm_span(
    rng: &mut Rng,
    context: &mut TraceContext,
    history: &[(&str, String, String)],
    tool_call: Option<(&str, &str)>,
) -> Span {
    let model = context.model;
    let start = context.cursor + 1_000_000;
    let mut span = base_span(rng, context, format!("chat {}", model.request), start);
    span.kind = SpanKind::Client as i32;
    span.end_time_unix_nano = start + rng.range(400, 4_000) * 1_000_000;
    context.cursor = span.end_time_unix_nano;

    let input = input_messages(rng, history);
    let input_tokens = (input.len() / 4) as i64;
    let mut attributes = vec![
        string("gen_ai.operation.name", "chat"),
        string("gen_ai.provider.name", model.provider),
        string("gen_ai.request.model", model.request),
        double("gen_ai.request.temperature", 0.2),
        int("gen_ai.request.max_tokens", 1024),
        string("server.address", model.server),
        int("server.port", 443),
        string("gen_ai.input.messages", &input),
        int("gen_ai.usage.input_tokens", input_tokens),
    ];

    if rng.chance(0.01) {
        span.status = Some(Status {
            code: StatusCode::Error as i32,
            message: "Rate limit reached for requests; retry after 20s".into(),
        });
        attributes.push(string("error.type", "RateLimitError"));
        span.attributes = attributes;
        return span;
    }

    let (output, finish_reason) = output_messages(rng, tool_call);
    attributes.extend([
        string("gen_ai.response.model", model.response),
        // Derived from the span id, so that it stays unique when senders rewrite the ids.
        string(
            "gen_ai.response.id",
            &format!("chatcmpl-{}", hex(&span.span_id)),
        ),
        strings("gen_ai.response.finish_reasons", &[finish_reason]),
        int("gen_ai.usage.output_tokens", (output.len() / 4) as i64),
        string("gen_ai.output.messages", &output),
    ]);
    span.attributes = attributes;
    span
}

fn tool_span(
    rng: &mut Rng,
    context: &mut TraceContext,
    tool: &str,
    call_id: &str,
    result: &str,
) -> Span {
    let start = context.cursor + 1_000_000;
    let mut span = base_span(rng, context, format!("execute_tool {tool}"), start);
    span.end_time_unix_nano = start + rng.range(20, 800) * 1_000_000;
    context.cursor = span.end_time_unix_nano;
    span.attributes = vec![
        string("gen_ai.operation.name", "execute_tool"),
        string("gen_ai.tool.name", tool),
        string("gen_ai.tool.type", "function"),
        string("gen_ai.tool.call.id", call_id),
        string(
            "gen_ai.tool.call.arguments",
            &tool_arguments(tool).to_string(),
        ),
        string("gen_ai.tool.call.result", result),
    ];
    span
}

/// Builds the input messages: the system prompt, the user's request, and the earlier tool
/// calls with their results.
fn input_messages(rng: &mut Rng, history: &[(&str, String, String)]) -> String {
    let mut messages = vec![
        json!({"role": "system", "parts": [{"type": "text", "content": format!(
            "You are a support assistant for an online shop. Answer briefly and politely. {}",
            sentences(rng, 2),
        )}]}),
        json!({"role": "user", "parts": [{"type": "text", "content": sentences(rng, 4)}]}),
    ];
    for (tool, call_id, result) in history {
        messages.push(json!({"role": "assistant", "parts": [{
            "type": "tool_call", "id": call_id, "name": tool, "arguments": tool_arguments(tool),
        }]}));
        messages.push(json!({"role": "tool", "parts": [{
            "type": "tool_call_response", "id": call_id, "response": result,
        }]}));
    }
    Value::Array(messages).to_string()
}

fn output_messages(rng: &mut Rng, tool_call: Option<(&str, &str)>) -> (String, &'static str) {
    let (part, finish_reason) = match tool_call {
        Some((tool, call_id)) => (
            json!({"type": "tool_call", "id": call_id, "name": tool, "arguments": tool_arguments(tool)}),
            "tool_call",
        ),
        None => (
            json!({"type": "text", "content": sentences(rng, 4)}),
            "stop",
        ),
    };
    let messages = json!([{"role": "assistant", "parts": [part], "finish_reason": finish_reason}]);
    (messages.to_string(), finish_reason)
}

fn tool_arguments(tool: &str) -> Value {
    match tool {
        "search_knowledge_base" => json!({"query": "refund policy for damaged items", "top_k": 5}),
        "get_order_status" => json!({"order_id": "A-102934"}),
        "lookup_customer" => json!({"email": "jane.doe@example.com"}),
        _ => json!({"priority": "normal", "queue": "billing"}),
    }
}

fn tool_result(rng: &mut Rng, tool: &str) -> String {
    json!({"tool": tool, "ok": true, "result": sentences(rng, 2)}).to_string()
}

/// Returns `count` sentences of 8 to 16 words.
fn sentences(rng: &mut Rng, count: usize) -> String {
    let mut text = String::new();
    for index in 0..count {
        if index > 0 {
            text.push(' ');
        }
        let words = rng.range(8, 16);
        for word_index in 0..words {
            let word = *rng.pick(WORDS);
            if word_index == 0 {
                let mut characters = word.chars();
                if let Some(first) = characters.next() {
                    text.extend(first.to_uppercase());
                    text.push_str(characters.as_str());
                }
            } else {
                text.push(' ');
                text.push_str(word);
            }
        }
        text.push('.');
    }
    text
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn attribute(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn string(key: &str, value: &str) -> KeyValue {
    attribute(key, any_value::Value::StringValue(value.to_owned()))
}

fn int(key: &str, value: i64) -> KeyValue {
    attribute(key, any_value::Value::IntValue(value))
}

fn double(key: &str, value: f64) -> KeyValue {
    attribute(key, any_value::Value::DoubleValue(value))
}

fn strings(key: &str, values: &[&str]) -> KeyValue {
    let values = values
        .iter()
        .map(|value| AnyValue {
            value: Some(any_value::Value::StringValue((*value).to_owned())),
        })
        .collect();
    attribute(key, any_value::Value::ArrayValue(ArrayValue { values }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn attribute_text<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
        span.attributes
            .iter()
            .find(|pair| pair.key == key)
            .and_then(|pair| match pair.value.as_ref()?.value.as_ref()? {
                any_value::Value::StringValue(text) => Some(text.as_str()),
                _ => None,
            })
    }

    fn spans(batch: &Batch) -> &[Span] {
        &batch.request.resource_spans[0].scope_spans[0].spans
    }

    #[test]
    fn batch_has_exact_span_count() {
        let mut rng = Rng::new(3);
        for size in [1, 2, 3, 7, 64, 512] {
            let batch = generate_batch(&mut rng, size);
            assert_eq!(spans(&batch).len(), size);
            let counted: usize = batch.traces.iter().map(|trace| trace.spans).sum();
            assert_eq!(counted, size);
        }
    }

    #[test]
    fn same_seed_same_batch() {
        let first = generate_batch(&mut Rng::new(11), 64);
        let second = generate_batch(&mut Rng::new(11), 64);
        assert_eq!(first.request, second.request);
    }

    #[test]
    fn children_point_to_root() {
        let batch = generate_batch(&mut Rng::new(5), 512);
        for span in spans(&batch) {
            if span.name.starts_with("invoke_agent") {
                assert!(span.parent_span_id.is_empty());
            } else {
                assert_eq!(span.parent_span_id.len(), 8, "{}", span.name);
            }
            assert!(span.end_time_unix_nano < TEMPLATE_EPOCH_NS);
            assert!(span.start_time_unix_nano < span.end_time_unix_nano);
        }
    }

    #[test]
    fn llm_content_is_about_one_kilobyte() {
        let batch = generate_batch(&mut Rng::new(9), 512);
        let sizes: Vec<usize> = spans(&batch)
            .iter()
            .filter(|span| span.name.starts_with("chat "))
            .map(|span| {
                attribute_text(span, "gen_ai.input.messages").map_or(0, str::len)
                    + attribute_text(span, "gen_ai.output.messages").map_or(0, str::len)
            })
            .collect();
        let mean = sizes.iter().sum::<usize>() / sizes.len();
        assert!((700..=1_600).contains(&mean), "mean content {mean} bytes");
    }

    #[test]
    fn messages_are_parts_json() {
        let batch = generate_batch(&mut Rng::new(2), 64);
        let span = spans(&batch)
            .iter()
            .find(|span| attribute_text(span, "gen_ai.output.messages").is_some())
            .unwrap();
        let input: Value =
            serde_json::from_str(attribute_text(span, "gen_ai.input.messages").unwrap()).unwrap();
        assert_eq!(input[0]["role"], "system");
        assert_eq!(input[0]["parts"][0]["type"], "text");
        let output: Value =
            serde_json::from_str(attribute_text(span, "gen_ai.output.messages").unwrap()).unwrap();
        assert_eq!(output[0]["role"], "assistant");
    }
}
