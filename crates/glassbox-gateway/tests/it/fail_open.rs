//! Fail-open: when the store fails or recording falls behind, calls still succeed and the
//! loss is counted.

use std::sync::Arc;

use async_trait::async_trait;
use glassbox_gateway::GatewayConfig;
use glassbox_ingest::WriterOptions;
use glassbox_mock::MockOptions;
use glassbox_store::{Repricer, StoreError, WriteBatch, WriteStore, WriteSummary};
use serde_json::json;
use tokio::sync::Semaphore;

use crate::harness::Harness;

/// A store whose commits fail, or wait until permits are added.
struct TroubledStore {
    fail: bool,
    gate: Arc<Semaphore>,
}

#[async_trait]
impl WriteStore for TroubledStore {
    async fn write(&self, _batch: WriteBatch) -> Result<WriteSummary, StoreError> {
        if self.fail {
            return Err(StoreError::Task("disk full".to_owned()));
        }
        let _permit = self.gate.acquire().await;
        Ok(WriteSummary::default())
    }

    async fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn reprice(
        &self,
        _: u64,
        _: u64,
        _: Option<String>,
        _: Repricer,
    ) -> Result<u64, StoreError> {
        Ok(0)
    }

    async fn rebuild_rollups(&self, _: u64, _: u64) -> Result<u64, StoreError> {
        Ok(0)
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

async fn call(harness: &Harness) {
    let response = harness
        .post(
            "/v1/chat/completions",
            &[],
            &json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap();
}

/// Starts a gateway over a store whose commits wait until permits are added to the returned
/// gate.
async fn over_stuck_store(config: GatewayConfig) -> (Harness, Arc<Semaphore>) {
    let gate = Arc::new(Semaphore::new(0));
    let store = Arc::new(TroubledStore {
        fail: false,
        gate: Arc::clone(&gate),
    });
    let harness = Harness::over(
        store,
        config,
        MockOptions::default(),
        WriterOptions::default(),
    )
    .await;
    (harness, gate)
}

#[tokio::test]
async fn failing_store_loses_spans_but_not_calls() {
    let store = Arc::new(TroubledStore {
        fail: true,
        gate: Arc::new(Semaphore::new(0)),
    });
    let harness = Harness::over(
        store,
        GatewayConfig::default(),
        MockOptions::default(),
        WriterOptions::default(),
    )
    .await;
    for _ in 0..3 {
        call(&harness).await;
    }
    let health = harness.wait_health(|health| health.lost_store == 3).await;
    assert_eq!(health.calls, 3);
    assert_eq!(health.recorded_spans, 0);
    assert_eq!(health.lost_spans, 3);
    assert!(health.lost_recently);
}

#[tokio::test]
async fn full_record_queue_loses_spans_but_not_calls() {
    let (harness, gate) = over_stuck_store(GatewayConfig {
        record_queue: 1,
        ..GatewayConfig::default()
    })
    .await;
    // Calls further apart than the recorder's batching wait each make a batch of their own.
    // With the store stuck, a few batches wait for their commit, one waits in the queue, and
    // the calls after that cannot be recorded.
    for _ in 0..10 {
        call(&harness).await;
        tokio::time::sleep(std::time::Duration::from_millis(80)).await;
    }
    let health = harness.health();
    assert_eq!(health.calls, 10);
    assert!(health.lost_queue_full >= 1, "{health:?}");
    gate.add_permits(1_000);
    let health = harness
        .wait_health(|health| health.recorded_spans + health.lost_spans == 10)
        .await;
    assert!(health.recorded_spans >= 1, "{health:?}");
}

#[tokio::test]
async fn record_queue_bytes_lose_spans_only() {
    let (harness, gate) = over_stuck_store(GatewayConfig {
        record_queue_bytes: 4096,
        ..GatewayConfig::default()
    })
    .await;
    let prompt = "a long question ".repeat(200);
    let large_call = || async {
        let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": prompt}]});
        let response = harness.post("/v1/chat/completions", &[], &body).await;
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
    };

    // The first call fits in the empty queue, although it is larger than the limit. Its
    // bytes stay counted until its batch is written, which the stuck store prevents.
    for _ in 0..4 {
        large_call().await;
        // The call is handed to the recorder as its response ends, maybe just after the
        // client has read it.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let health = harness.health();
    assert_eq!(health.calls, 4);
    assert_eq!(health.lost_queue_full, 3, "{health:?}");

    gate.add_permits(1_000);
    harness
        .wait_health(|health| health.recorded_spans == 1)
        .await;
    large_call().await;
    let health = harness
        .wait_health(|health| health.recorded_spans == 2)
        .await;
    assert_eq!(health.lost_queue_full, 3, "{health:?}");
}
