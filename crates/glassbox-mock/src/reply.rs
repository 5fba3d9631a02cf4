//! The provider-neutral reply: the output the mock generates for a conversation, and its usage.
//!
//! Each endpoint reads its request format into a [`Prompt`], and [`Reply::new`] decides the output
//! the same way for all of them; the endpoint then writes that reply in its own format.

use serde_json::{Map, Value, json};

use crate::behavior::Behavior;
use crate::tokens::{InputTally, count_words};

/// Output tokens reported for a tool call, whatever its arguments.
pub const TOOL_CALL_OUTPUT_TOKENS: u64 = 16;

/// Words of the last user message that the reply text repeats.
const ECHOED_WORDS: usize = 8;

/// Text in the final user message that makes the reply call a tool (compared in lowercase).
const TOOL_TRIGGER: &str = "use a tool";

/// Reason the output ended, in neutral terms. Each provider has its own words for these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finish {
    Stop,
    Length,
    ContentFilter,
    ToolUse,
}

/// A tool that the request declares.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tool {
    pub name: String,
    /// JSON schema of the arguments.
    pub parameters: Value,
}

/// Input of a reply, as an endpoint reads it from its request.
#[derive(Debug, Default, Clone)]
pub(crate) struct Prompt {
    pub tally: InputTally,
    /// Text of the last user message that has text.
    last_user_text: String,
    /// Whether the final message is from the user and contains [`TOOL_TRIGGER`].
    requests_tool: bool,
    pub first_tool: Option<Tool>,
}

impl Prompt {
    /// Counts a text that is not a message of its own, such as a system prompt or tool result.
    pub fn add_text(&mut self, text: &str) {
        self.tally.add(text);
    }

    /// Adds a message in order; `text` is its text without tool results.
    pub fn add_message(&mut self, from_user: bool, text: &str) {
        self.tally.add(text);
        if from_user && !text.trim().is_empty() {
            self.last_user_text = text.to_owned();
        }
        self.requests_tool = from_user && text.to_lowercase().contains(TOOL_TRIGGER);
    }
}

/// The output of a reply.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Output {
    Text(String),
    ToolCall { name: String, arguments: String },
}

/// Token usage of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    /// Input tokens outside the cache.
    pub uncached_input: u64,
    pub cached_input: u64,
    pub output: u64,
}

impl Usage {
    /// Returns all input tokens, as OpenAI counts them (cache reads included).
    pub fn total_input(&self) -> u64 {
        self.uncached_input + self.cached_input
    }

    pub fn total(&self) -> u64 {
        self.total_input() + self.output
    }
}

/// Output, finish reason and usage generated for a prompt.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    pub output: Output,
    pub finish: Finish,
    pub usage: Usage,
}

impl Reply {
    pub fn new(prompt: &Prompt, behavior: &Behavior) -> Self {
        let (output, natural_finish) = match (&prompt.first_tool, prompt.requests_tool) {
            (Some(tool), true) => (tool_call(tool), Finish::ToolUse),
            _ => (
                Output::Text(reply_text(&prompt.last_user_text)),
                Finish::Stop,
            ),
        };

        let output_tokens = match &output {
            Output::Text(text) => count_words(text).max(1),
            Output::ToolCall { .. } => TOOL_CALL_OUTPUT_TOKENS,
        };

        Self {
            output,
            finish: behavior.finish.unwrap_or(natural_finish),
            usage: Usage {
                uncached_input: prompt.tally.uncached_tokens(),
                cached_input: prompt.tally.cached_tokens(),
                output: output_tokens,
            },
        }
    }

    /// Returns the text that a stream sends in pieces: the reply text or the tool arguments.
    pub fn streamed_text(&self) -> &str {
        match &self.output {
            Output::Text(text) => text,
            Output::ToolCall { arguments, .. } => arguments,
        }
    }
}

/// Builds the reply text from the last user message.
pub(crate) fn reply_text(last_user_text: &str) -> String {
    let words: Vec<&str> = last_user_text
        .split_whitespace()
        .take(ECHOED_WORDS)
        .collect();
    if words.is_empty() {
        "Mock reply.".to_owned()
    } else {
        format!("Mock reply to: {}", words.join(" "))
    }
}

