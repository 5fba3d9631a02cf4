//! The receiver under test: a `glassbox serve` child on loopback ports chosen by the operating
//! system, with a fresh data directory, or a receiver already running on loopback.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::Url;

/// Time the server has to report its listening addresses.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Time the server has to commit, index and exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(300);
/// Warning and error lines of the server log kept for the report.
const KEPT_LOG_LINES: usize = 20;
/// Latest lines of any level kept, to explain an early exit.
const LAST_LOG_LINES: usize = 10;

/// Warnings and errors that the server logged.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct LogSummary {
    /// Lines at level WARN.
    pub warnings: u64,
    /// Lines at level ERROR.
    pub errors: u64,
    /// The first warning and error lines.
    pub first_lines: Vec<String>,
    /// The latest lines of any level.
    pub last_lines: VecDeque<String>,
}

/// A `glassbox serve` child process.
pub struct ServerProcess {
    child: Child,
    /// Base URL of the API.
    pub api: Url,
    /// Base URL of the OTLP/HTTP receiver.
    pub otlp_http: Url,
    /// Base URL of the OTLP/gRPC receiver.
    pub otlp_grpc: Url,
    log: Arc<Mutex<LogSummary>>,
    log_reader: Option<std::thread::JoinHandle<()>>,
    data_dir: tempfile::TempDir,
}

/// Figures of the server's shutdown.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StopReport {
    /// Seconds from SIGTERM to exit, which includes indexing the full-text backlog.
    pub shutdown_secs: f64,
    /// Whether the process exited with status 0.
    pub clean_exit: bool,
    /// Size of the data directory after exit, in bytes.
    pub data_dir_bytes: u64,
    /// Warnings and errors the server logged from start to exit.
    pub log: LogSummary,
}

