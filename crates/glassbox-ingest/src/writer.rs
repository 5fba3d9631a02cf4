//! The batch writer: a bounded queue in front of the one task that commits to the store.
//!
//! Receivers reserve room for their records before they enqueue. When the queue is full they
//! reply "try again later" at once instead of letting memory grow. The writer drains several
//! requests into one transaction and acknowledges each request only after that commit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use glassbox_store::{StoreError, WriteBatch, WriteStore, WriteSummary};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use crate::log_limit::LogLimiter;
use crate::recent::{LastSeen, RECENT};

/// The reason a batch was not committed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The queue has no room for the batch; the sender should retry later.
    #[error("write queue is full ({capacity} records); retry later")]
    QueueFull {
        /// The queue's capacity in records.
        capacity: usize,
    },
    /// The queue already contains as many request bytes as allowed, so the sender should
    /// retry later.
    #[error("write queue is full ({capacity_bytes} bytes of requests); retry later")]
    QueueBytesFull {
        /// The queue's capacity in bytes.
        capacity_bytes: usize,
    },
    /// The batch alone is larger than the whole queue.
    #[error("batch of {records} records exceeds the write queue capacity of {capacity}")]
    BatchTooLarge {
        /// Records in the batch.
        records: usize,
        /// The queue's capacity in records.
        capacity: usize,
    },
    /// The writer has stopped (the server is shutting down).
    #[error("the server is shutting down")]
    Closed,
    /// The store failed to commit.
    #[error("failed to commit to the store: {0}")]
    Store(#[from] StoreError),
}

/// Settings of the batch writer.
#[derive(Debug, Clone, Copy)]
pub struct WriterOptions {
    /// Records that may wait in the queue at once.
    pub queue_records: usize,
    /// Bytes of export requests that may wait in the queue at once: bodies after
    /// decompression, or the protobuf message over gRPC. A request larger than this alone
    /// waits until the queue is empty.
    pub queue_bytes: usize,
    /// Maximum time such a request waits for the queue to empty before it is rejected.
    pub oversized_wait: Duration,
    /// Records committed in one transaction at most (a larger single request still commits
    /// whole).
    pub max_batch_records: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            queue_records: 16_384,
            queue_bytes: 8 << 20,
            oversized_wait: Duration::from_secs(5),
            max_batch_records: 8_192,
        }
    }
}

/// Counters of the writer, read by the health endpoint.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Records committed.
    pub committed_records: AtomicU64,
    /// Requests rejected because the queue was full.
    pub rejected_full: AtomicU64,
    /// Transactions committed.
    pub commits: AtomicU64,
    /// Transactions that failed.
    pub failed_commits: AtomicU64,
    rejections: LogLimiter,
    last_rejected: LastSeen,
    last_failed_commit: LastSeen,
}

impl WriterStats {
    /// Describes what went wrong within [`RECENT`]: rejected requests, failed commits.
    pub fn recent_problems(&self) -> Vec<&'static str> {
        let mut problems = Vec::new();
        if self.last_rejected.within(RECENT) {
            problems.push("the write queue was full and rejected requests in the last minute");
        }
        if self.last_failed_commit.within(RECENT) {
            problems.push("commits to the store failed in the last minute");
        }
        problems
    }

    /// Counts a request rejected because the queue was full, and logs the rejections at a
    /// bounded pace. Each gets 429 or `UNAVAILABLE` and its sender retries it, but an operator
    /// should learn that the server is refusing data.
    fn reject(&self, queue: &str) {
        self.rejected_full.fetch_add(1, Ordering::Relaxed);
        self.last_rejected.mark();
        if let Some(rejected) = self.rejections.count(1) {
            tracing::warn!(
                rejected,
                queue,
                "write queue full: requests rejected for their senders to retry"
            );
        }
    }
}

struct Job {
    batch: WriteBatch,
    ack: oneshot::Sender<Result<WriteSummary, String>>,
    /// The batch's share of the byte budget, given back after its commit.
    kib: Option<OwnedSemaphorePermit>,
}

/// Room held in the write queue for one request, from [`BatchWriter::reserve_bytes`] and
/// [`BatchWriter::reserve_records`].
#[derive(Debug, Default)]
pub struct Reservation {
    records: Option<OwnedSemaphorePermit>,
    kib: Option<OwnedSemaphorePermit>,
}

impl Reservation {
    fn records(&self) -> usize {
        self.records
            .as_ref()
            .map_or(0, OwnedSemaphorePermit::num_permits)
    }
}

/// A batch in the queue, from [`BatchWriter::enqueue`].
#[derive(Debug)]
pub struct Commit {
    /// `None` for an empty batch, which commits nothing.
    done: Option<oneshot::Receiver<Result<WriteSummary, String>>>,
}

