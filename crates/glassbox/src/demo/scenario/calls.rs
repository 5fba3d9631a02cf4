//! Model call spans: chat and embedding calls with token usage, prompt caching, latency, time
//! to first token and failures, recorded as the OpenTelemetry GenAI instrumentations or as
//! OpenInference record them.

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use serde_json::json;

use crate::demo::catalog::models::{Caching, Model, Sdk};
use crate::demo::catalog::services::{
    ANTHROPIC_INSTRUMENTATION, GOOGLE_GENAI_INSTRUMENTATION, MISTRAL_INSTRUMENTATION,
    OPENAI_INSTRUMENTATION, OPENINFERENCE_LLAMA_INDEX, Scope,
};
use crate::demo::messages::{Message, Part, alphanumeric, openinference_attributes, parts_json};
use crate::demo::rng::Rng;
use crate::demo::scenario::Ctx;
use crate::demo::scenario::failure::Failure;
use crate::demo::trace::{MILLISECOND, Place, SpanRef, count, flag, float, int, ms, text, texts};

/// The attribute convention of a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Convention {
    /// OpenTelemetry GenAI semantic conventions (`gen_ai.*`).
    OpenTelemetry,
    /// OpenInference (`openinference.span.kind`, `llm.*`), as Arize Phoenix records it.
    OpenInference,
}

/// A chat call to record.
#[derive(Debug)]
pub struct ChatCall<'a> {
    /// The model.
    pub model: &'static Model,
    /// The span that makes the call.
    pub parent: SpanRef,
    /// The service and host of the calling code.
    pub place: Place,
    /// When the call starts.
    pub start: u64,
    /// The prompt.
    pub input: &'a [Message],
    /// The answer, when the call succeeds.
    pub reply: Message,
    /// Whether the answer is streamed.
    pub stream: bool,
    /// Prompt tokens that the messages do not show, such as tool definitions.
    pub hidden_input_tokens: u64,
    /// Leading prompt tokens that repeat between calls and can be cached.
    pub prefix_tokens: u64,
    /// Whether an earlier call already put the prefix in the provider's cache.
    pub cache_warm: bool,
    /// When the client gives up, in milliseconds.
    pub timeout_ms: f64,
    /// The request's `max_tokens`: a longer answer stops there, with the finish reason of
    /// the token limit.
    pub max_tokens: u64,
    /// Whether the request asks for JSON output.
    pub json_output: bool,
    /// The failure of the call, if it fails.
    pub failure: Option<Failure>,
    /// The attribute convention.
    pub convention: Convention,
}

/// The `max_tokens` that the demo services send unless a call needs less.
pub const DEFAULT_MAX_TOKENS: u64 = 4_096;

