//! The retention task: deletes old metric points and downsamples older ones on an interval.

use std::sync::Arc;
use std::time::Duration;

use glassbox_store::Store;
use tokio::sync::watch;

use crate::config::RetentionConfig;
use crate::{now_nanos, wait_or_stop};

const HOUR: u64 = 3_600 * 1_000_000_000;

/// Applies `config` every `config.interval_secs`, the first time one minute after start.
pub async fn run(
    config: RetentionConfig,
    store: Arc<dyn Store>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut next = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if !wait_or_stop(next, &mut shutdown).await {
            return;
        }
        next += Duration::from_secs(config.interval_secs);
        let (delete_before, downsample_before) = bounds(&config, now_nanos());
        let step = i64::try_from(config.downsample_step_secs).unwrap_or(i64::MAX);
        match store
            .retain_metric_points(delete_before, downsample_before, step)
            .await
        {
            Ok(summary) => tracing::debug!(
                deleted = summary.deleted,
                merged = summary.merged,
                written = summary.written,
                "metric point retention done"
            ),
            Err(error) => tracing::error!(%error, "metric point retention failed"),
        }
    }
}

/// Returns the times before which points are deleted and downsampled. Keeping points forever
/// (`metric_days = 0`) deletes nothing.
fn bounds(config: &RetentionConfig, now: u64) -> (u64, u64) {
    let delete_before = if config.metric_days == 0 {
        0
    } else {
        now.saturating_sub(config.metric_days.saturating_mul(24 * HOUR))
    };
    let downsample_before = now.saturating_sub(config.downsample_after_hours.saturating_mul(HOUR));
    (delete_before, downsample_before.max(delete_before))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_follow_the_configuration() {
        let now = 1_000 * 24 * HOUR;
        let config = RetentionConfig::default();
        assert_eq!(
            bounds(&config, now),
            (now - 30 * 24 * HOUR, now - 24 * HOUR)
        );
        let forever = RetentionConfig {
            metric_days: 0,
            ..RetentionConfig::default()
        };
        assert_eq!(bounds(&forever, now).0, 0);
    }
}
