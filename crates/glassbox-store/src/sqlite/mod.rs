//! The embedded store: one SQLite file in WAL mode, one writer connection and a small pool of
//! reader connections. In WAL mode readers see the last commit without waiting for the writer.

mod content;
mod datasets;
mod drift;
mod experiments;
mod feed;
mod flag_rates;
mod flags;
mod fts;
mod maintenance;
mod metrics;
mod points;
mod quality;
mod read;
mod rollup;
mod rows;
mod schema;
mod scores;
mod summary;
mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use async_trait::async_trait;
use glassbox_model::{Span, SpanKind, TraceId, TraceSummary};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::background;
use crate::batch::{WriteBatch, WriteSummary};
use crate::drift::{DriftFilter, DriftSamples, FlagRateFilter, FlagRates};
use crate::error::StoreError;
use crate::metrics::{
    FinishReasonCount, FunctionStats, GroupAggregate, GroupBy, MetricsFilter, Series, TopTotal,
    UserTotal,
};
use crate::points::{MetricName, PointQuery, PointSeries, RetentionSummary};
use crate::query::{Cursor, Page, SessionSummary, SpanFilter, TraceFilter};
use crate::{
    ContentHook, MetricsStore, Repricer, SettingsStore, TraceDetail, TraceStore, WriteStore,
};

/// Name of the database file inside the data directory.
pub const DATABASE_FILE: &str = "glassbox.db";
/// Checkpoints a flush tries, 10 ms apart, before it leaves the rest in the write-ahead log.
const FLUSH_CHECKPOINT_TRIES: usize = 500;

/// Rows the background indexer adds to the full-text index per transaction.
const FTS_CHUNK_ROWS: usize = 5_000;

/// Page size of a new database, in bytes.
const PAGE_SIZE: i64 = 16_384;

/// How often the checkpoint thread copies the write-ahead log into the database while commits
/// arrive.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(50);

/// How often the checkpoint thread looks at the write-ahead log after it found nothing to copy.
const IDLE_CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// Prepared statements the writer connection keeps.
const WRITER_STATEMENT_CACHE: usize = 128;

/// Size, in bytes, to which the write-ahead log file is cut back when it restarts.
const WAL_SIZE_LIMIT: i64 = 64 << 20;

/// Write-ahead log size, in pages, at which a commit runs a checkpoint itself (64 MiB with
/// 16 KiB pages). The checkpoint thread has copied most of it by then, so this checkpoint is
/// short. Once it has copied everything, the next commit starts the log over.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 4_096;

/// Settings of the SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Number of reader connections.
    pub readers: usize,
    /// Whether every commit waits for the disk (`synchronous = FULL`). With `false`
    /// (`NORMAL`), a commit survives a crash of the process but the last commits may be lost
    /// if the machine loses power.
    pub sync_full: bool,
    /// Page cache of the writer connection, in KiB.
    pub cache_kib: u32,
    /// Runs on each span whose content the store joined from a later log record, before
    /// the span is written back.
    pub content_hook: Option<ContentHook>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            readers: 4,
            sync_full: false,
            cache_kib: 32 * 1024,
            content_hook: None,
        }
    }
}

/// A batch for the writer thread, and where its result goes.
struct WriteJob {
    batch: WriteBatch,
    done: tokio::sync::oneshot::Sender<Result<WriteSummary, StoreError>>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    jobs: mpsc::Sender<WriteJob>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    stopping: AtomicBool,
    content_hook: Option<ContentHook>,
}

/// The SQLite implementation of [`Store`](crate::Store).
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

