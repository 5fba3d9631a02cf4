//! The load: closed-loop senders for peak throughput, or an open-loop timetable for latency at
//! a fixed rate.
//!
//! In open-loop mode request `n` is due at `start + n * interval` whatever happened before,
//! and its latency runs from that due time. A request that waits because every connection is
//! busy therefore counts its wait, so a slow server cannot hide its stalls by slowing the
//! sender down (coordinated omission).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use bytes::Bytes;
use hdrhistogram::Histogram;
use tokio::sync::{Mutex, mpsc};

use crate::rng::mix;
use crate::template::{Masks, Template, shift_to};
use crate::transport::{Outcome, Sender};

/// Pause of a closed-loop sender after a throttled request.
const THROTTLE_BACKOFF: Duration = Duration::from_millis(100);
/// Distinct error messages kept. Further ones are only counted.
const KEPT_ERRORS: usize = 10;
/// Largest latency the histogram records exactly, in microseconds (one hour).
const MAX_LATENCY_MICROS: u64 = 3_600_000_000;

/// The request bodies of a run: templates rendered with per-request ids and times.
pub struct Workload {
    templates: Vec<Template>,
    seed: u64,
}

impl Workload {
    /// Creates the workload from at least one template.
    pub fn new(templates: Vec<Template>, seed: u64) -> anyhow::Result<Workload> {
        anyhow::ensure!(
            !templates.is_empty(),
            "a workload needs at least one template"
        );
        Ok(Workload { templates, seed })
    }

    fn template(&self, index: u64) -> &Template {
        &self.templates[(index % self.templates.len() as u64) as usize]
    }

    /// Returns the spans in each request.
    pub fn batch_spans(&self) -> usize {
        self.templates[0].spans
    }

    /// Returns the mean body size in bytes.
    pub fn mean_body_bytes(&self) -> f64 {
        let total: usize = self.templates.iter().map(Template::len).sum();
        total as f64 / self.templates.len() as f64
    }

    /// Renders request `index`, its spans ending just before now.
    pub fn render(&self, index: u64) -> (Bytes, usize) {
        let template = self.template(index);
        let masks = Masks::for_request(self.seed, index);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
            });
        (
            Bytes::from(template.render(&masks, shift_to(now))),
            template.spans,
        )
    }

    /// Returns one trace of request `index` as sent: its id and span count.
    pub fn sample_trace(&self, index: u64) -> ([u8; 16], usize) {
        let template = self.template(index);
        let masks = Masks::for_request(self.seed, index);
        let shape = template.traces[(mix(index) % template.traces.len() as u64) as usize];
        (masks.trace_id(&shape.trace_id), shape.spans)
    }
}

/// The timing of requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Every connection sends its next request as soon as its last one gets a response.
    Max,
    /// Requests are due on a fixed timetable that gives this many spans per second.
    Rate(f64),
}

/// The shape of a run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Closed or open loop.
    pub mode: Mode,
    /// Time during which new requests start.
    pub duration: Duration,
    /// Time after `duration` during which queued open-loop requests may still start. Later
    /// ones are counted as unsent.
    pub drain: Duration,
}

/// Counts and latencies of a run.
pub struct Tally {
    /// Latency of acknowledged requests, in microseconds.
    pub latency: Histogram<u64>,
    /// Requests that got a response or failed.
    pub requests_sent: u64,
    /// Requests with a success response.
    pub requests_acknowledged: u64,
    /// Requests with a 429 or 503 response (gRPC `UNAVAILABLE`, `RESOURCE_EXHAUSTED`).
    pub requests_throttled: u64,
    /// Requests with any other response, or none.
    pub requests_failed: u64,
    /// Open-loop requests still queued when the drain time ran out.
    pub requests_unsent: u64,
    /// Spans in sent requests.
    pub spans_sent: u64,
    /// Spans in acknowledged requests, less those reported rejected.
    pub spans_acknowledged: u64,
    /// Spans reported rejected in partial successes.
    pub spans_rejected: u64,
    /// Request bytes sent.
    pub bytes_sent: u64,
    /// Failure messages and their counts.
    pub errors: BTreeMap<String, u64>,
    /// Acknowledged requests: time of the response since the start, and request index.
    pub acknowledged: Vec<(Duration, u64)>,
    /// Spans acknowledged in each second of the run.
    pub spans_per_second: Vec<u64>,
    /// Time of the last response since the start.
    pub last_response: Duration,
}

