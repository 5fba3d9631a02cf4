//! Figures of the scraped inference servers for the pages that put them next to calls: the
//! state of a server around one call, GPU utilization against tokens per second per model,
//! and the cost of self-hosted models from their GPU-hours.

use glassbox_infra::TargetStatus;
use glassbox_store::{PointQuery, Store};

use crate::error::PageError;
use crate::range::TimeRange;

/// The server figures shown around a call, with the factor to the unit shown.
pub const AROUND_CALL: [(&str, &str, f64); 5] = [
    ("Running requests", "inference.requests.running", 1.0),
    ("Waiting requests", "inference.requests.waiting", 1.0),
    ("KV-cache usage (%)", "inference.kv_cache.usage", 100.0),
    (
        "TTFT p50 (ms)",
        "gen_ai.server.time_to_first_token.p50",
        1_000.0,
    ),
    ("GPU utilization (%)", "hw.gpu.utilization", 100.0),
];

const SECOND: u64 = 1_000_000_000;

/// Returns true when `target` serves `model`: a configured or reported model equal to it,
/// or equal to its last path segment (`meta-llama/Llama-3.1-8B` serves `Llama-3.1-8B`).
pub fn serves(target: &TargetStatus, model: &str) -> bool {
    target.models.iter().any(|served| {
        served == model
            || served.rsplit('/').next() == Some(model)
            || model.rsplit('/').next() == Some(served.as_str())
    })
}

/// Computes the mean of a metric over `[from, to)`, across every series that matches `labels`.
pub async fn mean(
    store: &dyn Store,
    name: &str,
    from: u64,
    to: u64,
    labels: Vec<(String, String)>,
) -> Result<Option<f64>, PageError> {
    let length = i64::try_from((to - from) / SECOND + 1).unwrap_or(i64::MAX);
    let series = store
        .metric_series(
            PointQuery {
                name: name.to_owned(),
                from_unix_nano: from,
                to_unix_nano: to,
                labels,
            },
            length,
        )
        .await?;
    let values: Vec<f64> = series
        .iter()
        .flat_map(|one| one.steps.iter().map(|step| step.mean))
        .collect();
    Ok((!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64))
}

/// Computes the value of a target's metric around a call: the mean of its points from one scrape
/// interval before the call to one after. GPU utilization falls back to the host's GPU
/// collector when the target reports none.
pub async fn around_call(
    store: &dyn Store,
    target: &TargetStatus,
    name: &str,
    start: u64,
    end: u64,
) -> Result<Option<f64>, PageError> {
    let margin = target.interval_secs.max(1) * SECOND;
    let (from, to) = (start.saturating_sub(margin), end + margin);
    let own = vec![("target".to_owned(), target.name.clone())];
    let value = mean(store, name, from, to, own).await?;
    if value.is_none() && name == "hw.gpu.utilization" {
        return mean(store, name, from, to, Vec::new()).await;
    }
    Ok(value)
}

/// Computes the hours during which a target responded, from its stored points per minute.
pub async fn up_hours(
    store: &dyn Store,
    target: &TargetStatus,
    range: TimeRange,
) -> Result<f64, PageError> {
    let name = if target.kind == "dcgm" {
        "hw.gpu.utilization"
    } else {
        "inference.requests.running"
    };
    let series = store
        .metric_series(
            PointQuery {
                name: name.to_owned(),
                from_unix_nano: range.from,
                to_unix_nano: range.to,
                labels: vec![("target".to_owned(), target.name.clone())],
            },
            60,
        )
        .await?;
    let mut minutes: Vec<u64> = series
        .iter()
        .flat_map(|one| one.steps.iter().map(|step| step.start_unix_nano))
        .collect();
    minutes.sort_unstable();
    minutes.dedup();
    Ok(minutes.len() as f64 / 60.0)
}