fn lock(mutex: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock cannot leave a connection half-written: SQLite rolls back
    // an open transaction when it is dropped, so a poisoned lock is safe to reuse.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SqliteStore {
    /// Opens (or creates) the database in `data_dir` and brings its schema up to date.
    pub fn open(data_dir: &Path, options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        let open_error = |reason: String| StoreError::Open {
            path: data_dir.display().to_string(),
            reason,
        };
        std::fs::create_dir_all(data_dir).map_err(|error| open_error(error.to_string()))?;
        let path = data_dir.join(DATABASE_FILE);

        let mut writer = Connection::open(&path).map_err(|error| open_error(error.to_string()))?;
        configure_writer(&writer, &options)?;
        schema::migrate(&mut writer)?;

        let readers = (0..options.readers.max(1))
            .map(|_| open_reader(&path))
            .collect::<Result<Vec<_>, _>>()?;

        let (jobs, queued) = mpsc::channel();
        let store = SqliteStore {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                jobs,
                readers,
                next_reader: AtomicUsize::new(0),
                stopping: AtomicBool::new(false),
                content_hook: options.content_hook.clone(),
            }),
        };
        store
            .start_writer(queued)
            .map_err(|error| open_error(format!("failed to start the writer thread: {error}")))?;
        store.start_indexer();
        store.start_checkpointer();
        Ok(store)
    }

    /// Returns the path of the database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Starts the thread that commits every batch, and the one that frees written batches
    /// (freeing a large batch takes a while). Both end when the store is dropped.
    fn start_writer(&self, queued: mpsc::Receiver<WriteJob>) -> std::io::Result<()> {
        let (written, to_free) = mpsc::channel::<WriteBatch>();
        background::spawn("glassbox-free", move || to_free.into_iter().for_each(drop))?;

        let inner = Arc::downgrade(&self.inner);
        background::spawn("glassbox-writer", move || {
            for job in queued {
                let result = write_job(&inner, &job.batch);
                let _ = job.done.send(result);
                let _ = written.send(job.batch);
            }
        })?;
        Ok(())
    }

    fn start_indexer(&self) {
        let inner = Arc::downgrade(&self.inner);
        let spawned = background::spawn("glassbox-fts", move || {
            while let Some(inner) = inner.upgrade() {
                if inner.stopping.load(Ordering::Relaxed) {
                    return;
                }
                let started = std::time::Instant::now();
                let indexed = fts::index_backlog(&mut lock(&inner.writer), FTS_CHUNK_ROWS);
                drop(inner);
                match indexed {
                    // Under sustained ingest, keep the indexer to about a quarter of the
                    // writer's time: search trails by a few seconds, commits do not wait.
                    Ok(rows) if rows == FTS_CHUNK_ROWS => std::thread::sleep(started.elapsed() * 3),
                    Ok(_) => std::thread::sleep(Duration::from_millis(250)),
                    Err(error) => {
                        tracing::warn!(%error, "failed to update the full-text index; retrying");
                        std::thread::sleep(Duration::from_secs(2));
                    }
                }
            }
        });
        if let Err(error) = spawned {
            tracing::error!(%error, "failed to start the full-text indexer; search will miss new spans");
        }
    }

    /// Starts the thread that copies the write-ahead log into the database on a connection of
    /// its own, so that commits seldom checkpoint or wait for the disk themselves.
    fn start_checkpointer(&self) {
        let connection = match open_checkpointer(&self.inner.path) {
            Ok(connection) => connection,
            Err(error) => {
                tracing::error!(%error, "failed to open the checkpoint connection; commits will checkpoint themselves");
                return;
            }
        };
        let inner = Arc::downgrade(&self.inner);
        let spawned = background::spawn("glassbox-wal", move || {
            let mut last_log_pages = None;
            while let Some(inner) = inner.upgrade() {
                if inner.stopping.load(Ordering::Relaxed) {
                    return;
                }
                drop(inner);
                let log_pages = checkpoint(&connection);
                let pause = if log_pages == last_log_pages {
                    IDLE_CHECKPOINT_INTERVAL
                } else {
                    CHECKPOINT_INTERVAL
                };
                last_log_pages = log_pages;
                std::thread::sleep(pause);
            }
        });
        if let Err(error) = spawned {
            tracing::error!(%error, "failed to start the checkpoint thread; commits will checkpoint themselves");
        }
    }

    fn write_blocking(&self, batch: &WriteBatch) -> Result<WriteSummary, StoreError> {
        let mut connection = lock(&self.inner.writer);
        let fts_indexed_up_to = fts::indexed_up_to(&connection)?;
        let transaction = connection.transaction()?;
        let summary = write::write_batch(
            &transaction,
            batch,
            fts_indexed_up_to,
            self.inner.content_hook.as_ref(),
        )?;
        transaction.commit()?;
        Ok(summary)
    }

    /// Runs a read on the next reader connection, off the async runtime.
    async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let index = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            let connection = lock(&inner.readers[index]);
            work(&connection)
        })
        .await
        .map_err(|error| StoreError::Task(error.to_string()))?
    }

    /// Indexes the whole full-text backlog and checkpoints the write-ahead log.
    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        let mut connection = lock(&self.inner.writer);
        while fts::index_backlog(&mut connection, FTS_CHUNK_ROWS)? > 0 {}
        // A checkpoint that meets the checkpoint thread's own reports itself busy instead of
        // waiting, and leaves pages in the log, so it is tried again for a while.
        for _ in 0..FLUSH_CHECKPOINT_TRIES {
            let busy: i64 =
                connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
            if busy == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }
}

/// Commits one batch, unless the store is gone.
fn write_job(inner: &Weak<Inner>, batch: &WriteBatch) -> Result<WriteSummary, StoreError> {
    let inner = inner.upgrade().ok_or_else(writer_stopped)?;
    SqliteStore { inner }.write_blocking(batch)
}

