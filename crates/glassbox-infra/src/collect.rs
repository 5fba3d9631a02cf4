//! The host and GPU collectors as tasks: a sample on each interval, written as metric points.

use std::time::{Duration, Instant};

use glassbox_host::{GpuCollector, GpuError, HostCollector, HostOptions};
use glassbox_ingest::BatchWriter;
use glassbox_model::MetricPoint;
use glassbox_store::WriteBatch;
use tokio::sync::watch;

use crate::health::{Health, LatestValue, SharedRegistry};
use crate::{now_nanos, wait_or_stop};

/// Samples the host every `interval` until shutdown.
pub async fn host(
    options: HostOptions,
    interval: Duration,
    writer: BatchWriter,
    registry: SharedRegistry,
    index: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut collector = Some(HostCollector::new(options));
    let mut next = tokio::time::Instant::now();
    loop {
        if !wait_or_stop(next, &mut shutdown).await {
            return;
        }
        next += interval;
        let at = now_nanos();
        let started = Instant::now();
        let Some(mut owned) = collector.take() else {
            return;
        };
        // sysinfo reads /proc synchronously: keep it off the async workers.
        let sampled = tokio::task::spawn_blocking(move || {
            let points = owned.collect(at);
            (owned, points)
        })
        .await;
        let Ok((owned, points)) = sampled else {
            registry.update(index, |status| {
                status.failed(at, 0.0, "the host sample panicked".to_owned());
            });
            return;
        };
        collector = Some(owned);
        record(&writer, &registry, index, at, started, points).await;
    }
}

/// Samples the GPUs every `interval` until shutdown, or reports why it cannot.
pub async fn gpu(
    interval: Duration,
    writer: BatchWriter,
    registry: SharedRegistry,
    index: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let loaded = tokio::task::spawn_blocking(GpuCollector::load).await;
    let mut collector = match loaded {
        Ok(Ok(collector)) => collector,
        Ok(Err(error)) => {
            tracing::info!(%error, "GPU metrics are off");
            registry.update(index, |status| {
                status.health = Health::Unavailable;
                status.last_error = Some(error.to_string());
            });
            return;
        }
        Err(error) => {
            registry.update(index, |status| {
                status.health = Health::Unavailable;
                status.last_error = Some(format!("loading NVML failed: {error}"));
            });
            return;
        }
    };
    let mut next = tokio::time::Instant::now();
    loop {
        if !wait_or_stop(next, &mut shutdown).await {
            return;
        }
        next += interval;
        let at = now_nanos();
        let started = Instant::now();
        match collector.collect(at) {
            Ok(points) => record(&writer, &registry, index, at, started, points).await,
            Err(error @ (GpuError::Query(_) | GpuError::Unavailable(_))) => {
                tracing::warn!(%error, "GPU sample failed");
                registry.update(index, |status| {
                    status.failed(at, elapsed_ms(started), error.to_string());
                });
            }
        }
    }
}

fn elapsed_ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1_000.0
}

async fn record(
    writer: &BatchWriter,
    registry: &SharedRegistry,
    index: usize,
    at: u64,
    started: Instant,
    points: Vec<MetricPoint>,
) {
    let latest: Vec<LatestValue> = glassbox_host::latest(&points)
        .into_iter()
        .map(|(name, value)| LatestValue {
            name,
            of: None,
            value,
        })
        .collect();
    let count = points.len() as u64;
    let written = writer
        .write(WriteBatch {
            metric_points: points,
            ..WriteBatch::default()
        })
        .await;
    let duration_ms = elapsed_ms(started);
    match written {
        Ok(_) => registry.update(index, |status| {
            status.succeeded(at, duration_ms, count, latest)
        }),
        Err(error) => {
            tracing::warn!(%error, "collected points not stored");
            registry.update(index, |status| {
                status.failed(at, duration_ms, format!("points not stored: {error}"));
            });
        }
    }
}
