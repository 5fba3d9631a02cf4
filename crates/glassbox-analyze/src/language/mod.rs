//! A small language detector and the input/output language check.
//!
//! [`detect_language`] names English, French, German, Spanish, Portuguese, Italian and
//! Dutch by their most frequent words, and Chinese, Japanese, Korean, Russian and Arabic by
//! their scripts. It returns `None` when unsure: short texts, code, mixed scripts, and
//! languages it does not know, including those that share a script with a known one
//! (Ukrainian, Bulgarian, Persian). Only the first [`SAMPLE_BYTES`] bytes of a text are read,
//! with fenced code blocks left out.
//!
//! The input language is that of the last user message, or of all user messages together
//! when the last one is too short. The output language is that of the output messages' text.
//! A differing output is not flagged when the input requests a translation or names the
//! output language (`Answer in French`), because the difference is then expected.

mod script;
mod stopwords;

use glassbox_model::Message;

use self::script::{Script, ScriptCounts, detect_by_script};
use self::stopwords::detect_by_words;
use crate::pattern::floor_char_boundary;

/// How much of a text the detector reads, in bytes.
pub const SAMPLE_BYTES: usize = 2048;

/// Language names by ISO 639-1 code: the English name first, then names in other languages
/// that a request for that output language may use. All lowercase.
const NAMES: [(&str, &[&str]); 12] = [
    (
        "en",
        &[
            "english",
            "anglais",
            "inglés",
            "ingles",
            "inglês",
            "inglese",
            "englisch",
            "engels",
            "英语",
            "英文",
            "英語",
            "영어",
            "английск",
        ],
    ),
    (
        "fr",
        &[
            "french",
            "français",
            "francais",
            "francés",
            "frances",
            "francês",
            "francese",
            "französisch",
            "frans",
        ],
    ),
    (
        "de",
        &[
            "german", "allemand", "alemán", "aleman", "alemão", "tedesco", "deutsch", "duits",
        ],
    ),
    (
        "es",
        &[
            "spanish", "espagnol", "español", "espanol", "espanhol", "spagnolo", "spanisch",
            "spaans",
        ],
    ),
    (
        "pt",
        &[
            "portuguese",
            "portugais",
            "portugués",
            "portugues",
            "português",
            "portoghese",
            "portugiesisch",
            "portugees",
        ],
    ),
    (
        "it",
        &["italian", "italien", "italiano", "italienisch", "italiaans"],
    ),
    (
        "nl",
        &[
            "dutch",
            "néerlandais",
            "neerlandais",
            "neerlandés",
            "holandês",
            "olandese",
            "niederländisch",
            "nederlands",
        ],
    ),
    (
        "zh",
        &[
            "chinese",
            "mandarin",
            "chinois",
            "chino",
            "chinês",
            "cinese",
            "chinesisch",
            "chinees",
            "中文",
            "汉语",
            "中国語",
        ],
    ),
    (
        "ja",
        &[
            "japanese",
            "japonais",
            "japonés",
            "japonês",
            "giapponese",
            "japanisch",
            "japans",
            "日本語",
            "日语",
        ],
    ),
    (
        "ko",
        &[
            "korean",
            "coréen",
            "coreen",
            "coreano",
            "koreanisch",
            "koreaans",
            "한국어",
            "韩语",
            "韓国語",
        ],
    ),
    (
        "ru",
        &["russian", "russe", "ruso", "russo", "russisch", "русск"],
    ),
    (
        "ar",
        &[
            "arabic",
            "arabe",
            "árabe",
            "arabo",
            "arabisch",
            "عربي",
            "العربية",
        ],
    ),
];

/// Word stems of "translate" in the detected languages.
const TRANSLATION_WORDS: [&str; 12] = [
    "translat",
    "tradu",
    "übersetz",
    "vertaal",
    "翻译",
    "翻譯",
    "翻訳",
    "번역",
    "перевед",
    "перевод",
    "ترجم",
    "traslad",
];

