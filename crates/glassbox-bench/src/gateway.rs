//! The gateway benchmark: the same chat calls sent straight to the mock provider, through a
//! bare TCP relay and through a `glassbox serve`, at fixed rates, streamed and not. The
//! difference of the latency percentiles is what the gateway adds; the relay's shows how much
//! of that any extra hop costs on the machine. With `--nginx`, nginx's shows what a mature
//! HTTP proxy costs. A closed-loop run then measures the most calls per second the gateway
//! sustains.
//!
//! Each open-loop call starts on its own task at its due time, whatever earlier calls are
//! doing, so a slow gateway cannot slow the sender down. Latency is measured from the moment
//! the call is sent to the last byte of its body. Tokio's timer wakes the sender up to a
//! millisecond late, and that lag is reported apart (`start_lag_ms`) instead of being charged
//! to either side.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::{Mutex, Semaphore};

use crate::loopback::LoopbackThread;
use crate::monitor::status_bytes;
use crate::nginx::Nginx;
use crate::relay::start_relay;
use crate::report::{Latency, Machine};
use crate::server::ServerProcess;

/// Calls in flight at most in an open-loop run; later ones are counted as unsent.
const MAX_IN_FLIGHT: usize = 1024;
/// Largest latency recorded exactly, in microseconds (one minute).
const MAX_MICROS: u64 = 60_000_000;
/// Untimed calls on each path before the timed runs, to open connections and warm caches.
const WARM_UP_CALLS: usize = 200;

/// Settings of a gateway run.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// Open-loop rates in calls per second.
    pub rates: Vec<f64>,
    /// Length of each open-loop run.
    pub duration: Duration,
    /// Length of the closed-loop run.
    pub max_duration: Duration,
    /// Connections of the closed-loop run.
    pub concurrency: usize,
    /// The glassbox binary.
    pub binary: PathBuf,
    /// An nginx binary to measure as a reference proxy.
    pub nginx: Option<PathBuf>,
    /// The parent directory of the data directory.
    pub work_dir: PathBuf,
    /// Path of the JSON report.
    pub json_out: PathBuf,
}

/// Figures of one open-loop run.
#[derive(Debug, Serialize)]
pub struct RunFigures {
    /// `direct`, `relay`, `nginx` or `gateway`.
    pub path: &'static str,
    /// Whether the calls streamed.
    pub streaming: bool,
    /// The target rate, calls per second.
    pub rate: f64,
    /// Calls with status 200 and a whole body.
    pub ok: u64,
    /// Calls that failed, with any status or error.
    pub errors: u64,
    /// Calls not sent because too many were in flight.
    pub unsent: u64,
    /// Latency from send to the last byte.
    pub latency_ms: Latency,
    /// How late the sender started calls after their due time.
    pub start_lag_ms: Latency,
    /// The server's peak resident memory (`VmHWM`) at the end of this run, in MiB: the peak
    /// of the whole run so far, so each row bounds the runs before it too.
    pub server_peak_rss_mib: Option<u64>,
}

