//! Scorers on plain text: exact match, substring, regular expression, length and edit
//! similarity.

use std::borrow::Cow;

use super::{Sample, Score, ScoreError};

#[derive(Debug, Clone)]
pub(super) struct ExactMatch {
    pub(super) trim: bool,
    pub(super) ignore_case: bool,
}

impl ExactMatch {
    pub(super) fn score(&self, output: &str, expected: &str) -> Score {
        let output = normalize(output, self.trim, self.ignore_case);
        let expected = normalize(expected, self.trim, self.ignore_case);
        if output == expected {
            Score::pass()
        } else {
            Score::fail("output differs from the expected output")
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Contains {
    pub(super) value: Option<String>,
    pub(super) ignore_case: bool,
}

impl Contains {
    pub(super) fn score(&self, sample: &Sample<'_>) -> Result<Score, ScoreError> {
        let needle = match &self.value {
            Some(value) => value.as_str(),
            None => sample.require_expected("contains")?,
        };

        let output = normalize(sample.output, false, self.ignore_case);
        let needle = normalize(needle, false, self.ignore_case);
        if output.contains(needle.as_ref()) {
            Ok(Score::pass())
        } else {
            Ok(Score::fail(
                "output does not contain the expected substring",
            ))
        }
    }
}

fn normalize(text: &str, trim: bool, ignore_case: bool) -> Cow<'_, str> {
    let text = if trim { text.trim() } else { text };
    if ignore_case {
        Cow::Owned(text.to_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

pub(super) fn regex_match(regex: &regex::Regex, output: &str) -> Score {
    if regex.is_match(output) {
        Score::pass()
    } else {
        Score::fail("output does not match the pattern")
    }
}

/// Scores `1 - distance / max(len)` over Unicode scalar values. Two empty texts score 1.
pub(super) fn levenshtein(output: &str, expected: &str) -> Score {
    Score::graded(strsim::normalized_levenshtein(output, expected))
}

#[derive(Debug, Clone)]
pub(super) struct LengthBounds {
    pub(super) min: Option<usize>,
    pub(super) max: Option<usize>,
}

impl LengthBounds {
    pub(super) fn score(&self, output: &str) -> Score {
        let length = output.chars().count();
        if let Some(min) = self.min.filter(|min| length < *min) {
            return Score::fail(format!(
                "output has {length} characters, fewer than the minimum of {min}"
            ));
        }
        if let Some(max) = self.max.filter(|max| length > *max) {
            return Score::fail(format!(
                "output has {length} characters, more than the maximum of {max}"
            ));
        }
        Score::pass()
    }
}

#[cfg(test)]
mod tests {
    use crate::scorer::{Sample, ScorerSpec};

    fn score(spec: ScorerSpec, output: &str, expected: Option<&str>) -> f64 {
        let sample = Sample {
            output,
            expected,
            ..Sample::default()
        };
        spec.build().unwrap().score(&sample).unwrap().value
    }

    #[test]
    fn exact_cases() {
        let cases = [
            (false, false, "Paris", "Paris", 1.0),
            (false, false, "Paris ", "Paris", 0.0),
            (true, false, "  Paris\n", "Paris", 1.0),
            (false, false, "paris", "Paris", 0.0),
            (false, true, "paris", "Paris", 1.0),
            (false, true, "ÉTÉ", "été", 1.0),
            (true, true, " Straße ", "STRASSE", 0.0),
            (false, false, "東京", "東京", 1.0),
            (false, false, "", "", 1.0),
        ];
        for (trim, ignore_case, output, expected, want) in cases {
            let spec = ScorerSpec::Exact { trim, ignore_case };
            assert_eq!(
                score(spec, output, Some(expected)),
                want,
                "{output:?} vs {expected:?}"
            );
        }
    }

    #[test]
    fn contains_cases() {
        let cases = [
            (None, false, "The capital is Paris.", Some("Paris"), 1.0),
            (None, false, "The capital is paris.", Some("Paris"), 0.0),
            (None, true, "The capital is paris.", Some("PARIS"), 1.0),
            (Some("Берлин"), false, "Столица — Берлин.", None, 1.0),
            (Some("Берлин"), true, "СТОЛИЦА — БЕРЛИН.", None, 1.0),
            (
                Some("Lyon"),
                false,
                "The capital is Paris.",
                Some("Paris"),
                0.0,
            ),
            (None, false, "短い", Some("短い文"), 0.0),
        ];
        for (value, ignore_case, output, expected, want) in cases {
            let spec = ScorerSpec::Contains {
                value: value.map(str::to_owned),
                ignore_case,
            };
            assert_eq!(score(spec, output, expected), want, "{output:?}");
        }
    }

    #[test]
    fn regex_cases() {
        let cases = [
            (r"^\d{3}-\d{4}$", "555-1234", 1.0),
            (r"^\d{3}-\d{4}$", "call 555-1234", 0.0),
            (r"\d{3}-\d{4}", "call 555-1234", 1.0),
            (r"(?i)^yes\b", "YES, it is", 1.0),
            (r"^yes\b", "YES, it is", 0.0),
            (r"^\p{Han}+$", "漢字", 1.0),
            (r"^\p{Han}+$", "かな", 0.0),
        ];
        for (pattern, output, want) in cases {
            let spec = ScorerSpec::Regex {
                pattern: pattern.to_owned(),
            };
            assert_eq!(score(spec, output, None), want, "{pattern} on {output:?}");
        }
    }

    #[test]
    fn levenshtein_cases() {
        let cases = [
            ("kitten", "sitting", 1.0 - 3.0 / 7.0),
            ("same", "same", 1.0),
            ("", "", 1.0),
            ("", "abc", 0.0),
            ("café", "cafe", 0.75),
            ("日本語", "日本人", 1.0 - 1.0 / 3.0),
            ("🙂🙂", "🙂", 0.5),
        ];
        for (output, expected, want) in cases {
            let got = score(ScorerSpec::Levenshtein, output, Some(expected));
            assert!(
                (got - want).abs() < 1e-12,
                "{output:?} vs {expected:?}: {got}"
            );
        }
    }

    #[test]
    fn length_cases() {
        let cases = [
            (Some(2), Some(4), "abc", 1.0),
            (Some(2), Some(4), "a", 0.0),
            (Some(2), Some(4), "abcde", 0.0),
            (None, Some(3), "äöü", 1.0),
            (None, Some(3), "äöüß", 0.0),
            (Some(1), None, "", 0.0),
            (Some(3), Some(3), "🙂🙂🙂", 1.0),
        ];
        for (min, max, output, want) in cases {
            let spec = ScorerSpec::Length { min, max };
            assert_eq!(score(spec, output, None), want, "{output:?}");
        }
    }

    #[test]
    fn length_reason_names_bound() {
        let spec = ScorerSpec::Length {
            min: None,
            max: Some(3),
        };
        let result = spec.build().unwrap().score(&Sample {
            output: "abcdef",
            ..Sample::default()
        });
        let reason = result.unwrap().reason.unwrap();
        assert_eq!(
            reason,
            "output has 6 characters, more than the maximum of 3"
        );
    }
}
