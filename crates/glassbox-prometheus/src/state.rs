//! The memory of a mapper between scrapes: the last value of each counter and the last
//! buckets of each histogram that it turns into rates and interval percentiles.
//!
//! Entries not refreshed by a scrape are dropped at its end, so memory follows the series of
//! the latest page and a series that disappears and comes back starts over.

use std::collections::HashMap;

use crate::histogram::Cumulative;
use crate::index::LabelKey;

/// Identifies one remembered series.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SeriesKey {
    canonical: &'static str,
    source: String,
    labels: Vec<(String, String)>,
}

impl SeriesKey {
    /// Creates the key of the series `source` with these labels, read for `canonical`.
    pub(crate) fn new(canonical: &'static str, source: &str, labels: &LabelKey<'_>) -> SeriesKey {
        SeriesKey {
            canonical,
            source: source.to_owned(),
            labels: labels
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        }
    }
}

/// The growth of a counter or histogram between two scrapes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Increase<T> {
    /// How much it grew.
    pub(crate) amount: T,
    /// The time between the two scrapes, in seconds.
    pub(crate) seconds: f64,
    /// When the previous scrape was taken, in nanoseconds since the Unix epoch.
    pub(crate) since_unix_nano: u64,
}

#[derive(Debug)]
struct Reading<T> {
    value: T,
    time_unix_nano: u64,
    scrape: u64,
}

/// The remembered series of one target.
#[derive(Debug, Default)]
pub(crate) struct State {
    scrape: u64,
    counters: HashMap<SeriesKey, Reading<f64>>,
    histograms: HashMap<SeriesKey, Reading<Cumulative>>,
}

impl State {
    /// Starts a scrape: readings stored from now on belong to it.
    pub(crate) fn begin_scrape(&mut self) {
        self.scrape += 1;
    }

    /// Drops the series the current scrape did not refresh.
    pub(crate) fn end_scrape(&mut self) {
        let scrape = self.scrape;
        self.counters.retain(|_, reading| reading.scrape == scrape);
        self.histograms
            .retain(|_, reading| reading.scrape == scrape);
    }

    /// Stores a counter value and returns its increase since the previous scrape. Returns
    /// `None` on the first reading, when the value went down (the server restarted and
    /// counts from zero again), when the value is not finite, or when time did not advance.
    pub(crate) fn counter_increase(
        &mut self,
        key: SeriesKey,
        value: f64,
        time_unix_nano: u64,
    ) -> Option<Increase<f64>> {
        if !value.is_finite() {
            return None;
        }
        let reading = Reading {
            value,
            time_unix_nano,
            scrape: self.scrape,
        };
        let previous = self.counters.insert(key, reading)?;
        if value < previous.value {
            return None;
        }
        let seconds = elapsed_seconds(previous.time_unix_nano, time_unix_nano)?;
        Some(Increase {
            amount: value - previous.value,
            seconds,
            since_unix_nano: previous.time_unix_nano,
        })
    }

    /// Stores histogram buckets and returns their increase since the previous scrape, with
    /// the same `None` cases as [`State::counter_increase`], plus changed bucket bounds.
    pub(crate) fn histogram_increase(
        &mut self,
        key: SeriesKey,
        buckets: &Cumulative,
        time_unix_nano: u64,
    ) -> Option<Increase<Cumulative>> {
        let reading = Reading {
            value: buckets.clone(),
            time_unix_nano,
            scrape: self.scrape,
        };
        let previous = self.histograms.insert(key, reading)?;
        let amount = buckets.increase_since(&previous.value)?;
        let seconds = elapsed_seconds(previous.time_unix_nano, time_unix_nano)?;
        Some(Increase {
            amount,
            seconds,
            since_unix_nano: previous.time_unix_nano,
        })
    }

    /// Returns how many series are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.counters.len() + self.histograms.len()
    }
}

fn elapsed_seconds(before_unix_nano: u64, now_unix_nano: u64) -> Option<f64> {
    let nanoseconds = now_unix_nano
        .checked_sub(before_unix_nano)
        .filter(|elapsed| *elapsed > 0)?;
    Some(nanoseconds as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    fn key(source: &str) -> SeriesKey {
        SeriesKey::new("test", source, &vec![("model", "m")])
    }

    #[test]
    fn counter_increase_over_scrapes() {
        let mut state = State::default();
        state.begin_scrape();
        assert_eq!(state.counter_increase(key("c"), 100.0, 10 * SECOND), None);
        state.begin_scrape();
        let increase = state
            .counter_increase(key("c"), 130.0, 25 * SECOND)
            .unwrap();
        assert_eq!(increase.amount, 30.0);
        assert_eq!(increase.seconds, 15.0);
        assert_eq!(increase.since_unix_nano, 10 * SECOND);
    }

    #[test]
    fn counter_reset_gives_nothing_then_resumes() {
        let mut state = State::default();
        state.counter_increase(key("c"), 100.0, 10 * SECOND);
        assert_eq!(state.counter_increase(key("c"), 5.0, 20 * SECOND), None);
        let increase = state.counter_increase(key("c"), 25.0, 30 * SECOND).unwrap();
        assert_eq!(increase.amount, 20.0);
    }

    #[test]
    fn time_must_advance() {
        let mut state = State::default();
        state.counter_increase(key("c"), 1.0, 10 * SECOND);
        assert_eq!(state.counter_increase(key("c"), 2.0, 10 * SECOND), None);
        assert_eq!(state.counter_increase(key("c"), 3.0, 5 * SECOND), None);
    }

    #[test]
    fn nan_is_not_stored() {
        let mut state = State::default();
        state.counter_increase(key("c"), 1.0, SECOND);
        assert_eq!(state.counter_increase(key("c"), f64::NAN, 2 * SECOND), None);
        assert_eq!(
            state
                .counter_increase(key("c"), 4.0, 3 * SECOND)
                .unwrap()
                .amount,
            3.0
        );
    }

    #[test]
    fn unrefreshed_series_are_dropped() {
        let mut state = State::default();
        state.begin_scrape();
        state.counter_increase(key("a"), 1.0, SECOND);
        state.counter_increase(key("b"), 1.0, SECOND);
        state.end_scrape();
        assert_eq!(state.len(), 2);

        state.begin_scrape();
        state.counter_increase(key("a"), 2.0, 2 * SECOND);
        state.end_scrape();
        assert_eq!(state.len(), 1);

        state.begin_scrape();
        assert_eq!(state.counter_increase(key("b"), 5.0, 3 * SECOND), None);
    }
}
