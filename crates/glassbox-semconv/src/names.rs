//! Attribute, event and value names of every GenAI convention that normalization reads.
//!
//! Alias lists are ordered: the first key present on a span wins. The canonical OpenTelemetry
//! GenAI name comes first, then older OpenTelemetry names, then OpenInference, OpenLLMetry,
//! OpenLIT, the Vercel AI SDK, Langfuse and Pydantic AI / Logfire.
//!
//! The upstream `opentelemetry-semantic-conventions` crate marks the GenAI names experimental
//! and lacks the other conventions, so the names live here.

// --- Operation, provider and kind markers ---------------------------------------------------

/// The OpenTelemetry GenAI operation (`chat`, `embeddings`, `execute_tool`, ...).
pub const OPERATION_NAME: &str = "gen_ai.operation.name";
/// OpenLLMetry's request type (`chat`, `completion`, `embedding`, `rerank`).
pub const LLM_REQUEST_TYPE: &str = "llm.request.type";
/// Vercel AI SDK operation id (`ai.generateText.doGenerate`, `ai.toolCall`, ...).
pub const VERCEL_OPERATION_ID: &str = "ai.operationId";
/// OpenInference span kind (`LLM`, `EMBEDDING`, `CHAIN`, ...).
pub const OPENINFERENCE_SPAN_KIND: &str = "openinference.span.kind";
/// Traceloop SDK decorator kind (`workflow`, `task`, `agent`, `tool`).
pub const TRACELOOP_SPAN_KIND: &str = "traceloop.span.kind";
/// Traceloop SDK decorated function name.
pub const TRACELOOP_ENTITY_NAME: &str = "traceloop.entity.name";
/// Langfuse observation type (`generation`, `embedding`, `tool`, `chain`, `agent`, `span`, ...).
pub const LANGFUSE_OBSERVATION_TYPE: &str = "langfuse.observation.type";

/// Provider name aliases; values are normalized by [`crate::provider`].
pub const PROVIDER: &[&str] = &["gen_ai.provider.name", "gen_ai.system"];
/// OpenInference hosting provider (`openai`, `azure`, `aws`, `google`, ...).
pub const OPENINFERENCE_PROVIDER: &str = "llm.provider";
/// OpenInference model vendor (`openai`, `anthropic`, `vertexai`, `amazon`, ...).
pub const OPENINFERENCE_SYSTEM: &str = "llm.system";
/// Vercel AI SDK provider id (`openai.chat`, `anthropic.messages`, ...).
pub const VERCEL_PROVIDER: &str = "ai.model.provider";

// --- Models and response ---------------------------------------------------------------------

/// Request model aliases that always name the requested model.
pub const REQUEST_MODEL: &[&str] = &[
    "gen_ai.request.model",
    "llm.request.model_name",
    "ai.model.id",
    "model_name",
];
/// Response model aliases that always name the model that produced the response.
pub const RESPONSE_MODEL: &[&str] = &[
    "gen_ai.response.model",
    "llm.response.model_name",
    "ai.response.model",
];
/// OpenInference's requested model, set when the provider routed to another model.
pub const OPENINFERENCE_REQUEST_MODEL: &str = "llm.request.model_name";
/// OpenInference model name: the response model on success, the request model on failure.
pub const OPENINFERENCE_MODEL_NAME: &str = "llm.model_name";
/// OpenInference embedding model name, which does not tell the requested from the response model.
pub const OPENINFERENCE_EMBEDDING_MODEL_NAME: &str = "embedding.model_name";
/// OpenInference JSON strings of request parameters, which hold the requested `model`.
pub const INVOCATION_PARAMETERS: &[&str] = &[
    "llm.invocation_parameters",
    "embedding.invocation_parameters",
];
/// Langfuse model name: the response model on success, the request model on failure.
pub const LANGFUSE_MODEL_NAME: &str = "langfuse.observation.model.name";
/// Provider response id aliases.
pub const RESPONSE_ID: &[&str] = &["gen_ai.response.id", "ai.response.id"];

// --- Tokens ----------------------------------------------------------------------------------

