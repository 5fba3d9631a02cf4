//! Token estimates for model calls that carry messages but no token counts.
//!
//! OpenAI models are counted with their tokenizer, loaded on first use: `o200k_base` for
//! GPT-4o, GPT-4.1, GPT-4.5, GPT-5, gpt-oss and the o-series, and `cl100k_base` for older
//! GPT-4, GPT-3.5 and the `text-embedding-3` / `ada-002` models. Other models, whose
//! tokenizers are not public or not bundled, get one token per four characters, rounded up.
//!
//! Input messages count their role and text, the names and arguments of their tool calls,
//! plus [`MESSAGE_OVERHEAD`] tokens each and [`REPLY_PRIMING`] once, following OpenAI's
//! published way of counting chat tokens. Output messages count their text and tool calls
//! only. All results are estimates: providers add tokens for tool definitions, images and
//! formatting that spans do not show.

use std::sync::LazyLock;

use glassbox_model::{Message, Span, SpanKind, SpanStatus};
use serde_json::Value;
use tiktoken_rs::CoreBPE;

/// Tokens a chat format adds around each input message.
pub const MESSAGE_OVERHEAD: u64 = 3;
/// Tokens a chat format adds once to prime the reply.
pub const REPLY_PRIMING: u64 = 3;
/// The bytes of text per span counted with a tokenizer. The rest is approximated, which bounds
/// the time one span can take on the ingest path. Measured with a release build on one core of
/// an AMD EPYC VM, o200k_base counts about 40 MB/s, so the budget costs under 2 ms.
const EXACT_BYTES_PER_SPAN: usize = 64 * 1024;

static O200K_BASE: LazyLock<Option<CoreBPE>> = LazyLock::new(|| tiktoken_rs::o200k_base().ok());
static CL100K_BASE: LazyLock<Option<CoreBPE>> = LazyLock::new(|| tiktoken_rs::cl100k_base().ok());

/// A tokenizer of OpenAI models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// GPT-4o, GPT-4.1, GPT-4.5, GPT-5, gpt-oss and the o-series.
    O200kBase,
    /// Older GPT-4 and GPT-3.5 models and OpenAI embedding models.
    Cl100kBase,
}

impl Encoding {
    /// Returns the tokenizer of an OpenAI model name, ignoring case and a `provider/` prefix,
    /// or `None` for other models.
    pub fn for_model(model: &str) -> Option<Encoding> {
        let model = model
            .rsplit('/')
            .next()
            .unwrap_or(model)
            .to_ascii_lowercase();
        const O200K_PREFIXES: [&str; 8] = [
            "gpt-4o",
            "chatgpt-4o",
            "gpt-4.1",
            "gpt-4.5",
            "gpt-5",
            "gpt-oss",
            "codex-",
            "computer-use",
        ];
        const CL100K_PREFIXES: [&str; 5] = [
            "gpt-4",
            "gpt-3.5",
            "gpt-35",
            "text-embedding-3",
            "text-embedding-ada-002",
        ];
        let is_o_series = model
            .strip_prefix('o')
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
        if is_o_series
            || O200K_PREFIXES
                .iter()
                .any(|prefix| model.starts_with(prefix))
        {
            return Some(Encoding::O200kBase);
        }
        CL100K_PREFIXES
            .iter()
            .any(|prefix| model.starts_with(prefix))
            .then_some(Encoding::Cl100kBase)
    }

    fn tokenizer(self) -> Option<&'static CoreBPE> {
        match self {
            Encoding::O200kBase => O200K_BASE.as_ref(),
            Encoding::Cl100kBase => CL100K_BASE.as_ref(),
        }
    }
}

/// Fills in the input and output token counts of a model call from its messages where the
/// counts are missing, and marks the span's tokens as estimated.
///
/// Only successful `llm` spans are estimated: a failed call is usually not billed, and an
/// estimate would give it a cost. Counts that are present are never changed. The total is set
/// when it is missing and both counts are known afterwards.
pub(crate) fn estimate_tokens(span: &mut Span) {
    if span.kind != SpanKind::Llm || span.status == SpanStatus::Error {
        return;
    }
    let missing_input = span.usage.input.is_none() && has_messages(&span.input_messages);
    let missing_output = span.usage.output.is_none() && has_messages(&span.output_messages);
    if !missing_input && !missing_output {
        return;
    }

    let encoding = span.model().and_then(Encoding::for_model);
    let mut counter = Counter::new(encoding);
    if missing_input {
        span.usage.input =
            Some(counter.input_tokens(span.input_messages.as_deref().unwrap_or_default()));
    }
    if missing_output {
        span.usage.output =
            Some(counter.output_tokens(span.output_messages.as_deref().unwrap_or_default()));
    }
    if span.usage.total.is_none()
        && let (Some(input), Some(output)) = (span.usage.input, span.usage.output)
    {
        span.usage.total = Some(input + output);
    }
    span.tokens_estimated = true;
}

