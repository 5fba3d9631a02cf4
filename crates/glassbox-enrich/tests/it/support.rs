//! Builders and checks shared by the tests.

use glassbox_model::{Span, SpanId, SpanKind, TokenUsage, TraceId};
use time::macros::format_description;
use time::{Date, Time};

/// Returns the instant `date` (`YYYY-MM-DD`) at `hh:mm` UTC, in nanoseconds since the epoch.
pub fn at(date: &str, hour: u8, minute: u8) -> u64 {
    let date = Date::parse(date, format_description!("[year]-[month]-[day]")).unwrap();
    let time = Time::from_hms(hour, minute, 0).unwrap();
    let nanos = date.with_time(time).assume_utc().unix_timestamp_nanos();
    u64::try_from(nanos).unwrap()
}

/// Builds a model call that started at noon on 2025-09-01 UTC and lasted one second.
pub fn model_call(provider: Option<&str>, model: &str, usage: TokenUsage) -> Span {
    let mut span = Span::new(TraceId([7; 16]), SpanId([7; 8]), "chat");
    span.kind = SpanKind::Llm;
    span.provider = provider.map(str::to_owned);
    span.request_model = Some(model.to_owned());
    span.usage = usage;
    span.start_time_unix_nano = at("2025-09-01", 12, 0);
    span.end_time_unix_nano = span.start_time_unix_nano + 1_000_000_000;
    span
}

/// Token counts with the OpenTelemetry definitions: `input` includes both cache counts and
/// `output` includes `reasoning`.
pub fn usage(input: u64, cached: u64, cache_write: u64, output: u64, reasoning: u64) -> TokenUsage {
    let some = |count: u64| (count > 0).then_some(count);
    TokenUsage {
        input: Some(input),
        output: Some(output),
        cached_input: some(cached),
        cache_write_input: some(cache_write),
        reasoning: some(reasoning),
        total: Some(input + output),
    }
}

/// Asserts that two costs agree to twelve significant digits.
pub fn assert_cost(actual: Option<f64>, expected: f64, case: &str) {
    let actual = actual.unwrap_or_else(|| panic!("{case}: no cost, expected {expected}"));
    let tolerance = expected.abs() * 1e-12 + 1e-18;
    assert!(
        (actual - expected).abs() <= tolerance,
        "{case}: cost {actual}, expected {expected}"
    );
}
