//! `glassbox demo` and `glassbox serve --demo`: a synthetic GenAI workload that fills a
//! Glassbox with realistic traces, without an application, a model or an API key.
//!
//! Four services of a made-up shop send traces: a support chatbot with multi-turn sessions,
//! a help center search API (retrieval, rerank, answer), a coding agent with nested agents
//! and tools, and a batch summarizer on self-hosted models. Their spans follow the
//! OpenTelemetry GenAI conventions, except a share of the search API's, which follow
//! OpenInference.
//!
//! Data flows through one module per step:
//! - `schedule` decides when each trace ends (a steady rate, or a backfill with a daily
//!   rhythm) and what it is: a new conversation or the next turn of an open session;
//! - `scenario` turns each plan into spans, with `catalog` supplying models, services, users
//!   and texts;
//! - `emit` groups spans into OTLP requests and delivers them, over OTLP/HTTP protobuf to a
//!   loopback address or straight into the ingest pipeline of the server it runs in;
//! - `run` paces live traffic and batches backfills;
//! - `gateway` runs a mock provider behind the gateway and sends calls through it, for
//!   `serve --demo`;
//! - `evaluation` adds scores, a dataset and two experiments once `serve --demo` has written
//!   its history.
//!
//! Everything random follows from one seed, so a seed and a start time give the same
//! requests byte for byte; trace times are relative to the start of the run.

mod catalog;
mod emit;
mod evaluation;
pub mod gateway;
mod messages;
mod rng;
mod run;
mod scenario;
mod schedule;
mod trace;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use glassbox_ingest::Ingest;
use glassbox_quality::ExperimentRunner;
use glassbox_store::{Page, Store, TraceFilter};
use indicatif::ProgressBar;
use tokio::sync::watch;

use crate::demo::emit::{HttpSink, Sink};
use crate::demo::run::{Tally, Workload, backfill, live, now_unix_ns, progress_bar};
use crate::demo::schedule::SECOND;

/// Default target of `glassbox demo`: the OTLP/HTTP receiver of a local `glassbox serve`.
pub const DEFAULT_TARGET: &str = "http://127.0.0.1:4318";

/// Backfill traces per hour of history when `--traces` is not given.
const BACKFILL_TRACES_PER_HOUR: u64 = 20;
/// Minimum and maximum backfill traces when `--traces` is not given.
const BACKFILL_DEFAULT_RANGE: (u64, u64) = (100, 50_000);

/// History that `serve --demo` writes.
const SERVE_HISTORY: Duration = Duration::from_secs(7 * 86_400);
/// Traces of that history: about 57,000 spans. On a 2-core machine shared with other builds,
/// a release build wrote them in about 3 seconds and a debug build 3,000 traces in 5 seconds.
const SERVE_HISTORY_TRACES: u64 = 5_000;
/// Live traffic of `serve --demo` after the history, in traces per second.
const SERVE_LIVE_RATE: f64 = 1.0;

/// The options of `glassbox demo`.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoOptions {
    /// Base URL of the OTLP/HTTP receiver.
    pub target: String,
    /// The seed; a random one when `None`.
    pub seed: Option<u64>,
    /// Live traffic or a backfill.
    pub mode: Mode,
}

/// The two kinds of run.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Traces with current times at `rate` per second, `traces` of them or without end.
    Live {
        /// Traces per second.
        rate: f64,
        /// The number of traces; `None` runs until Ctrl-C.
        traces: Option<u64>,
    },
    /// `traces` traces spread over the `period` before now, sent as fast as acknowledged.
    Backfill {
        /// How far back.
        period: Duration,
        /// The number of traces; `None` takes a number that grows with the period.
        traces: Option<u64>,
    },
}

/// Runs `glassbox demo`.
pub async fn run(options: DemoOptions) -> anyhow::Result<()> {
    let sink = HttpSink::new(&options.target)?;
    let url = sink.url().clone();
    let sink = Sink::Http(sink);
    let seed = options.seed.unwrap_or_else(clock_seed);
    let (stop_sender, mut stop) = watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop_sender.send(true);
        }
    });

    let started = Instant::now();
    let start_unix_ns = now_unix_ns();
    let (tally, progress) = match options.mode {
        Mode::Live { rate, traces } => {
            tracing::info!(%url, seed, rate, "demo: sending live traffic; Ctrl-C stops");
            let progress =
                traces.map_or_else(ProgressBar::hidden, |traces| progress_bar(traces, "live"));
            let workload = Workload::live(seed, start_unix_ns, rate, traces);
            let tally = live(&sink, workload, start_unix_ns, &progress, &mut stop).await?;
            (tally, progress)
        }
        Mode::Backfill { period, traces } => {
            let traces = traces.unwrap_or_else(|| default_backfill_traces(period));
            tracing::info!(%url, seed, traces, period = ?period, "demo: sending history");
            let progress = progress_bar(traces, "backfill");
            let period_ns = u64::try_from(period.as_nanos()).unwrap_or(u64::MAX);
            let workload = Workload::backfill(seed, start_unix_ns, period_ns, traces);
            let tally = backfill(&sink, workload, &progress, &mut stop).await?;
            (tally, progress)
        }
    };
    progress.finish_and_clear();
    print_tally(&tally, seed, started.elapsed(), url.as_str());
    if tally.traces == 0 {
        bail!("no trace was sent");
    }
    Ok(())
}

