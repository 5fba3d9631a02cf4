//! The run loops: live traffic at a steady rate, and backfills sent in large batches as
//! fast as the server acknowledges them, with a progress bar and a final tally.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use indicatif::{ProgressBar, ProgressStyle};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::demo::emit::{self, Delivery, Sink};
use crate::demo::rng::mix;
use crate::demo::scenario::{self, TracePlan};
use crate::demo::schedule::{Planner, SECOND, backfill_times};
use crate::demo::trace::DemoTrace;

/// Spans per request of a backfill, far below the server's default write queue of 16,384
/// records so that one request never fills it alone.
const BATCH_SPANS: u64 = 2_000;
/// Backfill requests awaiting a response at once: one committing, one queued behind it.
const REQUESTS_IN_FLIGHT: usize = 2;
/// Batches generated ahead of the sender.
const BATCHES_AHEAD: usize = 2;
/// Age of the search API's latest release at the end of a backfill: the drift report's
/// default recent window, so that it finds the change.
const RELEASE_AGE_NS: u64 = 24 * 3_600 * SECOND;
/// Mixed into the seed of live runs, so that a live run and a backfill with the same seed
/// do not send the same trace ids.
const LIVE_SEED_SALT: u64 = 0x4C49_5645;

/// The plans of a run, in time order.
pub struct Workload {
    planner: Planner,
    times: Times,
    next_index: u64,
}

enum Times {
    /// One trace every `interval_ns` from `start_unix_ns`, `limit` traces or without end.
    Steady {
        start_unix_ns: u64,
        interval_ns: f64,
        limit: Option<u64>,
    },
    /// Given times.
    Listed(std::vec::IntoIter<u64>),
}

impl Workload {
    /// Live traffic: trace `i` ends at `start_unix_ns + i / rate` seconds.
    pub fn live(seed: u64, start_unix_ns: u64, rate: f64, limit: Option<u64>) -> Workload {
        Workload {
            planner: Planner::new(
                mix(seed ^ LIVE_SEED_SALT),
                start_unix_ns.saturating_sub(RELEASE_AGE_NS),
            ),
            times: Times::Steady {
                start_unix_ns,
                interval_ns: SECOND as f64 / rate,
                limit,
            },
            next_index: 0,
        }
    }

    /// Leaves out the showcase at the start, for live traffic after a history that showed
    /// it, where a burst of forced failures and findings would stand out on every chart.
    pub fn without_showcase(mut self) -> Workload {
        self.planner.skip_showcase();
        self
    }

    /// History: `traces` traces over the `period_ns` before `end_unix_ns`.
    pub fn backfill(seed: u64, end_unix_ns: u64, period_ns: u64, traces: u64) -> Workload {
        let times = backfill_times(seed, end_unix_ns, period_ns, traces);
        Workload {
            planner: Planner::new(seed, end_unix_ns.saturating_sub(RELEASE_AGE_NS)),
            times: Times::Listed(times.into_iter()),
            next_index: 0,
        }
    }
}

impl Iterator for Workload {
    type Item = TracePlan;

    fn next(&mut self) -> Option<TracePlan> {
        let index = self.next_index;
        let end_unix_ns = match &mut self.times {
            Times::Steady { limit, .. } if limit.is_some_and(|limit| index >= limit) => {
                return None;
            }
            Times::Steady {
                start_unix_ns,
                interval_ns,
                ..
            } => *start_unix_ns + (index as f64 * *interval_ns) as u64,
            Times::Listed(times) => times.next()?,
        };
        self.next_index += 1;
        Some(self.planner.plan(index, end_unix_ns))
    }
}

/// The counts of what a run sent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Traces acknowledged.
    pub traces: u64,
    /// Spans acknowledged, rejected ones included.
    pub spans: u64,
    /// Spans the server rejected as invalid.
    pub rejected_spans: u64,
    /// Traces by the service of their root span.
    pub services: BTreeMap<&'static str, u64>,
}

impl Tally {
    fn add(&mut self, batch: &BatchTally, delivery: Delivery) {
        if let Delivery::Accepted { rejected_spans } = delivery {
            self.traces += batch.traces;
            self.spans += batch.spans;
            self.rejected_spans += rejected_spans;
            for (service, count) in &batch.services {
                *self.services.entry(service).or_default() += count;
            }
        }
    }
}

/// The size of one request.
#[derive(Debug, Default, Clone)]
struct BatchTally {
    traces: u64,
    spans: u64,
    services: BTreeMap<&'static str, u64>,
}

impl BatchTally {
    fn of(traces: &[DemoTrace]) -> BatchTally {
        let mut tally = BatchTally::default();
        for trace in traces {
            tally.traces += 1;
            tally.spans += trace.spans.len() as u64;
            if let Some(root) = trace.spans.first() {
                *tally.services.entry(root.place.service.name).or_default() += 1;
            }
        }
        tally
    }
}

/// A request and its size.
struct Batch {
    request: ExportTraceServiceRequest,
    tally: BatchTally,
}

/// Returns the current time in Unix nanoseconds.
pub fn now_unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
        })
}

/// Generates the traces of `plans` and groups them into requests of about `batch_spans`
/// spans.
fn traced_batches(
    plans: impl Iterator<Item = TracePlan>,
    batch_spans: u64,
) -> impl Iterator<Item = Batch> {
    let mut plans = plans.peekable();
    std::iter::from_fn(move || {
        plans.peek()?;
        let mut traces = Vec::new();
        let mut spans = 0;
        while spans < batch_spans {
            let Some(plan) = plans.next() else { break };
            let trace = scenario::generate(&plan);
            spans += trace.spans.len() as u64;
            traces.push(trace);
        }
        Some(Batch {
            request: emit::request(&traces),
            tally: BatchTally::of(&traces),
        })
    })
}

