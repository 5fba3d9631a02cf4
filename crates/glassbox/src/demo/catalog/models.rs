//! The models the demo services call, with the names and behaviour of the real ones.
//!
//! Speeds and times to first token are rough figures of the providers' public APIs under
//! ordinary load, made up for the demo rather than measured.

/// The prompt cache of a provider, which reuses the prompt prefix of earlier calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// No prompt cache.
    None,
    /// OpenAI: prefixes of 1,024 tokens or more are cached without asking, in steps of 128.
    Automatic,
    /// Anthropic: marked prefixes are written to the cache once, then read.
    Explicit,
}

/// The client library, which decides the error type names a failed call carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sdk {
    /// The `openai` Python package, also used for OpenAI-compatible servers.
    OpenAi,
    /// The `anthropic` Python package, whose errors carry the API's error types.
    Anthropic,
    /// The `google-genai` Python package.
    Google,
    /// The `mistralai` Python package.
    Mistral,
}

/// A model as a provider names it in requests and responses.
#[derive(Debug, PartialEq)]
pub struct Model {
    /// `gen_ai.provider.name`.
    pub provider: &'static str,
    /// The model name in requests.
    pub request: &'static str,
    /// The model name in the response.
    pub response: &'static str,
    /// The API host, for `server.address`.
    pub server: &'static str,
    /// The API port.
    pub port: i64,
    /// Time to the first token of a short prompt, in milliseconds: lowest and highest.
    pub ttft_ms: (f64, f64),
    /// Output speed in tokens per second: lowest and highest.
    pub tokens_per_second: (f64, f64),
    /// The prompt cache.
    pub caching: Caching,
    /// Whether the model spends hidden reasoning tokens before its answer.
    pub reasoning: bool,
    /// The client library.
    pub sdk: Sdk,
    /// The `gen_ai.operation.name` of a call.
    pub operation: &'static str,
}

/// OpenAI's general model.
pub const GPT_4O: Model = Model {
    provider: "openai",
    request: "gpt-4o",
    response: "gpt-4o-2024-08-06",
    server: "api.openai.com",
    port: 443,
    ttft_ms: (350.0, 900.0),
    tokens_per_second: (60.0, 110.0),
    caching: Caching::Automatic,
    reasoning: false,
    sdk: Sdk::OpenAi,
    operation: "chat",
};

/// OpenAI's small model.
pub const GPT_4O_MINI: Model = Model {
    provider: "openai",
    request: "gpt-4o-mini",
    response: "gpt-4o-mini-2024-07-18",
    ttft_ms: (250.0, 600.0),
    tokens_per_second: (80.0, 140.0),
    ..GPT_4O
};

/// OpenAI's small reasoning model.
pub const O3_MINI: Model = Model {
    provider: "openai",
    request: "o3-mini",
    response: "o3-mini-2025-01-31",
    ttft_ms: (600.0, 1_500.0),
    tokens_per_second: (120.0, 200.0),
    reasoning: true,
    ..GPT_4O
};

/// OpenAI's small embedding model.
pub const TEXT_EMBEDDING_3_SMALL: Model = Model {
    provider: "openai",
    request: "text-embedding-3-small",
    response: "text-embedding-3-small",
    ttft_ms: (60.0, 250.0),
    tokens_per_second: (1.0, 1.0),
    caching: Caching::None,
    operation: "embeddings",
    ..GPT_4O
};

/// Anthropic's general model.
pub const CLAUDE_SONNET_4: Model = Model {
    provider: "anthropic",
    request: "claude-sonnet-4-20250514",
    response: "claude-sonnet-4-20250514",
    server: "api.anthropic.com",
    port: 443,
    ttft_ms: (700.0, 1_600.0),
    tokens_per_second: (45.0, 80.0),
    caching: Caching::Explicit,
    reasoning: false,
    sdk: Sdk::Anthropic,
    operation: "chat",
};

/// Anthropic's fast model.
pub const CLAUDE_3_5_HAIKU: Model = Model {
    request: "claude-3-5-haiku-20241022",
    response: "claude-3-5-haiku-20241022",
    ttft_ms: (400.0, 900.0),
    tokens_per_second: (90.0, 150.0),
    ..CLAUDE_SONNET_4
};

/// Google's fast model, through the Gemini API.
pub const GEMINI_2_0_FLASH: Model = Model {
    provider: "gcp.gemini",
    request: "gemini-2.0-flash",
    response: "gemini-2.0-flash-001",
    server: "generativelanguage.googleapis.com",
    port: 443,
    ttft_ms: (250.0, 550.0),
    tokens_per_second: (150.0, 250.0),
    caching: Caching::None,
    reasoning: false,
    sdk: Sdk::Google,
    operation: "generate_content",
};

/// Mistral's large model, through its moving alias.
pub const MISTRAL_LARGE: Model = Model {
    provider: "mistral_ai",
    request: "mistral-large-latest",
    response: "mistral-large-2411",
    server: "api.mistral.ai",
    port: 443,
    ttft_ms: (400.0, 1_000.0),
    tokens_per_second: (35.0, 60.0),
    caching: Caching::None,
    reasoning: false,
    sdk: Sdk::Mistral,
    operation: "chat",
};

/// Llama 3.1 70B served by vLLM on the company's own GPUs: no price in any catalog.
pub const LLAMA_3_1_70B_VLLM: Model = Model {
    provider: "vllm",
    request: "llama-3.1-70b-instruct",
    response: "llama-3.1-70b-instruct",
    server: "vllm.inference.internal",
    port: 8000,
    ttft_ms: (120.0, 450.0),
    tokens_per_second: (22.0, 40.0),
    caching: Caching::None,
    reasoning: false,
    sdk: Sdk::OpenAi,
    operation: "chat",
};

/// Llama 3.1 8B served by Ollama on a build machine: no price in any catalog.
pub const LLAMA_3_1_8B_OLLAMA: Model = Model {
    provider: "ollama",
    request: "llama3.1:8b",
    response: "llama3.1:8b",
    server: "ollama.inference.internal",
    port: 11434,
    ttft_ms: (80.0, 300.0),
    tokens_per_second: (35.0, 60.0),
    ..LLAMA_3_1_70B_VLLM
};