impl Tally {
    fn new() -> anyhow::Result<Tally> {
        Ok(Tally {
            latency: Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 3)
                .context("failed to create the latency histogram")?,
            requests_sent: 0,
            requests_acknowledged: 0,
            requests_throttled: 0,
            requests_failed: 0,
            requests_unsent: 0,
            spans_sent: 0,
            spans_acknowledged: 0,
            spans_rejected: 0,
            bytes_sent: 0,
            errors: BTreeMap::new(),
            acknowledged: Vec::new(),
            spans_per_second: Vec::new(),
            last_response: Duration::ZERO,
        })
    }

    /// Records one response or failure. The latency runs from `origin`.
    fn record(&mut self, request: SentRequest, origin: Instant, start: Instant, outcome: Outcome) {
        let now = Instant::now();
        let since_start = now.saturating_duration_since(start);
        self.requests_sent += 1;
        self.spans_sent += request.spans;
        self.bytes_sent += request.bytes;
        self.last_response = self.last_response.max(since_start);
        match outcome {
            Outcome::Accepted { rejected_spans } => {
                let rejected = rejected_spans.min(request.spans);
                let micros = now.saturating_duration_since(origin).as_micros();
                self.latency
                    .saturating_record(u64::try_from(micros).unwrap_or(u64::MAX));
                self.requests_acknowledged += 1;
                self.spans_acknowledged += request.spans - rejected;
                self.spans_rejected += rejected;
                self.acknowledged.push((since_start, request.index));
                self.add_to_second(since_start, request.spans - rejected);
            }
            Outcome::Throttled => self.requests_throttled += 1,
            Outcome::Failed(message) => {
                self.requests_failed += 1;
                self.add_error(message);
            }
        }
    }

    fn add_to_second(&mut self, since_start: Duration, spans: u64) {
        let second = since_start.as_secs() as usize;
        if self.spans_per_second.len() <= second {
            self.spans_per_second.resize(second + 1, 0);
        }
        self.spans_per_second[second] += spans;
    }

    fn add_error(&mut self, message: String) {
        if self.errors.len() < KEPT_ERRORS || self.errors.contains_key(&message) {
            *self.errors.entry(message).or_default() += 1;
        } else {
            *self.errors.entry("(other errors)".to_owned()).or_default() += 1;
        }
    }

    fn merge(&mut self, other: Tally) -> anyhow::Result<()> {
        self.latency
            .add(&other.latency)
            .context("failed to merge latency histograms")?;
        self.requests_sent += other.requests_sent;
        self.requests_acknowledged += other.requests_acknowledged;
        self.requests_throttled += other.requests_throttled;
        self.requests_failed += other.requests_failed;
        self.requests_unsent += other.requests_unsent;
        self.spans_sent += other.spans_sent;
        self.spans_acknowledged += other.spans_acknowledged;
        self.spans_rejected += other.spans_rejected;
        self.bytes_sent += other.bytes_sent;
        for (message, count) in other.errors {
            *self.errors.entry(message).or_default() += count;
        }
        self.acknowledged.extend(other.acknowledged);
        if self.spans_per_second.len() < other.spans_per_second.len() {
            self.spans_per_second
                .resize(other.spans_per_second.len(), 0);
        }
        for (total, spans) in self.spans_per_second.iter_mut().zip(other.spans_per_second) {
            *total += spans;
        }
        self.last_response = self.last_response.max(other.last_response);
        Ok(())
    }
}

/// A request as sent, for the tally.
struct SentRequest {
    index: u64,
    spans: u64,
    bytes: u64,
}

/// Renders request `index` and sends it.
async fn send_one(sender: &mut Sender, workload: &Workload, index: u64) -> (SentRequest, Outcome) {
    let (body, spans) = workload.render(index);
    let request = SentRequest {
        index,
        spans: spans as u64,
        bytes: body.len() as u64,
    };
    let outcome = sender.send(body).await;
    (request, outcome)
}

