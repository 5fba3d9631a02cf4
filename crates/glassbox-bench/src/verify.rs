//! Checks after the load that every acknowledged span can be read at once: the committed
//! count of a Glassbox receiver, and complete traces for a sample of acknowledged requests.

use std::time::{Duration, Instant};

use reqwest::Url;
use serde::Serialize;

use crate::load::Workload;
use crate::monitor::{self, Health};

/// Result of the checks.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// `committed_records` before the load.
    pub committed_before: u64,
    /// `committed_records` right after the last response.
    pub committed_after: u64,
    /// Spans acknowledged by the receiver.
    pub spans_acknowledged: u64,
    /// Whether the committed records grew by exactly the acknowledged spans.
    pub committed_matches: bool,
    /// Traces fetched.
    pub traces_checked: usize,
    /// Traces that had every span sent.
    pub traces_complete: usize,
    /// Descriptions of missing spans and failed queries.
    pub failures: Vec<String>,
    /// Slowest `GET /api/v1/traces/{id}`, in milliseconds.
    pub trace_query_max_ms: f64,
    /// Mean `GET /api/v1/traces/{id}`, in milliseconds.
    pub trace_query_mean_ms: f64,
    /// `GET /api/v1/traces?limit=100`, in milliseconds.
    pub list_traces_ms: f64,
    /// `GET /api/v1/spans?limit=100`, in milliseconds.
    pub list_spans_ms: f64,
}

impl Verification {
    /// Returns true when the count matched and every sampled trace was complete.
    pub fn passed(&self) -> bool {
        self.committed_matches && self.failures.is_empty()
    }
}

/// Picks `count` acknowledged requests spread over the run, the first and last included, and
/// one trace of each.
pub fn sample_traces(
    workload: &Workload,
    acknowledged: &[(Duration, u64)],
    count: usize,
) -> Vec<([u8; 16], usize)> {
    if acknowledged.is_empty() || count == 0 {
        return Vec::new();
    }
    let last = acknowledged.len() - 1;
    let mut positions: Vec<usize> = if count == 1 {
        vec![last]
    } else {
        (0..count).map(|step| step * last / (count - 1)).collect()
    };
    positions.dedup();
    positions
        .into_iter()
        .map(|position| workload.sample_trace(acknowledged[position].1))
        .collect()
}

/// Runs the checks against the API at `api`.
pub async fn verify(
    client: &reqwest::Client,
    api: &Url,
    before: Health,
    spans_acknowledged: u64,
    traces: &[([u8; 16], usize)],
) -> anyhow::Result<Verification> {
    let after = monitor::health(client, api).await?;
    let committed = after
        .committed_records
        .saturating_sub(before.committed_records);
    let mut verification = Verification {
        committed_before: before.committed_records,
        committed_after: after.committed_records,
        spans_acknowledged,
        committed_matches: committed == spans_acknowledged,
        traces_checked: 0,
        traces_complete: 0,
        failures: Vec::new(),
        trace_query_max_ms: 0.0,
        trace_query_mean_ms: 0.0,
        list_traces_ms: 0.0,
        list_spans_ms: 0.0,
    };
    if !verification.committed_matches {
        verification.failures.push(format!(
            "committed_records grew by {committed}, but {spans_acknowledged} spans were acknowledged"
        ));
    }

    let mut total_ms = 0.0;
    for (trace_id, expected) in traces {
        let (result, elapsed_ms) = timed(fetch_trace_spans(client, api, trace_id)).await;
        verification.traces_checked += 1;
        total_ms += elapsed_ms;
        verification.trace_query_max_ms = verification.trace_query_max_ms.max(elapsed_ms);
        let id = hex(trace_id);
        match result {
            Ok(Some(found)) if found == *expected => verification.traces_complete += 1,
            Ok(Some(found)) => verification
                .failures
                .push(format!("trace {id}: {found} of {expected} spans")),
            Ok(None) => verification
                .failures
                .push(format!("trace {id} not found ({expected} spans sent)")),
            Err(error) => verification
                .failures
                .push(format!("trace {id}: query failed: {error:#}")),
        }
    }
    if !traces.is_empty() {
        verification.trace_query_mean_ms = total_ms / traces.len() as f64;
    }

    verification.list_traces_ms = timed_get(client, api, "/api/v1/traces?limit=100").await?;
    verification.list_spans_ms = timed_get(client, api, "/api/v1/spans?limit=100").await?;
    Ok(verification)
}

async fn timed<T>(future: impl Future<Output = T>) -> (T, f64) {
    let started = Instant::now();
    let output = future.await;
    (output, started.elapsed().as_secs_f64() * 1_000.0)
}

/// Returns the number of spans of a stored trace, or `None` for 404.
async fn fetch_trace_spans(
    client: &reqwest::Client,
    api: &Url,
    trace_id: &[u8; 16],
) -> anyhow::Result<Option<usize>> {
    let url = api.join(&format!("/api/v1/traces/{}", hex(trace_id)))?;
    let response = client.get(url).send().await?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let detail: serde_json::Value = response.error_for_status()?.json().await?;
    let spans = detail["spans"]
        .as_array()
        .map(Vec::len)
        .ok_or_else(|| anyhow::anyhow!("the trace detail has no `spans` array"))?;
    Ok(Some(spans))
}

async fn timed_get(client: &reqwest::Client, api: &Url, path: &str) -> anyhow::Result<f64> {
    let url = api.join(path)?;
    let (result, elapsed_ms) = timed(async {
        let response = client.get(url).send().await?.error_for_status()?;
        response.bytes().await
    })
    .await;
    result.map_err(|error| anyhow::anyhow!("GET {path} failed: {error}"))?;
    Ok(elapsed_ms)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
