//! Credentials: provider API keys and tokens, PEM private keys and JSON Web Tokens.
//!
//! Each token format is matched by its documented prefix and length. A key is taken for a
//! placeholder (`sk-your-key-here`, `ghp_xxxx…`) and skipped when its random part lacks a
//! digit (except Hugging Face tokens, which are often letters only), an uppercase or a
//! lowercase letter, or repeats one character six times. AWS keys
//! that end in `EXAMPLE`, like the ones in AWS documentation, are skipped too. A JWT counts only when its header
//! decodes to a JSON object with an `alg` member. A PEM block counts only with at least 64
//! characters of key data, so a lone `-----BEGIN PRIVATE KEY-----` line is not flagged.
//! Generic secrets (`password=…`, bearer tokens of unknown shape) are not detected.

use std::ops::Range;
use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use regex::Regex;

use crate::detection::Detection;
use crate::pattern::{LazyRegex, char_after, char_before, compile, find_all};

/// A token format recognized by its shape.
struct TokenRule {
    finding: &'static str,
    label: &'static str,
    regex: &'static LazyRegex,
    /// Checks the matched text beyond what the pattern can express.
    is_valid: fn(&str) -> bool,
}

static OPENAI: LazyRegex =
    LazyLock::new(|| compile(r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"));
static ANTHROPIC: LazyRegex =
    LazyLock::new(|| compile(r"sk-ant-[a-z]+[0-9]{2}-[A-Za-z0-9_-]{32,}"));
static AWS_ACCESS_KEY: LazyRegex = LazyLock::new(|| compile(r"(?:AKIA|ASIA)[A-Z0-9]{16}"));
static GITHUB: LazyRegex = LazyLock::new(|| {
    compile(r"(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})")
});
static GOOGLE: LazyRegex = LazyLock::new(|| compile(r"AIza[0-9A-Za-z_-]{35}"));
static SLACK: LazyRegex = LazyLock::new(|| compile(r"xox[abposr]-[0-9]{6,}-[0-9A-Za-z-]{10,}"));
static STRIPE: LazyRegex = LazyLock::new(|| compile(r"(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20,}"));
static HUGGING_FACE: LazyRegex = LazyLock::new(|| compile(r"hf_[A-Za-z0-9]{34,}"));
static JWT: LazyRegex =
    LazyLock::new(|| compile(r"ey[A-Za-z0-9_-]{8,}\.ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"));
static PEM_BEGIN: LazyRegex =
    LazyLock::new(|| compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"));
static PEM_END: LazyRegex =
    LazyLock::new(|| compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"));
static AWS_SECRET_KEY: LazyRegex = LazyLock::new(|| {
    compile(r#"(?i)aws_?secret_?(?:access_?)?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})"#)
});

const TOKEN_RULES: [TokenRule; 9] = [
    TokenRule {
        finding: "anthropic_api_key",
        label: "Anthropic API key",
        regex: &ANTHROPIC,
        is_valid: |token| has_random_body(token, "sk-ant-"),
    },
    TokenRule {
        finding: "openai_api_key",
        label: "OpenAI API key",
        regex: &OPENAI,
        is_valid: |token| !token.starts_with("sk-ant-") && has_random_body(token, "sk-"),
    },
    TokenRule {
        finding: "aws_access_key",
        label: "AWS access key id",
        regex: &AWS_ACCESS_KEY,
        is_valid: |token| !token.ends_with("EXAMPLE") && !has_long_repeat(token),
    },
    TokenRule {
        finding: "github_token",
        label: "GitHub token",
        regex: &GITHUB,
        is_valid: |token| has_random_body(token, "_"),
    },
    TokenRule {
        finding: "google_api_key",
        label: "Google API key",
        regex: &GOOGLE,
        is_valid: |token| has_random_body(token, "AIza"),
    },
    TokenRule {
        finding: "slack_token",
        label: "Slack token",
        regex: &SLACK,
        is_valid: |token| !has_long_repeat(token),
    },
    TokenRule {
        finding: "stripe_secret_key",
        label: "Stripe secret key",
        regex: &STRIPE,
        is_valid: |token| has_random_body(token, "_"),
    },
    TokenRule {
        finding: "huggingface_token",
        label: "Hugging Face token",
        regex: &HUGGING_FACE,
        // Hugging Face user tokens are often letters only, so no digit is required.
        is_valid: |token| has_mixed_case_body(token, "hf_"),
    },
    TokenRule {
        finding: "jwt",
        label: "JSON Web Token",
        regex: &JWT,
        is_valid: is_jwt,
    },
];

/// Returns every secret in `text`, possibly overlapping, in no particular order.
pub(crate) fn detect(text: &str) -> Vec<Detection> {
    let mut found = Vec::new();
    for rule in &TOKEN_RULES {
        for candidate in find_all(rule.regex, text) {
            let range = candidate.range();
            if is_whole_token(text, &range) && (rule.is_valid)(candidate.as_str()) {
                found.push(Detection::secret(rule.finding, rule.label, range));
            }
        }
    }
    detect_aws_secret_keys(text, &mut found);
    detect_private_keys(text, &mut found);
    found
}

/// Returns true when no token character touches the match on either side.
fn is_whole_token(text: &str, range: &Range<usize>) -> bool {
    let token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-');
    !char_before(text, range.start).is_some_and(|c| token_char(c) || c == '.')
        && !char_after(text, range.end).is_some_and(token_char)
}

/// Returns true when the part of `token` after the last `separator` looks random: it has a
/// digit, an uppercase and a lowercase letter, and no character six times in a row.
fn has_random_body(token: &str, separator: &str) -> bool {
    let body = token
        .rfind(separator)
        .map_or(token, |index| &token[index + separator.len()..]);
    let body = if body.len() < 16 { token } else { body };
    body.contains(|c: char| c.is_ascii_digit())
        && body.contains(|c: char| c.is_ascii_uppercase())
        && body.contains(|c: char| c.is_ascii_lowercase())
        && !has_long_repeat(token)
}

/// Returns true when the part of `token` after `prefix` has an uppercase and a lowercase
/// letter and no character six times in a row.
fn has_mixed_case_body(token: &str, prefix: &str) -> bool {
    let body = token.strip_prefix(prefix).unwrap_or(token);
    body.contains(|c: char| c.is_ascii_uppercase())
        && body.contains(|c: char| c.is_ascii_lowercase())
        && !has_long_repeat(token)
}

fn has_long_repeat(token: &str) -> bool {
    let bytes = token.as_bytes();
    bytes
        .windows(6)
        .any(|window| window.iter().all(|byte| *byte == window[0]))
}

/// Returns true when the first part of a dotted token is a base64url JSON object with `alg`.
fn is_jwt(token: &str) -> bool {
    let header = token.split('.').next().unwrap_or_default();
    URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|header| header.get("alg").is_some_and(serde_json::Value::is_string))
}

/// Appends AWS secret access keys: 40 characters assigned to a name like
/// `aws_secret_access_key`. Only the key itself is the match.
fn detect_aws_secret_keys(text: &str, found: &mut Vec<Detection>) {
    let Some(regex): Option<&Regex> = AWS_SECRET_KEY.as_ref() else {
        return;
    };
    for captures in regex.captures_iter(text) {
        let Some(key) = captures.get(1) else {
            continue;
        };
        let whole = char_after(text, key.end()).is_none_or(|c| !c.is_ascii_alphanumeric());
        if whole && has_random_body(key.as_str(), "/") && !key.as_str().contains("EXAMPLE") {
            found.push(Detection::secret(
                "aws_secret_key",
                "AWS secret access key",
                key.range(),
            ));
        }
    }
}

/// Appends PEM private key blocks, from the BEGIN line to the END line, or to the end of the
/// key data when the END line is missing (a truncated message).
fn detect_private_keys(text: &str, found: &mut Vec<Detection>) {
    for begin in find_all(&PEM_BEGIN, text) {
        let rest = text.get(begin.end()..).unwrap_or_default();
        let end = match find_all(&PEM_END, rest).next() {
            Some(end) => begin.end() + end.end(),
            None => begin.end() + key_data_length(rest),
        };
        let body = text.get(begin.end()..end).unwrap_or_default();
        let key_characters = body
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/'))
            .count();
        if key_characters >= 64 {
            found.push(Detection::secret(
                "private_key",
                "private key",
                begin.start()..end,
            ));
        }
    }
}

/// Returns the length of the base64 lines at the start of `rest`, with PEM headers such as
/// `Proc-Type: 4,ENCRYPTED` included.
fn key_data_length(rest: &str) -> usize {
    rest.find(|c: char| {
        !(c.is_ascii_alphanumeric() || c.is_ascii_whitespace() || "+/=:,-".contains(c))
    })
    .unwrap_or(rest.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(text: &str) -> Vec<(&'static str, &str)> {
        let mut found = detect(text);
        found.sort_by_key(|detection| detection.range.start);
        found
            .iter()
            .map(|detection| (detection.finding, &text[detection.range.clone()]))
            .collect()
    }

    const OPENAI_KEY: &str = "sk-proj-4fJ8kQ2mZx9LwR7tYb3NcVd6HsPa1EgU0oIiKjTq_5lBnM-8yXwZ";
    const ANTHROPIC_KEY: &str =
        "sk-ant-api03-R2D2c3POx9Lw7tYb3NcVd6HsPa1EgU0oIiKjTq5lBnM8yXwZaQ4Ff-AA";
    const JWT_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    #[test]
    fn patterns_compile() {
        for rule in &TOKEN_RULES {
            assert!(rule.regex.is_some(), "{}", rule.finding);
        }
        assert!(AWS_SECRET_KEY.is_some());
        assert!(PEM_BEGIN.is_some());
        assert!(PEM_END.is_some());
    }

    #[test]
    fn provider_keys() {
        let cases = [
            (
                format!("OPENAI_API_KEY={OPENAI_KEY}"),
                "openai_api_key",
                OPENAI_KEY,
            ),
            (
                "key sk-4fJ8kQ2mZx9LwR7tYb3NcVd6HsPa1EgU0oIiKjTq5lBnM8yX".to_owned(),
                "openai_api_key",
                "sk-4fJ8kQ2mZx9LwR7tYb3NcVd6HsPa1EgU0oIiKjTq5lBnM8yX",
            ),
            (
                format!("\"{ANTHROPIC_KEY}\""),
                "anthropic_api_key",
                ANTHROPIC_KEY,
            ),
            (
                "aws_access_key_id = AKIA2E0A8F3B244C9986".to_owned(),
                "aws_access_key",
                "AKIA2E0A8F3B244C9986",
            ),
            (
                "token: ghp_16C7e42F292c6912E7710c838347Ae178B4a".to_owned(),
                "github_token",
                "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            ),
            (
                "GOOGLE_API_KEY=AIzaSyD4kQ2mZx9LwR7tYb3NcVd6HsPa1EgU0oI".to_owned(),
                "google_api_key",
                "AIzaSyD4kQ2mZx9LwR7tYb3NcVd6HsPa1EgU0oI",
            ),
            (
                "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx".to_owned(),
                "slack_token",
                "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            ),
            (
                "stripe sk_live_51H8kQ2mZx9LwR7tYb3NcVd6Hs".to_owned(),
                "stripe_secret_key",
                "sk_live_51H8kQ2mZx9LwR7tYb3NcVd6Hs",
            ),
            (
                "token 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 here".to_owned(),
                "huggingface_token",
                "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",
            ),
            (
                "HF_TOKEN=hf_kQ2mZx9LwR7tYb3NcVd6HsPa1EgU0oIiKjTq".to_owned(),
                "huggingface_token",
                "hf_kQ2mZx9LwR7tYb3NcVd6HsPa1EgU0oIiKjTq",
            ),
            (
                "aws_secret_access_key = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCY1234567890\"".to_owned(),
                "aws_secret_key",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCY1234567890",
            ),
            (
                format!("Authorization: Bearer {JWT_TOKEN}"),
                "jwt",
                JWT_TOKEN,
            ),
        ];
        for (text, finding, expected) in &cases {
            assert_eq!(secrets(text), vec![(*finding, *expected)], "in {text:?}");
        }
    }

    #[test]
    fn placeholders_and_lookalikes() {
        let cases = [
            "OPENAI_API_KEY=sk-your-openai-api-key-goes-here",
            "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "the task-4fJ8kQ2mZx9LwR7tYb3NcVd6HsPa1EgU0oIiKjTq id",
            "AKIAIOSFODNN7EXAMPLE",
            "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "eyJub3QiOiJhIGhlYWRlciJ9.eyJzdWIiOiIxMjM0In0.abc",
            "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----",
            "hf_hub_download(repo_id=model_name_or_path)",
            "hf_modelcardsandspacesforeveryoneatonce",
        ];
        for text in cases {
            assert_eq!(secrets(text), Vec::<(&str, &str)>::new(), "in {text:?}");
        }
    }

    #[test]
    fn private_key_block() {
        let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n";
        let block = format!("-----BEGIN PRIVATE KEY-----\n{body}-----END PRIVATE KEY-----");
        let text = format!("my key:\n{block}\nthanks");

        assert_eq!(secrets(&text), vec![("private_key", block.as_str())]);

        let truncated = format!("-----BEGIN RSA PRIVATE KEY-----\n{body}");
        let found = secrets(&truncated);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1.trim_end(), truncated.trim_end());
    }
}
