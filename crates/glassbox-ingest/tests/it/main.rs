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

mod grpc;

/// A real store whose writes wait until the test opens the gate, and fail once the test
/// closes it.
struct GatedStore {
    inner: SqliteStore,
    gate: Arc<Semaphore>,
}

#[async_trait]
impl WriteStore for GatedStore {
    async fn write(&self, batch: WriteBatch) -> Result<WriteSummary, StoreError> {
        let Ok(permit) = self.gate.acquire().await else {
            return Err(StoreError::Task("the test closed the store".to_owned()));
        };
        permit.forget();
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
    gated_with(WriterOptions {
        queue_records: capacity,
        max_batch_records: 100,
        ..WriterOptions::default()
    })
}

fn gated_with(
    options: WriterOptions,
) -> (BatchWriter, Arc<Semaphore>, SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let inner = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
    let gate = Arc::new(Semaphore::new(0));
    let store = Arc::new(GatedStore {
        inner: inner.clone(),
        gate: Arc::clone(&gate),
    });
    let (writer, _task) = BatchWriter::start(store, options);
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
async fn recent_problems_name_rejections_and_failed_commits() {
    let (writer, gate, _store, _dir) = gated(10);
    assert!(writer.stats().recent_problems().is_empty());
    let first = tokio::spawn({
        let writer = writer.clone();
        async move { writer.write(batch(1, 10)).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;

    writer.write(batch(2, 1)).await.unwrap_err();
    let problems = writer.stats().recent_problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("write queue was full"), "{problems:?}");

    gate.close();
    first.await.unwrap().unwrap_err();
    let problems = writer.stats().recent_problems();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[1].contains("commits to the store failed"),
        "{problems:?}"
    );
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
    let ingest = ingest_over(&writer, IngestOptions::default());
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

#[tokio::test]
async fn reservation_resizes_to_its_batch() {
    let (writer, gate, _store, _dir) = gated(10);

    let mut room = writer.reserve_bytes(4096).await.unwrap();
    writer.reserve_records(&mut room, 5).unwrap();
    assert_eq!(writer.queued_records(), 5);
    assert_eq!(writer.queued_bytes(), 4096);
    let fewer = writer.enqueue(room, batch(1, 2)).unwrap();
    assert_eq!(writer.queued_records(), 2);

    let mut room = writer.reserve_bytes(0).await.unwrap();
    writer.reserve_records(&mut room, 1).unwrap();
    let more = writer.enqueue(room, batch(2, 4)).unwrap();
    assert_eq!(writer.queued_records(), 6);

    let mut room = writer.reserve_bytes(0).await.unwrap();
    writer.reserve_records(&mut room, 3).unwrap();
    assert_eq!(writer.queued_records(), 9);
    drop(room);
    assert_eq!(writer.queued_records(), 6);

    gate.add_permits(10);
    fewer.wait().await.unwrap();
    more.wait().await.unwrap();
    assert_eq!(writer.queued_records(), 0);
    assert_eq!(writer.queued_bytes(), 0);
}

#[tokio::test]
async fn oversized_request_waits_for_empty_queue() {
    let (writer, gate, _store, _dir) = gated_with(WriterOptions {
        queue_bytes: 4096,
        ..WriterOptions::default()
    });
    let small = writer.reserve_bytes(1024).await.unwrap();

    let oversized = tokio::spawn({
        let writer = writer.clone();
        async move { writer.reserve_bytes(1 << 20).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!oversized.is_finished());
    // The waiting request comes first: a later small one is rejected though room is free.
    let error = writer.reserve_bytes(1024).await.unwrap_err();
    assert!(
        matches!(
            error,
            WriteError::QueueBytesFull {
                capacity_bytes: 4096
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("4096 bytes"), "{error}");

    drop(small);
    let whole = oversized.await.unwrap().unwrap();
    assert_eq!(writer.queued_bytes(), 4096);
    let commit = writer.enqueue(whole, batch(1, 1)).unwrap();
    gate.add_permits(1);
    commit.wait().await.unwrap();
    assert_eq!(writer.queued_bytes(), 0);
}

#[tokio::test]
async fn oversized_request_gives_up_after_its_wait() {
    let (writer, _gate, _store, _dir) = gated_with(WriterOptions {
        queue_bytes: 4096,
        oversized_wait: Duration::from_millis(200),
        ..WriterOptions::default()
    });
    let _small = writer.reserve_bytes(1024).await.unwrap();

    let error = writer.reserve_bytes(1 << 20).await.unwrap_err();
    assert!(
        matches!(error, WriteError::QueueBytesFull { .. }),
        "{error}"
    );
    assert_eq!(writer.queued_bytes(), 1024);
}

/// Starts the OTLP/HTTP receiver over `ingest` on a loopback port.
/// Returns the receivers' state over `writer`, with no model prices.
fn ingest_over(writer: &BatchWriter, options: IngestOptions) -> Ingest {
    let enricher = Arc::new(glassbox_enrich::Enricher::new(Vec::new()).unwrap());
    Ingest::new(writer.clone(), options, enricher)
}

async fn serve_ingest(ingest: Ingest) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum_serve(listener, glassbox_ingest::http::router(ingest)).await });
    address
}

fn chat_fixture() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/otlp/otel-openai-v2/otel-openai-v2__chat__traces__01.json"
    ))
    .unwrap()
}

async fn post_json(address: std::net::SocketAddr, body: Vec<u8>) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("http://{address}/v1/traces"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn reservation_grows_only_into_free_room() {
    let (writer, _gate, _store, _dir) = gated_with(WriterOptions {
        queue_bytes: 8 * 1024,
        ..WriterOptions::default()
    });
    let mut room = writer.reserve_bytes(2 * 1024).await.unwrap();
    assert!(writer.grow_bytes(&mut room, 6 * 1024));
    assert_eq!(writer.queued_bytes(), 6 * 1024);

    let other = writer.reserve_bytes(2 * 1024).await.unwrap();
    assert!(!writer.grow_bytes(&mut room, 7 * 1024));
    assert_eq!(writer.queued_bytes(), 8 * 1024);
    assert!(writer.grow_bytes(&mut room, 1024));
    assert_eq!(writer.queued_bytes(), 8 * 1024);

    drop(room);
    drop(other);
    assert_eq!(writer.queued_bytes(), 0);
}

#[tokio::test]
async fn full_byte_queue_rejects_before_decoding() {
    let (writer, gate, store, _dir) = gated_with(WriterOptions {
        queue_bytes: 64 * 1024,
        ..WriterOptions::default()
    });
    let address = serve_ingest(ingest_over(&writer, IngestOptions::default())).await;
    let occupied = writer.reserve_bytes(64 * 1024).await.unwrap();

    // Not even valid JSON: a full queue rejects the request before its body is decoded.
    let response = post_json(address, b"{not json".to_vec()).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    let text = response.text().await.unwrap();
    assert!(text.contains("65536 bytes of requests"), "{text}");

    drop(occupied);
    gate.add_permits(1);
    let response = post_json(address, chat_fixture()).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let page = glassbox_store::Page {
        limit: 10,
        cursor: None,
    };
    let (traces, _) = store
        .list_traces(glassbox_store::TraceFilter::default(), page)
        .await
        .unwrap();
    assert_eq!(traces.len(), 1);
    assert_eq!(writer.queued_bytes(), 0);
}

#[tokio::test]
async fn missing_content_type_names_assumed_protobuf() {
    let (writer, _gate, _store, _dir) = gated(1000);
    let address = serve_ingest(ingest_over(&writer, IngestOptions::default())).await;

    // OTLP/JSON sent without a Content-Type header.
    let response = reqwest::Client::new()
        .post(format!("http://{address}/v1/traces"))
        .body(chat_fixture())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body = response.bytes().await.unwrap();
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("invalid protobuf body"), "{text}");
    assert!(text.contains("no Content-Type header"), "{text}");
}

#[tokio::test]
async fn oversized_expect_continue_gets_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let (writer, _gate, _store, _dir) = gated(1000);
    let options = IngestOptions {
        max_body_bytes: 1024,
    };
    let address = serve_ingest(ingest_over(&writer, options)).await;

    // Only the head: a client that sends Expect waits for "100 Continue" before its body.
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = "POST /v1/traces HTTP/1.1\r\nHost: localhost\r\n\
                Content-Type: application/json\r\nContent-Length: 5000\r\n\
                Expect: 100-continue\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = vec![0; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut response))
        .await
        .expect("the server answers without the body")
        .unwrap();
    let text = String::from_utf8_lossy(&response[..read]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(!text.contains("100 Continue"), "{text}");
}

#[tokio::test]
async fn rejected_requests_give_their_room_back() {
    let (writer, _gate, _store, _dir) = gated(1000);
    let address = serve_ingest(ingest_over(&writer, IngestOptions::default())).await;

    let response = post_json(address, b"{not json".to_vec()).await;
    assert_eq!(response.status(), 400);
    assert_eq!(writer.queued_bytes(), 0);

    // Its only span has an all-zero trace id, so normalizing rejects the request whole.
    let invalid = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{
        "traceId":"00000000000000000000000000000000","spanId":"0102030405060708",
        "name":"chat"}]}]}]}"#;
    let response = post_json(address, invalid.to_vec()).await;
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(text.contains("must not be all zero"), "{text}");
    assert_eq!(writer.queued_bytes(), 0);
    assert_eq!(writer.queued_records(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_is_free_when_the_commit_is_acknowledged() {
    let (writer, gate, _store, _dir) = gated(10);
    gate.add_permits(100);

    for round in 0..20 {
        let mut room = writer.reserve_bytes(2048).await.unwrap();
        writer.reserve_records(&mut room, 10).unwrap();
        writer
            .enqueue(room, batch(round, 10))
            .unwrap()
            .wait()
            .await
            .unwrap();
        assert_eq!(writer.queued_records(), 0, "round {round}");
        assert_eq!(writer.queued_bytes(), 0, "round {round}");
    }
}

async fn axum_serve(listener: tokio::net::TcpListener, router: axum::Router) {
    axum::serve(listener, router).await.unwrap();
}
