//! IP addresses that can point at a person: public IPv4 and IPv6 unicast addresses.
//!
//! Addresses that identify no one are skipped: private, loopback, link-local, unspecified,
//! broadcast, multicast and documentation ranges (RFC 1918, RFC 5737, RFC 3849, RFC 4193).
//! An IPv4 address is skipped when it reads as a version, that is with
//! - a letter, `@`, `~` or a comparison right before it (`v1.2.3.4`, `pkg@1.2.3.4`,
//!   `==1.2.3.4`), or a fifth dotted number after it;
//! - a leading zero in an octet;
//! - a word such as "version", "release" or "kernel" among the three words before it, or
//!   right after it (`1.2.3.4 release`).
//!
//! An IPv6 address needs at least three groups and one digit, so `Foo::Bar` paths never
//! match. IPv4-mapped IPv6 addresses and zone ids are not detected.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;
use std::sync::LazyLock;

use super::Windows;
use crate::detection::Detection;
use crate::pattern::{LazyRegex, char_before, compile, find_in, number_continues, two_chars_after};

static IPV4: LazyRegex =
    LazyLock::new(|| compile(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"));

static IPV6: LazyRegex = LazyLock::new(|| compile(r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}"));

/// Words that announce a version number rather than an address.
const VERSION_WORDS: [&str; 13] = [
    "version",
    "versions",
    "ver",
    "release",
    "build",
    "firmware",
    "v",
    "kernel",
    "patch",
    "update",
    "upgrade",
    "downgrade",
    "revision",
];

/// Appends the IP addresses of `text` to `found`.
pub(super) fn detect(text: &str, windows: &Windows, found: &mut Vec<Detection>) {
    for candidate in find_in(&IPV4, text, &windows.digits) {
        if is_public_ipv4(text, candidate.range()) {
            found.push(Detection::pii("ipv4", "IPv4 address", candidate.range()));
        }
    }
    for candidate in find_in(&IPV6, text, &windows.colons) {
        let range = without_trailing_colon(candidate.as_str(), candidate.range());
        if is_public_ipv6(text, range.clone()) {
            found.push(Detection::pii("ipv6", "IPv6 address", range));
        }
    }
}

fn is_public_ipv4(text: &str, range: Range<usize>) -> bool {
    let candidate = text.get(range.clone()).unwrap_or_default();
    let has_leading_zero = candidate
        .split('.')
        .any(|octet| octet.len() > 1 && octet.starts_with('0'));
    let Ok(address) = candidate.parse::<Ipv4Addr>() else {
        return false;
    };

    !(has_leading_zero
        || follows_version_operator(text, range.start)
        || number_continues(text, range.end, &['.'])
        || near_version_word(text, &range)
        || is_reserved_ipv4(address))
}

/// Returns true when a letter or digit, or a version operator or separator, ends right before
/// `start`: `v1.2.3.4`, `pkg@1.2.3.4`, `>=1.2.3.4`, but not `host=1.2.3.4`.
fn follows_version_operator(text: &str, start: usize) -> bool {
    let mut before = text.get(..start).unwrap_or_default().chars().rev();
    match (before.next(), before.next()) {
        (Some(previous), _) if previous.is_alphanumeric() => true,
        (Some('='), Some(operator)) => matches!(operator, '=' | '<' | '>' | '!' | '~'),
        (Some(previous), _) => matches!(previous, '.' | '@' | '~' | '^' | '_'),
        (None, _) => false,
    }
}

fn is_reserved_ipv4(address: Ipv4Addr) -> bool {
    address.is_private()
        || address.is_loopback()
        || address.is_link_local()
        || address.is_unspecified()
        || address.is_broadcast()
        || address.is_multicast()
        || address.is_documentation()
        || address.octets()[0] == 255
}

/// Returns true when one of the three words before `range` or the word after it announces a
/// version, as in `version 1.2.3.4` or `1.2.3.4 release`.
fn near_version_word(text: &str, range: &Range<usize>) -> bool {
    let is_version_word = |word: &str| {
        VERSION_WORDS
            .iter()
            .any(|version| word.eq_ignore_ascii_case(version))
    };
    let is_word = |word: &&str| !word.is_empty();
    let before = text.get(..range.start).unwrap_or_default();
    let after = text.get(range.end..).unwrap_or_default();

    let previous = before
        .split(|c: char| !c.is_alphanumeric())
        .rev()
        .filter(is_word);
    let mut next = after.split(|c: char| !c.is_alphanumeric()).filter(is_word);
    previous.take(3).any(is_version_word) || next.next().is_some_and(is_version_word)
}

/// Drops one trailing colon that ends a sentence, as in `from 2a00:1450::1: done`.
fn without_trailing_colon(candidate: &str, range: Range<usize>) -> Range<usize> {
    if candidate.ends_with(':') && !candidate.ends_with("::") {
        range.start..range.end - 1
    } else {
        range
    }
}

fn is_public_ipv6(text: &str, range: Range<usize>) -> bool {
    let candidate = text.get(range.clone()).unwrap_or_default();
    let groups = candidate
        .split(':')
        .filter(|group| !group.is_empty())
        .count();
    let glued = |c: char| c.is_alphanumeric() || matches!(c, ':' | '_' | '.');
    if groups < 3
        || !candidate.contains(|c: char| c.is_ascii_digit())
        || char_before(text, range.start).is_some_and(glued)
        || continues_after(text, range.end)
    {
        return false;
    }
    candidate
        .parse::<Ipv6Addr>()
        .is_ok_and(|address| !is_reserved_ipv6(address))
}

/// Returns true when the address continues past `end`: a letter, digit or `_` follows, a dot
/// and a digit, or a colon and anything but a space or the end of the text.
fn continues_after(text: &str, end: usize) -> bool {
    match two_chars_after(text, end) {
        (Some(':'), next) => next.is_some_and(|c| !c.is_whitespace()),
        (Some('.'), next) => next.is_some_and(|c| c.is_ascii_digit()),
        (Some(c), _) => c.is_alphanumeric() || c == '_',
        (None, _) => false,
    }
}

fn is_reserved_ipv6(address: Ipv6Addr) -> bool {
    let first = address.segments()[0];
    let documentation = first == 0x2001 && address.segments()[1] == 0x0db8;
    address.is_loopback()
        || address.is_unspecified()
        || address.is_multicast()
        || address.is_unicast_link_local()
        || address.is_unique_local()
        || documentation
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses(text: &str) -> Vec<&str> {
        super::super::matched(detect, text)
    }

    #[test]
    fn patterns_compile() {
        assert!(IPV4.is_some());
        assert!(IPV6.is_some());
    }

    #[test]
    fn positives() {
        let cases = [
            ("login from 81.2.69.160 at noon", "81.2.69.160"),
            ("host=8.8.8.8:53", "8.8.8.8"),
            (
                "peer 2a00:1450:4007:80e::200e connected",
                "2a00:1450:4007:80e::200e",
            ),
            (
                "[2606:4700:4700:0000:0000:0000:0000:1111]:443",
                "2606:4700:4700:0000:0000:0000:0000:1111",
            ),
            ("client ip: 1.1.1.1.", "1.1.1.1"),
            (
                "from 2a00:1450:4007:80e::200e: refused",
                "2a00:1450:4007:80e::200e",
            ),
            ("peer 2a00:1450:4007:80e::200e.", "2a00:1450:4007:80e::200e"),
        ];
        for (text, expected) in cases {
            assert_eq!(addresses(text), vec![expected], "in {text:?}");
        }
    }

    #[test]
    fn negatives() {
        let cases = [
            "upgrade to version 1.2.3.4 today",
            "pip install requests==2.31.0.1",
            "tag v1.2.3.4",
            "release 4.18.2.1 is out",
            "CVE-2023-12345 affects 4.1.2.3 release",
            "running kernel 5.15.0.91",
            "OID 1.3.6.1.4.1.311",
            "router at 192.168.1.1",
            "listen on 127.0.0.1 and 0.0.0.0",
            "netmask 255.255.255.0",
            "docs use 203.0.113.7",
            "octets 300.1.2.3 and 01.2.3.4",
            "use std::io::Read",
            "Dead::Beef::Cafe",
            "time 12:30:45",
            "mac 00:1a:2b:3c:4d:5e",
            "loopback ::1 and fe80::1ff:fe23:4567:890a",
            "doc prefix 2001:db8::8a2e:370:7334",
        ];
        for text in cases {
            assert_eq!(addresses(text), Vec::<&str>::new(), "in {text:?}");
        }
    }
}
