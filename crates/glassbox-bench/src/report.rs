//! The results: one line of figures for people and a JSON file for comparisons.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::load::Tally;
use crate::server::StopReport;
use crate::verify::Verification;

/// The JSON report of one ingest run.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Always `ingest`.
    pub benchmark: &'static str,
    /// Settings of the run.
    pub run: RunInfo,
    /// Seconds from the start to the last response.
    pub elapsed_secs: f64,
    /// Acknowledged spans per second of `elapsed_secs`.
    pub spans_per_sec: f64,
    /// Request bytes per second of `elapsed_secs`, acknowledged or not, in MiB.
    pub sent_mib_per_sec: f64,
    /// Request counts.
    pub requests: RequestCounts,
    /// Span counts.
    pub spans: SpanCounts,
    /// Latency of acknowledged requests, in milliseconds. In open-loop mode it runs from the
    /// time each request was due.
    pub latency_ms: Latency,
    /// Spans acknowledged in each second of the run.
    pub spans_per_second: Vec<u64>,
    /// Failure messages and their counts.
    pub errors: BTreeMap<String, u64>,
    /// Figures of the receiver process, when its process id is known.
    pub server: Option<ServerFigures>,
    /// CPU time of the benchmark process during the load, in seconds.
    pub client_cpu_secs: Option<f64>,
    /// Cores that all processes of the machine kept busy on average during the load.
    pub machine_busy_cores: Option<f64>,
    /// Cores that processes other than the server and the benchmark kept busy on average
    /// during the load. Well above zero means that the figures are not those of a quiet
    /// machine.
    pub other_processes_cores: Option<f64>,
    /// Checks after the load, when the Glassbox API is known.
    pub verification: Option<Verification>,
    /// The machine.
    pub machine: Machine,
}

/// Settings of a run.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// `<transport>-<encoding>`.
    pub label: String,
    /// `max` or `rate`.
    pub mode: &'static str,
    /// The open-loop rate in spans per second.
    pub target_spans_per_sec: Option<f64>,
    /// Connections.
    pub concurrency: usize,
    /// Spans per request.
    pub batch_spans: usize,
    /// Seconds during which requests start.
    pub duration_secs: f64,
    /// Seed of the generator.
    pub seed: u64,
    /// Mean request body size in bytes.
    pub mean_request_bytes: f64,
    /// Start time, in Unix seconds.
    pub started_unix_secs: u64,
    /// Whether the benchmark started the receiver itself.
    pub started_server: bool,
}

/// Request counts.
#[derive(Debug, Serialize)]
pub struct RequestCounts {
    /// Requests that got a response or failed.
    pub sent: u64,
    /// Requests with a success response.
    pub acknowledged: u64,
    /// Requests with a 429 or 503 response (gRPC `UNAVAILABLE`, `RESOURCE_EXHAUSTED`). The
    /// benchmark does not resend them.
    pub throttled: u64,
    /// Requests with any other response, or none.
    pub failed: u64,
    /// Open-loop requests that were still queued when the drain time ran out.
    pub unsent: u64,
}

/// Span counts.
#[derive(Debug, Serialize)]
pub struct SpanCounts {
    /// Spans in sent requests.
    pub sent: u64,
    /// Spans acknowledged.
    pub acknowledged: u64,
    /// Spans reported rejected in partial successes.
    pub rejected: u64,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Maximum.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// Figures of the receiver process.
#[derive(Debug, Serialize)]
pub struct ServerFigures {
    /// Process id.
    pub pid: u32,
    /// `VmHWM` (peak resident set) after the checks, in bytes.
    pub vm_hwm_bytes: Option<u64>,
    /// Largest resident set sampled every 100 ms during the load, in bytes.
    pub sampled_peak_rss_bytes: u64,
    /// CPU time during the load, in seconds.
    pub cpu_secs: Option<f64>,
    /// `cpu_secs` divided by the elapsed time: cores kept busy on average.
    pub cpu_cores: Option<f64>,
    /// Largest `queued_records` reported by the health endpoint during the load.
    pub max_queued_records: u64,
    /// Shutdown figures, when the benchmark started the server.
    pub stop: Option<StopReport>,
}

/// The machine the run was on.
#[derive(Debug, Serialize)]
pub struct Machine {
    /// Logical CPUs available.
    pub cpus: usize,
    /// CPU model from `/proc/cpuinfo`.
    pub cpu_model: Option<String>,
    /// Total memory in bytes from `/proc/meminfo`.
    pub memory_bytes: Option<u64>,
    /// Kernel release.
    pub kernel: Option<String>,
}

impl Machine {
    /// Reads the machine description from `/proc`.
    pub fn current() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            cpu_model: cpuinfo
                .lines()
                .find_map(|line| line.strip_prefix("model name"))
                .and_then(|rest| rest.split_once(':'))
                .map(|(_, model)| model.trim().to_owned()),
            memory_bytes: meminfo
                .lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
                .map(|kib| kib * 1024),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .ok()
                .map(|text| text.trim().to_owned()),
        }
    }
}

