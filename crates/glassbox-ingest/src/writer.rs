//! The batch writer: a bounded queue in front of the one task that commits to the store.
//!
//! Receivers reserve room for their records before they enqueue. When the queue is full they
//! reply "try again later" at once instead of letting memory grow. The writer drains several
//! requests into one transaction and acknowledges each request only after that commit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use glassbox_store::{StoreError, WriteBatch, WriteStore, WriteSummary};
use tokio::sync::{Semaphore, mpsc, oneshot};

/// The reason a batch was not committed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The queue has no room for the batch; the sender should retry later.
    #[error("write queue is full ({capacity} records); retry later")]
    QueueFull {
        /// The queue's capacity in records.
        capacity: usize,
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
    /// Records committed in one transaction at most (a larger single request still commits
    /// whole).
    pub max_batch_records: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            queue_records: 16_384,
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
}

struct Job {
    batch: WriteBatch,
    ack: oneshot::Sender<Result<WriteSummary, String>>,
}

/// A handle that receivers use to submit batches. Cheap to clone.
#[derive(Clone)]
pub struct BatchWriter {
    sender: mpsc::UnboundedSender<Job>,
    permits: Arc<Semaphore>,
    capacity: usize,
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
            stats,
        };
        (writer, task)
    }

    /// Enqueues a batch and waits until it is committed.
    pub async fn write(&self, batch: WriteBatch) -> Result<WriteSummary, WriteError> {
        if batch.is_empty() {
            return Ok(WriteSummary::default());
        }
        let records = batch.len();
        let permit_count = u32::try_from(records).map_err(|_| WriteError::BatchTooLarge {
            records,
            capacity: self.capacity,
        })?;
        if records > self.capacity {
            return Err(WriteError::BatchTooLarge {
                records,
                capacity: self.capacity,
            });
        }
        let permits = Arc::clone(&self.permits)
            .try_acquire_many_owned(permit_count)
            .map_err(|_| {
                self.stats.rejected_full.fetch_add(1, Ordering::Relaxed);
                WriteError::QueueFull {
                    capacity: self.capacity,
                }
            })?;
        // The permits return to the pool when the writer has finished with the batch.
        permits.forget();

        let (ack, done) = oneshot::channel();
        self.sender
            .send(Job { batch, ack })
            .map_err(|_| WriteError::Closed)?;
        match done.await {
            Ok(Ok(summary)) => Ok(summary),
            Ok(Err(message)) => Err(WriteError::Store(StoreError::Task(message))),
            Err(_) => Err(WriteError::Closed),
        }
    }

    /// Returns the writer's counters.
    pub fn stats(&self) -> &Arc<WriterStats> {
        &self.stats
    }

    /// Returns the number of records waiting in the queue.
    pub fn queued_records(&self) -> usize {
        self.capacity - self.permits.available_permits().min(self.capacity)
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
        commit(store.as_ref(), jobs, &stats).await;
        permits.add_permits(records);
    }
}

async fn commit(store: &dyn WriteStore, jobs: Vec<Job>, stats: &WriterStats) {
    let mut combined = WriteBatch::default();
    let mut acks = Vec::with_capacity(jobs.len());
    for mut job in jobs {
        combined.append(&mut job.batch);
        acks.push(job.ack);
    }
    let records = combined.len() as u64;

    match store.write(combined).await {
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
            tracing::error!(%error, records, "failed to commit a batch; its senders get an error and may retry");
            let message = error.to_string();
            for ack in acks {
                let _ = ack.send(Err(message.clone()));
            }
        }
    }
}