/// Sends a backfill. Batches are generated on a blocking thread, and at most
/// [`REQUESTS_IN_FLIGHT`] requests wait for their response. Stops early when `stop` turns
/// true or the server closes.
pub async fn backfill(
    sink: &Sink,
    workload: Workload,
    progress: &ProgressBar,
    stop: &mut watch::Receiver<bool>,
) -> anyhow::Result<Tally> {
    let (sender, mut receiver) = mpsc::channel(BATCHES_AHEAD);
    let generator = tokio::task::spawn_blocking(move || {
        for batch in traced_batches(workload, BATCH_SPANS) {
            if sender.blocking_send(batch).is_err() {
                break;
            }
        }
    });

    let mut tally = Tally::default();
    let mut in_flight = JoinSet::new();
    let mut closed = false;
    while !closed && !*stop.borrow() {
        let Some(batch) = receiver.recv().await else {
            break;
        };
        while in_flight.len() >= REQUESTS_IN_FLIGHT {
            closed |= settle(in_flight.join_next().await, &mut tally, progress)?;
        }
        let sink = sink.clone();
        in_flight.spawn(async move {
            let delivery = sink.send(&batch.request).await;
            (batch.tally, delivery)
        });
    }
    while let Some(result) = in_flight.join_next().await {
        settle(Some(result), &mut tally, progress)?;
    }
    drop(receiver);
    let _ = generator.await;
    Ok(tally)
}

type Sent = (BatchTally, anyhow::Result<Delivery>);

/// Records the response to one request; returns true when the server is closing.
fn settle(
    result: Option<Result<Sent, tokio::task::JoinError>>,
    tally: &mut Tally,
    progress: &ProgressBar,
) -> anyhow::Result<bool> {
    let Some(result) = result else {
        return Ok(false);
    };
    let (batch, delivery) =
        result.map_err(|error| anyhow::anyhow!("sender task failed: {error}"))?;
    let delivery = delivery?;
    warn_rejected(progress, delivery);
    tally.add(&batch, delivery);
    progress.inc(batch.traces);
    Ok(delivery == Delivery::Closed)
}

fn warn_rejected(progress: &ProgressBar, delivery: Delivery) {
    if let Delivery::Accepted { rejected_spans } = delivery
        && rejected_spans > 0
    {
        progress.suspend(|| {
            tracing::warn!(rejected_spans, "the server rejected generated spans");
        });
    }
}

/// Sends live traffic: each trace when its root span ends, one request per trace. Stops
/// when the workload ends, `stop` turns true or the server closes.
pub async fn live(
    sink: &Sink,
    workload: Workload,
    start_unix_ns: u64,
    progress: &ProgressBar,
    stop: &mut watch::Receiver<bool>,
) -> anyhow::Result<Tally> {
    let started = tokio::time::Instant::now();
    let mut tally = Tally::default();
    for plan in workload {
        let due = started + Duration::from_nanos(plan.end_unix_ns.saturating_sub(start_unix_ns));
        tokio::select! {
            () = tokio::time::sleep_until(due) => {}
            () = stopped(stop) => break,
        }
        let trace = scenario::generate(&plan);
        let traces = [trace];
        let batch = BatchTally::of(&traces);
        let delivery = sink.send(&emit::request(&traces)).await?;
        if delivery == Delivery::Closed {
            break;
        }
        warn_rejected(progress, delivery);
        tally.add(&batch, delivery);
        progress.inc(1);
    }
    Ok(tally)
}

/// Returns once `stop` turns true; never when its sender is gone without a stop.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Creates a progress bar of `traces` traces on standard error, which indicatif hides when
/// standard error is not a terminal.
pub fn progress_bar(traces: u64, message: &'static str) -> ProgressBar {
    let style =
        ProgressStyle::with_template("{msg} [{bar:32}] {pos}/{len} traces, {per_sec}, {eta} left")
            .map(|style| style.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = ProgressBar::new(traces).with_style(style);
    bar.set_message(message);
    bar
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    /// 2026-03-04T12:00:00Z.
    const START: u64 = 1_772_625_600 * SECOND;

    fn request_bytes(seed: u64) -> Vec<Vec<u8>> {
        let workload = Workload::backfill(seed, START, 3_600 * SECOND, 60);
        traced_batches(workload, 500)
            .map(|batch| batch.request.encode_to_vec())
            .collect()
    }

    #[test]
    fn same_seed_same_requests() {
        let first = request_bytes(42);
        assert!(first.len() > 1, "{} requests", first.len());
        assert_eq!(first, request_bytes(42));
    }

    #[test]
    fn other_seed_other_requests() {
        let first = request_bytes(42);
        let second = request_bytes(43);
        assert_ne!(first, second);
    }

    #[test]
    fn live_times_follow_the_rate() {
        let plans: Vec<TracePlan> = Workload::live(1, START, 4.0, Some(9)).collect();
        assert_eq!(plans.len(), 9);
        assert_eq!(plans[8].end_unix_ns, START + 2 * SECOND);
    }

    #[test]
    fn batches_hold_whole_traces() {
        let workload = Workload::backfill(7, START, 3_600 * SECOND, 40);
        let mut traces = 0;
        for batch in traced_batches(workload, 300) {
            traces += batch.tally.traces;
            let spans: usize = batch
                .request
                .resource_spans
                .iter()
                .flat_map(|resource| &resource.scope_spans)
                .map(|scope| scope.spans.len())
                .sum();
            assert_eq!(spans as u64, batch.tally.spans);
        }
        assert_eq!(traces, 40);
    }
}
