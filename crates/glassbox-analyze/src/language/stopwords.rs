//! Languages in Latin script distinguished by their most frequent words.
//!
//! Each language has a list of its most frequent short words. A word in several lists counts
//! for each of those languages with the weight 1/n, so `de` (French, Spanish, Portuguese,
//! Dutch) moves nothing while `the` or `het` decides. A language is named only when its score
//! is at least [`MIN_SCORE`], at least [`MIN_LEAD`] times the runner-up's, and at least
//! [`MIN_SHARE`] of the words, so short or code-heavy texts stay unnamed. Chunks that look
//! like code or data (`created_at`, `now()`, `x = 1`, `550e8400-e29b`) and words in capitals
//! (`SELECT`, `FROM`) are not counted.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

/// Minimum weighted count of frequent words.
const MIN_SCORE: f64 = 2.0;
/// Minimum ratio between the best and the second-best score.
const MIN_LEAD: f64 = 1.5;
/// Minimum share of the text's words that count for the best language.
const MIN_SHARE: f64 = 0.1;
/// Words read at most. A few hundred words decide any text that can be decided, and the cap
/// bounds the cost of long prompts.
const MAX_WORDS: usize = 300;
/// How often, in words, the scores are checked for a clear winner, which ends the reading
/// early: a score of [`CLEAR_SCORE`] at [`CLEAR_LEAD`] times the runner-up's.
const CHECK_EVERY: usize = 50;
/// The score that decides before the end of the text.
const CLEAR_SCORE: f64 = 8.0;
/// The lead that decides before the end of the text.
const CLEAR_LEAD: f64 = 3.0;

