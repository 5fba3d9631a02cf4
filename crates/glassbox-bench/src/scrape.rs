//! `glassbox-bench scrape`: the CPU that `glassbox serve` spends scraping many inference
//! servers. Loopback servers in this process serve a recorded vLLM metrics page. The server
//! scrapes each on a fixed interval, and its CPU time is read from `/proc` over a window.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use serde::Serialize;

use crate::monitor::cpu_seconds;
use crate::server::ServerProcess;

/// A vLLM 0.11 metrics page: gauges, counters and histograms of one model.
const VLLM_PAGE: &str = include_str!("../../glassbox-prometheus/tests/data/vllm-0.11.txt");

/// Settings of a scrape run.
#[derive(Debug, Clone)]
pub struct ScrapeSettings {
    /// Targets to scrape.
    pub targets: usize,
    /// Seconds between scrapes of each target.
    pub interval_secs: u64,
    /// Seconds of the measured window, after one interval of warm-up.
    pub seconds: u64,
    /// The glassbox binary.
    pub binary: PathBuf,
    /// Parent of the data directory.
    pub work_dir: PathBuf,
    /// Path of the JSON report.
    pub json_out: PathBuf,
}

/// The figures of a run.
#[derive(Debug, Serialize)]
struct Report {
    targets: usize,
    interval_secs: u64,
    seconds: f64,
    server_cpu_seconds: f64,
    /// Server CPU over the window as a share of one core.
    share_of_one_core: f64,
    healthy_targets: usize,
    page_bytes: usize,
    scrapes: u64,
}

async fn serve_page() -> anyhow::Result<String> {
    let app = Router::new().route("/metrics", get(|| async { VLLM_PAGE }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{address}/metrics"))
}

fn config(urls: &[String], interval: u64) -> String {
    let mut text = String::new();
    for (index, url) in urls.iter().enumerate() {
        text.push_str(&format!(
            "[[infra.targets]]\nname = \"vllm-{index}\"\nkind = \"vllm\"\nurl = \"{url}\"\ninterval_secs = {interval}\n\n"
        ));
    }
    text
}

/// Starts the pages and the server, then measures the server's CPU over the window.
pub async fn run(settings: ScrapeSettings) -> anyhow::Result<()> {
    let mut urls = Vec::with_capacity(settings.targets);
    for _ in 0..settings.targets {
        urls.push(serve_page().await?);
    }
    std::fs::create_dir_all(&settings.work_dir)?;
    let data_dir = tempfile::Builder::new()
        .prefix("glassbox-bench-scrape-")
        .tempdir_in(&settings.work_dir)?;
    let config_path = data_dir.path().join("scrape.toml");
    std::fs::write(&config_path, config(&urls, settings.interval_secs))?;
    let config_text = config_path.display().to_string();
    let server = ServerProcess::start_with_env(
        &settings.binary,
        data_dir,
        &[("GLASSBOX_CONFIG", config_text.as_str())],
    )?;
    let pid = server.pid();

    // One interval of warm-up, so every target has been scraped once.
    tokio::time::sleep(Duration::from_secs(settings.interval_secs + 1)).await;
    let started = Instant::now();
    let cpu_before = cpu_seconds(pid).context("cannot read the server's CPU time")?;
    tokio::time::sleep(Duration::from_secs(settings.seconds)).await;
    let cpu_after = cpu_seconds(pid).context("cannot read the server's CPU time")?;
    let seconds = started.elapsed().as_secs_f64();

    let base = server.api.as_str().trim_end_matches('/').to_owned();
    let listed: serde_json::Value = reqwest::get(format!("{base}/api/v1/infra/targets"))
        .await?
        .json()
        .await?;
    let targets = listed["targets"].as_array().cloned().unwrap_or_default();
    let healthy_targets = targets
        .iter()
        .filter(|target| target["health"] == "healthy")
        .count();
    let scrapes = targets
        .iter()
        .filter_map(|target| target["scrapes"].as_u64())
        .sum();
    server.stop()?;

    let server_cpu_seconds = cpu_after - cpu_before;
    let report = Report {
        targets: settings.targets,
        interval_secs: settings.interval_secs,
        seconds,
        server_cpu_seconds,
        share_of_one_core: server_cpu_seconds / seconds,
        healthy_targets,
        page_bytes: VLLM_PAGE.len(),
        scrapes,
    };
    println!(
        "scrape {} targets every {} s ({} bytes each) for {:.0} s: server CPU {:.2} s, {:.2}% of one core; {} of {} targets healthy, {} scrapes",
        report.targets,
        report.interval_secs,
        report.page_bytes,
        report.seconds,
        report.server_cpu_seconds,
        report.share_of_one_core * 100.0,
        report.healthy_targets,
        report.targets,
        report.scrapes
    );
    anyhow::ensure!(
        healthy_targets == settings.targets,
        "only {healthy_targets} of {} targets are healthy",
        settings.targets
    );
    if let Some(parent) = settings.json_out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&settings.json_out, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("failed to write {}", settings.json_out.display()))?;
    Ok(())
}