/// Returns the backfill trace count for a period: [`BACKFILL_TRACES_PER_HOUR`], within
/// [`BACKFILL_DEFAULT_RANGE`].
pub fn default_backfill_traces(period: Duration) -> u64 {
    let (fewest, most) = BACKFILL_DEFAULT_RANGE;
    (period.as_secs() * BACKFILL_TRACES_PER_HOUR / 3_600).clamp(fewest, most)
}

fn clock_seed() -> u64 {
    rng::mix(now_unix_ns())
}

#[expect(
    clippy::print_stdout,
    reason = "the command's result for the person who ran it"
)]
fn print_tally(tally: &Tally, seed: u64, elapsed: Duration, url: &str) {
    let services: Vec<String> = tally
        .services
        .iter()
        .map(|(service, traces)| format!("{service} {traces}"))
        .collect();
    println!(
        "sent {} traces ({} spans) to {url} in {:.1} s: {}",
        tally.traces,
        tally.spans,
        elapsed.as_secs_f64(),
        services.join(", ")
    );
    if tally.rejected_spans > 0 {
        println!("the server rejected {} spans", tally.rejected_spans);
    }
    println!("--seed {seed} repeats this run");
}

/// Fills the server this process runs: a week of history with scores, a dataset and two
/// experiments over it, unless the database already contains traces, then one trace per
/// second until `shutdown` turns true. Runs inside `glassbox serve --demo`. Failures are
/// logged, not returned, so that the server keeps serving.
pub async fn fill_server(
    ingest: Ingest,
    store: Arc<dyn Store>,
    experiments: Arc<ExperimentRunner>,
    mut shutdown: watch::Receiver<bool>,
) {
    let sink = Sink::InProcess(ingest);
    let seed = clock_seed();
    let page = Page {
        limit: 1,
        cursor: None,
    };
    match store.list_traces(TraceFilter::default(), page).await {
        Ok((traces, _)) if !traces.is_empty() => {
            tracing::info!("demo: the database already contains traces; no history is added");
        }
        Ok(_) => {
            if fill_history(&sink, seed, &mut shutdown).await {
                record_evaluation(&store, &experiments, seed).await;
            }
        }
        Err(error) => {
            tracing::error!(%error, "demo: failed to read the store; no history is added")
        }
    }

    let start_unix_ns = now_unix_ns();
    let workload = Workload::live(seed, start_unix_ns, SERVE_LIVE_RATE, None).without_showcase();
    tracing::info!(
        rate = SERVE_LIVE_RATE,
        "demo: sending live traffic until shutdown"
    );
    let progress = ProgressBar::hidden();
    if let Err(error) = live(&sink, workload, start_unix_ns, &progress, &mut shutdown).await {
        tracing::error!(error = %format!("{error:#}"), "demo: live traffic stopped");
    }
}

/// Writes the history; returns whether it was written whole.
async fn fill_history(sink: &Sink, seed: u64, shutdown: &mut watch::Receiver<bool>) -> bool {
    let started = Instant::now();
    let period_ns = SERVE_HISTORY.as_secs() * SECOND;
    tracing::info!(
        traces = SERVE_HISTORY_TRACES,
        seed,
        "demo: writing 7 days of history"
    );
    let workload = Workload::backfill(seed, now_unix_ns(), period_ns, SERVE_HISTORY_TRACES);
    match backfill(sink, workload, &ProgressBar::hidden(), shutdown).await {
        Ok(tally) => {
            tracing::info!(
                traces = tally.traces,
                spans = tally.spans,
                seconds = started.elapsed().as_secs_f64(),
                "demo: history written"
            );
            tally.traces == SERVE_HISTORY_TRACES
        }
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "demo: history failed");
            false
        }
    }
}

async fn record_evaluation(store: &Arc<dyn Store>, experiments: &ExperimentRunner, seed: u64) {
    match evaluation::record(store, experiments, seed).await {
        Ok(scores) => tracing::info!(
            scores,
            dataset = evaluation::DATASET,
            "demo: scores written and experiments started"
        ),
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "demo: failed to add scores, the dataset or its experiments")
        }
    }
}

/// Parses a period such as `30m`, `24h` or `7d` (also `90s`), up to a year.
pub fn parse_period(text: &str) -> Result<Duration, String> {
    let invalid = || {
        format!(
            "invalid period {text:?}: expected a whole number followed by s, m, h or d, such \
             as 30m, 24h or 7d"
        )
    };
    let text = text.trim();
    let split = text.len().saturating_sub(1);
    let (number, unit) = (
        text.get(..split).unwrap_or(""),
        text.get(split..).unwrap_or(""),
    );
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit {
        "s" => number,
        "m" => number.saturating_mul(60),
        "h" => number.saturating_mul(3_600),
        "d" => number.saturating_mul(86_400),
        _ => return Err(invalid()),
    };
    if seconds == 0 || seconds > 366 * 86_400 {
        return Err(format!(
            "invalid period {text:?}: must be between 1 second and 366 days"
        ));
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse() {
        assert_eq!(parse_period("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_period("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_period("30m"), Ok(Duration::from_secs(1_800)));
        assert_eq!(parse_period("90s"), Ok(Duration::from_secs(90)));
        for invalid in ["", "7", "d", "7w", "-1d", "1.5h", "0m", "400d"] {
            assert!(parse_period(invalid).is_err(), "{invalid:?} was accepted");
        }
    }

    #[test]
    fn default_backfill_grows_with_the_period() {
        assert_eq!(default_backfill_traces(Duration::from_secs(1_800)), 100);
        assert_eq!(default_backfill_traces(Duration::from_secs(86_400)), 480);
        assert_eq!(
            default_backfill_traces(Duration::from_secs(7 * 86_400)),
            3_360
        );
    }
}
