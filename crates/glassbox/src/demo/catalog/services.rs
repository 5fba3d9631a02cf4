//! The demo's services, their instrumentation scopes and their users.

use crate::demo::rng::{Rng, mix};

/// A deployed service: the OTLP resource of its spans.
#[derive(Debug, PartialEq, Eq)]
pub struct Service {
    /// `service.name`.
    pub name: &'static str,
    /// `service.version`.
    pub version: &'static str,
    /// `host.name` of each replica; a trace runs on one of them.
    pub hosts: &'static [&'static str],
    /// The scope of the application's own spans.
    pub app: Scope,
}

/// The customer support chatbot of a made-up outdoor equipment shop.
pub const SUPPORT_CHATBOT: Service = Service {
    name: "support-chatbot",
    version: "2.14.0",
    hosts: &["support-chatbot-7d9f4-kx2lp", "support-chatbot-7d9f4-q8wzn"],
    app: Scope {
        name: "brightwater.support_chatbot",
        version: "2.14.0",
    },
};

/// The documentation search and answer API, instrumented with the OpenTelemetry GenAI
/// instrumentations.
pub const RAG_SEARCH_API: Service = Service {
    name: "rag-search-api",
    version: "2.3.1",
    hosts: &["rag-search-api-5c6b8-m4tqd", "rag-search-api-5c6b8-zr7fh"],
    app: Scope {
        name: "brightwater.search_api",
        version: "2.3.1",
    },
};

/// The previous release of the search API, still serving part of the traffic during a
/// rolling update and instrumented with OpenInference.
pub const RAG_SEARCH_API_PREVIOUS: Service = Service {
    name: "rag-search-api",
    version: "1.9.4",
    hosts: &["rag-search-api-84f2a-wd9sk"],
    app: Scope {
        name: "brightwater.search_api",
        version: "1.9.4",
    },
};

/// A coding agent that plans, searches, edits and tests code for developers.
pub const CODING_AGENT: Service = Service {
    name: "coding-agent",
    version: "0.18.2",
    hosts: &["coding-agent-69b7c-hv5tj"],
    app: Scope {
        name: "brightwater.coding_agent",
        version: "0.18.2",
    },
};

/// A queue worker that summarizes support tickets and incident notes in batches.
pub const BATCH_SUMMARIZER: Service = Service {
    name: "batch-summarizer",
    version: "1.2.0",
    hosts: &["batch-summarizer-0", "batch-summarizer-1"],
    app: Scope {
        name: "brightwater.batch_summarizer",
        version: "1.2.0",
    },
};

/// An instrumentation scope: the library that recorded a span.
#[derive(Debug, PartialEq, Eq)]
pub struct Scope {
    /// The scope name.
    pub name: &'static str,
    /// The scope version.
    pub version: &'static str,
}

/// HTTP server spans.
pub const FASTAPI: Scope = Scope {
    name: "opentelemetry.instrumentation.fastapi",
    version: "0.55b0",
};
/// HTTP client spans.
pub const HTTPX: Scope = Scope {
    name: "opentelemetry.instrumentation.httpx",
    version: "0.55b0",
};
/// PostgreSQL client spans.
pub const ASYNCPG: Scope = Scope {
    name: "opentelemetry.instrumentation.asyncpg",
    version: "0.55b0",
};
/// RabbitMQ consumer spans.
pub const PIKA: Scope = Scope {
    name: "opentelemetry.instrumentation.pika",
    version: "0.55b0",
};
/// OpenAI client calls, also those to OpenAI-compatible servers (vLLM, Ollama).
pub const OPENAI_INSTRUMENTATION: Scope = Scope {
    name: "opentelemetry.instrumentation.openai_v2",
    version: "2.4b0",
};
/// Anthropic client calls.
pub const ANTHROPIC_INSTRUMENTATION: Scope = Scope {
    name: "opentelemetry.instrumentation.anthropic",
    version: "0.62.4",
};
/// Google Gen AI client calls.
pub const GOOGLE_GENAI_INSTRUMENTATION: Scope = Scope {
    name: "opentelemetry.instrumentation.google_genai",
    version: "0.3b0",
};
/// Mistral client calls.
pub const MISTRAL_INSTRUMENTATION: Scope = Scope {
    name: "opentelemetry.instrumentation.mistralai",
    version: "0.62.4",
};
/// Spans of the previous search API release, all from OpenInference's LlamaIndex
/// instrumentation.
pub const OPENINFERENCE_LLAMA_INDEX: Scope = Scope {
    name: "openinference.instrumentation.llama_index",
    version: "4.3.1",
};
/// The applications' own spans (agents, workflows, tools, functions), from the OpenTelemetry
/// GenAI utilities.
pub const GENAI_UTIL: Scope = Scope {
    name: "opentelemetry.util.genai",
    version: "1.1b0",
};

/// Customers: users of the chatbot and the search API.
pub const CUSTOMER_COUNT: u64 = 40;
/// Engineers: users of the coding agent.
pub const ENGINEER_COUNT: u64 = 8;

/// Picks a customer: a few heavy users make most of the traffic, as in real products.
pub fn pick_customer(rng: &mut Rng) -> String {
    let top = (CUSTOMER_COUNT + 1) as f64;
    let rank = (rng.log_uniform(1.0, top) as u64).clamp(1, CUSTOMER_COUNT);
    user_id(rank)
}

/// Picks an engineer.
pub fn pick_engineer(rng: &mut Rng) -> String {
    user_id(CUSTOMER_COUNT + rng.range(1, ENGINEER_COUNT))
}

/// Returns the id of the user of rank `rank` (1 is the most active customer), the same in
/// every run.
pub fn user_id(rank: u64) -> String {
    format!("usr_{:06x}", mix(rank ^ 0x005E_21D5) & 0xFF_FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_distinct() {
        let users = CUSTOMER_COUNT + ENGINEER_COUNT;
        let mut ids: Vec<String> = (1..=users).map(user_id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len() as u64, users);
    }

    #[test]
    fn heavy_users_dominate() {
        let mut rng = Rng::new(9);
        let top = user_id(1);
        let hits = (0..4_000)
            .filter(|_| pick_customer(&mut rng) == top)
            .count();
        assert!(hits > 400, "{hits} of 4000");
    }
}
