//! Configuration of online evaluators (`[[evaluators]]`), checked into runnable rules.

use glassbox_eval::{Scorer, ScorerSpec};
use glassbox_model::{Analyzer, Span};
use serde::{Deserialize, Serialize};

use crate::judge::{Judge, JudgeConfig};

/// Maximum length of an evaluator name, in characters; the name is also the score name.
const MAX_NAME_CHARS: usize = 200;

/// One online evaluator: a rule that scores a sample of the live model spans matching a
/// filter, with a deterministic check or an LLM judge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluatorConfig {
    /// The evaluator's name, which is also the name of the scores it writes.
    pub name: String,
    /// The spans it scores; empty fields match every model span.
    #[serde(default)]
    pub filter: SpanMatch,
    /// The share of matching spans that are scored, from 0 to 1. Default 1.
    #[serde(default = "all")]
    pub sample_rate: f64,
    /// A deterministic check (`{type = "regex", pattern = "..."}`, `contains`,
    /// `json_schema`, `length`, `max_latency_ms`, `max_cost_usd`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<ScorerSpec>,
    /// The expected output, for checks that compare with one (`exact`, `levenshtein`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// An LLM judge, instead of a check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<JudgeConfig>,
}

fn all() -> f64 {
    1.0
}

/// The filter of the spans an evaluator scores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpanMatch {
    /// `service.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Request or response model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// An analyzer or finding the span must carry (`pii`, `refusal`, `email`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
}

impl SpanMatch {
    /// Returns true when the span passes every set field.
    pub fn matches(&self, span: &Span) -> bool {
        let model_matches = self.model.as_deref().is_none_or(|model| {
            span.request_model.as_deref() == Some(model)
                || span.response_model.as_deref() == Some(model)
        });
        let flag_matches = self.flag.as_deref().is_none_or(|wanted| {
            span.flags
                .iter()
                .any(|flag| flag.analyzer.as_str() == wanted || flag.finding == wanted)
        });
        model_matches
            && flag_matches
            && same(&self.service, &span.service_name)
            && same(&self.provider, &span.provider)
    }
}

fn same(wanted: &Option<String>, actual: &Option<String>) -> bool {
    wanted.is_none() || wanted == actual
}

/// The scoring method of an evaluator.
#[derive(Debug, Clone)]
pub enum Method {
    /// A deterministic check, with its expected output.
    Check(Scorer, Option<String>),
    /// An LLM judge.
    Judge(Judge),
}

/// An evaluator whose settings are checked.
#[derive(Debug, Clone)]
pub struct Evaluator {
    /// The name, also the score name.
    pub name: String,
    /// The spans it scores.
    pub filter: SpanMatch,
    /// The share of matching spans it scores.
    pub sample_rate: f64,
    /// The scoring method.
    pub method: Method,
}

impl Evaluator {
    /// Checks one configuration; the error names the evaluator and the wrong setting.
    pub fn new(config: &EvaluatorConfig) -> Result<Evaluator, String> {
        let name = config.name.trim();
        let fail = |message: String| format!("evaluator {name:?}: {message}");
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(format!(
                "evaluator name {name:?} must have 1 to {MAX_NAME_CHARS} characters"
            ));
        }
        if !(0.0..=1.0).contains(&config.sample_rate) {
            return Err(fail(format!(
                "sample_rate {} is not between 0 and 1",
                config.sample_rate
            )));
        }
        if let Some(flag) = &config.filter.flag
            && Analyzer::parse(flag).is_none()
            && Analyzer::of_finding(flag).is_none()
        {
            return Err(fail(format!(
                "filter.flag {flag:?} is neither an analyzer nor a finding"
            )));
        }

        let method = match (&config.check, &config.judge) {
            (Some(spec), None) => {
                let scorer = spec.build().map_err(|error| fail(error.to_string()))?;
                if scorer.needs_expected() && config.expected.is_none() {
                    return Err(fail(format!(
                        "check {} compares with an expected output; set `expected`",
                        scorer.name()
                    )));
                }
                Method::Check(scorer, config.expected.clone())
            }
            (None, Some(judge)) => Method::Judge(Judge::new(judge).map_err(fail)?),
            (Some(_), Some(_)) => {
                return Err(fail("set either `check` or `judge`, not both".into()));
            }
            (None, None) => return Err(fail("set a `check` or a `judge`".into())),
        };
        Ok(Evaluator {
            name: name.to_owned(),
            filter: config.filter.clone(),
            sample_rate: config.sample_rate,
            method,
        })
    }

    /// Returns true when this evaluator scores the span: it matches the filter and falls in
    /// the sample. The sample depends only on the span id, so a span read again after a
    /// restart gets the same choice.
    pub fn selects(&self, span: &Span) -> bool {
        self.filter.matches(span) && in_sample(span, self.sample_rate)
    }
}