/// A recorded call.
#[derive(Debug, Clone, Copy)]
pub struct CallResult {
    /// When the call ended.
    pub end: u64,
    /// The failure of the last attempt, if it failed.
    pub failure: Option<Failure>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Usage {
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
    reasoning: u64,
    /// Whether the answer stopped at `max_tokens`.
    truncated: bool,
}

/// Estimates tokens from characters: about four characters per token in English.
pub fn tokens(characters: usize) -> u64 {
    characters as u64 / 4 + 1
}

fn usage(rng: &mut Rng, call: &ChatCall<'_>) -> Usage {
    let messages: u64 = call
        .input
        .iter()
        .map(|message| tokens(message.characters()) + 4)
        .sum();
    let input = messages + call.hidden_input_tokens;
    let reasoning = if call.model.reasoning {
        rng.range(200, 1_800)
    } else {
        0
    };
    let prefix = call.prefix_tokens.min(input);
    let (cache_read, cache_write) = match call.model.caching {
        Caching::None => (0, 0),
        Caching::Automatic if call.cache_warm && prefix >= 1_024 => (prefix / 128 * 128, 0),
        Caching::Automatic => (0, 0),
        Caching::Explicit if prefix < 1_024 => (0, 0),
        Caching::Explicit if call.cache_warm => (prefix, 0),
        Caching::Explicit => (0, prefix),
    };
    let answer = tokens(call.reply.characters()) + 2;
    Usage {
        input,
        output: answer.min(call.max_tokens) + reasoning,
        cache_read,
        cache_write,
        reasoning,
        truncated: answer > call.max_tokens,
    }
}

/// Times of a call in milliseconds after its start.
struct Timing {
    first_token_ms: f64,
    duration_ms: f64,
}

fn timing(rng: &mut Rng, call: &ChatCall<'_>, usage: &Usage) -> Timing {
    let model = call.model;
    let speed = rng.uniform(model.tokens_per_second.0, model.tokens_per_second.1);
    let prefill_ms = (usage.input - usage.cache_read) as f64 * 0.012;
    let thinking_ms = usage.reasoning as f64 / speed * 1_000.0;
    let first_token_ms = rng.uniform(model.ttft_ms.0, model.ttft_ms.1) + prefill_ms + thinking_ms;
    let answer_ms = (usage.output - usage.reasoning) as f64 / speed * 1_000.0;
    let duration_ms = match call.failure {
        Some(Failure::RateLimited) => rng.uniform(40.0, 300.0),
        Some(Failure::Timeout) => call.timeout_ms + rng.uniform(0.0, 40.0),
        Some(Failure::ServerError) => rng.uniform(400.0, 6_000.0),
        Some(Failure::Overloaded) => rng.uniform(80.0, 400.0),
        Some(Failure::BadRequest) => rng.uniform(60.0, 250.0),
        Some(Failure::ContentFilter) => first_token_ms + rng.uniform(50.0, 400.0),
        None => first_token_ms + answer_ms,
    };
    Timing {
        first_token_ms,
        duration_ms,
    }
}

/// Records a chat call as a span under `call.parent`.
pub fn chat(ctx: &mut Ctx<'_>, call: ChatCall<'_>) -> CallResult {
    let usage = usage(&mut ctx.rng, &call);
    let timing = timing(&mut ctx.rng, &call, &usage);
    let (scope, name, kind) = match call.convention {
        Convention::OpenTelemetry => (
            instrumentation(call.model.sdk),
            format!("{} {}", call.model.operation, call.model.request),
            SpanKind::Client,
        ),
        Convention::OpenInference => (
            &OPENINFERENCE_LLAMA_INDEX,
            llama_index_name(call.model, call.stream),
            SpanKind::Internal,
        ),
    };
    let span = ctx.open(Some(call.parent), call.place, scope, kind, name, call.start);
    let end = call.start + ms(timing.duration_ms);
    ctx.builder.close(span, end);

    match call.convention {
        Convention::OpenTelemetry => otel_chat(ctx, span, &call, &usage, &timing),
        Convention::OpenInference => openinference_chat(ctx, span, &call, &usage, &timing),
    }
    CallResult {
        end,
        failure: call.failure,
    }
}

fn instrumentation(sdk: Sdk) -> &'static Scope {
    match sdk {
        Sdk::OpenAi => &OPENAI_INSTRUMENTATION,
        Sdk::Anthropic => &ANTHROPIC_INSTRUMENTATION,
        Sdk::Google => &GOOGLE_GENAI_INSTRUMENTATION,
        Sdk::Mistral => &MISTRAL_INSTRUMENTATION,
    }
}

fn llama_index_name(model: &Model, stream: bool) -> String {
    let class = match model.sdk {
        Sdk::Anthropic => "Anthropic",
        Sdk::Google => "GoogleGenAI",
        Sdk::Mistral => "MistralAI",
        Sdk::OpenAi => "OpenAI",
    };
    let method = if stream { "astream_chat" } else { "achat" };
    format!("{class}.{method}")
}

/// Returns the finish reason of an answer as the provider names it.
fn finish_reason(call: &ChatCall<'_>, usage: &Usage) -> &'static str {
    let calls_tool = call
        .reply
        .parts
        .iter()
        .any(|part| matches!(part, Part::ToolCall { .. }));
    match (call.model.sdk, calls_tool) {
        _ if call.failure == Some(Failure::ContentFilter) => "content_filter",
        (Sdk::Anthropic, _) if usage.truncated => "max_tokens",
        (Sdk::Google, _) if usage.truncated => "MAX_TOKENS",
        _ if usage.truncated => "length",
        (Sdk::Anthropic, true) => "tool_use",
        (Sdk::Anthropic, false) => "end_turn",
        (Sdk::Google, _) => "STOP",
        (_, true) => "tool_calls",
        (_, false) => "stop",
    }
}

fn response_id(rng: &mut Rng, model: &Model) -> String {
    match model.sdk {
        Sdk::Anthropic => format!("msg_01{}", alphanumeric(rng, 22)),
        Sdk::Google => alphanumeric(rng, 20),
        Sdk::Mistral => format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64()),
        Sdk::OpenAi => format!("chatcmpl-{}", alphanumeric(rng, 29)),
    }
}