impl Commit {
    /// Waits until the batch is committed.
    pub async fn wait(self) -> Result<WriteSummary, WriteError> {
        let Some(done) = self.done else {
            return Ok(WriteSummary::default());
        };
        match done.await {
            Ok(Ok(summary)) => Ok(summary),
            Ok(Err(message)) => Err(WriteError::Store(StoreError::Task(message))),
            Err(_) => Err(WriteError::Closed),
        }
    }
}

/// A handle that receivers use to submit batches. Cheap to clone.
#[derive(Clone)]
pub struct BatchWriter {
    sender: mpsc::UnboundedSender<Job>,
    permits: Arc<Semaphore>,
    capacity: usize,
    /// The byte budget, in KiB.
    kib: Arc<Semaphore>,
    capacity_kib: u32,
    oversized_wait: Duration,
    stats: Arc<WriterStats>,
}

impl BatchWriter {
    /// Starts the writer task on the current Tokio runtime. The task ends after every handle
    /// is dropped and the queue is drained, which is how shutdown flushes accepted data.
    pub fn start(
        store: Arc<dyn WriteStore>,
        options: WriterOptions,
    ) -> (BatchWriter, tokio::task::JoinHandle<()>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let permits = Arc::new(Semaphore::new(options.queue_records));
        let capacity_kib = u32::try_from(options.queue_bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, Semaphore::MAX_PERMITS as u32);
        let stats = Arc::new(WriterStats::default());
        let task = tokio::spawn(run(
            store,
            receiver,
            Arc::clone(&permits),
            Arc::clone(&stats),
            options.max_batch_records,
        ));
        let writer = BatchWriter {
            sender,
            permits,
            capacity: options.queue_records,
            kib: Arc::new(Semaphore::new(capacity_kib as usize)),
            capacity_kib,
            oversized_wait: options.oversized_wait,
            stats,
        };
        (writer, task)
    }