fn has_messages(messages: &Option<Vec<Message>>) -> bool {
    messages
        .as_ref()
        .is_some_and(|messages| !messages.is_empty())
}

/// Counts tokens of texts with a tokenizer while the span's byte budget lasts, and
/// approximately after that.
pub(crate) struct Counter {
    tokenizer: Option<&'static CoreBPE>,
    exact_bytes_left: usize,
}

impl Counter {
    pub(crate) fn new(encoding: Option<Encoding>) -> Counter {
        Counter {
            tokenizer: encoding.and_then(Encoding::tokenizer),
            exact_bytes_left: EXACT_BYTES_PER_SPAN,
        }
    }

    /// Returns the estimated prompt tokens of input messages.
    pub(crate) fn input_tokens(&mut self, messages: &[Message]) -> u64 {
        let per_message: u64 = messages
            .iter()
            .map(|message| MESSAGE_OVERHEAD + self.text(&message.role) + self.message_body(message))
            .sum();
        per_message + REPLY_PRIMING
    }

    /// Returns the estimated completion tokens of output messages.
    pub(crate) fn output_tokens(&mut self, messages: &[Message]) -> u64 {
        messages
            .iter()
            .map(|message| self.message_body(message))
            .sum()
    }

    fn message_body(&mut self, message: &Message) -> u64 {
        let mut tokens = message
            .content
            .as_deref()
            .map_or(0, |content| self.text(content));
        for call in &message.tool_calls {
            tokens += self.text(&call.name);
            tokens += match &call.arguments {
                Value::Null => 0,
                Value::String(arguments) => self.text(arguments),
                arguments => self.text(&arguments.to_string()),
            };
        }
        tokens
    }

    fn text(&mut self, text: &str) -> u64 {
        if let Some(tokenizer) = self.tokenizer
            && text.len() <= self.exact_bytes_left
        {
            self.exact_bytes_left -= text.len();
            return tokenizer.encode_ordinary(text).len() as u64;
        }
        approximate_tokens(text)
    }
}

/// Returns one token per four characters, rounded up.
pub fn approximate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_by_model() {
        assert_eq!(
            Encoding::for_model("gpt-4o-mini-2024-07-18"),
            Some(Encoding::O200kBase)
        );
        assert_eq!(
            Encoding::for_model("openai/gpt-4.1"),
            Some(Encoding::O200kBase)
        );
        assert_eq!(Encoding::for_model("o3-mini"), Some(Encoding::O200kBase));
        assert_eq!(Encoding::for_model("GPT-5"), Some(Encoding::O200kBase));
        assert_eq!(
            Encoding::for_model("gpt-4-turbo"),
            Some(Encoding::Cl100kBase)
        );
        assert_eq!(
            Encoding::for_model("gpt-3.5-turbo"),
            Some(Encoding::Cl100kBase)
        );
        assert_eq!(Encoding::for_model("claude-3-5-haiku"), None);
        assert_eq!(Encoding::for_model("ollama"), None);
        assert_eq!(Encoding::for_model("o"), None);
    }

    #[test]
    fn approximation_rounds_up() {
        assert_eq!(approximate_tokens(""), 0);
        assert_eq!(approximate_tokens("abcd"), 1);
        assert_eq!(approximate_tokens("abcde"), 2);
        // Characters, not bytes: four two-byte characters are one token.
        assert_eq!(approximate_tokens("éééé"), 1);
    }

    #[test]
    fn budget_switches_to_approximation() {
        let mut counter = Counter::new(Some(Encoding::O200kBase));
        counter.exact_bytes_left = 4;
        // "aaaa aaaa" does not fit the budget: 9 characters are 3 approximate tokens.
        assert_eq!(counter.text("aaaa aaaa"), 3);
        assert_eq!(counter.exact_bytes_left, 4);
    }
}