fn otel_chat(
    ctx: &mut Ctx<'_>,
    span: SpanRef,
    call: &ChatCall<'_>,
    usage: &Usage,
    timing: &Timing,
) {
    let model = call.model;
    let mut attributes = vec![
        text("gen_ai.operation.name", model.operation),
        text("gen_ai.provider.name", model.provider),
        text("gen_ai.request.model", model.request),
        count("gen_ai.request.max_tokens", call.max_tokens),
        text("server.address", model.server),
        int("server.port", model.port),
    ];
    // Reasoning models take no temperature.
    if !model.reasoning {
        attributes.push(float("gen_ai.request.temperature", 0.2));
    }
    if call.stream {
        attributes.push(flag("gen_ai.request.stream", true));
    }
    if call.json_output {
        attributes.push(text("gen_ai.output.type", "json"));
    }
    if let Some(session) = &ctx.plan.session {
        attributes.push(text("gen_ai.conversation.id", &session.id));
    }
    attributes.push(text("gen_ai.input.messages", &parts_json(call.input, None)));
    ctx.builder.add(span, attributes);

    match call.failure {
        Some(failure) if failure != Failure::ContentFilter => {
            record_failure(ctx, span, model, failure, Convention::OpenTelemetry);
        }
        _ => otel_response(ctx, span, call, usage, timing),
    }
}

fn otel_response(
    ctx: &mut Ctx<'_>,
    span: SpanRef,
    call: &ChatCall<'_>,
    usage: &Usage,
    timing: &Timing,
) {
    let model = call.model;
    let reason = finish_reason(call, usage);
    let filtered = call.failure == Some(Failure::ContentFilter);
    let output = if filtered {
        usage.reasoning + ctx.rng.range(0, 12)
    } else {
        usage.output
    };
    let id = response_id(&mut ctx.rng, model);
    let mut attributes = vec![
        text("gen_ai.response.id", &id),
        text("gen_ai.response.model", model.response),
        texts("gen_ai.response.finish_reasons", &[reason]),
    ];
    attributes.extend(usage_attributes(model, usage, output));

    if call.stream {
        attributes.push(float(
            "gen_ai.response.time_to_first_chunk",
            timing.first_token_ms / 1_000.0,
        ));
    }
    let reply = if filtered {
        Message {
            role: "assistant",
            parts: Vec::new(),
        }
    } else {
        shown_reply(call, usage)
    };

    attributes.push(text(
        "gen_ai.output.messages",
        &parts_json(&[reply], Some(reason)),
    ));
    ctx.builder.add(span, attributes);
}

/// Returns the answer as the application received it: cut at about `max_tokens` tokens when
/// the call stopped there.
fn shown_reply(call: &ChatCall<'_>, usage: &Usage) -> Message {
    if !usage.truncated {
        return call.reply.clone();
    }
    let content = call.reply.content();
    let mut cut = usize::try_from(call.max_tokens.saturating_mul(4)).unwrap_or(usize::MAX);
    while !content.is_char_boundary(cut.min(content.len())) {
        cut -= 1;
    }
    Message::assistant(&content[..cut.min(content.len())])
}

/// Returns the `gen_ai.usage.*` attributes, with `output` output tokens.
fn usage_attributes(model: &Model, usage: &Usage, output: u64) -> Vec<KeyValue> {
    let mut attributes = vec![
        count("gen_ai.usage.input_tokens", usage.input),
        count("gen_ai.usage.output_tokens", output),
    ];
    if usage.cache_read > 0 {
        attributes.push(count(
            "gen_ai.usage.cache_read.input_tokens",
            usage.cache_read,
        ));
    }
    if usage.cache_write > 0 {
        attributes.push(count(
            "gen_ai.usage.cache_creation.input_tokens",
            usage.cache_write,
        ));
    }
    if model.reasoning {
        attributes.push(count(
            "gen_ai.usage.reasoning.output_tokens",
            usage.reasoning,
        ));
    }
    attributes
}

