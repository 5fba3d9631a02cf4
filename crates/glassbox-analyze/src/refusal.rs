//! Model outputs that decline the request.
//!
//! A refusal is a fixed phrase in the first [`REFUSAL_WINDOW`] bytes of an output message,
//! where models put it: "I'm sorry, but I can't", "I can't help with that", "As an AI
//! language model, I cannot", "I must decline", and the common forms in French, German,
//! Spanish, Portuguese, Italian, Chinese and Japanese. The phrases need the words that make
//! them a refusal, so "I can't wait to help", "I can't help but notice" or "I'm afraid I
//! can't make it" do not match. A quoted or discussed phrase is not a refusal (see
//! [`crate::quoting`]), and neither is a limit followed in the same sentence by other help
//! ("I can't browse the web, but I can explain how"). Refusals later in a long response, and
//! refusals worded in other ways, are missed.

use std::ops::Range;
use std::sync::LazyLock;

use crate::pattern::{LazyRegex, compile, find_all, floor_char_boundary};
use crate::quoting::is_discussed;

/// How far into an output message a refusal may start, in bytes.
pub(crate) const REFUSAL_WINDOW: usize = 400;

static APOLOGY_THEN_CANNOT: LazyRegex = LazyLock::new(|| {
    compile(
        r"(?i)\b(?:I['’]m|I\s+am)\s+(?:so\s+|very\s+|really\s+|truly\s+)?(?:sorry|afraid)[,.]?\s+(?:but\s+)?I\s+(?:can['’]?t|cannot|can\s+not|won['’]t|will\s+not|am\s+unable\s+to|['’]m\s+unable\s+to|am\s+not\s+able\s+to|['’]m\s+not\s+able\s+to)\s+(?:help|assist|provide|comply|fulfill?|do\s+(?:that|this)|create|generate|write|share|give|engage|support|answer|discuss|continue|produce|offer|participate|complete|process)\b|\bsorry[,.]?\s+(?:but\s+)?I\s+(?:can['’]?t|cannot|won['’]t)\s+(?:help|assist|do\s+that|comply)\b",
    )
});
static CANNOT_HELP_WITH_THAT: LazyRegex = LazyLock::new(|| {
    compile(
        r"(?i)\bI\s+(?:can['’]?t|cannot|can\s+not|won['’]t|will\s+not|am\s+unable\s+to|['’]m\s+unable\s+to|am\s+not\s+able\s+to|['’]m\s+not\s+able\s+to)\s+(?:(?:help|assist)(?:\s+you)?\s+with\s+(?:that|this|your\s+request|requests?\s+like\s+(?:that|this))\b|comply\b(?:\s+with\s+(?:that|this|your)\b)?|fulfill?\s+(?:that|this|your)\b|provide\s+(?:that|this|assistance|help\s+with)\b|do\s+that(?:\s*[.!,]|\s+for\s+you\b)|engage\s+in\b|participate\s+in\b|support\s+that\b)",
    )
});
static AS_AN_AI: LazyRegex = LazyLock::new(|| {
    compile(
        r"(?i)\bAs\s+an\s+AI(?:\s+language\s+model|\s+assistant|\s+model)?,?\s+I\s+(?:can['’]?t|cannot|can\s+not|am\s+not\s+able|['’]m\s+not\s+able|am\s+unable|['’]m\s+unable|won['’]t|must\s+not)\b",
    )
});
static DECLINE: LazyRegex = LazyLock::new(|| {
    compile(
        r"(?i)\bI\s+(?:must|have\s+to|need\s+to)\s+(?:respectfully\s+|politely\s+)?(?:decline|refuse)\b|\b(?:I['’]m|I\s+am)\s+not\s+(?:able|allowed|permitted)\s+to\s+(?:help|assist|provide|share|discuss|do\s+that)\b",
    )
});
static OTHER_LANGUAGES: LazyRegex = LazyLock::new(|| {
    compile(
        r"(?i)\b(?:je\s+suis\s+(?:vraiment\s+)?)?désolée?[,.]?\s+(?:mais\s+)?je\s+ne\s+(?:peux|suis\s+pas\s+en\s+mesure)\b|\bje\s+ne\s+peux\s+pas\s+(?:vous\s+|t['’]\s*)?aider\s+(?:avec|pour|à)\s+(?:ça|cela|ceci|cette\s+demande)|\b(?:es\s+tut\s+mir\s+leid|leider)[,.]?\s+(?:aber\s+)?(?:ich\s+kann|kann\s+ich)\s+(?:(?:ihnen|dir|dabei|damit|hierbei)\s+)*nicht\b|\bich\s+kann\s+(?:ihnen|dir)\s+(?:dabei|damit|hierbei)\s+nicht\s+helfen|\blo\s+siento[,.]?\s+(?:pero\s+)?no\s+puedo\b|\bno\s+puedo\s+ayudar(?:te|le)?\s+con\s+(?:eso|esto|esa\s+solicitud)|\b(?:desculpe|sinto\s+muito|lamento)[,.]?\s+(?:mas\s+)?(?:eu\s+)?não\s+posso\b|\bnão\s+posso\s+ajudar\s+com\s+(?:isso|isto)|\bmi\s+dispiace[,.]?\s+(?:ma\s+)?non\s+posso\b|\bnon\s+posso\s+aiutarti\s+con\s+(?:questo|questa\s+richiesta|ciò)|(?:很抱歉|抱歉|对不起)[，,]?\s*(?:但)?我(?:无法|不能)(?:帮助|协助|提供|满足|回答|完成)|申し訳(?:ありません|ございません)が[、,]?.{0,20}?(?:お応えできません|お手伝いできません|対応できません|できません)",
    )
});

