//! The recorder: the task that turns finished calls into spans and writes them, away from the
//! request path.
//!
//! The request path hands over a [`CallRecord`] with a non-blocking send. When the queue is
//! full, or the store refuses or fails a batch, the call has already succeeded for the client:
//! the loss is counted in [`GatewayStats`] and logged at most once per interval.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use glassbox_enrich::Enricher;
use glassbox_ingest::BatchWriter;
use glassbox_ingest::log_limit::LogLimiter;
use glassbox_ingest::recent::{LastSeen, RECENT};
use glassbox_store::{WriteBatch, background};
use serde::Serialize;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::record::{CallRecord, RecordOptions, build_span};

/// Calls written in one batch at most.
const MAX_BATCH: usize = 512;
/// Interval between two reads of the queue. Fewer, larger transactions cost the store less CPU,
/// which the request path on the same cores would otherwise lose. Spans still show up in the
/// API within a fraction of a second.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Batches waiting for their commit at once.
const WRITES_IN_FLIGHT: usize = 4;

/// Counters of the gateway, shown by the health endpoint.
#[derive(Debug, Default)]
pub struct GatewayStats {
    /// Calls received by a recording endpoint.
    pub calls: AtomicU64,
    /// Calls whose span was committed.
    pub recorded: AtomicU64,
    /// Calls whose span was lost because the record queue was full.
    pub lost_queue_full: AtomicU64,
    /// Calls whose span was lost because the store refused or failed it.
    pub lost_store: AtomicU64,
    /// Calls that got an error response, from the upstream or from the gateway.
    pub failed_calls: AtomicU64,
    losses: LogLimiter,
    last_lost: LastSeen,
    /// A limiter per upstream name, so that one upstream's failures never hide another's.
    upstream_failures: Mutex<HashMap<String, LogLimiter>>,
}

/// A snapshot of [`GatewayStats`] for the health endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GatewayHealth {
    /// Calls received by a recording endpoint.
    pub calls: u64,
    /// Calls whose span was committed.
    pub recorded_spans: u64,
    /// Calls whose span was lost, for any reason.
    pub lost_spans: u64,
    /// Of those, lost because the record queue was full.
    pub lost_queue_full: u64,
    /// Of those, lost because the store refused or failed them.
    pub lost_store: u64,
    /// Calls that got an error response.
    pub failed_calls: u64,
    /// True when a span was lost within the last minute.
    pub lost_recently: bool,
}

impl GatewayStats {
    /// Returns the current counts.
    pub fn health(&self) -> GatewayHealth {
        let queue_full = self.lost_queue_full.load(Ordering::Relaxed);
        let store = self.lost_store.load(Ordering::Relaxed);
        GatewayHealth {
            calls: self.calls.load(Ordering::Relaxed),
            recorded_spans: self.recorded.load(Ordering::Relaxed),
            lost_spans: queue_full + store,
            lost_queue_full: queue_full,
            lost_store: store,
            failed_calls: self.failed_calls.load(Ordering::Relaxed),
            lost_recently: self.last_lost.within(RECENT),
        }
    }

    fn lose(&self, counter: &AtomicU64, count: u64, reason: &str) {
        counter.fetch_add(count, Ordering::Relaxed);
        self.last_lost.mark();
        if let Some(lost) = self.losses.count(count) {
            tracing::error!(lost, reason, "gateway calls were served but not recorded");
        }
    }

    /// Logs a call that failed because of its upstream (unreachable, too slow, or a body that
    /// broke off), at most once per interval and upstream, with the number of that upstream's
    /// failures since its last line. Returns true when it logged a line.
    pub fn upstream_failed(&self, upstream: &str, cause: &str) -> bool {
        let mut limiters = self
            .upstream_failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let limiter = limiters.entry(upstream.to_owned()).or_default();
        let Some(failures) = limiter.count(1) else {
            return false;
        };
        tracing::warn!(
            upstream,
            failures,
            cause,
            "gateway calls failed at their upstream"
        );
        true
    }
}

/// Body bytes of the calls handed over and not yet written, bounded so that the recorder's
/// memory does not grow with the size of prompts and responses.
#[derive(Debug)]
struct QueuedBytes {
    bytes: AtomicUsize,
    limit: usize,
}

impl QueuedBytes {
    /// Counts `size` more bytes, unless that would pass the limit while other calls are
    /// queued. A call larger than the limit still fits in an empty queue.
    fn try_add(&self, size: usize) -> bool {
        let before = self.bytes.fetch_add(size, Ordering::Relaxed);
        if before > 0 && before.saturating_add(size) > self.limit {
            self.bytes.fetch_sub(size, Ordering::Relaxed);
            return false;
        }
        true
    }