fn openinference_chat(
    ctx: &mut Ctx<'_>,
    span: SpanRef,
    call: &ChatCall<'_>,
    usage: &Usage,
    timing: &Timing,
) {
    let model = call.model;
    let failed = call
        .failure
        .filter(|failure| *failure != Failure::ContentFilter);
    let mut parameters = json!({
        "model": model.request, "max_tokens": call.max_tokens, "temperature": 0.2,
        "stream": call.stream,
    });
    if call.json_output {
        parameters["response_format"] = json!({"type": "json_object"});
    }
    let mut attributes = vec![
        text("openinference.span.kind", "LLM"),
        text("llm.provider", model.provider),
        text("llm.system", model.provider),
        text(
            "llm.model_name",
            if failed.is_some() {
                model.request
            } else {
                model.response
            },
        ),
        text("llm.invocation_parameters", &parameters.to_string()),
    ];
    attributes.extend(openinference_attributes("llm.input_messages", call.input));
    attributes.extend(identity(ctx));
    ctx.builder.add(span, attributes);

    if let Some(failure) = failed {
        record_failure(ctx, span, model, failure, Convention::OpenInference);
        return;
    }
    let reply = shown_reply(call, usage);
    let mut attributes = vec![
        count("llm.token_count.prompt", usage.input),
        count("llm.token_count.completion", usage.output),
        count("llm.token_count.total", usage.input + usage.output),
        text("llm.finish_reason", finish_reason(call, usage)),
        text("output.value", &reply.content()),
        text("output.mime_type", "text/plain"),
    ];
    if usage.cache_read > 0 {
        attributes.push(count(
            "llm.token_count.prompt_details.cache_read",
            usage.cache_read,
        ));
    }
    attributes.extend(openinference_attributes(
        "llm.output_messages",
        std::slice::from_ref(&reply),
    ));
    ctx.builder.add(span, attributes);
    ctx.builder.succeed(span);
    if call.stream {
        let first = call.start + ms(timing.first_token_ms);
        ctx.builder
            .event(span, "First Token Stream Event", first, Vec::new());
    }
}

/// OpenInference's `using_attributes` puts the user and session on every span.
pub fn identity(ctx: &Ctx<'_>) -> Vec<KeyValue> {
    let mut attributes = Vec::new();
    if let Some(user) = &ctx.plan.user {
        attributes.push(text("user.id", user));
    }
    if let Some(session) = &ctx.plan.session {
        attributes.push(text("session.id", &session.id));
    }
    attributes
}

fn record_failure(
    ctx: &mut Ctx<'_>,
    span: SpanRef,
    model: &Model,
    failure: Failure,
    convention: Convention,
) {
    let class = failure.exception_class(model.sdk);
    let message = failure.message(model);
    let module = match model.sdk {
        Sdk::OpenAi => "openai",
        Sdk::Anthropic => "anthropic",
        Sdk::Google => "google.genai.errors",
        Sdk::Mistral => "mistralai.models",
    };
    if convention == Convention::OpenTelemetry {
        let mut attributes = vec![text("error.type", failure.error_type(model.sdk))];
        if let Some(status) = failure.http_status(model.sdk) {
            attributes.push(int("http.response.status_code", status));
        }
        ctx.builder.add(span, attributes);
        ctx.builder.fail(span, &message);
    } else {
        ctx.builder.fail(span, &format!("{class}: {message}"));
    }
    let thrown_at = ctx.end_of(span);
    ctx.builder.event(
        span,
        "exception",
        thrown_at,
        vec![
            text("exception.type", &format!("{module}.{class}")),
            text("exception.message", &message),
            flag("exception.escaped", true),
        ],
    );
}

/// An embedding call to record.
#[derive(Debug)]
pub struct EmbeddingCall<'a> {
    /// The model.
    pub model: &'static Model,
    /// The span that makes the call.
    pub parent: SpanRef,
    /// The service and host of the calling code.
    pub place: Place,
    /// When the call starts.
    pub start: u64,
    /// The texts to embed.
    pub inputs: &'a [String],
    /// The failure of the call, if it fails.
    pub failure: Option<Failure>,
    /// The attribute convention.
    pub convention: Convention,
}

