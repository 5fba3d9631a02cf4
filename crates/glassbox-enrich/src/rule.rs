//! The rule language that matches model and provider names, shared by the built-in catalog and
//! custom prices.
//!
//! A rule is one clause: `equals`, `starts_with`, `ends_with`, `contains` (plain text),
//! `regex` (searched anywhere in the name, so anchor it with `^` and `$` for a whole-name
//! match), or `and` / `or` over a list of rules. Matching ignores ASCII case, because spans
//! spell the same model in different cases (`MiniMax-M2`, `minimax-m2`) and the catalog lists
//! mixed-case names (`Meta-Llama-3.1-8B-Instruct`).

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::error::PricingError;

/// A rule that decides whether a model or provider name matches.
///
/// In JSON and TOML a rule is an object with one key: `{"equals": "gpt-4o"}`,
/// `{"or": [{"starts_with": "gpt-4o-mini"}, {"regex": "^my-model-v\\d+$"}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// The whole name equals the text.
    Equals(String),
    /// The name starts with the text.
    StartsWith(String),
    /// The name ends with the text.
    EndsWith(String),
    /// The name contains the text.
    Contains(String),
    /// The regular expression (syntax of the `regex` crate) matches somewhere in the name.
    Regex(String),
    /// Every rule of the list matches.
    And(Vec<MatchRule>),
    /// At least one rule of the list matches.
    Or(Vec<MatchRule>),
}

/// A [`MatchRule`] prepared for matching: texts lowercased and regexes compiled.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    Equals(Box<str>),
    StartsWith(Box<str>),
    EndsWith(Box<str>),
    Contains(Box<str>),
    Regex(Regex),
    All(Vec<Matcher>),
    Any(Vec<Matcher>),
}

impl Matcher {
    /// Compiles a rule. `strict` rejects empty `and` / `or` lists, which the catalog never has
    /// and which in a custom price are almost certainly a mistake.
    pub(crate) fn compile(rule: &MatchRule, strict: bool) -> Result<Matcher, PricingError> {
        let matcher = match rule {
            MatchRule::Equals(text) => Matcher::Equals(lowercase(text)),
            MatchRule::StartsWith(text) => Matcher::StartsWith(lowercase(text)),
            MatchRule::EndsWith(text) => Matcher::EndsWith(lowercase(text)),
            MatchRule::Contains(text) => Matcher::Contains(lowercase(text)),
            MatchRule::Regex(pattern) => Matcher::Regex(compile_regex(pattern)?),
            MatchRule::And(rules) => Matcher::All(compile_list(rules, "and", strict)?),
            MatchRule::Or(rules) => Matcher::Any(compile_list(rules, "or", strict)?),
        };
        Ok(matcher)
    }

    /// Returns whether the rule matches `name`, which the caller has lowercased.
    pub(crate) fn matches(&self, name: &str) -> bool {
        match self {
            Matcher::Equals(text) => name == &**text,
            Matcher::StartsWith(text) => name.starts_with(&**text),
            Matcher::EndsWith(text) => name.ends_with(&**text),
            Matcher::Contains(text) => name.contains(&**text),
            Matcher::Regex(regex) => regex.is_match(name),
            Matcher::All(matchers) => matchers.iter().all(|matcher| matcher.matches(name)),
            Matcher::Any(matchers) => matchers.iter().any(|matcher| matcher.matches(name)),
        }
    }
}

fn compile_list(
    rules: &[MatchRule],
    operator: &'static str,
    strict: bool,
) -> Result<Vec<Matcher>, PricingError> {
    if strict && rules.is_empty() {
        return Err(PricingError::EmptyRule { operator });
    }
    rules
        .iter()
        .map(|rule| Matcher::compile(rule, strict))
        .collect()
}

fn compile_regex(pattern: &str) -> Result<Regex, PricingError> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .build()
        .map_err(|error| PricingError::InvalidRegex {
            pattern: pattern.to_owned(),
            message: error.to_string(),
        })
}

fn lowercase(text: &str) -> Box<str> {
    text.to_ascii_lowercase().into_boxed_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(json: &str) -> Matcher {
        let rule: MatchRule = serde_json::from_str(json).unwrap();
        Matcher::compile(&rule, true).unwrap()
    }

    #[test]
    fn clauses_match_as_named() {
        assert!(matcher(r#"{"equals": "gpt-4o"}"#).matches("gpt-4o"));
        assert!(!matcher(r#"{"equals": "gpt-4o"}"#).matches("gpt-4o-mini"));
        assert!(matcher(r#"{"starts_with": "claude-3"}"#).matches("claude-3-haiku"));
        assert!(matcher(r#"{"ends_with": "-v1:0"}"#).matches("anthropic.claude-v1:0"));
        assert!(matcher(r#"{"contains": "llama"}"#).matches("meta-llama-3"));
        assert!(matcher(r#"{"regex": "^o[134]"}"#).matches("o3-mini"));
        assert!(!matcher(r#"{"regex": "^o[134]"}"#).matches("gpt-o3"));
    }

    #[test]
    fn and_or_combine() {
        let both = matcher(r#"{"and": [{"contains": "hugging"}, {"contains": "groq"}]}"#);
        assert!(both.matches("huggingface-groq"));
        assert!(!both.matches("groq"));
        let either = matcher(r#"{"or": [{"equals": "a"}, {"equals": "b"}]}"#);
        assert!(either.matches("b"));
        assert!(!either.matches("c"));
    }

    #[test]
    fn case_is_ignored() {
        assert!(matcher(r#"{"equals": "Meta-Llama-3.1-8B"}"#).matches("meta-llama-3.1-8b"));
        assert!(matcher(r#"{"regex": "^MiniMax-M\\d"}"#).matches("minimax-m2"));
    }

    #[test]
    fn empty_list_rejected_when_strict() {
        let rule = MatchRule::Or(Vec::new());
        assert_eq!(
            Matcher::compile(&rule, true).unwrap_err(),
            PricingError::EmptyRule { operator: "or" }
        );
        assert!(Matcher::compile(&rule, false).is_ok());
    }

    #[test]
    fn invalid_regex_names_pattern() {
        let error = Matcher::compile(&MatchRule::Regex("gpt-(4".into()), true).unwrap_err();
        assert!(error.to_string().contains("\"gpt-(4\""), "{error}");
    }
}
