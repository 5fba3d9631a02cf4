//! The batch writer and the HTTP receiver under back-pressure, over a real SQLite store whose
//! commits are held back by a gate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use glassbox_ingest::{BatchWriter, Ingest, IngestOptions, WriteError, WriterOptions};
use glassbox_model::{Span, SpanId, TraceId};
use glassbox_store::{
    Repricer, SqliteOptions, SqliteStore, StoreError, TraceStore, WriteBatch, WriteStore,
    WriteSummary,
};
use tokio::sync::Semaphore;

/// A real store whose writes wait until the test opens the gate.
struct GatedStore {
    inner: SqliteStore,
    gate: Arc<Semaphore>,
}

#[async_trait]
impl WriteStore for GatedStore {
    async fn write(&self, batch: WriteBatch) -> Result<WriteSummary, StoreError> {
        self.gate.acquire().await.unwrap().forget();
        self.inner.write(batch).await
    }
    async fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush().await
    }
    async fn reprice(
        &self,
        from: u64,
        to: u64,
        model: Option<String>,
        repricer: Repricer,
    ) -> Result<u64, StoreError> {
        self.inner.reprice(from, to, model, repricer).await
    }
    async fn rebuild_rollups(&self, from: u64, to: u64) -> Result<u64, StoreError> {
        self.inner.rebuild_rollups(from, to).await
    }

    async fn retain_metric_points(
        &self,
        _: u64,
        _: u64,
        _: i64,
    ) -> Result<glassbox_store::RetentionSummary, StoreError> {
        Ok(glassbox_store::RetentionSummary::default())
    }
}

fn batch(trace: u8, spans: u8) -> WriteBatch {
    WriteBatch {
        spans: (0..spans)
            .map(|index| Span::new(TraceId([trace; 16]), SpanId([index + 1; 8]), "work"))
            .collect(),
        ..Default::default()
    }
}

fn gated(capacity: usize) -> (BatchWriter, Arc<Semaphore>, SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let inner = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
    let gate = Arc::new(Semaphore::new(0));
    let store = Arc::new(GatedStore {
        inner: inner.clone(),
        gate: Arc::clone(&gate),
    });
    let (writer, _task) = BatchWriter::start(
        store,
        WriterOptions {
            queue_records: capacity,
            max_batch_records: 100,
        },
    );
    (writer, gate, inner, dir)
}

#[tokio::test]
async fn full_queue_rejects_at_once_and_recovers() {
    let (writer, gate, store, _dir) = gated(10);
    let first = tokio::spawn({
        let writer = writer.clone();
        async move { writer.write(batch(1, 10)).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(writer.queued_records(), 10);

    let error = writer.write(batch(2, 1)).await.unwrap_err();
    assert!(
        matches!(error, WriteError::QueueFull { capacity: 10 }),
        "{error}"
    );
    assert_eq!(
        writer
            .stats()
            .rejected_full
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );

    gate.add_permits(10);
    first.await.unwrap().unwrap();
    writer.write(batch(3, 1)).await.unwrap();
    assert!(store.trace(TraceId([1; 16])).await.unwrap().is_some());
    assert!(store.trace(TraceId([3; 16])).await.unwrap().is_some());
    assert_eq!(writer.queued_records(), 0);
}

#[tokio::test]
async fn batch_larger_than_queue_is_rejected() {
    let (writer, _gate, _store, _dir) = gated(5);
    let error = writer.write(batch(1, 6)).await.unwrap_err();
    assert!(
        matches!(
            error,
            WriteError::BatchTooLarge {
                records: 6,
                capacity: 5
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn http_answers_429_with_retry_after_when_full() {
    let (writer, gate, _store, _dir) = gated(1);
    let enricher = Arc::new(glassbox_enrich::Enricher::new(Vec::new()).unwrap());
    let ingest = Ingest::new(writer.clone(), IngestOptions::default(), enricher);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum_serve(listener, glassbox_ingest::http::router(ingest)).await });

    let blocked = tokio::spawn({
        let writer = writer.clone();
        async move { writer.write(batch(1, 1)).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;

    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/otlp/otel-openai-v2/otel-openai-v2__chat__traces__01.json"
    ))
    .unwrap();
    let response = reqwest::Client::new()
        .post(format!("http://{address}/v1/traces"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    let text = response.text().await.unwrap();
    assert!(text.contains("write queue is full"), "{text}");

    gate.add_permits(1);
    blocked.await.unwrap().unwrap();
}

async fn axum_serve(listener: tokio::net::TcpListener, router: axum::Router) {
    axum::serve(listener, router).await.unwrap();
}
