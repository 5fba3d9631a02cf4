//! Languages distinguished by their writing system: Chinese, Japanese, Korean, Russian and
//! Arabic.

/// A writing system, or the group of scripts this crate does not tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Script {
    Latin,
    Han,
    Kana,
    Hangul,
    Cyrillic,
    Arabic,
    Other,
}

/// Returns the script of a letter; `None` for digits, punctuation, spaces and symbols.
pub(super) fn script_of(c: char) -> Option<Script> {
    if !c.is_alphabetic() {
        return None;
    }
    let script = match u32::from(c) {
        0x0041..=0x024F | 0x1E00..=0x1EFF => Script::Latin,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F => Script::Han,
        0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F => Script::Kana,
        0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF => Script::Hangul,
        0x0400..=0x052F => Script::Cyrillic,
        0x0600..=0x06FF | 0x0750..=0x077F | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => Script::Arabic,
        _ => Script::Other,
    };
    Some(script)
}

/// Letter counts per script. A Han, kana or Hangul character counts three times, about the
/// letters of a Latin word it stands for, so a Chinese question with a few English terms
/// still reads as Chinese.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ScriptCounts {
    pub latin: usize,
    pub han: usize,
    pub kana: usize,
    pub hangul: usize,
    pub cyrillic: usize,
    pub arabic: usize,
    pub other: usize,
}

/// Weight of one Han, kana or Hangul character against one Latin letter.
const CJK_WEIGHT: usize = 3;

/// Minimum number of letters of a script, before weighting, to name a language by it.
const MIN_SCRIPT_LETTERS: usize = 5;

/// Letters specific to Cyrillic languages other than Russian: Ukrainian, Belarusian,
/// Serbian, Macedonian, Kazakh and others.
const NON_RUSSIAN_CYRILLIC: &str = "іїєґўјљњћђџѓќѕәғқңөұүһ";

/// Letters specific to Persian, Urdu and other languages written in Arabic script.
const NON_ARABIC_LETTERS: &str = "پچژگکیےٹڈڑںھ";

impl ScriptCounts {
    /// Counts the letters of `text` by script.
    pub fn of(text: &str) -> ScriptCounts {
        let mut counts = ScriptCounts::default();
        for c in text.chars() {
            match script_of(c) {
                Some(Script::Latin) => counts.latin += 1,
                Some(Script::Han) => counts.han += 1,
                Some(Script::Kana) => counts.kana += 1,
                Some(Script::Hangul) => counts.hangul += 1,
                Some(Script::Cyrillic) => counts.cyrillic += 1,
                Some(Script::Arabic) => counts.arabic += 1,
                Some(Script::Other) => counts.other += 1,
                None => {}
            }
        }
        counts
    }

    /// Returns the script that has more than 60 % of the weighted letters, if any.
    pub fn dominant(&self) -> Option<Script> {
        let weighted = [
            (Script::Latin, self.latin),
            (Script::Han, (self.han + self.kana) * CJK_WEIGHT),
            (Script::Hangul, self.hangul * CJK_WEIGHT),
            (Script::Cyrillic, self.cyrillic),
            (Script::Arabic, self.arabic),
            (Script::Other, self.other),
        ];
        let total: usize = weighted.iter().map(|(_, count)| count).sum();
        weighted
            .into_iter()
            .find(|(_, count)| *count * 10 > total * 6)
            .map(|(script, _)| script)
    }
}

/// Names the language of a text written mostly in a non-Latin script. Returns `None` for
/// Latin or mixed text, and for a script shared by languages this crate does not distinguish.
pub(super) fn detect_by_script(text: &str, counts: &ScriptCounts) -> Option<&'static str> {
    match counts.dominant()? {
        Script::Han => {
            let cjk = counts.han + counts.kana;
            if cjk < MIN_SCRIPT_LETTERS {
                None
            } else if counts.kana * 10 >= cjk {
                Some("ja")
            } else if counts.kana == 0 {
                Some("zh")
            } else {
                None
            }
        }
        Script::Hangul => (counts.hangul >= MIN_SCRIPT_LETTERS).then_some("ko"),
        Script::Cyrillic => {
            let russian = counts.cyrillic >= MIN_SCRIPT_LETTERS
                && !text
                    .chars()
                    .flat_map(char::to_lowercase)
                    .any(|c| NON_RUSSIAN_CYRILLIC.contains(c))
                && !looks_bulgarian(text);
            russian.then_some("ru")
        }
        Script::Arabic => {
            let arabic = counts.arabic >= MIN_SCRIPT_LETTERS
                && !text.contains(|c: char| NON_ARABIC_LETTERS.contains(c));
            arabic.then_some("ar")
        }
        Script::Latin | Script::Kana | Script::Other => None,
    }
}

/// Bulgarian uses `ъ` as a vowel and never `ы`; Russian text of any length has `ы`.
fn looks_bulgarian(text: &str) -> bool {
    let hard_signs = text.matches(['ъ', 'Ъ']).count();
    hard_signs >= 2 && !text.contains(['ы', 'Ы'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(text: &str) -> Option<&'static str> {
        detect_by_script(text, &ScriptCounts::of(text))
    }

    #[test]
    fn scripts() {
        let cases = [
            ("如何在Python中使用异步函数？请给我一个例子。", Some("zh")),
            ("東京の天気はどうですか？明日は雨が降りますか。", Some("ja")),
            ("오늘 서울 날씨는 어때요? 우산이 필요할까요?", Some("ko")),
            ("Привет! Как мне настроить сервер на Python?", Some("ru")),
            ("مرحبا، كيف يمكنني تثبيت هذه المكتبة؟", Some("ar")),
            ("Привіт! Як мені налаштувати сервер?", None),
            ("این یک متن فارسی است که باید شناخته نشود", None),
            (
                "Здравей, какво е това? Това е във файла, а не в България.",
                None,
            ),
            ("Hello there", None),
            ("你好", None),
        ];
        for (text, expected) in cases {
            assert_eq!(detect(text), expected, "in {text:?}");
        }
    }
}