/// Input token aliases.
pub const INPUT_TOKENS: &[&str] = &[
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
    "ai.usage.inputTokens",
    "ai.usage.promptTokens",
    "ai.usage.tokens",
];
/// Output token aliases.
pub const OUTPUT_TOKENS: &[&str] = &[
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
    "ai.usage.outputTokens",
    "ai.usage.completionTokens",
];
/// Total token aliases; OpenLIT writes its per-span total under the metric name last listed.
pub const TOTAL_TOKENS: &[&str] = &[
    "gen_ai.usage.total_tokens",
    "llm.usage.total_tokens",
    "llm.token_count.total",
    "ai.usage.totalTokens",
    "gen_ai.client.token.usage",
];
/// Cache read token aliases.
pub const CACHE_READ_TOKENS: &[&str] = &[
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
    "ai.usage.cachedInputTokens",
    "ai.usage.inputTokenDetails.cacheReadTokens",
    "gen_ai.usage.prompt_tokens_details.cache_read",
];
/// Cache write token aliases.
pub const CACHE_WRITE_TOKENS: &[&str] = &[
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write",
    "ai.usage.inputTokenDetails.cacheWriteTokens",
    "gen_ai.usage.prompt_tokens_details.cache_write",
];
/// Reasoning token aliases.
pub const REASONING_TOKENS: &[&str] = &[
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "llm.token_count.completion_details.reasoning",
    "ai.usage.reasoningTokens",
    "ai.usage.outputTokenDetails.reasoningTokens",
    "gen_ai.usage.completion_tokens_details.reasoning",
];
/// Langfuse's JSON object of token counts (the provider's raw usage object or Langfuse keys).
pub const LANGFUSE_USAGE_DETAILS: &str = "langfuse.observation.usage_details";

// --- Cost ------------------------------------------------------------------------------------

/// Cost in US dollars as a number (OpenLIT, then OpenInference).
pub const COST_USD: &[&str] = &["gen_ai.usage.cost", "llm.cost.total"];
/// Langfuse's JSON object of costs in US dollars by usage type.
pub const LANGFUSE_COST_DETAILS: &str = "langfuse.observation.cost_details";

// --- Status ----------------------------------------------------------------------------------

/// The error type (`error.type`).
pub const ERROR_TYPE: &str = "error.type";
/// The span event name for recorded exceptions.
pub const EXCEPTION_EVENT: &str = "exception";
/// The exception type attribute of an exception event.
pub const EXCEPTION_TYPE: &str = "exception.type";
/// Langfuse observation level (`DEBUG`, `DEFAULT`, `WARNING`, `ERROR`).
pub const LANGFUSE_LEVEL: &str = "langfuse.observation.level";
/// Langfuse status message.
pub const LANGFUSE_STATUS_MESSAGE: &str = "langfuse.observation.status_message";

// --- Streaming and time to first token -------------------------------------------------------

/// Boolean streaming flags.
pub const STREAMING: &[&str] = &[
    "gen_ai.request.stream",
    "gen_ai.request.is_stream",
    "gen_ai.is_streaming",
    "llm.is_streaming",
];
/// Time to first chunk in seconds.
pub const TTFT_SECONDS: &[&str] = &[
    "gen_ai.response.time_to_first_chunk",
    "gen_ai.server.time_to_first_token",
];
/// Time to first chunk in milliseconds (Vercel AI SDK v5+ and v3/v4).
pub const TTFT_MILLISECONDS: &[&str] = &["ai.response.msToFirstChunk", "ai.stream.msToFirstChunk"];
/// Langfuse completion start time: a JSON-quoted RFC 3339 timestamp.
pub const LANGFUSE_COMPLETION_START: &str = "langfuse.observation.completion_start_time";
/// Span events whose time marks the first streamed token or chunk.
pub const FIRST_CHUNK_EVENTS: &[&str] = &[
    "First Token Stream Event",
    "gen_ai.content.completion.chunk",
    "llm.content.completion.chunk",
    "ai.stream.firstChunk",
];

// --- Finish reasons --------------------------------------------------------------------------

/// The finish reasons array.
pub const FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
/// Single finish reason strings, in the order they are read.
pub const FINISH_REASON_SINGLE: &[&str] = &[
    "llm.finish_reason",
    "llm.response.finish_reason",
    "llm.response.stop_reason",
    "anthropic.message.stop_reason",
    "ai.response.finishReason",
    "ai.finishReason",
];
/// Langfuse finish reason: a JSON-quoted string.
pub const LANGFUSE_FINISH_REASON: &str = "langfuse.observation.metadata.finish_reason";

// --- Content ---------------------------------------------------------------------------------