    fn remove(&self, size: usize) {
        self.bytes.fetch_sub(size, Ordering::Relaxed);
    }
}

/// Returns the body bytes that a call keeps in memory until it is written.
fn size_of(record: &CallRecord) -> usize {
    record.request_body.len() + record.response.body.len()
}

/// A handle that the request path uses to hand over finished calls. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Recorder {
    sender: mpsc::Sender<CallRecord>,
    queued: Arc<QueuedBytes>,
    stats: Arc<GatewayStats>,
}

impl Recorder {
    /// Starts the recorder task, and the background thread on which it builds spans. The task
    /// ends once every handle is dropped and the queue is written, so shutdown records every
    /// finished call.
    /// `queue` bounds the calls waiting to be recorded, `queue_bytes` their body bytes until
    /// they are written.
    pub fn start(
        writer: BatchWriter,
        enricher: Arc<Enricher>,
        options: RecordOptions,
        queue: usize,
        queue_bytes: usize,
    ) -> Result<(Recorder, tokio::task::JoinHandle<()>), String> {
        let (sender, receiver) = mpsc::channel(queue.max(1));
        let stats = Arc::new(GatewayStats::default());
        let queued = Arc::new(QueuedBytes {
            bytes: AtomicUsize::new(0),
            limit: queue_bytes,
        });
        let builder = Builder::start(
            writer,
            enricher,
            options,
            Arc::clone(&stats),
            Arc::clone(&queued),
        )
        .map_err(|error| format!("failed to start the gateway's recorder thread: {error}"))?;
        let task = tokio::spawn(run(receiver, builder));
        let recorder = Recorder {
            sender,
            queued,
            stats,
        };
        Ok((recorder, task))
    }

    /// Hands over a finished call without waiting; a full queue counts a loss.
    pub fn record(&self, record: CallRecord) {
        if record.response.status >= 400 || !matches!(record.outcome, crate::Outcome::Completed) {
            self.stats.failed_calls.fetch_add(1, Ordering::Relaxed);
        }
        let stats = &self.stats;
        let size = size_of(&record);
        if !self.queued.try_add(size) {
            stats.lose(
                &stats.lost_queue_full,
                1,
                "the record queue is full of bytes",
            );
            return;
        }
        if self.sender.try_send(record).is_err() {
            self.queued.remove(size);
            stats.lose(&stats.lost_queue_full, 1, "the record queue is full");
        }
    }

    /// Returns the counters.
    pub fn stats(&self) -> &Arc<GatewayStats> {
        &self.stats
    }
}

/// Batches of calls, each with the permit that bounds the batches in flight.
type Job = (Vec<CallRecord>, OwnedSemaphorePermit);

/// The background thread that builds spans, at a lower priority than the request path:
/// parsing bodies, pricing and analyzing content take CPU time that a call waiting for a
/// worker would otherwise lose.
struct Builder {
    jobs: std::sync::mpsc::Sender<Job>,
    in_flight: Arc<Semaphore>,
}

impl Builder {
    fn start(
        writer: BatchWriter,
        enricher: Arc<Enricher>,
        options: RecordOptions,
        stats: Arc<GatewayStats>,
        queued: Arc<QueuedBytes>,
    ) -> std::io::Result<Builder> {
        let (jobs, jobs_queued) = std::sync::mpsc::channel::<Job>();
        let runtime = tokio::runtime::Handle::current();
        background::spawn("glassbox-recorder", move || {
            for (records, permit) in jobs_queued {
                let size = records.iter().map(size_of).sum();
                let batch = build_batch(records, &options, &enricher);
                let (writer, stats, queued) =
                    (writer.clone(), Arc::clone(&stats), Arc::clone(&queued));
                runtime.spawn(async move {
                    write(&writer, batch, &stats).await;
                    queued.remove(size);
                    drop(permit);
                });
            }
        })?;
        let in_flight = Arc::new(Semaphore::new(WRITES_IN_FLIGHT));
        Ok(Builder { jobs, in_flight })
    }

    /// Hands a batch to the thread once fewer than [`WRITES_IN_FLIGHT`] are being built or
    /// written.
    async fn submit(&self, records: Vec<CallRecord>) {
        let Ok(permit) = Arc::clone(&self.in_flight).acquire_owned().await else {
            return;
        };
        if self.jobs.send((records, permit)).is_err() {
            tracing::error!("the gateway's recorder thread has stopped; calls are not recorded");
        }
    }

