//! Sampling of the receiver while the load runs: memory and CPU time from `/proc`, and the
//! write queue from `GET /api/v1/health` when the receiver is Glassbox.

use std::time::Duration;

use reqwest::Url;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Interval of the memory samples.
const RSS_INTERVAL: Duration = Duration::from_millis(100);
/// Interval of the health samples. Each sample is one API request.
const HEALTH_INTERVAL: Duration = Duration::from_millis(500);

/// Clock ticks per second in `/proc/PID/stat`: Linux fixes USER_HZ at 100 for user space on
/// every common architecture.
const USER_HZ: f64 = 100.0;

/// Figures from the samples.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Samples {
    /// Largest resident set size seen, in bytes.
    pub peak_rss_bytes: u64,
    /// Resident set size at the last sample, in bytes.
    pub last_rss_bytes: u64,
    /// Largest `queued_records` seen in the health reports.
    pub max_queued_records: u64,
    /// Health reports read.
    pub health_samples: u64,
}

/// The counters of `GET /api/v1/health` that the benchmark reads.
#[derive(Debug, Clone, Copy, serde::Deserialize, serde::Serialize)]
pub struct Health {
    /// Records committed since the server started.
    pub committed_records: u64,
    /// Records waiting for a commit.
    pub queued_records: u64,
    /// Export requests rejected because the write queue was full.
    pub rejected_requests: u64,
}

/// Reads the health counters.
pub async fn health(client: &reqwest::Client, api: &Url) -> anyhow::Result<Health> {
    let url = api.join("/api/v1/health")?;
    let response = client.get(url.clone()).send().await?.error_for_status()?;
    Ok(response.json().await?)
}

/// Samples the process `pid` and the health endpoint until `stop` turns true.
pub fn spawn(
    pid: Option<u32>,
    api: Option<Url>,
    client: reqwest::Client,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<Samples> {
    tokio::spawn(async move {
        let mut samples = Samples::default();
        let mut rss_tick = tokio::time::interval(RSS_INTERVAL);
        let mut health_tick = tokio::time::interval(HEALTH_INTERVAL);
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = rss_tick.tick() => {
                    if let Some(rss) = pid.and_then(|pid| status_bytes(pid, "VmRSS")) {
                        samples.peak_rss_bytes = samples.peak_rss_bytes.max(rss);
                        samples.last_rss_bytes = rss;
                    }
                }
                _ = health_tick.tick(), if api.is_some() => {
                    if let Some(api) = &api
                        && let Ok(report) = health(&client, api).await
                    {
                        samples.health_samples += 1;
                        samples.max_queued_records =
                            samples.max_queued_records.max(report.queued_records);
                    }
                }
            }
        }
        samples
    })
}

/// Reads a `kB` line of `/proc/PID/status` (`VmRSS`, `VmHWM`) in bytes.
pub fn status_bytes(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kib(&status, key).map(|kib| kib * 1024)
}

fn parse_status_kib(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// Returns the user plus system CPU time of a process, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_cpu(&stat)
}

/// Returns the CPU time that all processes of the machine have used since boot, in seconds:
/// user, nice, system, irq, softirq and steal time, without idle and I/O wait.
pub fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    parse_machine_busy(&stat)
}

fn parse_machine_busy(stat: &str) -> Option<f64> {
    // The first line is `cpu user nice system idle iowait irq softirq steal guest guest_nice`,
    // in ticks; guest time is already counted in user time.
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<f64> = line
        .split_whitespace()
        .map(|field| field.parse().ok())
        .collect::<Option<_>>()?;
    let busy: f64 = [0, 1, 2, 5, 6, 7]
        .iter()
        .map(|&index| ticks.get(index).copied().unwrap_or(0.0))
        .sum();
    Some(busy / USER_HZ)
}

fn parse_stat_cpu(stat: &str) -> Option<f64> {
    // The command name (field 2) may contain spaces, so count fields after its closing
    // parenthesis: field 3 (state) is the first, utime is field 14 and stime field 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / USER_HZ)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_is_parsed() {
        let status = "Name:\tglassbox\nVmHWM:\t  183456 kB\nVmRSS:\t  170000 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(183_456));
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(170_000));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
    }

    #[test]
    fn stat_cpu_is_parsed() {
        let stat = "42 (tokio runtime) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0";
        assert_eq!(parse_stat_cpu(stat), Some(3.0));
    }

    #[test]
    fn machine_busy_time_is_parsed() {
        let stat = "cpu  100 10 50 9000 40 5 5 30 0 0\ncpu0 50 5 25 4500 20 2 3 15 0 0\n";
        assert_eq!(parse_machine_busy(stat), Some(2.0));
    }

    #[test]
    fn own_process_is_readable() {
        let pid = std::process::id();
        assert!(status_bytes(pid, "VmRSS").is_some_and(|bytes| bytes > 0));
        assert!(cpu_seconds(pid).is_some());
        assert!(machine_busy_seconds().is_some());
    }
}