const PATTERNS: [&LazyRegex; 5] = [
    &APOLOGY_THEN_CANNOT,
    &CANNOT_HELP_WITH_THAT,
    &AS_AN_AI,
    &DECLINE,
    &OTHER_LANGUAGES,
];

/// Phrases that turn a refusal into a partial response when they follow it in the same
/// sentence, lowercase.
const HELP_INSTEAD: [&str; 6] = [
    "but i can",
    "but here",
    "but you can",
    "however",
    "instead",
    "but i'd be happy",
];

/// Returns the range of the first refusal in the opening of `text`, if any, widened to the
/// phrases that overlap it (`Sorry, I can't help` and `I can't help with that`).
pub(crate) fn detect(text: &str) -> Option<Range<usize>> {
    let window_end = floor_char_boundary(text, REFUSAL_WINDOW + leading_space(text));
    let mut ranges: Vec<Range<usize>> = PATTERNS
        .iter()
        .flat_map(|pattern| find_all(pattern, text))
        .filter(|found| found.start() < window_end)
        .map(|found| found.range())
        .filter(|range| !is_discussed(text, range.clone()) && !offers_help_instead(text, range.end))
        .collect();
    ranges.sort_by_key(|range| range.start);

    let mut ranges = ranges.into_iter();
    let mut refusal = ranges.next()?;
    for range in ranges {
        if range.start > refusal.end {
            break;
        }
        refusal.end = refusal.end.max(range.end);
    }
    Some(refusal)
}

/// Returns true when the rest of the sentence after `end` offers other help, as in "I can't
/// browse the web, but I can explain how to check".
fn offers_help_instead(text: &str, end: usize) -> bool {
    let rest = text.get(end..).unwrap_or_default();
    let sentence = rest
        .find(['.', '!', '?', '\n'])
        .map_or(rest, |sentence_end| &rest[..sentence_end]);
    let sentence = sentence.to_lowercase().replace('’', "'");
    HELP_INSTEAD.iter().any(|phrase| sentence.contains(phrase))
}

fn leading_space(text: &str) -> usize {
    text.len() - text.trim_start().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(text: &str) -> Option<&str> {
        detect(text).map(|range| &text[range])
    }

    #[test]
    fn patterns_compile() {
        for pattern in PATTERNS {
            assert!(pattern.is_some());
        }
    }

    #[test]
    fn positives() {
        let cases = [
            "I can't help with that.",
            "I’m sorry, but I can’t assist with this request.",
            "I'm sorry, but I cannot provide instructions for making weapons.",
            "As an AI language model, I cannot browse the internet.",
            "Sorry, I can't help with requests like that.",
            "I won't comply with that.",
            "I'm sorry, Dave. I'm afraid I can't do that.",
            "I must respectfully decline.",
            "I'm not able to help with that topic.",
            "Je suis désolé, mais je ne peux pas répondre à cette question.",
            "Es tut mir leid, aber ich kann Ihnen dabei nicht helfen.",
            "Lo siento, pero no puedo ayudarte con eso.",
            "Desculpe, mas não posso ajudar com isso.",
            "Mi dispiace, ma non posso aiutarti con questo.",
            "抱歉，我无法帮助你完成这个请求。",
            "申し訳ありませんが、そのご依頼にはお応えできません。",
        ];
        for text in cases {
            assert!(refusal(text).is_some(), "no refusal in {text:?}");
        }
    }

    #[test]
    fn negatives() {
        let cases = [
            "I can't wait to help you plan the trip!",
            "I can't help but notice the bug on line 3.",
            "Sure! Here is the code you asked for.",
            "The error says \"I can't help with that\" when the filter fires, so check the logs.",
            "A typical example of a refusal is I'm sorry, but I cannot do that.",
            "You cannot use that API in version 2.",
            "As an AI, I can't feel emotions, but I can help you write the poem.",
            "I can't provide real-time prices, however you can check the exchange site.",
            "I'm afraid I can't make it to the meeting tomorrow.",
            "I won't do that again, promise.",
            "I'm sorry, but I can't find the file you mentioned.",
        ];
        for text in cases {
            assert_eq!(refusal(text), None, "in {text:?}");
        }
    }

    #[test]
    fn late_refusal_is_ignored() {
        let text = format!(
            "{} I can't help with that.",
            "Here is a long answer. ".repeat(30)
        );
        assert_eq!(refusal(&text), None);
    }
}