impl ServerProcess {
    /// Starts `binary serve` with a new data directory under `parent`.
    pub fn start(binary: &Path, parent: &Path) -> anyhow::Result<ServerProcess> {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("failed to create {}", parent.display()))?;
        let data_dir = tempfile::Builder::new()
            .prefix("glassbox-bench-")
            .tempdir_in(parent)
            .with_context(|| {
                format!("failed to create a data directory in {}", parent.display())
            })?;
        ServerProcess::start_with(binary, data_dir)
    }

    /// Starts `binary serve` on an existing data directory, which is removed when the server
    /// is dropped.
    pub fn start_with(binary: &Path, data_dir: tempfile::TempDir) -> anyhow::Result<ServerProcess> {
        ServerProcess::start_with_env(binary, data_dir, &[])
    }

    /// Starts `binary serve` on an existing data directory with extra environment variables.
    pub fn start_with_env(
        binary: &Path,
        data_dir: tempfile::TempDir,
        env: &[(&str, &str)],
    ) -> anyhow::Result<ServerProcess> {
        if !binary.is_file() {
            bail!(
                "glassbox binary not found at {}; build it with `cargo build --release -p glassbox` \
                 or pass --glassbox",
                binary.display()
            );
        }

        let mut child = Command::new(binary)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--otlp-http-listen", "127.0.0.1:0"])
            .args(["--otlp-grpc-listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir.path())
            .env("GLASSBOX_LOG", "info")
            .env_remove("GLASSBOX_CONFIG")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("failed to start {}", binary.display()))?;
        let stderr = child
            .stderr
            .take()
            .context("the server's standard error is not piped")?;

        let log = Arc::new(Mutex::new(LogSummary::default()));
        let (lines, log_reader) = spawn_log_reader(stderr, Arc::clone(&log));
        let addresses = match wait_for_addresses(&lines, &mut child) {
            Ok(addresses) => addresses,
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(error);
            }
        };
        Ok(ServerProcess {
            child,
            api: addresses.api,
            otlp_http: addresses.otlp_http,
            otlp_grpc: addresses.otlp_grpc,
            log,
            log_reader: Some(log_reader),
            data_dir,
        })
    }

    /// Returns the process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails if the process has exited, with its status and latest log lines.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        let Some(status) = self.child.try_wait()? else {
            return Ok(());
        };
        let lines = self
            .log
            .lock()
            .map(|summary| Vec::from(summary.last_lines.clone()))
            .unwrap_or_default();
        bail!(
            "the server exited with {status} during the run; its last log lines:\n{}",
            lines.join("\n")
        )
    }

    /// Sends SIGTERM, waits for the exit, and measures the data directory.
    pub fn stop(mut self) -> anyhow::Result<StopReport> {
        let started = Instant::now();
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .context("failed to run kill")?;
        if !status.success() {
            bail!("kill -TERM {pid} failed with {status}");
        }
        let exit = loop {
            if let Some(exit) = self.child.try_wait()? {
                break exit;
            }
            if started.elapsed() > STOP_TIMEOUT {
                let _ = self.child.kill();
                bail!(
                    "the server did not exit within {} s of SIGTERM; killed it",
                    STOP_TIMEOUT.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let shutdown_secs = started.elapsed().as_secs_f64();
        // The reader ends when the exited process closes its end of the pipe.
        if let Some(reader) = self.log_reader.take() {
            let _ = reader.join();
        }
        let log = self
            .log
            .lock()
            .map(|summary| summary.clone())
            .unwrap_or_default();
        Ok(StopReport {
            shutdown_secs,
            clean_exit: exit.success(),
            data_dir_bytes: directory_size(self.data_dir.path()),
            log,
        })
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

struct Addresses {
    api: Url,
    otlp_http: Url,
    otlp_grpc: Url,
}

/// Reads the log on a thread, which keeps the server from blocking on a full pipe: forwards
/// every line while the receiver listens, and counts warnings and errors until the process
/// exits.
fn spawn_log_reader(
    stderr: std::process::ChildStderr,
    log: Arc<Mutex<LogSummary>>,
) -> (mpsc::Receiver<String>, std::thread::JoinHandle<()>) {
    let (sender, receiver) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            record_line(&line, &log);
            let _ = sender.send(line);
        }
    });
    (receiver, reader)
}

fn record_line(line: &str, log: &Mutex<LogSummary>) {
    // The default format is `<time> <LEVEL> <target>: <message> <fields>`.
    let level = line.split_whitespace().nth(1).unwrap_or_default();
    let Ok(mut summary) = log.lock() else { return };
    if summary.last_lines.len() == LAST_LOG_LINES {
        summary.last_lines.pop_front();
    }
    summary.last_lines.push_back(line.to_owned());
    match level {
        "WARN" => summary.warnings += 1,
        "ERROR" => summary.errors += 1,
        _ => return,
    }
    if summary.first_lines.len() < KEPT_LOG_LINES {
        summary.first_lines.push(line.to_owned());
    }
}

/// Parses `… listening address=HOST:PORT` lines until all three addresses are known.
fn wait_for_addresses(
    lines: &mpsc::Receiver<String>,
    child: &mut Child,
) -> anyhow::Result<Addresses> {
    let deadline = Instant::now() + START_TIMEOUT;
    let (mut api, mut otlp_http, mut otlp_grpc): (Option<String>, Option<String>, Option<String>) =
        (None, None, None);
    let mut recent = Vec::new();
    loop {
        if let (Some(api), Some(otlp_http), Some(otlp_grpc)) = (&api, &otlp_http, &otlp_grpc) {
            return Ok(Addresses {
                api: base_url(api)?,
                otlp_http: base_url(otlp_http)?,
                otlp_grpc: base_url(otlp_grpc)?,
            });
        }
        let line = match lines.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                if let Some(status) = child.try_wait()? {
                    bail!(
                        "the server exited with {status} before listening: {}",
                        recent.join(" | ")
                    );
                }
                continue;
            }
            Err(_) => bail!(
                "the server did not report its addresses within {} s: {}",
                START_TIMEOUT.as_secs(),
                recent.join(" | ")
            ),
        };
        let address = line
            .split("address=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned);
        if line.contains("API and OTLP/HTTP listening") {
            api = address;
        } else if line.contains("OTLP/HTTP listening") {
            otlp_http = address;
        } else if line.contains("OTLP/gRPC listening") {
            otlp_grpc = address;
        }
        recent.push(line);
        if recent.len() > 5 {
            recent.remove(0);
        }
    }
}