/// Frequent words by language, lowercase, with elided forms split at the apostrophe
/// (`c'est` is `c` and `est`).
const WORDS: [(&str, &[&str]); 7] = [
    (
        "en",
        &[
            "the", "be", "to", "of", "and", "in", "that", "have", "it", "for", "not", "on", "with",
            "he", "as", "you", "do", "at", "this", "but", "his", "by", "from", "they", "we", "her",
            "she", "or", "an", "will", "my", "all", "would", "there", "their", "what", "so", "if",
            "about", "who", "which", "me", "when", "can", "just", "your", "some", "could", "them",
            "than", "then", "how", "our", "because", "these", "is", "are", "was", "were", "has",
            "had", "been", "does", "should", "please", "why", "where", "i", "any", "into",
        ],
    ),
    (
        "fr",
        &[
            "le", "la", "les", "de", "des", "du", "un", "une", "et", "est", "à", "en", "que",
            "qui", "pour", "pas", "sur", "avec", "ce", "cette", "ces", "je", "tu", "il", "elle",
            "nous", "vous", "ils", "elles", "sont", "mais", "ou", "où", "au", "aux", "dans", "par",
            "plus", "son", "sa", "ses", "leur", "mon", "ma", "mes", "votre", "vos", "notre", "ne",
            "se", "lui", "on", "été", "être", "avoir", "fait", "comme", "tout", "très", "bien",
            "peut", "peux", "aussi", "quoi", "comment", "pourquoi", "quand", "oui", "non", "merci",
            "bonjour", "c", "j", "qu", "n", "d", "l", "ai", "y",
        ],
    ),
    (
        "de",
        &[
            "der", "die", "das", "und", "ist", "nicht", "ich", "sie", "es", "ein", "eine", "einen",
            "einem", "einer", "zu", "mit", "den", "dem", "des", "auf", "für", "von", "wie", "sind",
            "auch", "was", "wir", "du", "bitte", "kann", "können", "oder", "aber", "noch", "nur",
            "wenn", "mein", "meine", "ihr", "ihre", "werden", "wird", "hat", "haben", "sehr",
            "danke", "im", "am", "an", "bei", "nach", "aus", "um", "so", "dass", "sich", "als",
            "man", "hier", "kein", "keine", "diese", "dieser", "dieses", "mir", "mich", "dir",
            "dich", "uns", "warum", "wo", "gibt", "in",
        ],
    ),
    (
        "es",
        &[
            "el", "la", "los", "las", "de", "del", "que", "y", "en", "un", "una", "es", "por",
            "con", "para", "no", "se", "lo", "le", "les", "su", "sus", "al", "como", "pero", "más",
            "está", "están", "son", "mi", "mis", "tu", "tus", "qué", "cómo", "puedes", "puede",
            "usted", "gracias", "hola", "muy", "también", "este", "esta", "estos", "estas", "hay",
            "cuál", "ser", "fue", "ya", "me", "te", "nos", "o", "porque", "sí", "cuando", "donde",
            "dónde", "sin", "sobre", "entre", "hasta", "desde", "todo", "todos", "a",
        ],
    ),
    (
        "pt",
        &[
            "o", "a", "os", "as", "de", "do", "da", "dos", "das", "que", "e", "em", "no", "na",
            "nos", "nas", "um", "uma", "é", "para", "com", "não", "por", "mais", "como", "mas",
            "você", "vocês", "meu", "minha", "está", "estão", "são", "também", "isso", "isto",
            "muito", "obrigado", "obrigada", "olá", "qual", "pode", "ao", "aos", "seu", "sua",
            "se", "eu", "ele", "ela", "nós", "foi", "ser", "ter", "tem", "já", "quando", "onde",
            "porque", "sim", "sem", "sobre", "entre", "até", "esse", "essa", "este", "esta",
        ],
    ),
    (
        "it",
        &[
            "il", "lo", "la", "i", "gli", "le", "di", "da", "in", "con", "su", "per", "tra", "fra",
            "un", "una", "uno", "e", "è", "non", "che", "chi", "del", "della", "dello", "dei",
            "delle", "degli", "al", "alla", "nel", "nella", "sono", "come", "ma", "mi", "ti", "si",
            "ci", "questo", "questa", "quello", "anche", "più", "cosa", "perché", "grazie", "ciao",
            "puoi", "può", "molto", "tu", "io", "lui", "lei", "noi", "voi", "loro", "ho", "hai",
            "ha", "abbiamo", "essere", "fare", "se", "già", "quando", "dove", "sempre", "tutto",
            "tutti", "l", "c",
        ],
    ),
    (
        "nl",
        &[
            "de",
            "het",
            "een",
            "en",
            "van",
            "is",
            "dat",
            "niet",
            "ik",
            "je",
            "jij",
            "u",
            "op",
            "te",
            "zijn",
            "met",
            "voor",
            "er",
            "maar",
            "ook",
            "wat",
            "hoe",
            "kun",
            "kunt",
            "kan",
            "dit",
            "die",
            "naar",
            "om",
            "wordt",
            "worden",
            "hebben",
            "heeft",
            "bij",
            "mijn",
            "graag",
            "dank",
            "bedankt",
            "alsjeblieft",
            "waarom",
            "geen",
            "wel",
            "nog",
            "al",
            "als",
            "dan",
            "zo",
            "ze",
            "we",
            "wij",
            "hij",
            "zij",
            "uit",
            "aan",
            "door",
            "over",
            "onze",
            "jullie",
            "welke",
            "moet",
            "in",
        ],
    ),
];

/// FNV-1a, a faster hash than the default for the short words looked up here; the keys
/// are this file's constants, so collisions cannot be forced.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

type WordIndex = HashMap<&'static str, Vec<usize>, BuildHasherDefault<Fnv>>;

/// For each frequent word, the indexes in [`WORDS`] of the languages that list it.
static INDEX: LazyLock<WordIndex> = LazyLock::new(|| {
    let mut index = WordIndex::default();
    for (language, (_, words)) in WORDS.iter().enumerate() {
        for word in *words {
            let languages = index.entry(word).or_default();
            if !languages.contains(&language) {
                languages.push(language);
            }
        }
    }
    index
});

