//! The `[infra]` section: which collectors run, the scrape targets, and how long metric
//! points are kept.

use serde::{Deserialize, Serialize};

use crate::target::TargetKind;

/// Infrastructure collection settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InfraConfig {
    /// The host collector: CPU, memory, disks, network, load.
    pub host: HostConfig,
    /// The NVIDIA GPU collector, through NVML loaded at run time.
    pub gpu: GpuConfig,
    /// Defaults of every scrape target.
    pub scrape: ScrapeDefaults,
    /// Inference servers and exporters to scrape (`[[infra.targets]]`); the `--scrape
    /// KIND=URL` flag adds more.
    pub targets: Vec<TargetConfig>,
    /// How long metric points are kept.
    pub retention: RetentionConfig,
}

/// The host collector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostConfig {
    /// Collect host metrics. Default off.
    pub enabled: bool,
    /// Seconds between samples. Default 15.
    pub interval_secs: u64,
    /// Also sample the processes that use the most CPU. Default off.
    pub processes: bool,
    /// How many processes, when `processes` is on. Default 10.
    pub top_processes: usize,
}

/// The GPU collector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GpuConfig {
    /// Collect NVIDIA GPU metrics when a driver is present. Default off.
    pub enabled: bool,
    /// Seconds between samples. Default 15.
    pub interval_secs: u64,
}

/// Defaults shared by scrape targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScrapeDefaults {
    /// Seconds between scrapes. Default 15.
    pub interval_secs: u64,
    /// Seconds a scrape may take, connection included. Default 5.
    pub timeout_secs: u64,
    /// Largest metrics page accepted, in bytes. Default 16 MiB.
    pub max_page_bytes: usize,
    /// Most samples accepted from one page. Default 200,000.
    pub max_samples: usize,
}

/// One scrape target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// A name for the target, shown in the health list and put on its points as `target`.
    /// Default: the kind and the URL's host and port.
    #[serde(default)]
    pub name: Option<String>,
    /// `vllm`, `tgi`, `llamacpp`, `triton`, `sglang`, `dcgm` or `prometheus`.
    pub kind: TargetKind,
    /// The metrics URL, such as `http://127.0.0.1:8000/metrics`.
    pub url: String,
    /// Seconds between scrapes; default `infra.scrape.interval_secs`.
    #[serde(default)]
    pub interval_secs: Option<u64>,
    /// Seconds a scrape may take; default `infra.scrape.timeout_secs`.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// The models this server serves, as spans name them, to show the server's state next to
    /// their calls. Default: the `model` labels the server reports.
    #[serde(default)]
    pub models: Vec<String>,
    /// Price of one GPU-hour of this server in US dollars, for the cost of self-hosted calls.
    #[serde(default)]
    pub gpu_hour_usd: Option<f64>,
    /// GPUs the server uses. Default 1.
    #[serde(default)]
    pub gpus: Option<u32>,
}

/// Retention of metric points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Days metric points are kept; 0 keeps them forever. Default 30.
    pub metric_days: u64,
    /// Hours after which gauge points are merged to one per step. Default 24.
    pub downsample_after_hours: u64,
    /// The step of downsampled points in seconds, at least 60. Default 300.
    pub downsample_step_secs: u64,
    /// Seconds between retention passes. Default 3600.
    pub interval_secs: u64,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            enabled: false,
            interval_secs: 15,
            processes: false,
            top_processes: 10,
        }
    }
}

impl Default for GpuConfig {
    fn default() -> Self {
        GpuConfig {
            enabled: false,
            interval_secs: 15,
        }
    }
}

impl Default for ScrapeDefaults {
    fn default() -> Self {
        ScrapeDefaults {
            interval_secs: 15,
            timeout_secs: 5,
            max_page_bytes: 16 * 1024 * 1024,
            max_samples: 200_000,
        }
    }
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            metric_days: 30,
            downsample_after_hours: 24,
            downsample_step_secs: 300,
            interval_secs: 3_600,
        }
    }
}

impl InfraConfig {
    /// Checks values that parse but can never work.
    pub fn validate(&self) -> Result<(), String> {
        let checks = [
            (
                self.host.interval_secs >= 1,
                "infra.host.interval_secs must be at least 1",
            ),
            (
                self.gpu.interval_secs >= 1,
                "infra.gpu.interval_secs must be at least 1",
            ),
            (
                self.scrape.interval_secs >= 1,
                "infra.scrape.interval_secs must be at least 1",
            ),
            (
                self.scrape.timeout_secs >= 1,
                "infra.scrape.timeout_secs must be at least 1",
            ),
            (
                self.scrape.max_page_bytes >= 1024,
                "infra.scrape.max_page_bytes must be at least 1024",
            ),
            (
                self.scrape.max_samples >= 1,
                "infra.scrape.max_samples must be at least 1",
            ),
            (
                self.retention.downsample_step_secs >= 60,
                "infra.retention.downsample_step_secs must be at least 60",
            ),
            (
                self.retention.interval_secs >= 60,
                "infra.retention.interval_secs must be at least 60",
            ),
        ];
        if let Some((_, message)) = checks.iter().find(|(ok, _)| !ok) {
            return Err((*message).to_owned());
        }
        let mut names = std::collections::HashSet::new();
        for target in &self.targets {
            let resolved = crate::target::Target::resolve(target, &self.scrape)?;
            if !names.insert(resolved.name.clone()) {
                return Err(format!(
                    "two scrape targets are named {:?}; give each a distinct name",
                    resolved.name
                ));
            }
        }
        Ok(())
    }
}
