//! RFC 3339 times with nanoseconds, the only time format of the API.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// Formats nanoseconds since the Unix epoch as `2026-01-02T03:04:05.123456789Z`.
pub fn format_nanos(nanos: u64) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .ok()
        .and_then(|time| time.format(&format).ok())
        .unwrap_or_else(|| nanos.to_string())
}

/// Parses an RFC 3339 time into nanoseconds since the Unix epoch.
pub fn parse_rfc3339(text: &str) -> Result<u64, String> {
    let time = OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| format!("{text:?} is not an RFC 3339 time such as 2026-01-02T03:04:05Z"))?;
    u64::try_from(time.unix_timestamp_nanos()).map_err(|_| format!("{text:?} is before 1970-01-01"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn nanoseconds_are_kept() {
        assert_eq!(
            format_nanos(1_796_413_435_713_508_815),
            "2026-12-04T19:43:55.713508815Z"
        );
    }

    #[test]
    fn parse_and_format_round_trip() {
        let nanos = parse_rfc3339("2026-12-04T19:43:55.713508815Z").unwrap();
        assert_eq!(nanos, 1_796_413_435_713_508_815);
        assert_eq!(
            parse_rfc3339("2026-12-04T20:43:55+01:00").unwrap(),
            1_796_413_435_000_000_000
        );
    }

    #[test]
    fn invalid_time_names_the_value() {
        assert!(
            parse_rfc3339("yesterday")
                .unwrap_err()
                .contains("\"yesterday\"")
        );
    }
}
