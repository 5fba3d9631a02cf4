//! The `x-mock-behavior` request header, which injects errors, delays and broken streams.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};

use crate::reply::Finish;

/// Name of the request header that injects behaviour, such as `error=429; retry_after=7`.
pub const BEHAVIOR_HEADER: &str = "x-mock-behavior";

/// Directives parsed from the behaviour header; the default is a normal reply.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Behavior {
    pub error: Option<StatusCode>,
    pub retry_after_secs: Option<u64>,
    pub delay: Duration,
    pub first_token: Option<Duration>,
    pub chunk: Option<Duration>,
    pub cut_after: Option<usize>,
    pub malformed: bool,
    pub finish: Option<Finish>,
}

impl Behavior {
    /// Parses the header of a request; a request without it behaves normally.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, String> {
        let Some(value) = headers.get(BEHAVIOR_HEADER) else {
            return Ok(Self::default());
        };
        let text = value
            .to_str()
            .map_err(|_| format!("invalid {BEHAVIOR_HEADER}: the value is not visible ASCII"))?;
        Self::parse(text)
    }

    /// Parses semicolon-separated directives; blanks around them are ignored.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut behavior = Self::default();
        for directive in text.split(';').map(str::trim).filter(|d| !d.is_empty()) {
            behavior
                .apply(directive)
                .map_err(|reason| format!("invalid {BEHAVIOR_HEADER} `{directive}`: {reason}"))?;
        }
        Ok(behavior)
    }

    fn apply(&mut self, directive: &str) -> Result<(), String> {
        let (key, value) = match directive.split_once('=') {
            Some((key, value)) => (key.trim(), Some(value.trim())),
            None => (directive, None),
        };

        match (key, value) {
            ("error", Some(value)) => self.error = Some(parse_status(value)?),
            ("retry_after", Some(value)) => self.retry_after_secs = Some(parse_number(value)?),
            ("delay_ms", Some(value)) => self.delay = parse_millis(value)?,
            ("first_token_ms", Some(value)) => self.first_token = Some(parse_millis(value)?),
            ("chunk_ms", Some(value)) => self.chunk = Some(parse_millis(value)?),
            ("cut_after", Some(value)) => self.cut_after = Some(parse_number(value)?),
            ("finish", Some(value)) => self.finish = Some(parse_finish(value)?),
            ("malformed", None) => self.malformed = true,
            ("content_filter", None) => self.finish = Some(Finish::ContentFilter),
            _ => return Err(KNOWN_DIRECTIVES.to_owned()),
        }
        Ok(())
    }
}

const KNOWN_DIRECTIVES: &str = "expected one of error=STATUS, retry_after=SECONDS, delay_ms=N, \
     first_token_ms=N, chunk_ms=N, cut_after=N, finish=stop|length|content_filter, malformed, \
     content_filter";

fn parse_number<T: std::str::FromStr>(value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("`{value}` is not a non-negative integer"))
}

fn parse_millis(value: &str) -> Result<Duration, String> {
    parse_number(value).map(Duration::from_millis)
}

fn parse_status(value: &str) -> Result<StatusCode, String> {
    let code: u16 = parse_number(value)?;
    match StatusCode::from_u16(code) {
        Ok(status) if status.is_client_error() || status.is_server_error() => Ok(status),
        _ => Err(format!("status {code} is not between 400 and 599")),
    }
}

fn parse_finish(value: &str) -> Result<Finish, String> {
    match value {
        "stop" => Ok(Finish::Stop),
        "length" => Ok(Finish::Length),
        "content_filter" => Ok(Finish::ContentFilter),
        _ => Err(format!(
            "finish `{value}` is not one of stop, length, content_filter"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_error_and_retry_after() {
        let behavior = Behavior::parse("error=429; retry_after=7").unwrap();

        assert_eq!(behavior.error, Some(StatusCode::TOO_MANY_REQUESTS));
        assert_eq!(behavior.retry_after_secs, Some(7));
    }

    #[test]
    fn parse_timing_and_stream_faults() {
        let behavior =
            Behavior::parse(" delay_ms=50;first_token_ms=30; chunk_ms=5;cut_after=3;malformed;")
                .unwrap();

        assert_eq!(behavior.delay, Duration::from_millis(50));
        assert_eq!(behavior.first_token, Some(Duration::from_millis(30)));
        assert_eq!(behavior.chunk, Some(Duration::from_millis(5)));
        assert_eq!(behavior.cut_after, Some(3));
        assert!(behavior.malformed);
        assert_eq!(behavior.error, None);
    }

    #[test]
    fn parse_finish_reasons() {
        let length = Behavior::parse("finish=length").unwrap();
        let filter = Behavior::parse("content_filter").unwrap();

        assert_eq!(length.finish, Some(Finish::Length));
        assert_eq!(filter.finish, Some(Finish::ContentFilter));
    }

    #[test]
    fn parse_empty_is_default() {
        assert_eq!(Behavior::parse(" ; ").unwrap(), Behavior::default());
    }

    #[test]
    fn parse_rejects_bad_directives() {
        for text in [
            "error=200",
            "error=abc",
            "delay_ms=-1",
            "slow",
            "malformed=1",
            "finish=tool_calls",
        ] {
            let error = Behavior::parse(text).unwrap_err();
            assert!(error.contains(text), "message `{error}` names `{text}`");
        }
    }
}