/// Names the language of a Latin-script text; `None` when the evidence is too weak.
pub(super) fn detect_by_words(text: &str) -> Option<&'static str> {
    let mut scores = [0.0_f64; WORDS.len()];
    let mut words = 0_usize;
    let mut lowercase = String::new();

    let prose_words = text
        .split_whitespace()
        .filter(|chunk| !looks_like_code(chunk))
        .flat_map(|chunk| chunk.split(|c: char| !c.is_alphabetic()))
        .filter(|word| !word.is_empty() && !is_capitalized_keyword(word));
    for word in prose_words.take(MAX_WORDS) {
        words += 1;
        lowercase.clear();
        if word.is_ascii() {
            lowercase.push_str(word);
            lowercase.make_ascii_lowercase();
        } else {
            lowercase.extend(word.chars().flat_map(char::to_lowercase));
        }
        if let Some(languages) = INDEX.get(lowercase.as_str()) {
            let weight = 1.0 / languages.len() as f64;
            for &language in languages {
                scores[language] += weight;
            }
        }
        if words.is_multiple_of(CHECK_EVERY) && is_clear(&scores, words) {
            break;
        }
    }
    decide(&scores, words)
}

/// Returns true for a chunk of code or data: a digit, an identifier with `_`, an operator or
/// a bracket pair.
fn looks_like_code(chunk: &str) -> bool {
    const MARKERS: &[u8] = b"_={};<>\\`|";
    const PAIRS: [&[u8]; 3] = [b"()", b"::", b"->"];
    let bytes = chunk.as_bytes();
    bytes
        .iter()
        .any(|byte| byte.is_ascii_digit() || MARKERS.contains(byte))
        || bytes.windows(2).any(|pair| PAIRS.contains(&pair))
}

/// Returns true for a word in capitals, such as a SQL keyword or an acronym.
fn is_capitalized_keyword(word: &str) -> bool {
    word.chars().count() > 1 && word.chars().all(char::is_uppercase)
}

/// Returns true when one language leads so clearly that more words would not change the
/// decision.
fn is_clear(scores: &[f64; WORDS.len()], words: usize) -> bool {
    let (mut best, mut runner_up) = (0.0_f64, 0.0_f64);
    for &score in scores {
        if score > best {
            runner_up = best;
            best = score;
        } else if score > runner_up {
            runner_up = score;
        }
    }
    best >= CLEAR_SCORE && best >= runner_up * CLEAR_LEAD && best >= words as f64 * MIN_SHARE
}

fn decide(scores: &[f64; WORDS.len()], words: usize) -> Option<&'static str> {
    let mut ranked: Vec<(usize, f64)> = scores.iter().copied().enumerate().collect();
    ranked.sort_by(|left, right| right.1.total_cmp(&left.1));
    let (best, best_score) = ranked[0];
    let runner_up = ranked[1].1;

    let confident = best_score >= MIN_SCORE
        && best_score >= runner_up * MIN_LEAD
        && best_score >= words as f64 * MIN_SHARE;
    confident.then_some(WORDS[best].0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages() {
        let cases = [
            (
                "Can you tell me how the cache works and why it is slow?",
                "en",
            ),
            (
                "Bonjour, pouvez-vous m'expliquer comment fonctionne le cache ? C'est très lent.",
                "fr",
            ),
            (
                "Kannst du mir bitte erklären, wie der Cache funktioniert? Er ist sehr langsam.",
                "de",
            ),
            (
                "Hola, ¿puedes explicarme cómo funciona la caché? Es muy lenta y no sé por qué.",
                "es",
            ),
            (
                "Olá, você pode me explicar como funciona o cache? Está muito lento e não sei por quê.",
                "pt",
            ),
            (
                "Ciao, puoi spiegarmi come funziona la cache? È molto lenta e non so perché.",
                "it",
            ),
            (
                "Hallo, kun je mij uitleggen hoe de cache werkt? Het is erg traag en ik weet niet waarom.",
                "nl",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(detect_by_words(text), Some(expected), "in {text:?}");
        }
    }

    #[test]
    fn unsure() {
        let cases = [
            "OK",
            "Thanks!",
            "fn main() { let x = vec![1, 2, 3]; println!(\"{x:?}\"); }",
            "SELECT id, name FROM users WHERE created_at > now() - interval '1 day'",
            "id 550e8400-e29b-41d4-a716-446655440000 and d4e5-a1b2-c3d4",
        ];
        for text in cases {
            assert_eq!(detect_by_words(text), None, "in {text:?}");
        }
    }
}