fn base_url(address: &str) -> anyhow::Result<Url> {
    Url::parse(&format!("http://{address}/"))
        .with_context(|| format!("the server reported an invalid address {address:?}"))
}

fn directory_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(metadata) if metadata.is_dir() => directory_size(&entry.path()),
            Ok(metadata) => metadata.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Parses a receiver URL given on the command line and rejects any host outside loopback.
pub fn loopback_url(flag: &str, text: &str) -> anyhow::Result<Url> {
    let url = Url::parse(text).with_context(|| format!("invalid {flag} {text:?}"))?;
    if url.scheme() != "http" {
        bail!("{flag} {text} must use http://; the benchmark sends plain-text OTLP only");
    }
    // The URL parser normalizes IPv4 forms such as `2130706433` to dotted decimal and keeps
    // IPv6 addresses in brackets.
    let host = url.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<IpAddr>()
            .is_ok_and(|address| address.is_loopback());
    if !loopback {
        bail!(
            "{flag} {text} is not a loopback address; the benchmark sends only to 127.0.0.0/8, \
             ::1 or localhost"
        );
    }
    Ok(url)
}

/// Returns the URL of trace export: `/v1/traces` under a base URL given without a path, or
/// the URL itself when it has a path (as for `/api/public/otel/v1/traces`).
pub fn traces_url(base: &Url) -> anyhow::Result<Url> {
    if base.path() == "/" || base.path().is_empty() {
        base.join("/v1/traces")
            .with_context(|| format!("invalid receiver URL {base}"))
    } else {
        Ok(base.clone())
    }
}

/// Returns `glassbox` in the directory of the running executable.
pub fn default_binary() -> anyhow::Result<PathBuf> {
    let executable = std::env::current_exe().context("failed to find the bench executable")?;
    Ok(executable.with_file_name("glassbox"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn loopback_hosts_are_accepted() {
        for text in [
            "http://127.0.0.1:4318",
            "http://127.8.9.10:4318/",
            "http://[::1]:4317",
            "http://localhost:4318",
        ] {
            assert!(loopback_url("--target-http", text).is_ok(), "{text}");
        }
    }

    #[test]
    fn other_hosts_are_rejected() {
        for text in [
            "http://10.0.0.5:4318",
            "http://192.168.1.2:4318",
            "http://example.com:4318",
            "http://[2001:db8::1]:4317",
            "http://0.0.0.0:4318",
        ] {
            let error = loopback_url("--target-http", text).unwrap_err();
            assert!(
                error.to_string().contains("not a loopback address"),
                "{error}"
            );
        }
    }

    #[test]
    fn https_is_rejected() {
        assert!(loopback_url("--target-http", "https://127.0.0.1:4318").is_err());
    }

    #[test]
    fn traces_path_is_added_to_a_bare_base() {
        let base = Url::parse("http://127.0.0.1:4318").unwrap();
        assert_eq!(
            traces_url(&base).unwrap().as_str(),
            "http://127.0.0.1:4318/v1/traces"
        );
        let full = Url::parse("http://127.0.0.1:3000/api/public/otel/v1/traces").unwrap();
        assert_eq!(traces_url(&full).unwrap(), full);
    }

    #[test]
    fn log_levels_are_counted() {
        let log = Mutex::new(LogSummary::default());
        record_line("2026-01-01T00:00:00Z  WARN glassbox: queue full", &log);
        record_line("2026-01-01T00:00:00Z ERROR glassbox: commit failed", &log);
        record_line("2026-01-01T00:00:00Z  INFO glassbox: listening", &log);
        let summary = log.lock().unwrap();
        assert_eq!(summary.warnings, 1);
        assert_eq!(summary.errors, 1);
        assert_eq!(summary.first_lines.len(), 2);
        assert_eq!(summary.last_lines.len(), 3);
    }
}