    /// Waits until every batch handed over is written.
    async fn finish(self) {
        let Builder { jobs, in_flight } = self;
        drop(jobs);
        let all = u32::try_from(WRITES_IN_FLIGHT).unwrap_or(u32::MAX);
        let _ = in_flight.acquire_many(all).await;
    }
}

async fn run(mut receiver: mpsc::Receiver<CallRecord>, builder: Builder) {
    while let Some(records) = next_batch(&mut receiver).await {
        builder.submit(records).await;
    }
    builder.finish().await;
}

/// Collects the calls handed over since the last look, looking every [`POLL_INTERVAL`] until
/// there is at least one. Returns `None` once every sender is gone and the queue is empty.
///
/// The queue is read only with `try_recv`, so no waker is registered and a sender never wakes
/// this task. That wake-up would cost every call a system call to another thread.
async fn next_batch(receiver: &mut mpsc::Receiver<CallRecord>) -> Option<Vec<CallRecord>> {
    let mut records = Vec::new();
    loop {
        while records.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(record) => records.push(record),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return (!records.is_empty()).then_some(records),
            }
        }
        if !records.is_empty() {
            return Some(records);
        }

        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

fn build_batch(
    records: Vec<CallRecord>,
    options: &RecordOptions,
    enricher: &Enricher,
) -> WriteBatch {
    WriteBatch {
        spans: records
            .into_iter()
            .map(|record| build_span(record, options, enricher))
            .collect(),
        ..WriteBatch::default()
    }
}

async fn write(writer: &BatchWriter, batch: WriteBatch, stats: &GatewayStats) {
    let count = batch.spans.len() as u64;
    match writer.write(batch).await {
        Ok(_) => {
            stats.recorded.fetch_add(count, Ordering::Relaxed);
        }
        Err(error) => stats.lose(&stats.lost_store, count, &error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;
    use bytes::Bytes;

    use super::*;
    use crate::endpoint::Endpoint;
    use crate::headers::CallContext;
    use crate::record::{Captured, Outcome, Timings};

    fn record() -> CallRecord {
        CallRecord {
            endpoint: Endpoint::ChatCompletions,
            upstream: None,
            model: Some("gpt-4o-mini".to_owned()),
            context: CallContext::from_headers(&HeaderMap::new()),
            started_unix_nano: 1,
            request_body: Bytes::new(),
            stream: false,
            response: Captured::default(),
            outcome: Outcome::Completed,
            timings: Timings::default(),
            secrets: Vec::new(),
        }
    }

    #[test]
    fn each_upstream_gets_its_own_failure_line() {
        let stats = GatewayStats::default();

        assert!(stats.upstream_failed("openai", "connection refused"));
        assert!(!stats.upstream_failed("openai", "connection refused"));
        assert!(stats.upstream_failed("anthropic", "connection refused"));
        assert!(!stats.upstream_failed("anthropic", "timed out"));
    }

    #[tokio::test]
    async fn next_batch_drains_queue_then_ends() {
        let (sender, mut receiver) = mpsc::channel(16);
        for _ in 0..3 {
            sender.try_send(record()).unwrap();
        }
        assert_eq!(next_batch(&mut receiver).await.unwrap().len(), 3);

        sender.try_send(record()).unwrap();
        drop(sender);
        assert_eq!(next_batch(&mut receiver).await.unwrap().len(), 1);
        assert!(next_batch(&mut receiver).await.is_none());
    }

    #[tokio::test]
    async fn next_batch_finds_later_call() {
        let (sender, mut receiver) = mpsc::channel(16);
        let late = tokio::spawn(async move {
            tokio::time::sleep(POLL_INTERVAL * 2).await;
            sender.try_send(record()).unwrap();
        });
        let batch = tokio::time::timeout(Duration::from_secs(10), next_batch(&mut receiver))
            .await
            .expect("the call was never collected");
        assert_eq!(batch.unwrap().len(), 1);
        late.await.unwrap();
    }

    #[tokio::test]
    async fn next_batch_caps_at_max_batch() {
        let (sender, mut receiver) = mpsc::channel(MAX_BATCH + 10);
        for _ in 0..MAX_BATCH + 10 {
            sender.try_send(record()).unwrap();
        }
        assert_eq!(next_batch(&mut receiver).await.unwrap().len(), MAX_BATCH);
        assert_eq!(next_batch(&mut receiver).await.unwrap().len(), 10);
    }
}