/// Checks every evaluator and rejects duplicate names.
pub fn build_evaluators(configs: &[EvaluatorConfig]) -> Result<Vec<Evaluator>, String> {
    let mut evaluators: Vec<Evaluator> = Vec::with_capacity(configs.len());
    for config in configs {
        let evaluator = Evaluator::new(config)?;
        if evaluators.iter().any(|other| other.name == evaluator.name) {
            return Err(format!("two evaluators are named {:?}", evaluator.name));
        }
        evaluators.push(evaluator);
    }
    Ok(evaluators)
}

/// Maps the span id to `[0, 1)` with a fixed hash (FNV-1a, then the SplitMix64 finalizer so
/// that ids differing in their last bytes spread over the whole range) and compares with the
/// rate.
fn in_sample(span: &Span, rate: f64) -> bool {
    if rate >= 1.0 {
        return true;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in span.trace_id.0.iter().chain(span.span_id.0.iter()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash ^= hash >> 30;
    hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash ^= hash >> 27;
    hash = hash.wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^= hash >> 31;
    rate > 0.0 && (hash >> 11) as f64 / (1u64 << 53) as f64 <= rate
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_model::{SpanId, TraceId};

    fn config(toml_like: serde_json::Value) -> EvaluatorConfig {
        serde_json::from_value(toml_like).unwrap()
    }

    #[test]
    fn check_and_judge_are_exclusive() {
        let both = config(serde_json::json!({
            "name": "x",
            "check": {"type": "length", "max": 10},
            "judge": {"model": "gpt-4o-mini"}
        }));
        let error = Evaluator::new(&both).unwrap_err();
        assert!(error.contains("not both"), "{error}");

        let neither = config(serde_json::json!({"name": "x"}));
        assert!(
            Evaluator::new(&neither)
                .unwrap_err()
                .contains("set a `check`")
        );
    }

    #[test]
    fn invalid_settings_name_the_field() {
        let cases = [
            (
                serde_json::json!({"name": "x", "sample_rate": 1.5, "check": {"type": "length", "max": 1}}),
                "sample_rate",
            ),
            (
                serde_json::json!({"name": "x", "check": {"type": "regex", "pattern": "("}}),
                "pattern",
            ),
            (
                serde_json::json!({"name": "x", "check": {"type": "exact"}}),
                "expected",
            ),
            (
                serde_json::json!({"name": "x", "filter": {"flag": "nonsense"}, "check": {"type": "length", "max": 1}}),
                "filter.flag",
            ),
            (
                serde_json::json!({"name": "x", "judge": {"model": "m", "template": "{{answer}}"}}),
                "judge.template",
            ),
            (
                serde_json::json!({"name": "", "check": {"type": "length", "max": 1}}),
                "name",
            ),
        ];
        for (value, expected) in cases {
            let error = Evaluator::new(&config(value.clone())).unwrap_err();
            assert!(error.contains(expected), "{value}: {error}");
        }
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let one =
            config(serde_json::json!({"name": "short", "check": {"type": "length", "max": 5}}));
        let error = build_evaluators(&[one.clone(), one]).unwrap_err();
        assert!(error.contains("two evaluators"), "{error}");
    }

    #[test]
    fn sample_rate_selects_about_its_share() {
        let evaluator = Evaluator::new(&config(serde_json::json!({
            "name": "half", "sample_rate": 0.25, "check": {"type": "length", "max": 5}
        })))
        .unwrap();
        let selected = (0..4000u64)
            .filter(|index| {
                let span = Span::new(TraceId([7; 16]), SpanId(index.to_be_bytes()), "chat");
                evaluator.selects(&span)
            })
            .count();
        assert!(
            (800..1200).contains(&selected),
            "{selected} of 4000 selected"
        );

        let none = Evaluator::new(&config(serde_json::json!({
            "name": "none", "sample_rate": 0.0, "check": {"type": "length", "max": 5}
        })))
        .unwrap();
        let span = Span::new(TraceId([0; 16]), SpanId([0; 8]), "chat");
        assert!(!none.selects(&span));
    }

    #[test]
    fn filter_matches_model_and_flag() {
        let mut span = Span::new(TraceId([1; 16]), SpanId([2; 8]), "chat");
        span.request_model = Some("gpt-4o".to_owned());
        span.service_name = Some("shop".to_owned());
        let wanted = SpanMatch {
            model: Some("gpt-4o".to_owned()),
            service: Some("shop".to_owned()),
            ..SpanMatch::default()
        };
        assert!(wanted.matches(&span));

        let other_model = SpanMatch {
            model: Some("claude".to_owned()),
            ..SpanMatch::default()
        };
        assert!(!other_model.matches(&span));

        let flagged = SpanMatch {
            flag: Some("refusal".to_owned()),
            ..SpanMatch::default()
        };
        assert!(!flagged.matches(&span));
    }
}