fn writer_stopped() -> StoreError {
    StoreError::Task("the writer thread has stopped".to_owned())
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Relaxed);
    }
}

fn configure_writer(connection: &Connection, options: &SqliteOptions) -> Result<(), StoreError> {
    connection.busy_timeout(Duration::from_secs(10))?;
    // The write path, the full-text indexer and the rollups use more statements than the
    // default cache holds, and a statement pushed out is parsed and planned again on its next
    // use.
    connection.set_prepared_statement_cache_capacity(WRITER_STATEMENT_CACHE);
    // Larger pages fit several spans of a few KB each, so a commit writes fewer pages to the
    // log. The size applies only to a new database (before its first table).
    connection.pragma_update(None, "page_size", PAGE_SIZE)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    // The checkpoint thread copies the log off the writer's path, so that a commit seldom
    // waits for the disk. The writer's own checkpoint lets the log start over, and catches up
    // when that thread falls behind.
    connection.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
    connection.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    connection.pragma_update(
        None,
        "synchronous",
        if options.sync_full { "FULL" } else { "NORMAL" },
    )?;
    connection.pragma_update(None, "cache_size", -i64::from(options.cache_kib))?;
    connection.pragma_update(None, "temp_store", "MEMORY")?;
    connection.pragma_update(None, "foreign_keys", "OFF")?;
    Ok(())
}

/// Begins a transaction that reads before it writes, taking the write lock at once. A deferred
/// one would read first, and then fail without waiting if the full-text indexer, on its own
/// connection, committed in between.
fn maintenance_transaction(connection: &mut Connection) -> Result<Transaction<'_>, StoreError> {
    Ok(connection.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

fn open_checkpointer(path: &Path) -> Result<Connection, StoreError> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(Duration::from_millis(100))?;
    Ok(connection)
}

/// Copies committed pages from the write-ahead log into the database without blocking the
/// writer or readers (a passive checkpoint). Returns the pages in the log, when known.
///
/// NOTE: a restart checkpoint here would let the log start over sooner, but it rewrites the
/// log's header under a writer that has begun reading, which then fails with "database is
/// locked". The writer's own checkpoint restarts the log instead.
fn checkpoint(connection: &Connection) -> Option<i64> {
    let result = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
    });
    match result {
        Ok((0, log_pages)) => Some(log_pages),
        Ok(_) => None,
        Err(error) => {
            tracing::debug!(%error, "checkpoint skipped");
            None
        }
    }
}

fn open_reader(path: &Path) -> Result<Mutex<Connection>, StoreError> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    connection.busy_timeout(Duration::from_secs(10))?;
    connection.pragma_update(None, "cache_size", -16_384i64)?;
    Ok(Mutex::new(connection))
}

#[async_trait]
impl WriteStore for SqliteStore {
    async fn write(&self, batch: WriteBatch) -> Result<WriteSummary, StoreError> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.inner
            .jobs
            .send(WriteJob { batch, done })
            .map_err(|_| writer_stopped())?;
        result.await.map_err(|_| writer_stopped())?
    }

    async fn flush(&self) -> Result<(), StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.flush_blocking())
            .await
            .map_err(|error| StoreError::Task(error.to_string()))?
    }

    async fn reprice(
        &self,
        from_unix_nano: u64,
        to_unix_nano: u64,
        model: Option<String>,
        repricer: Repricer,
    ) -> Result<u64, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut connection = lock(&store.inner.writer);
            let transaction = maintenance_transaction(&mut connection)?;
            let changed = maintenance::reprice(
                &transaction,
                from_unix_nano,
                to_unix_nano,
                model.as_deref(),
                repricer.as_ref(),
            )?;
            transaction.commit()?;
            Ok(changed)
        })
        .await
        .map_err(|error| StoreError::Task(error.to_string()))?
    }

    async fn retain_metric_points(
        &self,
        delete_before: u64,
        downsample_before: u64,
        step_seconds: i64,
    ) -> Result<RetentionSummary, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut connection = lock(&store.inner.writer);
            let transaction = maintenance_transaction(&mut connection)?;
            let summary =
                points::retain(&transaction, delete_before, downsample_before, step_seconds)?;
            transaction.commit()?;
            Ok(summary)
        })
        .await
        .map_err(|error| StoreError::Task(error.to_string()))?
    }

    async fn rebuild_rollups(
        &self,
        from_unix_nano: u64,
        to_unix_nano: u64,
    ) -> Result<u64, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut connection = lock(&store.inner.writer);
            let transaction = maintenance_transaction(&mut connection)?;
            let seconds = |nanos: u64| rows::to_sql_int(nanos / 1_000_000_000);
            let rebuilt = rollup::rebuild(
                &transaction,
                seconds(from_unix_nano),
                seconds(to_unix_nano).saturating_add(1),
            )?;
            transaction.commit()?;
            Ok(rebuilt)
        })
        .await
        .map_err(|error| StoreError::Task(error.to_string()))?
    }
}

