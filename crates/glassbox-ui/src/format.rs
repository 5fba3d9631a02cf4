//! Numbers, durations, money and times as a person reads them.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// Formats a count with thousands separators below a million, then with a suffix.
pub fn count(value: u64) -> String {
    match value {
        0..=999_999 => separated(value),
        1_000_000..=999_999_999 => format!("{:.2}M", value as f64 / 1e6),
        _ => format!("{:.2}B", value as f64 / 1e9),
    }
}

/// Formats an integer with comma thousands separators.
pub fn separated(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Formats milliseconds: `0.42 ms`, `245 ms`, `1.24 s`, `2.5 min`.
pub fn millis(value: f64) -> String {
    if !value.is_finite() {
        return "–".to_owned();
    }
    if value < 10.0 {
        format!("{value:.2} ms")
    } else if value < 1_000.0 {
        format!("{value:.0} ms")
    } else if value < 60_000.0 {
        format!("{:.2} s", value / 1_000.0)
    } else {
        format!("{:.1} min", value / 60_000.0)
    }
}

/// Formats an optional duration in milliseconds; `–` when absent.
pub fn maybe_millis(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), millis)
}

/// Formats US dollars with precision that suits the amount.
pub fn usd(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude == 0.0 {
        "$0".to_owned()
    } else if magnitude < 0.01 {
        format!("${value:.5}")
    } else if magnitude < 1.0 {
        format!("${value:.4}")
    } else {
        let cents = (value * 100.0).round() as i64;
        let sign = if cents < 0 { "-" } else { "" };
        let cents = cents.unsigned_abs();
        format!("{sign}${}.{:02}", separated(cents / 100), cents % 100)
    }
}

/// Formats an optional cost; `–` when unknown.
pub fn maybe_usd(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), usd)
}

/// Formats an optional token count; `–` when unknown.
pub fn maybe_count(value: Option<u64>) -> String {
    value.map_or_else(|| "–".to_owned(), count)
}

/// Formats a share from 0 to 1 as a percentage.
pub fn percent(share: f64) -> String {
    if !share.is_finite() {
        return "–".to_owned();
    }
    let percent = share * 100.0;
    if percent != 0.0 && percent.abs() < 0.1 {
        format!("{percent:.2}%")
    } else {
        format!("{percent:.1}%")
    }
}

/// Formats a rate such as tokens per second.
pub fn rate(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.0}")
    }
}

/// Formats a time as UTC to the second: `2026-12-04 19:43:55`.
pub fn time(nanos: u64) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .ok()
        .and_then(|time| time.format(&format).ok())
        .unwrap_or_else(|| nanos.to_string())
}

/// Formats a time as a short axis label: `19:43` within a day, else `12-04 19:43`.
pub fn axis_time(nanos: u64, range_nanos: u64) -> String {
    let format_short = format_description!("[hour]:[minute]");
    let format_long = format_description!("[month]-[day] [hour]:[minute]");
    let format = if range_nanos <= 86_400 * 1_000_000_000 {
        format_short
    } else {
        format_long
    };
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .ok()
        .and_then(|time| time.format(format).ok())
        .unwrap_or_default()
}

/// Formats a time as RFC 3339, for links and machine-readable attributes.
pub fn rfc3339(nanos: u64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .ok()
        .and_then(|time| time.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Parses an RFC 3339 time into nanoseconds since the Unix epoch.
pub fn parse_time(text: &str) -> Option<u64> {
    let time = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    u64::try_from(time.unix_timestamp_nanos()).ok()
}

/// Describes the change from `previous` to `current`: `+12.3%`, or `new` when nothing came
/// before.
pub fn change(current: f64, previous: f64) -> Option<String> {
    if !current.is_finite() || !previous.is_finite() {
        return None;
    }
    if previous == 0.0 {
        return (current != 0.0).then(|| "new".to_owned());
    }
    let share = (current - previous) / previous.abs();
    Some(format!(
        "{}{}",
        if share >= 0.0 { "+" } else { "" },
        percent(share)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_well() {
        assert_eq!(count(1_234_567), "1.23M");
        assert_eq!(count(12_345), "12,345");
        assert_eq!(millis(0.4213), "0.42 ms");
        assert_eq!(millis(1_240.0), "1.24 s");
        assert_eq!(usd(0.000_42), "$0.00042");
        assert_eq!(usd(12_345.678), "$12,345.68");
        assert_eq!(percent(0.1234), "12.3%");
        assert_eq!(change(110.0, 100.0).as_deref(), Some("+10.0%"));
        assert_eq!(change(5.0, 0.0).as_deref(), Some("new"));
        assert_eq!(change(0.0, 0.0), None);
    }

    #[test]
    fn times_round_trip() {
        let nanos = parse_time("2026-12-04T19:43:55Z").unwrap_or_default();
        assert_eq!(time(nanos), "2026-12-04 19:43:55");
        assert_eq!(parse_time(&rfc3339(nanos)), Some(nanos));
    }
}
