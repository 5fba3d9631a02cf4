//! Email addresses.
//!
//! Matches ASCII addresses whose domain has a dot and an alphabetic top-level domain, so a
//! host without a dot (`user@localhost`) never matches. These are skipped as not personal:
//! - SSH remotes (`git@github.com:org/repo.git`) and logins after `ssh`, `scp`, `sftp`,
//!   `rsync` or `mosh`;
//! - the user part of a URL (`ssh://git@host/repo`);
//! - domains reserved for documentation, tests and private networks (`example.com`, `.test`,
//!   `.invalid`, `.localhost`, `.example`, `.local`, `.internal`, `.arpa`);
//! - image names such as `icon@2x.png`.
//!
//! Internationalized addresses are not detected.

use std::ops::Range;
use std::sync::LazyLock;

use super::Windows;
use crate::detection::Detection;
use crate::pattern::{LazyRegex, char_after, char_before, compile, find_in};

static EMAIL: LazyRegex = LazyLock::new(|| {
    compile(
        r"[A-Za-z0-9_%+-](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}",
    )
});

/// Domains that RFC 2606 and RFC 6761 reserve for examples, and their subdomains.
const RESERVED_DOMAINS: [&str; 3] = ["example.com", "example.net", "example.org"];

/// Top-level domains reserved for examples and private networks: RFC 2606 and RFC 6761,
/// `.local` (RFC 6762), `.arpa` (`home.arpa`, RFC 8375) and `.internal` (ICANN, 2024).
const RESERVED_TLDS: [&str; 7] = [
    "example",
    "invalid",
    "localhost",
    "test",
    "local",
    "arpa",
    "internal",
];

/// Commands whose argument `user@host` is a login, not an email address.
const REMOTE_COMMANDS: [&str; 5] = ["ssh", "scp", "sftp", "rsync", "mosh"];

/// File extensions that follow `@2x` in image names.
const IMAGE_EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp"];

/// Appends the email addresses of `text` to `found`.
pub(super) fn detect(text: &str, windows: &Windows, found: &mut Vec<Detection>) {
    for candidate in find_in(&EMAIL, text, &windows.at_signs) {
        if is_email(text, candidate.range()) {
            found.push(Detection::pii("email", "email address", candidate.range()));
        }
    }
}

fn is_email(text: &str, range: Range<usize>) -> bool {
    let address = text.get(range.clone()).unwrap_or_default();
    let domain = address
        .rsplit_once('@')
        .map(|(_, domain)| domain.to_ascii_lowercase())
        .unwrap_or_default();

    !(continues_token(text, &range)
        || is_ssh_remote(text, range.end)
        || is_url_user(text, range.start)
        || follows_remote_command(text, range.start)
        || is_reserved(&domain)
        || is_image_name(&domain))
}

/// Returns true when the candidate is part of a longer token, such as `a@b.co@c` or
/// `x@host.com-2`.
fn continues_token(text: &str, range: &Range<usize>) -> bool {
    let joined = |c: char| c.is_alphanumeric() || matches!(c, '@' | '-' | '_');
    char_before(text, range.start).is_some_and(|c| joined(c) || c == '.')
        || char_after(text, range.end).is_some_and(joined)
}

/// Returns true for the scp-like syntax of Git remotes: `git@github.com:org/repo.git`.
fn is_ssh_remote(text: &str, end: usize) -> bool {
    let mut after = text.get(end..).unwrap_or_default().chars();
    after.next() == Some(':') && after.next().is_some_and(|c| !c.is_whitespace())
}

/// Returns true when the candidate is the user part of a URL, as in `ssh://git@host/repo`.
fn is_url_user(text: &str, start: usize) -> bool {
    let before = text.get(..start).unwrap_or_default();
    let token_start = before
        .rfind(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '(' | '['))
        .map_or(0, |index| index + 1);
    before
        .get(token_start..)
        .is_some_and(|token| token.contains("://"))
}

/// Returns true when one of the three words before `start` is a remote login command, as in
/// `ssh -p 2222 deploy@host.io`.
fn follows_remote_command(text: &str, start: usize) -> bool {
    let before = text.get(..start).unwrap_or_default();
    before
        .split_whitespace()
        .rev()
        .take(3)
        .any(|word| REMOTE_COMMANDS.contains(&word))
}

fn is_reserved(domain: &str) -> bool {
    let tld = domain.rsplit('.').next().unwrap_or_default();
    RESERVED_TLDS.contains(&tld)
        || RESERVED_DOMAINS.iter().any(|reserved| {
            domain == *reserved
                || domain
                    .strip_suffix(reserved)
                    .is_some_and(|subdomain| subdomain.ends_with('.'))
        })
}

fn is_image_name(domain: &str) -> bool {
    let tld = domain.rsplit('.').next().unwrap_or_default();
    IMAGE_EXTENSIONS.contains(&tld)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emails(text: &str) -> Vec<&str> {
        super::super::matched(detect, text)
    }

    #[test]
    fn pattern_compiles() {
        assert!(EMAIL.is_some());
    }

    #[test]
    fn positives() {
        let cases = [
            ("Write to jane.doe@acme.io please.", "jane.doe@acme.io"),
            ("<j_smith+news@mail.co.uk>", "j_smith+news@mail.co.uk"),
            ("mailto:Bob.Ross@Paint.ORG", "Bob.Ross@Paint.ORG"),
            ("{\"email\":\"li.wei@corp.cn\"}", "li.wei@corp.cn"),
            ("Contact: support@glass.dev: open 24/7", "support@glass.dev"),
        ];
        for (text, expected) in cases {
            assert_eq!(emails(text), vec![expected], "in {text:?}");
        }
    }

    #[test]
    fn negatives() {
        let cases = [
            "git clone git@github.com:org/repo.git",
            "ssh://git@gitlab.com/group/project.git",
            "https://user@bitbucket.org/team/repo",
            "ssh admin@localhost",
            "ssh -p 2222 deploy@prod-1.acme.io",
            "scp build.tar deploy@prod-1.acme.io:/srv",
            "admin@nas.local and ops@corp.internal",
            "send to user@example.com or ops@mail.example.org",
            "noreply@service.test",
            "background: url(icon@2x.png)",
            "npm install lodash@4.17.21",
            "@decorator on a method",
            "a@b",
        ];
        for text in cases {
            assert_eq!(emails(text), Vec::<&str>::new(), "in {text:?}");
        }
    }
}