/// Runs the load over the connected senders and returns the merged tally.
pub async fn run(
    plan: Plan,
    workload: Arc<Workload>,
    senders: Vec<Sender>,
) -> anyhow::Result<Tally> {
    let start = Instant::now();
    let tallies = match plan.mode {
        Mode::Max => run_closed(plan, workload, senders, start).await?,
        Mode::Rate(spans_per_second) => {
            run_open(plan, spans_per_second, workload, senders, start).await?
        }
    };
    let mut total = Tally::new()?;
    for tally in tallies {
        total.merge(tally?)?;
    }
    total.acknowledged.sort_unstable();
    Ok(total)
}

type Workers = Vec<anyhow::Result<Tally>>;

async fn run_closed(
    plan: Plan,
    workload: Arc<Workload>,
    senders: Vec<Sender>,
    start: Instant,
) -> anyhow::Result<Workers> {
    let deadline = start + plan.duration;
    let next_index = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = senders
        .into_iter()
        .map(|mut sender| {
            let workload = Arc::clone(&workload);
            let next_index = Arc::clone(&next_index);
            tokio::spawn(async move {
                let mut tally = Tally::new()?;
                while Instant::now() < deadline {
                    let index = next_index.fetch_add(1, Ordering::Relaxed);
                    let origin = Instant::now();
                    let (request, outcome) = send_one(&mut sender, &workload, index).await;
                    let throttled = matches!(outcome, Outcome::Throttled);
                    tally.record(request, origin, start, outcome);
                    if throttled {
                        tokio::time::sleep(THROTTLE_BACKOFF).await;
                    }
                }
                Ok(tally)
            })
        })
        .collect();
    join(handles).await
}

async fn run_open(
    plan: Plan,
    spans_per_second: f64,
    workload: Arc<Workload>,
    senders: Vec<Sender>,
    start: Instant,
) -> anyhow::Result<Workers> {
    let interval = Duration::from_secs_f64(workload.batch_spans() as f64 / spans_per_second);
    let end = start + plan.duration;
    let drain_deadline = end + plan.drain;
    let (queue, receiver) = mpsc::unbounded_channel::<(u64, Instant)>();
    let receiver = Arc::new(Mutex::new(receiver));

    let handles: Vec<_> = senders
        .into_iter()
        .map(|mut sender| {
            let workload = Arc::clone(&workload);
            let receiver = Arc::clone(&receiver);
            tokio::spawn(async move {
                let mut tally = Tally::new()?;
                loop {
                    let job = receiver.lock().await.recv().await;
                    let Some((index, due)) = job else { break };
                    if Instant::now() > drain_deadline {
                        tally.requests_unsent += 1;
                        continue;
                    }
                    let (request, outcome) = send_one(&mut sender, &workload, index).await;
                    tally.record(request, due, start, outcome);
                }
                Ok(tally)
            })
        })
        .collect();

    for index in 0u64.. {
        let due = start + interval.saturating_mul(u32::try_from(index).unwrap_or(u32::MAX));
        if due >= end {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        if queue.send((index, due)).is_err() {
            break;
        }
    }
    drop(queue);
    join(handles).await
}

async fn join(
    handles: Vec<tokio::task::JoinHandle<anyhow::Result<Tally>>>,
) -> anyhow::Result<Workers> {
    let mut tallies = Vec::with_capacity(handles.len());
    for handle in handles {
        tallies.push(handle.await.context("a sender task failed")?);
    }
    Ok(tallies)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn errors_beyond_the_limit_are_grouped() {
        let mut tally = Tally::new().unwrap();
        for number in 0..15 {
            tally.add_error(format!("error {number}"));
        }
        tally.add_error("error 0".to_owned());
        assert_eq!(tally.errors.len(), KEPT_ERRORS + 1);
        assert_eq!(tally.errors["error 0"], 2);
        assert_eq!(tally.errors["(other errors)"], 5);
    }

    #[test]
    fn merge_adds_counts_and_seconds() {
        let mut first = Tally::new().unwrap();
        first.add_to_second(Duration::from_millis(1_500), 10);
        first.requests_acknowledged = 1;
        let mut second = Tally::new().unwrap();
        second.add_to_second(Duration::from_millis(200), 5);
        second.add_to_second(Duration::from_millis(2_200), 7);
        second.requests_acknowledged = 2;
        first.merge(second).unwrap();
        assert_eq!(first.spans_per_second, vec![5, 10, 7]);
        assert_eq!(first.requests_acknowledged, 3);
    }
}