/// The runs at one rate and their differences.
#[derive(Debug, Serialize)]
pub struct Comparison {
    /// Calls straight to the mock.
    pub direct: RunFigures,
    /// Calls through the bare TCP relay.
    pub relay: RunFigures,
    /// Calls through the gateway.
    pub gateway: RunFigures,
    /// Gateway p50 minus direct p50, in milliseconds.
    pub added_p50_ms: f64,
    /// Gateway p99 minus direct p99, in milliseconds.
    pub added_p99_ms: f64,
    /// Relay p50 minus direct p50, in milliseconds: the cost of the hop alone.
    pub relay_added_p50_ms: f64,
    /// Relay p99 minus direct p99, in milliseconds.
    pub relay_added_p99_ms: f64,
    /// Calls through nginx, when it was measured.
    pub nginx: Option<RunFigures>,
    /// nginx p50 minus direct p50, in milliseconds.
    pub nginx_added_p50_ms: Option<f64>,
    /// nginx p99 minus direct p99, in milliseconds.
    pub nginx_added_p99_ms: Option<f64>,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct GatewayReport {
    /// The machine.
    pub machine: Machine,
    /// The open-loop comparisons.
    pub comparisons: Vec<Comparison>,
    /// Closed-loop calls per second through the gateway, non-streamed.
    pub max_calls_per_sec: f64,
    /// Errors during the closed-loop run.
    pub max_errors: u64,
    /// Peak resident memory of the server process, in bytes.
    pub server_peak_rss_bytes: Option<u64>,
    /// The gateway's counters after the open-loop runs, once every call was recorded or
    /// counted as lost (or after 30 s).
    pub health_open_loop: serde_json::Value,
    /// The gateway's counters after the runs.
    pub health: serde_json::Value,
}

/// Runs the benchmark and writes its report.
pub async fn run(settings: GatewaySettings) -> anyhow::Result<()> {
    let mock = start_mock()?;
    let relay = start_relay(mock.addr)?;
    let nginx = match &settings.nginx {
        Some(binary) => Some(Nginx::start(binary, mock.addr, &settings.work_dir)?),
        None => None,
    };
    let server = start_server(&settings, &mock.base)?;
    let gateway = server.api.as_str().trim_end_matches('/').to_owned();
    let client = http_client()?;

    let mut comparisons = Vec::new();
    for streaming in [false, true] {
        let body = chat_body(streaming);
        let mut bases = vec![mock.base.as_str(), relay.base.as_str(), gateway.as_str()];
        bases.extend(nginx.as_ref().map(|nginx| nginx.base.as_str()));
        warm_up(&client, &bases, &body).await?;
        for &rate in &settings.rates {
            let load = Load {
                body: body.clone(),
                streaming,
                rate,
                duration: settings.duration,
            };
            let direct = open_loop(&client, &mock.base, &load, "direct").await?;
            let relayed = open_loop(&client, &relay.base, &load, "relay").await?;
            let proxied = match &nginx {
                Some(nginx) => Some(open_loop(&client, &nginx.base, &load, "nginx").await?),
                None => None,
            };
            let mut through = open_loop(&client, &gateway, &load, "gateway").await?;
            through.server_peak_rss_mib = peak_rss_mib(server.pid());
            let comparison = compare(direct, relayed, proxied, through);
            println!("{}", comparison_line(&comparison));
            comparisons.push(comparison);
        }
    }

    let health_open_loop = settled_health(&client, &gateway).await?;
    println!("{}", open_loop_recording_line(&health_open_loop));
    let (max_calls_per_sec, max_errors) =
        closed_loop(&client, &gateway, &chat_body(false), &settings).await;
    let health = health(&client, &gateway).await?;
    let report = GatewayReport {
        machine: Machine::current(),
        comparisons,
        max_calls_per_sec,
        max_errors,
        health_open_loop,
        server_peak_rss_bytes: status_bytes(server.pid(), "VmHWM"),
        health,
    };
    server.stop()?;
    println!("{}", final_line(&report));
    write_report(&report, &settings.json_out)
}

/// Starts the mock provider on a thread of its own.
fn start_mock() -> anyhow::Result<LoopbackThread> {
    LoopbackThread::start("mock-provider", serve_mock)
}

async fn serve_mock(listener: tokio::net::TcpListener) {
    let (router, _log) = glassbox_mock::router(glassbox_mock::MockOptions::default());
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
        let _ = stream.set_nodelay(true);
    });
    let _ = axum::serve(listener, router).await;
}

fn start_server(settings: &GatewaySettings, mock: &str) -> anyhow::Result<ServerProcess> {
    std::fs::create_dir_all(&settings.work_dir)?;
    let data_dir = tempfile::Builder::new()
        .prefix("glassbox-bench-gateway-")
        .tempdir_in(&settings.work_dir)?;
    let openai = format!("{mock}/v1");
    let env = [
        ("GLASSBOX_OPENAI_BASE_URL", openai.as_str()),
        ("GLASSBOX_ANTHROPIC_BASE_URL", mock),
    ];
    ServerProcess::start_with_env(&settings.binary, data_dir, &env)
}

fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(MAX_IN_FLIGHT)
        .build()
        .context("failed to build the HTTP client")
}

/// Returns a chat call of about one kilobyte, like a short conversation with a system prompt.
fn chat_body(streaming: bool) -> bytes::Bytes {
    let context = "The quarterly report covers revenue, costs and the outlook. ".repeat(14);
    let body = serde_json::json!({
        "model": "gpt-4o-mini",
        "stream": streaming,
        "messages": [
            {"role": "system", "content": format!("You answer briefly. {context}")},
            {"role": "user", "content": "Summarize the quarterly report in one sentence"}
        ]
    });
    bytes::Bytes::from(body.to_string())
}

