//! Token-overlap metrics: sentence BLEU and ROUGE-L.
//!
//! Both split text the same way. A run of letters, digits and marks is a word, and every
//! other character that is not whitespace is a token of its own. Each Han, Hiragana or
//! Katakana character is also a token, because those scripts do not separate words with
//! spaces.
//!
//! NOTE: Thai, Lao, Khmer and Burmese text is not segmented, so a run of it counts as one
//! word and scores in those languages are coarse.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

const MAX_BLEU_ORDER: usize = 4;

/// Computes sentence BLEU-4 of `candidate` against one `reference`, in `[0, 1]`.
///
/// Tokens are case-sensitive and punctuation counts. The modified n-gram precisions of
/// orders 1 to 4 are combined by their geometric mean. When the candidate is shorter than
/// the reference, the mean is multiplied by the brevity penalty `exp(1 - r / c)`.
///
/// Smoothing is the exponential method, method 3 of Chen and Cherry, "A Systematic
/// Comparison of Smoothing Techniques for Sentence-Level BLEU" (WMT 2014). It is also the
/// default `smooth_method` of sacrebleu's `BLEU` metric. The k-th order with no matching
/// n-gram gets precision `1 / (2^k * n-gram count)` instead of 0. Orders for which the
/// candidate has no n-grams at all are left out of the mean, as sacrebleu does with
/// `effective_order=True`, so a two-word exact match scores 1. A candidate with no
/// matching word scores 0, and two empty texts score 1.
///
/// NOTE: the tokenizer is this module's, not sacrebleu's `13a`, so scores can differ from
/// sacrebleu's where the two split text differently.
pub fn bleu(candidate: &str, reference: &str) -> f64 {
    let candidate = tokenize(candidate, false);
    let reference = tokenize(reference, false);
    if candidate.is_empty() || reference.is_empty() {
        return empty_score(&candidate, &reference);
    }

    let mut log_precision_sum = 0.0;
    let mut orders = 0;
    let mut smoothing = 1.0;
    for order in 1..=MAX_BLEU_ORDER {
        let total = candidate.len().saturating_sub(order - 1);
        if total == 0 {
            break;
        }

        let matches = clipped_matches(&candidate, &reference, order);
        if matches == 0 && order == 1 {
            return 0.0;
        }

        let precision = if matches == 0 {
            smoothing *= 2.0;
            1.0 / (smoothing * total as f64)
        } else {
            matches as f64 / total as f64
        };
        log_precision_sum += precision.ln();
        orders += 1;
    }

    let mean = (log_precision_sum / f64::from(orders)).exp();
    brevity_penalty(candidate.len(), reference.len()) * mean
}

