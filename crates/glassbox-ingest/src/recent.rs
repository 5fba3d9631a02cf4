//! When an event last happened, to tell whether it happened recently: the health endpoint
//! reports the server as degraded for a while after it rejected or lost data.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long after an event the server still counts as degraded by it.
pub const RECENT: Duration = Duration::from_secs(60);

/// The time of an event's last occurrence, on a monotonic clock.
#[derive(Debug, Default)]
pub struct LastSeen {
    /// Milliseconds since the process's clock origin, plus one; zero when never seen.
    at: AtomicU64,
}

impl LastSeen {
    /// Notes that the event happened now.
    pub fn mark(&self) {
        self.at.store(now_millis() + 1, Ordering::Relaxed);
    }

    /// Returns true when the event happened within the last `window`.
    pub fn within(&self, window: Duration) -> bool {
        let at = self.at.load(Ordering::Relaxed);
        if at == 0 {
            return false;
        }
        let since = (now_millis() + 1).saturating_sub(at);
        u128::from(since) < window.as_millis()
    }
}

fn now_millis() -> u64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let elapsed = ORIGIN.get_or_init(Instant::now).elapsed();
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_seen_is_not_recent() {
        assert!(!LastSeen::default().within(RECENT));
    }

    #[test]
    fn marked_event_is_recent_within_its_window() {
        let seen = LastSeen::default();
        seen.mark();

        assert!(seen.within(RECENT));
        assert!(!seen.within(Duration::ZERO));
    }
}
