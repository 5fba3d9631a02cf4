//! Finding the score in a judge's reply and normalizing it to `[0, 1]`.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{JudgeError, excerpt};

/// Maximum length of a reason taken from a prose reply, in characters.
const MAX_PROSE_REASON_CHARS: usize = 500;

/// Tolerance for a score written just past a bound, such as `1.0000000001`.
const BOUND_TOLERANCE: f64 = 1e-9;

/// The range of scores a judge is asked to give, from which scores are normalized to `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JudgeScale {
    min: f64,
    max: f64,
}

impl JudgeScale {
    /// Returns a scale from `min` to `max`, both inclusive.
    ///
    /// # Errors
    ///
    /// Returns [`JudgeError::InvalidScale`] unless both are finite and `min < max`.
    pub fn new(min: f64, max: f64) -> Result<Self, JudgeError> {
        if min.is_finite() && max.is_finite() && min < max {
            return Ok(Self { min, max });
        }
        Err(JudgeError::InvalidScale { min, max })
    }

    /// Lower bound.
    pub fn min(&self) -> f64 {
        self.min
    }

    /// Upper bound.
    pub fn max(&self) -> f64 {
        self.max
    }
}

impl Default for JudgeScale {
    /// Returns the scale 0 to 1 that the default templates ask for.
    fn default() -> Self {
        Self { min: 0.0, max: 1.0 }
    }
}

/// A judge's score, normalized, with its reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JudgeVerdict {
    /// Score mapped linearly from the scale to `[0, 1]`.
    pub score: f64,
    /// Score as the judge wrote it.
    pub raw_score: f64,
    /// The judge's reason: the JSON `reason` (or `reasoning`, `explanation`) field, or the
    /// prose around a score cut to 500 characters. `None` for a bare number.
    pub reason: Option<String>,
}

/// A score found in the text, before normalization.
#[derive(Debug, PartialEq)]
struct RawVerdict {
    score: f64,
    /// The maximum written with the score, as in `4/5` or `4 out of 5`.
    out_of: Option<f64>,
    reason: Option<String>,
}

/// Parses a judge's reply into a score normalized with `scale`.
///
/// Accepted forms, tried in this order:
///
/// 1. The whole reply is a JSON object with a `score` key (any case): `{"score": 0.8,
///    "reason": "..."}`. The score may also be a string such as `"0.8"` or `"4/5"`.
/// 2. Such an object inside a Markdown code fence (```` ```json ````).
/// 3. Such an object anywhere in prose. The first one with a score is taken.
/// 4. A labelled score in prose: `Score: 7/10`, `**Rating:** 4 out of 5`, `score = 0.6`.
///    When several appear, the last is taken, because judges that reason first state their
///    verdict at the end.
/// 5. A bare number or fraction: `7`, `0.85`, `4/5`.
///
/// # Errors
///
/// Returns [`JudgeError::Unparsable`] when none of these is found,
/// [`JudgeError::OutOfScale`] for a score outside the scale and
/// [`JudgeError::ScaleMismatch`] when a written maximum (the `5` of `4/5`) differs from the
/// scale's maximum. Each quotes at most 100 characters of the reply.
pub fn parse_verdict(text: &str, scale: &JudgeScale) -> Result<JudgeVerdict, JudgeError> {
    let raw = find_raw_verdict(text).ok_or_else(|| JudgeError::Unparsable {
        excerpt: excerpt(text),
    })?;

    if let Some(out_of) = raw.out_of.filter(|out_of| !near(*out_of, scale.max)) {
        return Err(JudgeError::ScaleMismatch {
            denominator: out_of,
            min: scale.min,
            max: scale.max,
            excerpt: excerpt(text),
        });
    }

    if raw.score < scale.min - BOUND_TOLERANCE || raw.score > scale.max + BOUND_TOLERANCE {
        return Err(JudgeError::OutOfScale {
            score: raw.score,
            min: scale.min,
            max: scale.max,
            excerpt: excerpt(text),
        });
    }

    let normalized = (raw.score - scale.min) / (scale.max - scale.min);
    Ok(JudgeVerdict {
        score: normalized.clamp(0.0, 1.0),
        raw_score: raw.score,
        reason: raw.reason,
    })
}

fn near(left: f64, right: f64) -> bool {
    (left - right).abs() <= BOUND_TOLERANCE
}

fn find_raw_verdict(text: &str) -> Option<RawVerdict> {
    let text = text.trim();
    json_verdict(text)
        .or_else(|| fenced_verdict(text))
        .or_else(|| embedded_json_verdict(text))
        .or_else(|| labelled_verdict(text))
        .or_else(|| bare_verdict(text))
}

fn json_verdict(text: &str) -> Option<RawVerdict> {
    let value: Value = serde_json::from_str(text).ok()?;
    object_verdict(value.as_object()?)
}