/// System instructions given apart from the chat history.
pub const SYSTEM_INSTRUCTIONS: &str = "gen_ai.system_instructions";
/// Input message attributes holding a whole list (JSON string or structured value).
pub const INPUT_MESSAGES: &[&str] = &[
    "gen_ai.input.messages",
    "ai.prompt.messages",
    "pydantic_ai.all_messages",
    "gen_ai.prompt",
];
/// Output message attributes holding a whole list (JSON string or structured value).
pub const OUTPUT_MESSAGES: &[&str] = &["gen_ai.output.messages", "gen_ai.completion"];
/// Vercel AI SDK prompt object (`{system, prompt, messages}`).
pub const VERCEL_PROMPT: &str = "ai.prompt";
/// Vercel AI SDK response text (v5+, then v3/v4).
pub const VERCEL_RESPONSE_TEXT: &[&str] = &["ai.response.text", "ai.result.text"];
/// Vercel AI SDK response tool calls (v5+, then v3/v4).
pub const VERCEL_RESPONSE_TOOL_CALLS: &[&str] = &["ai.response.toolCalls", "ai.result.toolCalls"];
/// Pydantic AI instrumentation version 1: the message events serialized into one attribute.
pub const PYDANTIC_EVENTS: &str = "events";
/// Langfuse observation input (JSON string, OpenAI shapes on generations).
pub const LANGFUSE_INPUT: &str = "langfuse.observation.input";
/// Langfuse observation output (JSON string or bare text).
pub const LANGFUSE_OUTPUT: &str = "langfuse.observation.output";
/// OpenInference flattened input messages: `llm.input_messages.<i>.message.<field>`.
pub const OPENINFERENCE_INPUT_PREFIX: &str = "llm.input_messages.";
/// OpenInference flattened output messages.
pub const OPENINFERENCE_OUTPUT_PREFIX: &str = "llm.output_messages.";
/// OpenLLMetry flattened prompts: `gen_ai.prompt.<i>.<field>`.
pub const OPENLLMETRY_PROMPT_PREFIX: &str = "gen_ai.prompt.";
/// OpenLLMetry flattened completions: `gen_ai.completion.<i>.<field>`.
pub const OPENLLMETRY_COMPLETION_PREFIX: &str = "gen_ai.completion.";

// --- Tools -----------------------------------------------------------------------------------

/// Tool name aliases.
pub const TOOL_NAME: &[&str] = &["gen_ai.tool.name", "tool.name", "ai.toolCall.name"];
/// Tool call id aliases.
pub const TOOL_CALL_ID: &[&str] = &["gen_ai.tool.call.id", "tool.id", "ai.toolCall.id"];

// --- User, session, tags and metadata --------------------------------------------------------

/// Session id aliases, in resolution order.
pub const SESSION_ID: &[&str] = &[
    "gen_ai.conversation.id",
    "session.id",
    "langfuse.session.id",
    "traceloop.association.properties.session_id",
    "traceloop.association.properties.chat_id",
    "ai.telemetry.metadata.sessionId",
    "ai.telemetry.metadata.session_id",
];
/// User id aliases, in resolution order.
pub const USER_ID: &[&str] = &[
    "user.id",
    "langfuse.user.id",
    "traceloop.association.properties.user_id",
    "ai.telemetry.metadata.userId",
    "ai.telemetry.metadata.user_id",
    "gen_ai.request.user",
    "llm.user",
];
/// Tag list aliases (string arrays, or JSON strings of arrays).
pub const TAGS: &[&str] = &["tag.tags", "langfuse.trace.tags", "logfire.tags"];
/// OpenInference metadata: a JSON string of an object.
pub const OPENINFERENCE_METADATA: &str = "metadata";
/// Langfuse trace metadata as one JSON object.
pub const LANGFUSE_TRACE_METADATA: &str = "langfuse.trace.metadata";
/// Prefixes of flattened metadata keys; the rest of the key is the metadata key.
pub const METADATA_PREFIXES: &[&str] = &[
    "langfuse.trace.metadata.",
    "traceloop.association.properties.",
    "ai.telemetry.metadata.",
];
/// Metadata keys already mapped to `user_id` / `session_id`, left out of `metadata`.
pub const METADATA_IDENTITY_KEYS: &[&str] =
    &["user_id", "session_id", "chat_id", "userId", "sessionId"];

// --- Resource and SDK ------------------------------------------------------------------------

/// The resource attribute naming the service.
pub const SERVICE_NAME: &str = "service.name";
/// The telemetry SDK name (`openlit` for OpenLIT).
pub const TELEMETRY_SDK_NAME: &str = "telemetry.sdk.name";
/// OpenLIT's SDK name and scope prefix.
pub const OPENLIT: &str = "openlit";

// --- Log events ------------------------------------------------------------------------------

/// The deprecated attribute that named an event before the LogRecord `event_name` field.
pub const EVENT_NAME_ATTRIBUTE: &str = "event.name";
/// The event that carries a whole inference call.
pub const EVENT_OPERATION_DETAILS: &str = "gen_ai.client.inference.operation.details";
/// The deprecated system message event.
pub const EVENT_SYSTEM_MESSAGE: &str = "gen_ai.system.message";
/// The deprecated user message event.
pub const EVENT_USER_MESSAGE: &str = "gen_ai.user.message";
/// The deprecated assistant message event.
pub const EVENT_ASSISTANT_MESSAGE: &str = "gen_ai.assistant.message";
/// The deprecated tool message event.
pub const EVENT_TOOL_MESSAGE: &str = "gen_ai.tool.message";
/// OpenLIT's spelling of the tool message event.
pub const EVENT_TOOLS_MESSAGE: &str = "gen_ai.tools.message";
/// The deprecated choice event (one model output).
pub const EVENT_CHOICE: &str = "gen_ai.choice";
