//! Streaming flag and time to first token (TTFT).
//!
//! TTFT sources, first present wins:
//! - `gen_ai.response.time_to_first_chunk` and OpenLIT's `gen_ai.server.time_to_first_token`,
//!   in seconds;
//! - the Vercel AI SDK's `msToFirstChunk`, in milliseconds;
//! - Langfuse's `completion_start_time` timestamp minus the span start;
//! - the time of the first span event that marks the first chunk (OpenInference's
//!   `First Token Stream Event`, OpenLLMetry's chunk events, Vercel's `ai.stream.firstChunk`)
//!   minus the span start.
//!
//! A span that says it did not stream gets no TTFT: OpenLIT sets its TTFT attribute on
//! non-streamed calls too, where it equals the whole request duration.

use opentelemetry_proto::tonic::trace::v1::span::Event;
use serde_json::Value;

use crate::lookup::{Attributes, unquote_json_string};
use crate::names;

const NANOS_PER_MILLISECOND: f64 = 1e6;

/// Returns whether the response was streamed, when the span records it.
///
/// `invocation_parameters` is OpenInference's parsed request parameters, whose `stream` key
/// is its only streaming marker.
pub fn streaming(
    attributes: &Attributes<'_>,
    invocation_parameters: Option<&Value>,
) -> Option<bool> {
    if let Some(flag) = attributes.first_flag(names::STREAMING) {
        return Some(flag);
    }
    if let Some(flag) = invocation_parameters
        .and_then(|parameters| parameters.get("stream"))
        .and_then(Value::as_bool)
    {
        return Some(flag);
    }
    let operation_id = attributes.text(names::VERCEL_OPERATION_ID)?;
    if operation_id.ends_with(".doStream") {
        return Some(true);
    }
    operation_id.ends_with(".doGenerate").then_some(false)
}

/// Returns the time to first token in milliseconds.
pub fn ttft_ms(
    attributes: &Attributes<'_>,
    events: &[Event],
    start_time_unix_nano: u64,
    streaming: Option<bool>,
) -> Option<f64> {
    if streaming == Some(false) {
        return None;
    }
    if let Some((_, seconds)) = attributes.first_number(names::TTFT_SECONDS) {
        return non_negative(seconds * 1000.0);
    }
    if let Some((_, milliseconds)) = attributes.first_number(names::TTFT_MILLISECONDS) {
        return non_negative(milliseconds);
    }
    if let Some(text) = attributes.text(names::LANGFUSE_COMPLETION_START) {
        let completion_start = parse_rfc3339_nanos(&unquote_json_string(text));
        if let Some(completion_start) = completion_start {
            return elapsed_ms(start_time_unix_nano, completion_start);
        }
    }
    first_chunk_event(events).and_then(|time| elapsed_ms(start_time_unix_nano, time))
}

fn first_chunk_event(events: &[Event]) -> Option<u64> {
    events
        .iter()
        .filter(|event| names::FIRST_CHUNK_EVENTS.contains(&event.name.as_str()))
        .map(|event| event.time_unix_nano)
        .min()
}

fn elapsed_ms(start: u64, later: u64) -> Option<f64> {
    let elapsed = later.checked_sub(start)?;
    Some(elapsed as f64 / NANOS_PER_MILLISECOND)
}

fn non_negative(milliseconds: f64) -> Option<f64> {
    (milliseconds.is_finite() && milliseconds >= 0.0).then_some(milliseconds)
}

/// Parses an RFC 3339 timestamp (`2026-12-04T19:57:04.370676Z`, or with an offset such as
/// `+02:00`) into nanoseconds since the Unix epoch. A timestamp without offset is read as UTC.
pub fn parse_rfc3339_nanos(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.len() < 19 || !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = digits(text, 0, 4)?;
    let month = digits(text, 5, 7)?;
    let day = digits(text, 8, 10)?;
    let hour = digits(text, 11, 13)?;
    let minute = digits(text, 14, 16)?;
    let second = digits(text, 17, 19)?;
    let separators_ok =
        bytes[4] == b'-' && bytes[7] == b'-' && bytes[13] == b':' && bytes[16] == b':';
    if !separators_ok || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }

    let (fraction_nanos, rest) = fraction(&text[19..])?;
    let offset_seconds = offset(rest)?;

    let days = days_from_civil(year as i64, month, day);
    let seconds = days * 86_400 + (hour * 3600 + minute * 60 + second) as i64 - offset_seconds;
    let nanos = i128::from(seconds) * 1_000_000_000 + i128::from(fraction_nanos);
    u64::try_from(nanos).ok()
}