/// Computes the ROUGE-L F-measure (β = 1) of `candidate` against `reference`, in `[0, 1]`.
///
/// Precision is the length of the longest common subsequence of words divided by the
/// candidate's word count, and recall divides it by the reference's. Words are lowercased
/// and punctuation is dropped, like the default tokenizer of Google's `rouge-score`
/// package. Unlike that tokenizer, which keeps only `a-z` and `0-9`, letters of every
/// script count, so non-English text is scored instead of erased. Two texts without
/// words score 1, and one without words scores 0.
pub fn rouge_l(candidate: &str, reference: &str) -> f64 {
    let candidate_tokens = tokenize(candidate, true);
    let reference_tokens = tokenize(reference, true);
    let candidate = words(&candidate_tokens);
    let reference = words(&reference_tokens);
    if candidate.is_empty() || reference.is_empty() {
        return empty_score(&candidate, &reference);
    }

    let common = longest_common_subsequence(&candidate, &reference);
    if common == 0 {
        return 0.0;
    }

    let precision = common as f64 / candidate.len() as f64;
    let recall = common as f64 / reference.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

fn empty_score<T>(candidate: &[T], reference: &[T]) -> f64 {
    if candidate.is_empty() && reference.is_empty() {
        1.0
    } else {
        0.0
    }
}

fn brevity_penalty(candidate_len: usize, reference_len: usize) -> f64 {
    if candidate_len >= reference_len {
        return 1.0;
    }
    (1.0 - reference_len as f64 / candidate_len as f64).exp()
}

/// Counts candidate n-grams that also occur in the reference, each at most as often as
/// it occurs there.
fn clipped_matches(candidate: &[String], reference: &[String], order: usize) -> usize {
    let reference_counts = count_ngrams(reference, order);
    count_ngrams(candidate, order)
        .into_iter()
        .map(|(ngram, count)| count.min(reference_counts.get(ngram).copied().unwrap_or(0)))
        .sum()
}

fn count_ngrams(tokens: &[String], order: usize) -> HashMap<&[String], usize> {
    let mut counts = HashMap::new();
    for ngram in tokens.windows(order) {
        *counts.entry(ngram).or_insert(0) += 1;
    }
    counts
}

/// Returns the LCS length with two rows of the dynamic program, so memory is linear.
fn longest_common_subsequence(left: &[&str], right: &[&str]) -> usize {
    let mut previous = vec![0; right.len() + 1];
    let mut current = vec![0; right.len() + 1];
    for left_token in left {
        for (j, right_token) in right.iter().enumerate() {
            current[j + 1] = if left_token == right_token {
                previous[j] + 1
            } else {
                current[j].max(previous[j + 1])
            };
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[right.len()]
}

fn words(tokens: &[String]) -> Vec<&str> {
    tokens
        .iter()
        .map(String::as_str)
        .filter(|token| token.chars().any(char::is_alphanumeric))
        .collect()
}

/// One token per Han, Hiragana or Katakana character, then runs of letters, digits and
/// marks, then any other character that is not whitespace. Marks are part of words so that
/// accents written as combining characters stay in their word.
const TOKEN_PATTERN: &str =
    r"[\p{Han}\p{Hiragana}\p{Katakana}]|[[\p{L}\p{N}\p{M}]--[\p{Han}\p{Hiragana}\p{Katakana}]]+|\S";

/// The compiled [`TOKEN_PATTERN`]. It is `None` only if the pattern were invalid, which a
/// unit test rules out.
static TOKEN_REGEX: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(TOKEN_PATTERN).ok());

fn tokenize(text: &str, lowercase: bool) -> Vec<String> {
    let Some(regex) = TOKEN_REGEX.as_ref() else {
        return text.split_whitespace().map(str::to_owned).collect();
    };

    regex
        .find_iter(text)
        .map(|token| {
            if lowercase {
                token.as_str().to_lowercase()
            } else {
                token.as_str().to_owned()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(got: f64, want: f64) {
        assert!((got - want).abs() < 1e-12, "got {got}, want {want}");
    }

    #[test]
    fn token_pattern_compiles() {
        assert!(TOKEN_REGEX.is_some());
    }

    #[test]
    fn tokenize_splits_punctuation() {
        let tokens = tokenize("Hello, world! It's 3.5 km.", false);
        let want = [
            "Hello", ",", "world", "!", "It", "'", "s", "3", ".", "5", "km", ".",
        ];
        assert_eq!(tokens, want);
    }

    #[test]
    fn tokenize_splits_han_and_kana() {
        assert_eq!(
            tokenize("東京へ行く", false),
            ["東", "京", "へ", "行", "く"]
        );
        assert_eq!(tokenize("Привет, мир", true), ["привет", ",", "мир"]);
    }

    #[test]
    fn tokenize_keeps_combining_accents() {
        assert_eq!(tokenize("cafe\u{301} noir", false), ["cafe\u{301}", "noir"]);
        assert_eq!(tokenize("नमस्ते दुनिया", false), ["नमस्ते", "दुनिया"]);
    }

    #[test]
    fn bleu_identical_is_one() {
        assert_close(
            bleu("the cat sat on the mat", "the cat sat on the mat"),
            1.0,
        );
        assert_close(bleu("Yes.", "Yes."), 1.0);
        assert_close(bleu("", ""), 1.0);
    }

    #[test]
    fn bleu_one_substitution() {
        // Precisions are 5/6, 3/5, 2/4 and 1/3. Lengths are equal, so no brevity penalty.
        let want = (5.0 / 6.0 * 3.0 / 5.0 * 2.0 / 4.0 * 1.0 / 3.0_f64).powf(0.25);
        assert_close(bleu("the cat sat on a mat", "the cat sat on the mat"), want);
        assert_close(want, 0.537_284_965_911_770_7);
    }

    #[test]
    fn bleu_smooths_missing_orders() {
        // Precisions are 4/5 and 2/4. No trigram or 4-gram matches, so those precisions
        // become 1 / (2 * 3) and 1 / (4 * 2).
        let want = (0.8 * 0.5 / 6.0 / 8.0_f64).powf(0.25);
        assert_close(bleu("a b c d e", "a b x d e"), want);
    }

    #[test]
    fn bleu_short_candidate() {
        // Three tokens: orders 1 to 3 match fully, order 4 has no n-gram and is left out.
        // The brevity penalty is exp(1 - 4 / 3).
        let want = (1.0 - 4.0 / 3.0_f64).exp();
        assert_close(bleu("the cat sat", "the cat sat down"), want);
    }

    #[test]
    fn bleu_no_overlap_is_zero() {
        assert_close(bleu("completely different words", "the cat sat"), 0.0);
        assert_close(bleu("", "the cat sat"), 0.0);
        assert_close(bleu("the cat", ""), 0.0);
    }

    #[test]
    fn bleu_clips_repeated_words() {
        // Unigram precision 2/7: "the" occurs twice in the reference. No bigram matches, so
        // the bigram precision is smoothed to 1 / (2 * 6) and later orders halve again.
        let want = (2.0 / 7.0 / 12.0 / 20.0 / 32.0_f64).powf(0.25);
        assert_close(
            bleu("the the the the the the the", "the cat on the mat"),
            want,
        );
    }

    #[test]
    fn bleu_is_case_sensitive() {
        assert!(bleu("The Cat", "the cat") < 1.0);
    }

    #[test]
    fn rouge_l_known_values() {
        let cases = [
            ("police kill the gunman", "police killed the gunman", 0.75),
            (
                "the cat was found under the bed",
                "the cat was under the bed",
                12.0 / 13.0,
            ),
            ("The cat, the HAT!", "the cat the hat", 1.0),
            ("a b c", "d e f", 0.0),
            ("", "", 1.0),
            ("...", "words", 0.0),
            (
                "Кошка сидит на ковре",
                "кошка на ковре",
                0.857_142_857_142_857_1,
            ),
        ];
        for (candidate, reference, want) in cases {
            assert_close(rouge_l(candidate, reference), want);
        }
    }

    #[test]
    fn lcs_two_rows() {
        let left = ["a", "b", "c", "b", "d", "a", "b"];
        let right = ["b", "d", "c", "a", "b", "a"];
        assert_eq!(longest_common_subsequence(&left, &right), 4);
    }
}
