//! When a price is in force: start dates and daily time windows, evaluated in UTC at the
//! span's start time.

use serde::Serialize;
use time::macros::format_description;
use time::{Date, Time};

use crate::error::PricingError;

const NANOS_PER_SECOND: u64 = 1_000_000_000;
const SECONDS_PER_DAY: u32 = 86_400;

/// A condition on the time of a call under which a price applies.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceConstraint {
    /// The price applies from 00:00 UTC of this date on.
    StartDate {
        /// The date as given, `YYYY-MM-DD`.
        start_date: String,
        /// The same instant in nanoseconds since the Unix epoch; not serialized.
        #[serde(skip)]
        start_unix_nano: u64,
    },
    /// The price applies every day between two times of day (start included, end excluded),
    /// such as an off-peak window. A window whose end precedes its start spans midnight.
    TimeOfDay {
        /// The start time as given, such as `00:30:00Z`.
        start_time: String,
        /// The end time as given.
        end_time: String,
        /// The start as a second of the day in UTC; not serialized.
        #[serde(skip)]
        start_second: u32,
        /// The end as a second of the day in UTC; not serialized.
        #[serde(skip)]
        end_second: u32,
    },
}

impl PriceConstraint {
    /// Builds a start-date constraint from `YYYY-MM-DD`.
    pub(crate) fn start_date(text: &str) -> Result<PriceConstraint, PricingError> {
        Ok(PriceConstraint::StartDate {
            start_date: text.to_owned(),
            start_unix_nano: date_start_unix_nano(text)?,
        })
    }

    /// Builds a daily window from two times such as `00:30:00Z` or `08:00:00+08:00`; a time
    /// without an offset is UTC.
    pub(crate) fn time_of_day(start: &str, end: &str) -> Option<PriceConstraint> {
        Some(PriceConstraint::TimeOfDay {
            start_time: start.to_owned(),
            end_time: end.to_owned(),
            start_second: utc_second_of_day(start)?,
            end_second: utc_second_of_day(end)?,
        })
    }

    /// Returns whether the constraint holds for a call that started at `at_unix_nano`.
    pub(crate) fn is_active(&self, at_unix_nano: u64) -> bool {
        match self {
            PriceConstraint::StartDate {
                start_unix_nano, ..
            } => at_unix_nano >= *start_unix_nano,
            PriceConstraint::TimeOfDay {
                start_second,
                end_second,
                ..
            } => {
                let second = (at_unix_nano / NANOS_PER_SECOND % u64::from(SECONDS_PER_DAY)) as u32;
                if start_second <= end_second {
                    (*start_second..*end_second).contains(&second)
                } else {
                    second >= *start_second || second < *end_second
                }
            }
        }
    }
}

/// Returns 00:00 UTC of a `YYYY-MM-DD` date in nanoseconds since the Unix epoch; dates before
/// the epoch give 0.
pub(crate) fn date_start_unix_nano(text: &str) -> Result<u64, PricingError> {
    let date = Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|_| {
        PricingError::InvalidStartDate {
            value: text.to_owned(),
        }
    })?;
    let nanos = date.midnight().assume_utc().unix_timestamp_nanos();
    Ok(u64::try_from(nanos.max(0)).unwrap_or(u64::MAX))
}

/// Parses `HH:MM:SS` with an optional `Z` or `±HH:MM` offset into the UTC second of the day.
fn utc_second_of_day(text: &str) -> Option<u32> {
    let (clock, offset_seconds) = split_offset(text)?;
    let time = Time::parse(clock, format_description!("[hour]:[minute]:[second]")).ok()?;
    let (hour, minute, second) = time.as_hms();
    let local = i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    u32::try_from((local - offset_seconds).rem_euclid(i64::from(SECONDS_PER_DAY))).ok()
}

/// Splits `08:00:00+08:00` into the clock time and the offset in seconds east of UTC.
fn split_offset(text: &str) -> Option<(&str, i64)> {
    if let Some(clock) = text.strip_suffix('Z') {
        return Some((clock, 0));
    }
    let Some(sign_at) = text.rfind(['+', '-']) else {
        return Some((text, 0));
    };
    let (clock, offset) = text.split_at(sign_at);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let (hours, minutes) = offset.get(1..)?.split_once(':')?;
    let seconds = hours.parse::<i64>().ok()? * 3600 + minutes.parse::<i64>().ok()? * 60;
    Some((clock, sign * seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400 * NANOS_PER_SECOND;
    const HOUR: u64 = 3_600 * NANOS_PER_SECOND;

    #[test]
    fn start_date_is_midnight_utc() {
        // 2025-06-10 is day 20,249 after 1970-01-01.
        assert_eq!(date_start_unix_nano("2025-06-10").unwrap(), 20_249 * DAY);
        let constraint = PriceConstraint::start_date("2025-06-10").unwrap();
        assert!(!constraint.is_active(20_249 * DAY - 1));
        assert!(constraint.is_active(20_249 * DAY));
    }

    #[test]
    fn invalid_dates_are_rejected() {
        for text in ["2025-13-01", "2025-02-30", "June 1", "2025-6-1"] {
            assert!(date_start_unix_nano(text).is_err(), "{text}");
        }
    }

    #[test]
    fn time_window_in_utc() {
        let window = PriceConstraint::time_of_day("00:30:00Z", "16:30:00Z").unwrap();
        let day = 20_000 * DAY;
        assert!(!window.is_active(day));
        assert!(window.is_active(day + HOUR / 2));
        assert!(window.is_active(day + 16 * HOUR + HOUR / 2 - 1));
        assert!(!window.is_active(day + 16 * HOUR + HOUR / 2));
    }

    #[test]
    fn time_window_with_offset_and_midnight() {
        // 08:00+08:00 is 00:00 UTC; 02:00+08:00 is 18:00 UTC the day before.
        let window = PriceConstraint::time_of_day("08:00:00+08:00", "02:00:00+08:00").unwrap();
        let day = 20_000 * DAY;
        assert!(window.is_active(day + HOUR));
        assert!(!window.is_active(day + 20 * HOUR));
        let overnight = PriceConstraint::time_of_day("22:00:00", "02:00:00").unwrap();
        assert!(overnight.is_active(day + 23 * HOUR));
        assert!(overnight.is_active(day + HOUR));
        assert!(!overnight.is_active(day + 12 * HOUR));
    }
}