fn digits(text: &str, start: usize, end: usize) -> Option<u32> {
    let part = text.get(start..end)?;
    if !part.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

/// Reads an optional `.digits` fraction; returns its value in nanoseconds and the rest.
fn fraction(text: &str) -> Option<(u32, &str)> {
    let Some(after_dot) = text.strip_prefix('.') else {
        return Some((0, text));
    };
    let length = after_dot.bytes().take_while(u8::is_ascii_digit).count();
    if length == 0 {
        return None;
    }
    let mut nanos: u32 = 0;
    for (index, byte) in after_dot
        .bytes()
        .take(9)
        .take_while(u8::is_ascii_digit)
        .enumerate()
    {
        nanos += u32::from(byte - b'0') * 10u32.pow(8 - index as u32);
    }
    Some((nanos, &after_dot[length..]))
}

/// Reads the offset (`Z`, `+HH:MM`, `-HH:MM`, or nothing for UTC) in seconds east of UTC.
fn offset(text: &str) -> Option<i64> {
    match text {
        "" | "Z" | "z" => Some(0),
        _ => {
            let sign = match text.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hours = digits(text, 1, 3)?;
            let minutes = digits(text, 4, 6)?;
            if text.len() != 6 || text.as_bytes()[3] != b':' {
                return None;
            }
            Some(sign * i64::from(hours * 3600 + minutes * 60))
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_index + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn attributes_of(value: Value) -> Map<String, Value> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn rfc3339_timestamps_parse() {
        assert_eq!(parse_rfc3339_nanos("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_nanos("2026-12-04T19:57:04.370676Z"),
            Some(1_796_414_224_370_676_000)
        );
        assert_eq!(
            parse_rfc3339_nanos("2026-12-04T21:57:04.370676+02:00"),
            Some(1_796_414_224_370_676_000)
        );
        assert_eq!(parse_rfc3339_nanos("not a time"), None);
        assert_eq!(parse_rfc3339_nanos("2026-13-04T19:57:04Z"), None);
    }

    #[test]
    fn vercel_milliseconds_are_kept() {
        let map = attributes_of(json!({"ai.response.msToFirstChunk": 120.5}));
        let found = ttft_ms(&Attributes::new(&map), &[], 0, Some(true));
        assert_eq!(found, Some(120.5));
    }

    #[test]
    fn seconds_become_milliseconds() {
        let map = attributes_of(json!({"gen_ai.response.time_to_first_chunk": 0.25}));
        let found = ttft_ms(&Attributes::new(&map), &[], 0, None);
        assert_eq!(found, Some(250.0));
    }

    #[test]
    fn non_streamed_calls_get_no_ttft() {
        let map = attributes_of(json!({"gen_ai.server.time_to_first_token": 0.25}));
        let found = ttft_ms(&Attributes::new(&map), &[], 0, Some(false));
        assert_eq!(found, None);
    }

    #[test]
    fn first_chunk_event_counts_from_span_start() {
        let map = Map::new();
        let events = [
            Event {
                name: "gen_ai.content.completion.chunk".into(),
                time_unix_nano: 5_000_000,
                ..Default::default()
            },
            Event {
                name: "gen_ai.content.completion.chunk".into(),
                time_unix_nano: 9_000_000,
                ..Default::default()
            },
        ];
        let found = ttft_ms(&Attributes::new(&map), &events, 1_000_000, None);
        assert_eq!(found, Some(4.0));
    }

    #[test]
    fn vercel_stream_operations_set_streaming() {
        let map = attributes_of(json!({"ai.operationId": "ai.streamText.doStream"}));
        assert_eq!(streaming(&Attributes::new(&map), None), Some(true));
        let map = attributes_of(json!({"ai.operationId": "ai.generateText.doGenerate"}));
        assert_eq!(streaming(&Attributes::new(&map), None), Some(false));
    }

    #[test]
    fn invocation_parameters_set_streaming() {
        let map = Map::new();
        let parameters = json!({"model": "gpt-4o-mini", "stream": true});
        assert_eq!(
            streaming(&Attributes::new(&map), Some(&parameters)),
            Some(true)
        );
    }
}
