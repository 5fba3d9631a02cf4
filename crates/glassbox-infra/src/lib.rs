//! Infrastructure metrics next to the calls they served: a host collector, an NVIDIA GPU
//! collector loaded at run time, Prometheus scraping of inference servers and exporters, the
//! health of each, and retention of the metric points they write.
//!
//! Each collector and target runs as its own task on its own interval and reports to a
//! [`Registry`] that the API and the dashboard read. Points go through the same batch writer
//! as OTLP metrics.

#![warn(missing_docs)]

mod collect;
pub mod config;
pub mod health;
mod retention;
pub mod scrape;
pub mod target;

use std::sync::Arc;

use glassbox_host::HostOptions;
use glassbox_ingest::BatchWriter;
use glassbox_prometheus::Limits;
use glassbox_store::Store;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use config::InfraConfig;
pub use health::{Health, LatestValue, Registry, TargetStatus};
pub use target::{Target, TargetKind, parse_flag};

/// The running collectors and scrapers.
pub struct Infra {
    registry: Arc<Registry>,
    tasks: JoinSet<()>,
}

impl Infra {
    /// Starts every enabled collector, every target and the retention task. Each stops when
    /// `shutdown` turns true.
    pub fn start(
        config: &InfraConfig,
        writer: BatchWriter,
        store: Arc<dyn Store>,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<Infra, String> {
        config.validate()?;
        let registry = Arc::new(Registry::default());
        let mut tasks = JoinSet::new();

        if config.host.enabled {
            let index = registry.add(TargetStatus::pending(
                "host",
                "host",
                None,
                config.host.interval_secs,
            ));
            let options = HostOptions {
                processes: config.host.processes,
                top_processes: config.host.top_processes,
                per_cpu: false,
            };
            tasks.spawn(collect::host(
                options,
                std::time::Duration::from_secs(config.host.interval_secs),
                writer.clone(),
                Arc::clone(&registry),
                index,
                shutdown.clone(),
            ));
        }
        if config.gpu.enabled {
            let index = registry.add(TargetStatus::pending(
                "gpu",
                "gpu",
                None,
                config.gpu.interval_secs,
            ));
            tasks.spawn(collect::gpu(
                std::time::Duration::from_secs(config.gpu.interval_secs),
                writer.clone(),
                Arc::clone(&registry),
                index,
                shutdown.clone(),
            ));
        }
        if !config.targets.is_empty() {
            let scraper = scrape::Scraper {
                client: glassbox_gateway::client::build(scrape::CONNECT_TIMEOUT)?,
                writer: writer.clone(),
                registry: Arc::clone(&registry),
                limits: Limits {
                    max_bytes: config.scrape.max_page_bytes,
                    max_samples: config.scrape.max_samples,
                    ..Limits::default()
                },
            };
            for target_config in &config.targets {
                let target = Target::resolve(target_config, &config.scrape)?;
                let mut status = TargetStatus::pending(
                    &target.name,
                    target.kind.as_str(),
                    Some(shown_url(&target.url)),
                    target.interval.as_secs(),
                );
                status.models = target.models.clone();
                status.gpu_hour_usd = target.gpu_hour_usd;
                status.gpus = target.gpus;
                let index = registry.add(status);
                tracing::info!(
                    target = %target.name,
                    kind = target.kind.as_str(),
                    interval_secs = target.interval.as_secs(),
                    "scraping"
                );
                tasks.spawn(scraper.clone().run(target, index, shutdown.clone()));
            }
        }
        tasks.spawn(retention::run(
            config.retention.clone(),
            store,
            shutdown.clone(),
        ));
        Ok(Infra { registry, tasks })
    }

    /// Returns the registry of every collector and target.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Waits for every task to end after shutdown.
    pub async fn stopped(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Formats the URL for display, without user name, password or query, which may carry
/// secrets.
fn shown_url(url: &http::Uri) -> String {
    let host = url.host().unwrap_or_default();
    let port = url
        .port()
        .map(|port| format!(":{port}"))
        .unwrap_or_default();
    format!(
        "{}://{host}{port}{}",
        url.scheme_str().unwrap_or("http"),
        url.path()
    )
}

/// Returns the current time in nanoseconds since the Unix epoch.
pub(crate) fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
        })
}

/// Sleeps until `at`; returns false when shutdown came first.
pub(crate) async fn wait_or_stop(
    at: tokio::time::Instant,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    if *shutdown.borrow() {
        return false;
    }
    tokio::select! {
        () = tokio::time::sleep_until(at) => !*shutdown.borrow(),
        _ = shutdown.changed() => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn shown_urls_drop_credentials_and_queries() {
        let url: http::Uri = "http://user:secret@127.0.0.1:8000/metrics?token=abc"
            .parse()
            .unwrap();
        assert_eq!(shown_url(&url), "http://127.0.0.1:8000/metrics");
    }
}