    /// Takes room in the queue for a request of `request_bytes` bytes (its body after
    /// decompression), or fails at once when the queue already contains too many bytes.
    /// Receivers reserve before they decode a request, and add its records with
    /// [`BatchWriter::reserve_records`] before they normalize it, so that a full queue costs a
    /// rejected request little. Dropping the reservation gives the room back.
    ///
    /// A request at least as large as the whole budget takes all of it. It waits up to
    /// [`WriterOptions::oversized_wait`] for the queue to empty, and requests that arrive
    /// after it are rejected meanwhile, so that a steady flow of small requests cannot lock
    /// it out.
    pub async fn reserve_bytes(&self, request_bytes: usize) -> Result<Reservation, WriteError> {
        let mut reservation = Reservation::default();
        if request_bytes == 0 {
            return Ok(reservation);
        }
        let kib = u32::try_from(request_bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .min(self.capacity_kib);
        let semaphore = Arc::clone(&self.kib);
        let permit = if kib < self.capacity_kib {
            semaphore.try_acquire_many_owned(kib).ok()
        } else {
            // The semaphore is fair: permits freed while this waits go to it first.
            tokio::time::timeout(self.oversized_wait, semaphore.acquire_many_owned(kib))
                .await
                .ok()
                .and_then(Result::ok)
        };
        let Some(permit) = permit else {
            self.stats.reject("queue_bytes");
            return Err(WriteError::QueueBytesFull {
                capacity_bytes: self.capacity_bytes(),
            });
        };
        reservation.kib = Some(permit);
        Ok(reservation)
    }

    /// Grows a reservation to cover `request_bytes` bytes, when the queue has the room now.
    /// Returns false, and leaves the reservation as it was, when it has not. A receiver that
    /// reserved a compressed body's size grows it to the decompressed size this way.
    pub fn grow_bytes(&self, reservation: &mut Reservation, request_bytes: usize) -> bool {
        let needed_kib = u32::try_from(request_bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .min(self.capacity_kib);
        let reserved_kib = reservation
            .kib
            .as_ref()
            .map_or(0, OwnedSemaphorePermit::num_permits);
        let reserved_kib = u32::try_from(reserved_kib).unwrap_or(u32::MAX);
        if needed_kib <= reserved_kib {
            return true;
        }
        let more = Arc::clone(&self.kib).try_acquire_many_owned(needed_kib - reserved_kib);
        let Ok(more) = more else {
            return false;
        };
        match &mut reservation.kib {
            Some(permit) => permit.merge(more),
            None => reservation.kib = Some(more),
        }
        true
    }

    /// Adds room for `records` more records to a reservation, or fails at once when the queue
    /// has none.
    pub fn reserve_records(
        &self,
        reservation: &mut Reservation,
        records: usize,
    ) -> Result<(), WriteError> {
        let reserved = reservation.records();
        let total = reserved.saturating_add(records);
        let too_large = || WriteError::BatchTooLarge {
            records: total,
            capacity: self.capacity,
        };
        if records == 0 {
            return Ok(());
        }
        if total > self.capacity {
            return Err(too_large());
        }
        let count = u32::try_from(records).map_err(|_| too_large())?;
        let permit = Arc::clone(&self.permits)
            .try_acquire_many_owned(count)
            .map_err(|_| {
                self.stats.reject("queue_records");
                WriteError::QueueFull {
                    capacity: self.capacity,
                }
            })?;
        match &mut reservation.records {
            Some(permits) => permits.merge(permit),
            None => reservation.records = Some(permit),
        }
        Ok(())
    }

    /// Enqueues a batch and waits until it is committed. The batch takes room for its records
    /// only; receivers also reserve its request's bytes with [`BatchWriter::reserve_bytes`].
    pub async fn write(&self, batch: WriteBatch) -> Result<WriteSummary, WriteError> {
        self.enqueue(Reservation::default(), batch)?.wait().await
    }

    /// Enqueues a batch in room reserved for it. The returned handle waits for its commit.
    /// A batch with more records than the reservation takes the difference from the queue,
    /// or fails as [`BatchWriter::reserve_records`] does. Room not used goes back.
    pub fn enqueue(
        &self,
        mut reservation: Reservation,
        batch: WriteBatch,
    ) -> Result<Commit, WriteError> {
        if batch.is_empty() {
            return Ok(Commit { done: None });
        }
        let records = batch.len();
        let reserved = reservation.records();
        if records > reserved {
            self.reserve_records(&mut reservation, records - reserved)?;
        }
        let Reservation {
            records: permits,
            kib,
        } = reservation;
        let (ack, done) = oneshot::channel();
        self.sender
            .send(Job { batch, ack, kib })
            .map_err(|_| WriteError::Closed)?;
        if let Some(mut permits) = permits {
            if records < reserved {
                // The permits split off go back to the queue when dropped here.
                drop(permits.split(reserved - records));
            }
            // The writer task returns the records' permits once it has committed the batch.
            permits.forget();
        }
        Ok(Commit { done: Some(done) })
    }

    /// Returns the writer's counters.
    pub fn stats(&self) -> &Arc<WriterStats> {
        &self.stats
    }

    /// Returns the number of records waiting in the queue.
    pub fn queued_records(&self) -> usize {
        self.capacity - self.permits.available_permits().min(self.capacity)
    }

    /// Returns the request bytes waiting in the queue, in whole KiB.
    pub fn queued_bytes(&self) -> usize {
        let capacity = self.capacity_kib as usize;
        (capacity - self.kib.available_permits().min(capacity)) * 1024
    }

    /// Returns the queue's capacity in records.
    pub fn capacity_records(&self) -> usize {
        self.capacity
    }

    /// Returns the queue's capacity in bytes.
    pub fn capacity_bytes(&self) -> usize {
        self.capacity_kib as usize * 1024
    }
}

async fn run(
    store: Arc<dyn WriteStore>,
    mut receiver: mpsc::UnboundedReceiver<Job>,
    permits: Arc<Semaphore>,
    stats: Arc<WriterStats>,
    max_batch_records: usize,
) {
    while let Some(first) = receiver.recv().await {
        let mut jobs = vec![first];
        let mut records = jobs[0].batch.len();
        while records < max_batch_records {
            match receiver.try_recv() {
                Ok(job) => {
                    records += job.batch.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        commit(store.as_ref(), jobs, &permits, records, &stats).await;
    }
}

/// Commits the jobs in one transaction, gives their room back to the queue, then
/// acknowledges them, so that a sender that sends again at once finds its room free.
async fn commit(
    store: &dyn WriteStore,
    jobs: Vec<Job>,
    permits: &Semaphore,
    records: usize,
    stats: &WriterStats,
) {
    let mut combined = WriteBatch::default();
    let mut acks = Vec::with_capacity(jobs.len());
    let mut budget = Vec::with_capacity(jobs.len());
    for mut job in jobs {
        combined.append(&mut job.batch);
        acks.push(job.ack);
        budget.push(job.kib);
    }

    let result = store.write(combined).await;
    drop(budget);
    permits.add_permits(records);

    let records = records as u64;
    match result {
        Ok(summary) => {
            stats.commits.fetch_add(1, Ordering::Relaxed);
            stats
                .committed_records
                .fetch_add(records, Ordering::Relaxed);
            for ack in acks {
                let _ = ack.send(Ok(summary));
            }
        }
        Err(error) => {
            stats.failed_commits.fetch_add(1, Ordering::Relaxed);
            stats.last_failed_commit.mark();
            tracing::error!(%error, records, "failed to commit a batch; its senders get an error and may retry");
            let message = error.to_string();
            for ack in acks {
                let _ = ack.send(Err(message.clone()));
            }
        }
    }
}