/// Names the language of `text` as an ISO 639-1 code; `None` when unsure.
pub fn detect_language(text: &str) -> Option<&'static str> {
    let sample = prose_sample(text);
    let counts = ScriptCounts::of(&sample);
    match counts.dominant()? {
        Script::Latin => detect_by_words(&sample),
        _ => detect_by_script(&sample, &counts),
    }
}

/// Returns the English name of a language code that [`detect_language`] returns.
pub fn language_name(code: &str) -> Option<&'static str> {
    NAMES
        .iter()
        .find(|(known, _)| *known == code)
        .and_then(|(_, names)| names.first().copied())
}

/// Returns the start of `text` without fenced code blocks, cut at [`SAMPLE_BYTES`].
fn prose_sample(text: &str) -> String {
    let head = &text[..floor_char_boundary(text, SAMPLE_BYTES)];
    head.split("```").step_by(2).collect::<Vec<_>>().join(" ")
}

/// Detects the language of the user messages: the last one, else all of them together.
pub(crate) fn input_language(messages: &[Message]) -> Option<&'static str> {
    let user_texts: Vec<&str> = messages
        .iter()
        .filter(|message| is_user(&message.role))
        .filter_map(|message| message.content.as_deref())
        .collect();
    let last = user_texts.last().and_then(|text| detect_language(text));
    if last.is_some() || user_texts.len() < 2 {
        // With one user message, joining them gives that message again.
        return last;
    }
    detect_language(&user_texts.join("\n"))
}

/// Detects the language of the output messages' text.
pub(crate) fn output_language(messages: &[Message]) -> Option<&'static str> {
    let text: Vec<&str> = messages
        .iter()
        .filter_map(|message| message.content.as_deref())
        .collect();
    detect_language(&text.join("\n"))
}

/// Returns true when any input message requests a translation or names `output_language`.
pub(crate) fn output_language_requested(messages: &[Message], output_language: &str) -> bool {
    let names = NAMES
        .iter()
        .find(|(code, _)| *code == output_language)
        .map_or(&[][..], |(_, names)| *names);
    messages
        .iter()
        .filter_map(|message| message.content.as_deref())
        .map(str::to_lowercase)
        .any(|text| {
            TRANSLATION_WORDS.iter().any(|word| text.contains(word))
                || names.iter().any(|name| text.contains(name))
        })
}

fn is_user(role: &str) -> bool {
    role.eq_ignore_ascii_case("user") || role.eq_ignore_ascii_case("human")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_blocks_are_left_out() {
        let text = "Voici le code que vous avez demandé, il est très simple :\n```rust\nfn main() { let the_value = 1; if the_value > 0 { return; } }\n```\nC'est tout.";
        assert_eq!(detect_language(text), Some("fr"));
    }

    #[test]
    fn input_uses_last_user_message() {
        let messages = vec![
            Message::text(
                "system",
                "You are a helpful assistant that answers questions.",
            ),
            Message::text(
                "user",
                "Can you tell me what the weather is like in Paris today?",
            ),
            Message::text("assistant", "It is sunny."),
            Message::text("user", "Et demain, est-ce qu'il va pleuvoir sur la ville ?"),
        ];
        assert_eq!(input_language(&messages), Some("fr"));
    }

    #[test]
    fn input_joins_short_user_messages() {
        let messages = vec![
            Message::text("user", "Où est le"),
            Message::text("user", "carton bleu que nous avons"),
            Message::text("user", "reçu de la part de la société ?"),
        ];
        assert_eq!(input_language(&messages[2..]), None);
        assert_eq!(input_language(&messages), Some("fr"));
    }

    #[test]
    fn requested_output_language() {
        let system_prompt = vec![Message::text("system", "Always answer in French.")];
        assert!(output_language_requested(&system_prompt, "fr"));

        let translate = vec![Message::text(
            "user",
            "Translate this to Spanish: good morning",
        )];
        assert!(output_language_requested(&translate, "es"));

        let plain = vec![Message::text("user", "What is the capital of Spain?")];
        assert!(!output_language_requested(&plain, "fr"));
    }

    #[test]
    fn names() {
        assert_eq!(language_name("ja"), Some("japanese"));
        assert_eq!(language_name("xx"), None);
    }
}