async fn warm_up(
    client: &reqwest::Client,
    bases: &[&str],
    body: &bytes::Bytes,
) -> anyhow::Result<()> {
    for &base in bases {
        for _ in 0..WARM_UP_CALLS {
            call(client, base, body)
                .await
                .with_context(|| format!("warm-up call to {base} failed"))?;
        }
    }
    Ok(())
}

/// Sends one call and reads its whole body; fails on any status but 200.
async fn call(client: &reqwest::Client, base: &str, body: &bytes::Bytes) -> anyhow::Result<()> {
    let response = client
        .post(format!("{base}/v1/chat/completions"))
        .header("content-type", "application/json")
        .header("authorization", "Bearer sk-bench")
        .body(body.clone())
        .send()
        .await?;
    let status = response.status();
    response.bytes().await?;
    anyhow::ensure!(status == 200, "status {status}");
    Ok(())
}

#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    errors: AtomicU64,
    unsent: AtomicU64,
}

/// The calls of an open-loop run.
struct Load {
    body: bytes::Bytes,
    streaming: bool,
    rate: f64,
    duration: Duration,
}

async fn open_loop(
    client: &reqwest::Client,
    base: &str,
    load: &Load,
    path: &'static str,
) -> anyhow::Result<RunFigures> {
    let latency = Arc::new(Mutex::new(histogram()?));
    let lag = Arc::new(Mutex::new(histogram()?));
    let counts = Arc::new(Counts::default());
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let total = (load.rate * load.duration.as_secs_f64()).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / load.rate);
    let start = tokio::time::Instant::now() + Duration::from_millis(20);

    for index in 0..total {
        let due = start + interval.mul_f64(index as f64);
        tokio::time::sleep_until(due).await;
        let Ok(permit) = Arc::clone(&in_flight).try_acquire_owned() else {
            counts.unsent.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let task = Timed {
            client: client.clone(),
            url: base.to_owned(),
            body: load.body.clone(),
            latency: Arc::clone(&latency),
            lag: Arc::clone(&lag),
            counts: Arc::clone(&counts),
        };
        tokio::spawn(async move {
            task.run(due.into_std()).await;
            drop(permit);
        });
    }
    let _ = in_flight.acquire_many(MAX_IN_FLIGHT as u32).await;

    let latency = latency.lock().await;
    let lag = lag.lock().await;
    Ok(RunFigures {
        path,
        streaming: load.streaming,
        rate: load.rate,
        ok: counts.ok.load(Ordering::Relaxed),
        errors: counts.errors.load(Ordering::Relaxed),
        unsent: counts.unsent.load(Ordering::Relaxed),
        latency_ms: Latency::from_micros(&latency),
        start_lag_ms: Latency::from_micros(&lag),
        server_peak_rss_mib: None,
    })
}

/// One open-loop call and where its figures go.
struct Timed {
    client: reqwest::Client,
    url: String,
    body: bytes::Bytes,
    latency: Arc<Mutex<Histogram<u64>>>,
    lag: Arc<Mutex<Histogram<u64>>>,
    counts: Arc<Counts>,
}

