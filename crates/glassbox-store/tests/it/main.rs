//! Store conformance: behaviour every backend must show. Each case takes a fresh store from a
//! factory, so another backend runs the same cases by adding its factory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod conformance;
mod drift;
mod quality;

use std::sync::Arc;

use glassbox_store::{SqliteOptions, SqliteStore, Store, TraceStore, WriteStore};

/// A fresh SQLite store in a temporary directory.
fn sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
    (Arc::new(store), dir)
}

macro_rules! conformance_cases {
    ($factory:ident: $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let (store, _guard) = $factory();
                conformance::$case(store).await;
            }
        )*
    };
}

conformance_cases!(sqlite:
    summary_tracks_spans_in_any_order,
    summary_counts_unpriced_calls,
    resent_span_is_counted_once,
    span_sent_twice_in_one_batch_is_stored_once,
    content_applies_whichever_arrives_first,
    content_by_response_id,
    absent_values_stay_null,
    span_pagination_is_stable,
    rollup_percentiles_match_exact_ones,
    rollups_ignore_resent_spans,
    summary_groups_by_span_fields,
    timeseries_fills_steps,
    functions_report_self_time,
    reprice_updates_spans_traces_and_rollups,
    rebuild_gives_the_same_rollups,
    functions_follow_trace_filters,
    trace_orders_page_through_every_trace,
    finish_reasons_count_by_model,
    top_lists_sum_in_the_database,
    metric_series_average_per_step,
    retention_deletes_and_downsamples,
);

macro_rules! quality_cases {
    ($factory:ident: $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let (store, _guard) = $factory();
                quality::$case(store).await;
            }
        )*
    };
}

quality_cases!(sqlite:
    scores_copy_target_context,
    score_batch_with_unknown_target_writes_nothing,
    resent_score_id_replaces,
    score_pagination_walks_every_score,
    score_aggregates_are_exact,
    datasets_hold_items_in_order,
    experiments_store_results_and_totals,
);

macro_rules! drift_cases {
    ($factory:ident: $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let (store, _guard) = $factory();
                drift::$case(store).await;
            }
        )*
    };
}

drift_cases!(sqlite:
    drift_samples_group_and_cap,
    drift_samples_cap_applies_to_scores,
    drift_samples_follow_filters,
    flag_rates_count_per_step,
    flag_rates_by_finding_and_filter,
    flag_rates_reject_a_bad_step,
);

#[tokio::test]
async fn sqlite_reopen_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
        let batch = glassbox_store::WriteBatch {
            spans: vec![conformance::span(7, 1, None, 0, 1)],
            ..Default::default()
        };
        store.write(batch).await.unwrap();
        store.flush().await.unwrap();
    }
    let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
    let trace = store.trace(glassbox_model::TraceId([7; 16])).await.unwrap();
    assert_eq!(trace.unwrap().spans.len(), 1);
}

#[tokio::test]
async fn sqlite_checkpoints_without_a_flush() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
    let database = store.path().to_path_buf();
    let size_before = std::fs::metadata(&database).unwrap().len();

    let spans = (0..200u8)
        .map(|id| {
            let mut span = conformance::span(id, id, None, 0, 1);
            span.status_message = Some("x".repeat(4_000));
            span
        })
        .collect();
    let batch = glassbox_store::WriteBatch {
        spans,
        ..Default::default()
    };
    store.write(batch).await.unwrap();

    // About 800 KB went to the write-ahead log. The checkpoint thread copies it well within
    // this time; commits alone would wait until the log reached 64 MiB.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut size = size_before;
    while size < size_before + 800_000 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        size = std::fs::metadata(&database).unwrap().len();
    }
    assert!(
        size >= size_before + 800_000,
        "database file grew from {size_before} to only {size} bytes"
    );
}

#[tokio::test]
async fn sqlite_commits_during_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();

    // About 40 MB of spans, which the checkpoint thread copies while commits go on, between
    // many batches of metric points alone. Such a batch begins with a read: a checkpoint that
    // rewrote the log's header under it made its commit fail.
    for round in 0..200u32 {
        store.write(spans_of_round(round)).await.unwrap();
        for step in 0..20 {
            if let Err(error) = store.write(metric_batch(round * 20 + step)).await {
                panic!("commit of metric points {round}.{step} failed: {error}");
            }
        }
    }
}

fn spans_of_round(round: u32) -> glassbox_store::WriteBatch {
    let spans = (0..50u8)
        .map(|id| {
            let mut span = conformance::span(id, id, None, 0, 1);
            let mut trace_id = [0; 16];
            trace_id[..4].copy_from_slice(&round.to_be_bytes());
            trace_id[15] = id;
            span.trace_id = glassbox_model::TraceId(trace_id);
            span.status_message = Some("x".repeat(4_000));
            span
        })
        .collect();
    glassbox_store::WriteBatch {
        spans,
        ..Default::default()
    }
}

fn metric_batch(round: u32) -> glassbox_store::WriteBatch {
    let point = glassbox_model::MetricPoint {
        name: "gen_ai.client.token.usage".into(),
        kind: glassbox_model::MetricKind::Sum,
        unit: None,
        service_name: None,
        labels: Default::default(),
        start_time_unix_nano: None,
        time_unix_nano: 1_700_000_000_000_000_000 + u64::from(round),
        value: Some(1.0),
        count: None,
        detail: Default::default(),
    };
    glassbox_store::WriteBatch {
        metric_points: vec![point],
        ..Default::default()
    }
}

/// Another connection holds the write lock and commits while the repricing waits. A
/// transaction that read before taking the lock would fail with "database is locked".
#[tokio::test]
async fn sqlite_reprice_waits_for_another_writer() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
    let mut batch = spans_of_round(1);
    for span in &mut batch.spans {
        span.kind = glassbox_model::SpanKind::Llm;
    }
    store.write(batch).await.unwrap();
    store.flush().await.unwrap();

    let path = dir.path().join(glassbox_store::sqlite::DATABASE_FILE);
    let (locked, is_locked) = std::sync::mpsc::channel();
    let other = std::thread::spawn(move || {
        let connection = rusqlite::Connection::open(path).unwrap();
        connection.execute_batch("BEGIN IMMEDIATE").unwrap();
        locked.send(()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        connection
            .execute_batch("UPDATE fts_progress SET indexed_up_to = indexed_up_to; COMMIT")
            .unwrap();
    });
    is_locked.recv().unwrap();

    let repricer: glassbox_store::Repricer = Arc::new(|span: &mut glassbox_model::Span| {
        span.cost_usd = Some(1.0);
    });
    let (from, to) = (1_600_000_000_000_000_000, 1_800_000_000_000_000_000);
    let changed = store.reprice(from, to, None, repricer).await.unwrap();

    assert_eq!(changed, 50);
    other.join().unwrap();
}
