//! Provider names, normalized to the OpenTelemetry `gen_ai.provider.name` values.
//!
//! Sources in order: `gen_ai.provider.name`, the deprecated `gen_ai.system`, OpenInference's
//! `llm.provider` together with `llm.system`, and the Vercel AI SDK's `ai.model.provider`
//! (`openai.chat`, `anthropic.messages`). Values outside the OpenTelemetry list (`ollama`,
//! `vllm`, `together`, ...) are kept, lowercased.

use crate::lookup::Attributes;
use crate::names;

/// Other spellings and their canonical provider names, matched after lowercasing.
const SPELLINGS: &[(&str, &str)] = &[
    ("openai", "openai"),
    ("anthropic", "anthropic"),
    ("az.ai.openai", "azure.ai.openai"),
    ("azure_openai", "azure.ai.openai"),
    ("azure-openai", "azure.ai.openai"),
    ("azure.ai.openai", "azure.ai.openai"),
    ("az.ai.inference", "azure.ai.inference"),
    ("azure-ai-inference", "azure.ai.inference"),
    ("azure.ai.inference", "azure.ai.inference"),
    ("bedrock", "aws.bedrock"),
    ("amazon-bedrock", "aws.bedrock"),
    ("aws.bedrock", "aws.bedrock"),
    ("aws", "aws.bedrock"),
    ("vertex_ai", "gcp.vertex_ai"),
    ("vertexai", "gcp.vertex_ai"),
    ("google.vertex", "gcp.vertex_ai"),
    ("gcp.vertex_ai", "gcp.vertex_ai"),
    ("google", "gcp.vertex_ai"),
    ("gemini", "gcp.gemini"),
    ("google.ai.studio", "gcp.gemini"),
    ("google-ai-studio", "gcp.gemini"),
    ("google.generative-ai", "gcp.gemini"),
    ("gcp.gemini", "gcp.gemini"),
    ("gcp.gen_ai", "gcp.gen_ai"),
    ("mistralai", "mistral_ai"),
    ("mistral", "mistral_ai"),
    ("mistral_ai", "mistral_ai"),
    ("xai", "x_ai"),
    ("x_ai", "x_ai"),
    ("ibm.watson.ai", "ibm.watsonx.ai"),
    ("ibm.watsonx.ai", "ibm.watsonx.ai"),
    ("watsonx", "ibm.watsonx.ai"),
    ("moonshot", "moonshot_ai"),
    ("moonshot_ai", "moonshot_ai"),
    ("cohere", "cohere"),
    ("deepseek", "deepseek"),
    ("groq", "groq"),
    ("perplexity", "perplexity"),
    ("togetherai", "together"),
];

/// Returns the normalized provider of a span, or `None` when no source names one.
pub fn provider(attributes: &Attributes<'_>) -> Option<String> {
    if let Some(value) = attributes.first_text(names::PROVIDER) {
        return Some(normalize(value));
    }
    if let Some(value) = openinference_provider(attributes) {
        return Some(value);
    }
    attributes.text(names::VERCEL_PROVIDER).map(normalize)
}

/// Normalizes one provider spelling.
///
/// An exact match in the spelling table wins. Otherwise the longest dot-separated prefix that
/// the table knows is used, which turns Vercel ids such as `openai.responses` or
/// `google.vertex.chat` into providers; an unknown value is kept, lowercased.
pub fn normalize(value: &str) -> String {
    let lower = value.trim().to_ascii_lowercase();
    if let Some(canonical) = lookup(&lower) {
        return canonical.to_owned();
    }
    let mut end = lower.len();
    while let Some(dot) = lower[..end].rfind('.') {
        if let Some(canonical) = lookup(&lower[..dot]) {
            return canonical.to_owned();
        }
        end = dot;
    }
    lower
}

fn lookup(spelling: &str) -> Option<&'static str> {
    SPELLINGS
        .iter()
        .find(|(other, _)| *other == spelling)
        .map(|(_, canonical)| *canonical)
}