impl Timed {
    async fn run(self, due: Instant) {
        let sent = Instant::now();
        let outcome = call(&self.client, &self.url, &self.body).await;
        let micros = sent.elapsed().as_micros() as u64;
        let lag = sent.saturating_duration_since(due).as_micros() as u64;
        match outcome {
            Ok(()) => {
                self.counts.ok.fetch_add(1, Ordering::Relaxed);
                let _ = self
                    .latency
                    .lock()
                    .await
                    .record(micros.clamp(1, MAX_MICROS));
            }
            Err(_) => {
                self.counts.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        let _ = self.lag.lock().await.record(lag.min(MAX_MICROS));
    }
}

/// Measures calls per second with `concurrency` connections, each sending its next call as soon
/// as the last one completes.
async fn closed_loop(
    client: &reqwest::Client,
    gateway: &str,
    body: &bytes::Bytes,
    settings: &GatewaySettings,
) -> (f64, u64) {
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + settings.max_duration;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..settings.concurrency {
        let (client, url, body) = (client.clone(), gateway.to_owned(), body.clone());
        let (ok, errors) = (Arc::clone(&ok), Arc::clone(&errors));
        workers.spawn(async move {
            while Instant::now() < deadline {
                let counter = match call(&client, &url, &body).await {
                    Ok(()) => &ok,
                    Err(_) => &errors,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while workers.join_next().await.is_some() {}
    let elapsed = started.elapsed().as_secs_f64();
    (
        ok.load(Ordering::Relaxed) as f64 / elapsed,
        errors.load(Ordering::Relaxed),
    )
}

async fn health(client: &reqwest::Client, gateway: &str) -> anyhow::Result<serde_json::Value> {
    let health: serde_json::Value = client
        .get(format!("{gateway}/api/v1/health"))
        .send()
        .await?
        .json()
        .await?;
    Ok(health["gateway"].clone())
}

/// Waits until the recorder has written or counted every call, for at most 30 s.
async fn settled_health(
    client: &reqwest::Client,
    gateway: &str,
) -> anyhow::Result<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let counters = health(client, gateway).await?;
        let count = |name: &str| counters[name].as_u64().unwrap_or(0);
        let settled = count("recorded_spans") + count("lost_spans") >= count("calls");
        if settled || Instant::now() >= deadline {
            return Ok(counters);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn open_loop_recording_line(health: &serde_json::Value) -> String {
    format!(
        "gateway open-loop runs: {} calls, recorded {}, lost {}",
        health["calls"], health["recorded_spans"], health["lost_spans"],
    )
}

fn compare(
    direct: RunFigures,
    relay: RunFigures,
    nginx: Option<RunFigures>,
    gateway: RunFigures,
) -> Comparison {
    let p50 = |run: &RunFigures| run.latency_ms.p50 - direct.latency_ms.p50;
    let p99 = |run: &RunFigures| run.latency_ms.p99 - direct.latency_ms.p99;
    Comparison {
        added_p50_ms: p50(&gateway),
        added_p99_ms: p99(&gateway),
        relay_added_p50_ms: p50(&relay),
        relay_added_p99_ms: p99(&relay),
        nginx_added_p50_ms: nginx.as_ref().map(p50),
        nginx_added_p99_ms: nginx.as_ref().map(p99),
        nginx,
        direct,
        relay,
        gateway,
    }
}

fn comparison_line(comparison: &Comparison) -> String {
    let (direct, relay, gateway) = (&comparison.direct, &comparison.relay, &comparison.gateway);
    let kind = if gateway.streaming { "stream" } else { "plain" };
    let nginx = match (comparison.nginx_added_p50_ms, comparison.nginx_added_p99_ms) {
        (Some(p50), Some(p99)) => format!("nginx added p50 {p50:+.3} / p99 {p99:+.3} ms, "),
        _ => String::new(),
    };
    let unsent = direct.unsent
        + relay.unsent
        + gateway.unsent
        + comparison.nginx.as_ref().map_or(0, |run| run.unsent);
    format!(
        "gateway {kind} {:.0} calls/s: added p50 {:+.3} ms, p99 {:+.3} ms \
         (direct p50 {:.3} / p99 {:.3} ms, gateway p50 {:.3} / p99 {:.3} ms), \
         bare relay added p50 {:+.3} / p99 {:+.3} ms, {nginx}\
         errors direct {} relay {} gateway {}, unsent {unsent}, server peak RSS {} MiB",
        gateway.rate,
        comparison.added_p50_ms,
        comparison.added_p99_ms,
        direct.latency_ms.p50,
        direct.latency_ms.p99,
        gateway.latency_ms.p50,
        gateway.latency_ms.p99,
        comparison.relay_added_p50_ms,
        comparison.relay_added_p99_ms,
        direct.errors,
        relay.errors,
        gateway.errors,
        gateway.server_peak_rss_mib.unwrap_or(0),
    )
}

fn final_line(report: &GatewayReport) -> String {
    let peak = report.server_peak_rss_bytes.unwrap_or(0) / (1024 * 1024);
    format!(
        "gateway max: {:.0} calls/s sustained, {} errors, server peak RSS {peak} MiB, \
         recorded {} calls, lost {}",
        report.max_calls_per_sec,
        report.max_errors,
        report.health["recorded_spans"],
        report.health["lost_spans"],
    )
}

fn write_report(report: &GatewayReport, path: &std::path::Path) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(path, text).with_context(|| format!("failed to write {}", path.display()))
}

fn peak_rss_mib(pid: u32) -> Option<u64> {
    status_bytes(pid, "VmHWM").map(|bytes| bytes / (1024 * 1024))
}

fn histogram() -> anyhow::Result<Histogram<u64>> {
    // Three significant digits keep sub-millisecond differences visible.
    Histogram::new_with_bounds(1, MAX_MICROS, 3).context("failed to create a histogram")
}