fn object_verdict(object: &Map<String, Value>) -> Option<RawVerdict> {
    let score = field(object, &["score"])?;
    let (score, out_of) = match score {
        Value::Number(number) => (number.as_f64()?, None),
        Value::String(text) => parse_fraction(text.trim())?,
        _ => return None,
    };

    let reason = field(object, &["reason", "reasoning", "explanation"])
        .and_then(Value::as_str)
        .map(str::to_owned);
    Some(RawVerdict {
        score,
        out_of,
        reason,
    })
}

/// Returns the value of the first of `names` present in `object`, matching keys in any case.
fn field<'a>(object: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|name| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

fn fenced_verdict(text: &str) -> Option<RawVerdict> {
    let mut rest = text;
    while let Some(start) = rest.find("```") {
        let block = &rest[start + 3..];
        let body_start = block.find('\n').map_or(block.len(), |newline| newline + 1);
        let body = &block[body_start..];
        let end = body.find("```").unwrap_or(body.len());

        if let Some(verdict) = json_verdict(body[..end].trim()) {
            return Some(verdict);
        }
        rest = body.get(end + 3..).unwrap_or_default();
    }
    None
}

/// Tries each `{` in turn as the start of a JSON object, reading only as far as that object.
fn embedded_json_verdict(text: &str) -> Option<RawVerdict> {
    text.match_indices('{').find_map(|(start, _)| {
        let mut values = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        let value = values.next()?.ok()?;
        object_verdict(value.as_object()?)
    })
}

/// `score`, `rating` or `grade`, optional `is`/`of`, `:` or `=`, Markdown emphasis, a
/// number, then optionally `/ max` or `out of max`.
const LABELLED_PATTERN: &str = r"(?i)\b(?:score|rating|grade)\b(?:\s+(?:is|of))?\s*[*_]*\s*[:=]?\s*[*_]*\s*(-?\d+(?:\.\d+)?)(?:\s*(?:/|out\s+of)\s*(\d+(?:\.\d+)?))?";

/// A bare number or fraction, with optional emphasis and a final period.
const BARE_PATTERN: &str = r"^[*_]*(-?\d+(?:\.\d+)?)(?:\s*/\s*(\d+(?:\.\d+)?))?[*_]*\.?$";

/// The compiled patterns. Each is `None` only if its pattern were invalid, which a unit test
/// rules out.
static LABELLED_REGEX: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(LABELLED_PATTERN).ok());
static BARE_REGEX: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(BARE_PATTERN).ok());

fn labelled_verdict(text: &str) -> Option<RawVerdict> {
    let captures = LABELLED_REGEX.as_ref()?.captures_iter(text).last()?;
    let (score, out_of) = captured_fraction(&captures)?;
    Some(RawVerdict {
        score,
        out_of,
        reason: Some(prose_reason(text)),
    })
}

fn bare_verdict(text: &str) -> Option<RawVerdict> {
    let captures = BARE_REGEX.as_ref()?.captures(text)?;
    let (score, out_of) = captured_fraction(&captures)?;
    Some(RawVerdict {
        score,
        out_of,
        reason: None,
    })
}

fn parse_fraction(text: &str) -> Option<(f64, Option<f64>)> {
    let captures = BARE_REGEX.as_ref()?.captures(text)?;
    captured_fraction(&captures)
}

fn captured_fraction(captures: &regex::Captures<'_>) -> Option<(f64, Option<f64>)> {
    let score = captures.get(1)?.as_str().parse().ok()?;
    let out_of = match captures.get(2) {
        Some(out_of) => Some(out_of.as_str().parse().ok()?),
        None => None,
    };
    Some((score, out_of))
}

fn prose_reason(text: &str) -> String {
    match text.char_indices().nth(MAX_PROSE_REASON_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile() {
        assert!(LABELLED_REGEX.is_some());
        assert!(BARE_REGEX.is_some());
    }

    #[test]
    fn raw_forms() {
        let cases: &[(&str, f64, Option<f64>)] = &[
            (r#"{"score": 0.8, "reason": "ok"}"#, 0.8, None),
            (r#"{"Score": "4/5"}"#, 4.0, Some(5.0)),
            ("```json\n{\"score\": 3}\n```", 3.0, None),
            ("Here:\n```\n{\"score\": 0.25}\n```", 0.25, None),
            (
                r#"My verdict is {"score": 9, "reason": "good"} overall."#,
                9.0,
                None,
            ),
            ("Score: 7/10", 7.0, Some(10.0)),
            ("**Rating:** 4 out of 5", 4.0, Some(5.0)),
            ("score = 0.6", 0.6, None),
            ("7", 7.0, None),
            ("**0.85**", 0.85, None),
            ("4/5.", 4.0, Some(5.0)),
        ];
        for (text, score, out_of) in cases {
            let raw = find_raw_verdict(text).unwrap();
            assert_eq!((raw.score, raw.out_of), (*score, *out_of), "{text}");
        }
    }

    #[test]
    fn no_verdict_found() {
        for text in [
            "",
            "I cannot evaluate this.",
            r#"{"verdict": "good"}"#,
            "Score: high",
            "{\"score\": null}",
        ] {
            assert_eq!(find_raw_verdict(text), None, "{text}");
        }
    }
}