fn tool_call(tool: &Tool) -> Output {
    let mut arguments = Map::new();
    if let Some(properties) = tool.parameters.get("properties").and_then(Value::as_object) {
        for (name, schema) in properties {
            arguments.insert(name.clone(), sample_value(schema));
        }
    }

    Output::ToolCall {
        name: tool.name.clone(),
        arguments: Value::Object(arguments).to_string(),
    }
}

/// Picks a value that fits a property's JSON schema.
fn sample_value(schema: &Value) -> Value {
    if let Some(first) = schema.get("enum").and_then(|e| e.get(0)) {
        return first.clone();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("integer" | "number") => json!(1),
        Some("boolean") => json!(true),
        Some("array") => json!([]),
        Some("object") => json!({}),
        _ => json!("mock"),
    }
}

/// Splits `text` into `count` pieces of nearly equal length in characters, fewer when the text
/// is shorter; the pieces joined give the text back.
pub(crate) fn split_pieces(text: &str, count: usize) -> Vec<&str> {
    let chars: Vec<usize> = text.char_indices().map(|(at, _)| at).collect();
    let count = count.clamp(1, chars.len().max(1));

    let mut pieces = Vec::with_capacity(count);
    let mut start = 0;
    for piece in 1..=count {
        let end = chars.get(piece * chars.len() / count).copied();
        let end = end.unwrap_or(text.len());
        pieces.push(&text[start..end]);
        start = end;
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt_with_tool(final_text: &str) -> Prompt {
        let mut prompt = Prompt {
            first_tool: Some(Tool {
                name: "get_weather".to_owned(),
                parameters: json!({"type": "object", "properties": {
                    "city": {"type": "string"},
                    "days": {"type": "integer"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                }}),
            }),
            ..Prompt::default()
        };
        prompt.add_message(true, final_text);
        prompt
    }

    #[test]
    fn reply_text_echoes_eight_words() {
        assert_eq!(
            reply_text("one two three four five six seven eight nine"),
            "Mock reply to: one two three four five six seven eight"
        );
        assert_eq!(reply_text("  "), "Mock reply.");
    }

    #[test]
    fn reply_counts_tokens() {
        let mut prompt = Prompt::default();
        prompt.add_text("You are terse.");
        prompt.add_message(true, "Hello there [cached]");

        let reply = Reply::new(&prompt, &Behavior::default());

        assert_eq!(
            reply.output,
            Output::Text("Mock reply to: Hello there [cached]".to_owned())
        );
        assert_eq!(reply.finish, Finish::Stop);
        assert_eq!(
            reply.usage,
            Usage {
                uncached_input: 6,
                cached_input: 32,
                output: 6
            }
        );
    }

    #[test]
    fn reply_calls_first_tool() {
        let reply = Reply::new(
            &prompt_with_tool("Please USE A TOOL now"),
            &Behavior::default(),
        );

        let Output::ToolCall { name, arguments } = &reply.output else {
            panic!("expected a tool call, got {:?}", reply.output);
        };
        assert_eq!(name, "get_weather");
        assert_eq!(arguments, r#"{"city":"mock","days":1,"unit":"celsius"}"#);
        assert_eq!(reply.finish, Finish::ToolUse);
        assert_eq!(reply.usage.output, TOOL_CALL_OUTPUT_TOKENS);
    }

    #[test]
    fn reply_after_tool_result_is_text() {
        let mut prompt = prompt_with_tool("use a tool please");
        prompt.add_message(false, "{\"temperature\": 21}");

        let reply = Reply::new(&prompt, &Behavior::default());

        assert_eq!(
            reply.output,
            Output::Text("Mock reply to: use a tool please".to_owned())
        );
    }

    #[test]
    fn behavior_overrides_finish() {
        let behavior = Behavior {
            finish: Some(Finish::Length),
            ..Behavior::default()
        };

        let reply = Reply::new(&prompt_with_tool("use a tool"), &behavior);

        assert_eq!(reply.finish, Finish::Length);
    }

    #[test]
    fn split_pieces_rejoins() {
        let text = "Mock reply to: héllo wörld";

        let pieces = split_pieces(text, 8);

        assert_eq!(pieces.len(), 8);
        assert_eq!(pieces.concat(), text);
        assert!(pieces.iter().all(|p| !p.is_empty()));
    }

    #[test]
    fn split_pieces_short_text() {
        assert_eq!(split_pieces("ab", 8), ["a", "b"]);
        assert_eq!(split_pieces("abc", 0), ["abc"]);
        assert_eq!(split_pieces("", 3), [""]);
    }
}