/// Records an embedding call as a span under `call.parent`.
pub fn embedding(ctx: &mut Ctx<'_>, call: EmbeddingCall<'_>) -> CallResult {
    let model = call.model;
    let input_tokens: u64 = call.inputs.iter().map(|input| tokens(input.len())).sum();
    let duration_ms = match call.failure {
        Some(Failure::Timeout) => 10_000.0,
        Some(_) => ctx.rng.uniform(40.0, 200.0),
        None => ctx.rng.uniform(model.ttft_ms.0, model.ttft_ms.1) + input_tokens as f64 * 0.01,
    };
    let end = call.start + ms(duration_ms);
    let span = match call.convention {
        Convention::OpenTelemetry => otel_embedding(ctx, &call, input_tokens),
        Convention::OpenInference => openinference_embedding(ctx, &call),
    };
    ctx.builder.close(span, end);
    if let Some(failure) = call.failure {
        record_failure(ctx, span, model, failure, call.convention);
    }
    CallResult {
        end,
        failure: call.failure,
    }
}

fn otel_embedding(ctx: &mut Ctx<'_>, call: &EmbeddingCall<'_>, input_tokens: u64) -> SpanRef {
    let model = call.model;
    let name = format!("{} {}", model.operation, model.request);
    let span = ctx.open(
        Some(call.parent),
        call.place,
        instrumentation(model.sdk),
        SpanKind::Client,
        name,
        call.start,
    );
    let mut attributes = vec![
        text("gen_ai.operation.name", model.operation),
        text("gen_ai.provider.name", model.provider),
        text("gen_ai.request.model", model.request),
        texts("gen_ai.request.encoding_formats", &["float"]),
        text("server.address", model.server),
        int("server.port", model.port),
    ];
    if call.failure.is_none() {
        attributes.extend([
            text("gen_ai.response.model", model.response),
            int("gen_ai.embeddings.dimension.count", 1_536),
            count("gen_ai.usage.input_tokens", input_tokens),
        ]);
    }
    ctx.builder.add(span, attributes);
    span
}

fn openinference_embedding(ctx: &mut Ctx<'_>, call: &EmbeddingCall<'_>) -> SpanRef {
    let span = ctx.open(
        Some(call.parent),
        call.place,
        &OPENINFERENCE_LLAMA_INDEX,
        SpanKind::Internal,
        "OpenAIEmbedding.aget_query_embedding".to_owned(),
        call.start,
    );
    let mut attributes = vec![
        text("openinference.span.kind", "EMBEDDING"),
        text("embedding.model_name", call.model.request),
    ];
    for (index, input) in call.inputs.iter().enumerate() {
        attributes.push(text(
            &format!("embedding.embeddings.{index}.embedding.text"),
            input,
        ));
    }
    attributes.extend(identity(ctx));
    ctx.builder.add(span, attributes);
    if call.failure.is_none() {
        ctx.builder.succeed(span);
    }
    span
}

/// Records a chat call, and when it fails with a retried failure, waits and records one
/// more attempt, as client libraries with retries do. Returns the last attempt.
pub fn chat_with_retry(ctx: &mut Ctx<'_>, call: ChatCall<'_>) -> CallResult {
    let retry = ChatCall {
        reply: call.reply.clone(),
        failure: None,
        ..call
    };
    let first = chat(ctx, call);
    match first.failure {
        Some(failure) if failure.is_retried() => {
            let backoff = ctx.rng.uniform(500.0, 4_000.0);
            let start = first.end + ms(backoff);
            let failure = Failure::draw(&mut ctx.rng, false).filter(|failure| failure.is_retried());
            chat(
                ctx,
                ChatCall {
                    start,
                    failure,
                    ..retry
                },
            )
        }
        _ => first,
    }
}

/// Returns a random gap in milliseconds of application work between two steps.
pub fn think_time(rng: &mut Rng) -> u64 {
    ms(rng.log_uniform(0.5, 12.0)).max(MILLISECOND / 2)
}
