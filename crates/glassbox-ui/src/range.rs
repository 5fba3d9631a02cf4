//! The time range of a page: a preset (`range=24h`) or explicit `from` and `to` times.

use crate::error::PageError;
use crate::format::parse_time;
use crate::query::Params;

const MINUTE: u64 = 60 * 1_000_000_000;

/// The presets a page offers, shortest first, with their length in minutes.
pub const PRESETS: [(&str, u64); 6] = [
    ("15m", 15),
    ("1h", 60),
    ("6h", 360),
    ("24h", 1_440),
    ("7d", 10_080),
    ("30d", 43_200),
];

/// The preset when a page names none.
pub const DEFAULT_PRESET: &str = "24h";

/// Steps a chart may use, in seconds: whole minutes, hours and days.
const STEPS: [i64; 10] = [
    60, 300, 600, 900, 1_800, 3_600, 10_800, 21_600, 43_200, 86_400,
];

/// Points a chart aims for.
const TARGET_POINTS: u64 = 60;

/// A range of time in nanoseconds since the Unix epoch, `from` inclusive, `to` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// Start.
    pub from: u64,
    /// End.
    pub to: u64,
    /// The preset it came from, when it did.
    pub preset: Option<&'static str>,
    /// The chart step in seconds.
    pub step: i64,
}

impl TimeRange {
    /// Reads the range of a page: `from` and `to` (RFC 3339) when given, else the `range`
    /// preset ending now.
    pub fn from_params(params: &Params, now: u64) -> Result<TimeRange, PageError> {
        let from = params.parsed("from", parse_time, "an RFC 3339 time")?;
        let to = params.parsed("to", parse_time, "an RFC 3339 time")?;
        if from.is_some() || to.is_some() {
            let to = to.unwrap_or(now);
            let from = from.unwrap_or(to.saturating_sub(1_440 * MINUTE));
            if from >= to {
                return Err(PageError::BadParameter(
                    "from",
                    "must be earlier than to".to_owned(),
                ));
            }
            return Ok(TimeRange {
                from,
                to,
                preset: None,
                step: step_for(to - from),
            });
        }
        let name = params.get("range").unwrap_or(DEFAULT_PRESET);
        let Some((preset, minutes)) = PRESETS.iter().find(|(preset, _)| *preset == name) else {
            let names: Vec<&str> = PRESETS.iter().map(|(preset, _)| *preset).collect();
            return Err(PageError::BadParameter(
                "range",
                format!("{name:?} is not one of {}", names.join(", ")),
            ));
        };
        // A preset starts on a step boundary, so every chart bucket is whole and the store
        // can read its hour and day rollups.
        let step = step_for(minutes * MINUTE);
        let step_nanos = u64::try_from(step).unwrap_or(60) * 1_000_000_000;
        Ok(TimeRange {
            from: now.saturating_sub(minutes * MINUTE) / step_nanos * step_nanos,
            to: now,
            preset: Some(preset),
            step,
        })
    }

    /// Returns the length in nanoseconds.
    pub fn length(&self) -> u64 {
        self.to - self.from
    }

    /// Returns the range of the same length that ends where this one starts.
    pub fn previous(&self) -> TimeRange {
        TimeRange {
            from: self.from.saturating_sub(self.length()),
            to: self.from,
            preset: None,
            step: self.step,
        }
    }

    /// Returns the chart step in seconds: whole minutes, about 60 points over the range.
    pub fn step_seconds(&self) -> i64 {
        self.step
    }
}

/// Picks a step of whole minutes that gives about 60 points over `length` nanoseconds.
fn step_for(length: u64) -> i64 {
    let wanted = i64::try_from(length / TARGET_POINTS / 1_000_000_000).unwrap_or(i64::MAX);
    STEPS
        .iter()
        .copied()
        .find(|step| *step >= wanted)
        .unwrap_or_else(|| (wanted + 86_399) / 86_400 * 86_400)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        serde_json::from_value(serde_json::json!(owned)).unwrap()
    }

    const NOW: u64 = 1_796_413_435_000_000_000;

    #[test]
    fn presets_end_now() {
        let range = TimeRange::from_params(&params(&[("range", "1h")]), NOW).unwrap();
        assert!(range.length() >= 60 * MINUTE);
        assert!(range.length() < 61 * MINUTE);
        assert_eq!(range.from % MINUTE, 0);
        assert_eq!(range.to, NOW);
        assert_eq!(range.previous().to, range.from);
        assert_eq!(range.step_seconds(), 60);
    }

    #[test]
    fn explicit_times_win_over_the_preset() {
        let range = TimeRange::from_params(
            &params(&[
                ("range", "1h"),
                ("from", "2026-12-01T00:00:00Z"),
                ("to", "2026-12-08T00:00:00Z"),
            ]),
            NOW,
        )
        .unwrap();
        assert_eq!(range.preset, None);
        assert_eq!(range.step_seconds(), 10_800);
    }

    #[test]
    fn bad_values_name_the_parameter() {
        for (pairs, name) in [
            (vec![("range", "2w")], "range"),
            (vec![("from", "yesterday")], "from"),
            (
                vec![
                    ("from", "2026-12-02T00:00:00Z"),
                    ("to", "2026-12-01T00:00:00Z"),
                ],
                "from",
            ),
        ] {
            let error = TimeRange::from_params(&params(&pairs), NOW).unwrap_err();
            assert!(matches!(error, PageError::BadParameter(found, _) if found == name));
        }
    }
}
