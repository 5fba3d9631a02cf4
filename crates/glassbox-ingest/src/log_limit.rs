//! Log lines at a bounded pace: an event that can repeat thousands of times a second, such as
//! a rejected request, is counted, and one line with the count goes out per interval.

use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Shortest time between two lines of one limiter.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Counts events and lets one log line through per [`LOG_INTERVAL`].
#[derive(Debug, Default)]
pub struct LogLimiter {
    last: Mutex<Option<Instant>>,
    unreported: AtomicU64,
}

impl LogLimiter {
    /// Counts `count` events; returns the events since the last line when a line is due.
    pub fn count(&self, count: u64) -> Option<u64> {
        let pending = self.unreported.fetch_add(count, Ordering::Relaxed) + count;
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|at| at.elapsed() < LOG_INTERVAL) {
            return None;
        }
        *last = Some(Instant::now());
        self.unreported.fetch_sub(pending, Ordering::Relaxed);
        Some(pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_counts_between_lines() {
        let limiter = LogLimiter::default();
        assert_eq!(limiter.count(1), Some(1));
        assert_eq!(limiter.count(2), None);
        assert_eq!(limiter.count(1), None);

        *limiter.last.lock().unwrap() = Instant::now().checked_sub(LOG_INTERVAL);
        assert_eq!(limiter.count(1), Some(4));
        assert_eq!(limiter.count(1), None);
    }
}