impl Latency {
    /// Summarizes a histogram of microseconds.
    pub fn from_micros(histogram: &hdrhistogram::Histogram<u64>) -> Latency {
        let millis = |micros: u64| micros as f64 / 1_000.0;
        if histogram.is_empty() {
            return Latency {
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
                p999: 0.0,
                max: 0.0,
                mean: 0.0,
            };
        }
        Latency {
            p50: millis(histogram.value_at_quantile(0.50)),
            p90: millis(histogram.value_at_quantile(0.90)),
            p99: millis(histogram.value_at_quantile(0.99)),
            p999: millis(histogram.value_at_quantile(0.999)),
            max: millis(histogram.max()),
            mean: histogram.mean() / 1_000.0,
        }
    }
}

/// The results of a run, gathered for the report.
pub struct Outcome {
    /// The settings.
    pub run: RunInfo,
    /// The load's counts.
    pub tally: Tally,
    /// The receiver's process figures.
    pub server: Option<ServerFigures>,
    /// CPU time of the benchmark during the load.
    pub client_cpu_secs: Option<f64>,
    /// Average busy cores of the whole machine during the load.
    pub machine_busy_cores: Option<f64>,
    /// Average busy cores of other processes during the load.
    pub other_processes_cores: Option<f64>,
    /// The checks.
    pub verification: Option<Verification>,
}

impl Report {
    /// Builds the report.
    pub fn new(outcome: Outcome) -> Report {
        let Outcome {
            run,
            tally,
            server,
            client_cpu_secs,
            machine_busy_cores,
            other_processes_cores,
            verification,
        } = outcome;
        let elapsed_secs = tally.last_response.as_secs_f64().max(f64::MIN_POSITIVE);
        Report {
            benchmark: "ingest",
            elapsed_secs,
            spans_per_sec: tally.spans_acknowledged as f64 / elapsed_secs,
            sent_mib_per_sec: tally.bytes_sent as f64 / elapsed_secs / (1024.0 * 1024.0),
            requests: RequestCounts {
                sent: tally.requests_sent,
                acknowledged: tally.requests_acknowledged,
                throttled: tally.requests_throttled,
                failed: tally.requests_failed,
                unsent: tally.requests_unsent,
            },
            spans: SpanCounts {
                sent: tally.spans_sent,
                acknowledged: tally.spans_acknowledged,
                rejected: tally.spans_rejected,
            },
            latency_ms: Latency::from_micros(&tally.latency),
            spans_per_second: tally.spans_per_second,
            errors: tally.errors,
            server,
            client_cpu_secs,
            machine_busy_cores,
            other_processes_cores,
            verification,
            machine: Machine::current(),
            run,
        }
    }

    /// Writes the report as pretty JSON, creating the parent directory.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("failed to create {}", parent.display()))?;
        }
        let text = serde_json::to_string_pretty(self).context("failed to encode the report")?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("failed to write {}", path.display()))
    }

    /// Returns the one-line summary.
    pub fn summary_line(&self) -> String {
        let run = &self.run;
        let mode = match run.target_spans_per_sec {
            Some(rate) => format!("rate {} spans/s", thousands(rate)),
            None => "max".to_owned(),
        };
        let mut line = format!(
            "ingest {} {mode} c={} batch={}: {} spans/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            run.label,
            run.concurrency,
            run.batch_spans,
            thousands(self.spans_per_sec),
            self.latency_ms.p50,
            self.latency_ms.p99,
            self.latency_ms.max,
        );
        if let Some(server) = &self.server {
            let peak = server
                .vm_hwm_bytes
                .unwrap_or(0)
                .max(server.sampled_peak_rss_bytes);
            line.push_str(&format!(", peak RSS {} MiB", peak / (1024 * 1024)));
            if let Some(cores) = server.cpu_cores {
                line.push_str(&format!(", server CPU {cores:.2} cores"));
            }
        }
        line.push_str(&format!(
            ", {} throttled, {} errors",
            self.requests.throttled, self.requests.failed
        ));
        if let Some(others) = self
            .other_processes_cores
            .filter(|&cores| cores >= BUSY_MACHINE_CORES)
        {
            line.push_str(&format!(", other processes {others:.2} cores"));
        }
        if self.requests.unsent > 0 {
            line.push_str(&format!(", {} unsent", self.requests.unsent));
        }
        if let Some(verification) = &self.verification {
            line.push_str(&format!(
                ", {}/{} traces complete, committed {}",
                verification.traces_complete,
                verification.traces_checked,
                if verification.committed_matches {
                    "= acknowledged"
                } else {
                    "!= acknowledged"
                }
            ));
        }
        line
    }
}

/// Average cores used by other processes from which the summary line mentions them.
const BUSY_MACHINE_CORES: f64 = 0.1;

/// Formats a number rounded to an integer with comma thousands separators.
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1_000.0), "1,000");
        assert_eq!(thousands(85_123.6), "85,124");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
    }

    #[test]
    fn machine_is_described() {
        let machine = Machine::current();
        assert!(machine.cpus >= 1);
    }
}