/// Combines OpenInference's hosting provider (`llm.provider`) with the model vendor
/// (`llm.system`): Azure hosting an OpenAI model is `azure.ai.openai`, other Azure models are
/// `azure.ai.inference`.
fn openinference_provider(attributes: &Attributes<'_>) -> Option<String> {
    let system = attributes.text(names::OPENINFERENCE_SYSTEM);
    let Some(host) = attributes.text(names::OPENINFERENCE_PROVIDER) else {
        return system.map(normalize);
    };
    if host.eq_ignore_ascii_case("azure") {
        let is_openai = system.is_some_and(|system| system.eq_ignore_ascii_case("openai"));
        let canonical = if is_openai {
            "azure.ai.openai"
        } else {
            "azure.ai.inference"
        };
        return Some(canonical.to_owned());
    }
    Some(normalize(host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value, json};

    fn provider_of(pairs: &[(&str, &str)]) -> Option<String> {
        let map: Map<String, Value> = pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), json!(value)))
            .collect();
        provider(&Attributes::new(&map))
    }

    #[test]
    fn spellings_map_to_canonical_names() {
        let cases = [
            ("openai.chat", "openai"),
            ("openai.responses", "openai"),
            ("anthropic.messages", "anthropic"),
            ("Anthropic", "anthropic"),
            ("az.ai.openai", "azure.ai.openai"),
            ("azure_openai", "azure.ai.openai"),
            ("az.ai.inference", "azure.ai.inference"),
            ("azure-ai-inference", "azure.ai.inference"),
            ("bedrock", "aws.bedrock"),
            ("vertex_ai", "gcp.vertex_ai"),
            ("vertexai", "gcp.vertex_ai"),
            ("google.vertex.chat", "gcp.vertex_ai"),
            ("gemini", "gcp.gemini"),
            ("google.ai.studio", "gcp.gemini"),
            ("google-ai-studio", "gcp.gemini"),
            ("google.generative-ai", "gcp.gemini"),
            ("mistralai", "mistral_ai"),
            ("mistral", "mistral_ai"),
            ("xai", "x_ai"),
            ("ibm.watson.ai", "ibm.watsonx.ai"),
            ("moonshot", "moonshot_ai"),
            ("vLLM", "vllm"),
            ("ollama", "ollama"),
            ("aws.bedrock", "aws.bedrock"),
        ];
        for (spelling, canonical) in cases {
            assert_eq!(normalize(spelling), canonical, "spelling {spelling}");
        }
    }

    #[test]
    fn provider_name_wins_over_system() {
        let found = provider_of(&[("gen_ai.system", "xai"), ("gen_ai.provider.name", "x_ai")]);
        assert_eq!(found.as_deref(), Some("x_ai"));
    }

    #[test]
    fn openinference_azure_depends_on_system() {
        let openai = provider_of(&[("llm.provider", "azure"), ("llm.system", "openai")]);
        assert_eq!(openai.as_deref(), Some("azure.ai.openai"));
        let other = provider_of(&[("llm.provider", "azure"), ("llm.system", "mistralai")]);
        assert_eq!(other.as_deref(), Some("azure.ai.inference"));
        let aws = provider_of(&[("llm.provider", "aws"), ("llm.system", "amazon")]);
        assert_eq!(aws.as_deref(), Some("aws.bedrock"));
    }

    #[test]
    fn vercel_provider_is_last_resort() {
        let found = provider_of(&[("ai.model.provider", "anthropic.messages")]);
        assert_eq!(found.as_deref(), Some("anthropic"));
    }

    #[test]
    fn empty_values_are_ignored() {
        let found = provider_of(&[("gen_ai.provider.name", ""), ("gen_ai.system", "openai")]);
        assert_eq!(found.as_deref(), Some("openai"));
    }
}