#[async_trait]
impl MetricsStore for SqliteStore {
    async fn summary(
        &self,
        filter: MetricsFilter,
        group_by: Option<GroupBy>,
    ) -> Result<Vec<GroupAggregate>, StoreError> {
        self.read(move |connection| metrics::summary(connection, &filter, group_by))
            .await
    }

    async fn timeseries(
        &self,
        filter: MetricsFilter,
        group_by: Option<GroupBy>,
        step_seconds: i64,
    ) -> Result<Vec<Series>, StoreError> {
        self.read(move |connection| {
            metrics::timeseries(connection, &filter, group_by, step_seconds)
        })
        .await
    }

    async fn functions(&self, filter: MetricsFilter) -> Result<Vec<FunctionStats>, StoreError> {
        self.read(move |connection| metrics::functions(connection, &filter))
            .await
    }

    async fn top_users(
        &self,
        filter: MetricsFilter,
        limit: usize,
    ) -> Result<Vec<UserTotal>, StoreError> {
        self.read(move |connection| metrics::top_users(connection, &filter, limit))
            .await
    }

    async fn top_functions(
        &self,
        filter: MetricsFilter,
        limit: usize,
    ) -> Result<Vec<TopTotal>, StoreError> {
        self.read(move |connection| metrics::top_functions(connection, &filter, limit))
            .await
    }

    async fn metric_series(
        &self,
        query: PointQuery,
        step_seconds: i64,
    ) -> Result<Vec<PointSeries>, StoreError> {
        self.read(move |connection| points::series(connection, &query, step_seconds))
            .await
    }

    async fn metric_names(&self, from: u64, to: u64) -> Result<Vec<MetricName>, StoreError> {
        self.read(move |connection| points::names(connection, from, to))
            .await
    }

    async fn finish_reasons(
        &self,
        filter: MetricsFilter,
    ) -> Result<Vec<FinishReasonCount>, StoreError> {
        self.read(move |connection| metrics::finish_reasons(connection, &filter))
            .await
    }

    async fn drift_samples(&self, filter: DriftFilter) -> Result<Vec<DriftSamples>, StoreError> {
        self.read(move |connection| drift::samples(connection, &filter))
            .await
    }

    async fn flag_rates(
        &self,
        filter: FlagRateFilter,
        step_seconds: i64,
    ) -> Result<FlagRates, StoreError> {
        self.read(move |connection| flag_rates::flag_rates(connection, &filter, step_seconds))
            .await
    }
}

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn setting(&self, key: String) -> Result<Option<serde_json::Value>, StoreError> {
        self.read(move |connection| maintenance::setting(connection, &key))
            .await
    }

    async fn put_setting(&self, key: String, value: serde_json::Value) -> Result<(), StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            maintenance::put_setting(&lock(&store.inner.writer), &key, &value)
        })
        .await
        .map_err(|error| StoreError::Task(error.to_string()))?
    }
}

#[async_trait]
impl TraceStore for SqliteStore {
    async fn list_traces(
        &self,
        filter: TraceFilter,
        page: Page,
    ) -> Result<(Vec<TraceSummary>, Option<Cursor>), StoreError> {
        self.read(move |connection| read::list_traces(connection, &filter, &page))
            .await
    }

    async fn trace(&self, trace_id: TraceId) -> Result<Option<TraceDetail>, StoreError> {
        self.read(move |connection| read::trace(connection, trace_id))
            .await
    }

    async fn list_spans(
        &self,
        filter: SpanFilter,
        page: Page,
    ) -> Result<(Vec<Span>, Option<Cursor>), StoreError> {
        self.read(move |connection| read::list_spans(connection, &filter, &page))
            .await
    }

    async fn list_sessions(
        &self,
        filter: TraceFilter,
        page: Page,
    ) -> Result<(Vec<SessionSummary>, Option<Cursor>), StoreError> {
        self.read(move |connection| read::list_sessions(connection, &filter, &page))
            .await
    }

    async fn session(
        &self,
        session_id: String,
    ) -> Result<Option<(SessionSummary, Vec<TraceSummary>)>, StoreError> {
        self.read(move |connection| read::session(connection, &session_id))
            .await
    }

    async fn spans_after(
        &self,
        after: i64,
        kind: SpanKind,
        limit: usize,
    ) -> Result<(Vec<Span>, i64), StoreError> {
        self.read(move |connection| feed::spans_after(connection, after, kind, limit))
            .await
    }

    async fn last_span_position(&self) -> Result<i64, StoreError> {
        self.read(feed::last_position).await
    }
}
