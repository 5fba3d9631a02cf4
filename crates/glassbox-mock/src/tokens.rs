//! The token rule: one token per whitespace-separated word, plus a fixed cached prefix when a
//! text carries the cache marker.

use serde_json::Value;

/// Text that, anywhere in a counted input text, makes the request report cache-read tokens.
pub const CACHE_MARKER: &str = "[cached]";

/// Cache-read tokens reported for a request whose input contains [`CACHE_MARKER`].
pub const CACHED_TOKENS: u64 = 32;

/// Counts the words of `text`.
pub(crate) fn count_words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// Running count of a request's input texts.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct InputTally {
    words: u64,
    cached: bool,
}

impl InputTally {
    pub fn add(&mut self, text: &str) {
        self.words += count_words(text);
        self.cached |= text.contains(CACHE_MARKER);
    }

    /// Counts an input given as token ids, one token per id.
    pub fn add_token_ids(&mut self, count: usize) {
        self.words += count as u64;
    }

    /// Input tokens outside the cache: the words counted, at least 1.
    pub fn uncached_tokens(&self) -> u64 {
        self.words.max(1)
    }

    /// Cache-read tokens: [`CACHED_TOKENS`] when the marker was seen, else 0.
    pub fn cached_tokens(&self) -> u64 {
        if self.cached { CACHED_TOKENS } else { 0 }
    }
}

/// Joins the text of a message `content`: a string, or an array of parts or blocks whose `text`
/// fields are taken (OpenAI's content parts, Anthropic's text blocks, Responses input parts).
pub(crate) fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter_map(|part| part.get("text").and_then(Value::as_str))
                .collect();
            texts.join(" ")
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn count_words_splits_on_whitespace() {
        assert_eq!(count_words("Hello, world!\n  again\t"), 3);
        assert_eq!(count_words(""), 0);
    }

    #[test]
    fn tally_is_at_least_one() {
        assert_eq!(InputTally::default().uncached_tokens(), 1);
    }

    #[test]
    fn tally_sums_texts_and_sees_marker() {
        let mut tally = InputTally::default();
        tally.add("be brief");
        tally.add("[cached] what is up");

        assert_eq!(tally.uncached_tokens(), 6);
        assert_eq!(tally.cached_tokens(), CACHED_TOKENS);
    }

    #[test]
    fn content_text_of_parts() {
        let parts = json!([
            {"type": "text", "text": "first part"},
            {"type": "image_url", "image_url": {"url": "data:,"}},
            {"type": "input_text", "text": "second"},
        ]);

        assert_eq!(content_text(&parts), "first part second");
        assert_eq!(content_text(&json!("plain")), "plain");
        assert_eq!(content_text(&Value::Null), "");
    }
}
