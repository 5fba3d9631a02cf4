//! The health of every collector and scrape target, as the API and the dashboard show it.

use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

/// Latest values kept per target, so a target with thousands of series stays small here.
const MAX_LATEST: usize = 64;

/// Whether a collector or target works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Not scraped yet.
    Pending,
    /// The last scrape succeeded.
    Healthy,
    /// The last scrape failed; `last_error` gives the reason.
    Unhealthy,
    /// The collector cannot run on this machine (no GPU driver, say); `last_error` gives the
    /// reason.
    Unavailable,
}

/// One canonical value of the latest scrape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatestValue {
    /// The canonical metric name.
    pub name: String,
    /// The subject of the value, when the target reports several (a GPU, a model, a disk).
    pub of: Option<String>,
    /// The value.
    pub value: f64,
}

/// The state of one collector or scrape target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetStatus {
    /// The target's name, or `host` and `gpu` for the collectors.
    pub name: String,
    /// `vllm`, `tgi`, `llamacpp`, `triton`, `sglang`, `dcgm`, `prometheus`, `host` or `gpu`.
    pub kind: String,
    /// The metrics URL without credentials; `None` for collectors.
    pub url: Option<String>,
    /// Seconds between scrapes.
    pub interval_secs: u64,
    /// Whether it works.
    pub health: Health,
    /// Time of the last attempt, nanoseconds since the Unix epoch.
    pub last_scrape_unix_nano: Option<u64>,
    /// Time of the last success.
    pub last_success_unix_nano: Option<u64>,
    /// The reason the last attempt failed, or the collector cannot run.
    pub last_error: Option<String>,
    /// Attempts since start.
    pub scrapes: u64,
    /// Failed attempts since start.
    pub failures: u64,
    /// Failed attempts since the last success.
    pub consecutive_failures: u64,
    /// Duration of the last attempt in milliseconds.
    pub last_duration_ms: Option<f64>,
    /// Points written by the last success.
    pub last_points: u64,
    /// The canonical values of the last success.
    pub latest: Vec<LatestValue>,
    /// Models the target serves, from the configuration or the `model` labels it reports.
    pub models: Vec<String>,
    /// Price of one GPU-hour, when configured.
    pub gpu_hour_usd: Option<f64>,
    /// GPUs the target uses.
    pub gpus: u32,
}

impl TargetStatus {
    /// Creates the status of a target that has not been scraped yet.
    pub fn pending(
        name: &str,
        kind: &str,
        url: Option<String>,
        interval_secs: u64,
    ) -> TargetStatus {
        TargetStatus {
            name: name.to_owned(),
            kind: kind.to_owned(),
            url,
            interval_secs,
            health: Health::Pending,
            last_scrape_unix_nano: None,
            last_success_unix_nano: None,
            last_error: None,
            scrapes: 0,
            failures: 0,
            consecutive_failures: 0,
            last_duration_ms: None,
            last_points: 0,
            latest: Vec::new(),
            models: Vec::new(),
            gpu_hour_usd: None,
            gpus: 1,
        }
    }

    /// Records a successful attempt.
    pub fn succeeded(&mut self, at: u64, duration_ms: f64, points: u64, latest: Vec<LatestValue>) {
        self.health = Health::Healthy;
        self.last_scrape_unix_nano = Some(at);
        self.last_success_unix_nano = Some(at);
        self.last_error = None;
        self.scrapes += 1;
        self.consecutive_failures = 0;
        self.last_duration_ms = Some(duration_ms);
        self.last_points = points;
        self.latest = latest.into_iter().take(MAX_LATEST).collect();
    }

    /// Records a failed attempt; the latest values stay, as the last known state.
    pub fn failed(&mut self, at: u64, duration_ms: f64, error: String) {
        self.health = Health::Unhealthy;
        self.last_scrape_unix_nano = Some(at);
        self.last_error = Some(error);
        self.scrapes += 1;
        self.failures += 1;
        self.consecutive_failures += 1;
        self.last_duration_ms = Some(duration_ms);
    }
}

/// Every collector's and target's status, shared by their tasks and the readers.
#[derive(Debug, Default)]
pub struct Registry {
    entries: Mutex<Vec<TargetStatus>>,
}

impl Registry {
    /// Adds an entry and returns its index.
    pub fn add(&self, status: TargetStatus) -> usize {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.push(status);
        entries.len() - 1
    }

    /// Changes one entry.
    pub fn update(&self, index: usize, change: impl FnOnce(&mut TargetStatus)) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = entries.get_mut(index) {
            change(entry);
        }
    }

    /// Returns a copy of every entry, in the order they were added.
    pub fn snapshot(&self) -> Vec<TargetStatus> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A registry shared between tasks.
pub type SharedRegistry = Arc<Registry>;
