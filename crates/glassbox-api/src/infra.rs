//! `/api/v1/infra/targets`: every infrastructure collector and scrape target with its health.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::ApiState;
use crate::time_format::format_nanos;

/// One canonical value of a target's latest scrape.
#[derive(Serialize, ToSchema)]
pub struct LatestValueView {
    /// The canonical metric name, with what it is of when the target reports several.
    name: String,
    value: f64,
}

/// One collector or scrape target.
#[derive(Serialize, ToSchema)]
pub struct TargetView {
    /// The target's name, or `host` and `gpu` for the collectors.
    name: String,
    /// `vllm`, `tgi`, `llamacpp`, `triton`, `sglang`, `dcgm`, `prometheus`, `host` or `gpu`.
    kind: String,
    /// The metrics URL without credentials or query; null for collectors.
    url: Option<String>,
    interval_secs: u64,
    /// `pending`, `healthy`, `unhealthy` or `unavailable` (a collector that cannot run here).
    health: String,
    last_scrape: Option<String>,
    last_success: Option<String>,
    /// The reason the last attempt failed, or the collector cannot run.
    last_error: Option<String>,
    scrapes: u64,
    failures: u64,
    consecutive_failures: u64,
    last_duration_ms: Option<f64>,
    /// Points written by the last success.
    last_points: u64,
    /// The canonical values of the last success.
    latest: Vec<LatestValueView>,
    /// Models the target serves.
    models: Vec<String>,
    gpu_hour_usd: Option<f64>,
    gpus: u32,
}

/// Every collector and target.
#[derive(Serialize, ToSchema)]
pub struct TargetList {
    targets: Vec<TargetView>,
}

/// Lists the infrastructure collectors and scrape targets with their health, last scrape,
/// last error and latest canonical values.
#[utoipa::path(get, path = "/api/v1/infra/targets", responses((status = 200, body = TargetList)))]
pub async fn targets(State(state): State<ApiState>) -> Json<TargetList> {
    let statuses = state
        .infra
        .as_ref()
        .map(|registry| registry.snapshot())
        .unwrap_or_default();
    let targets = statuses
        .into_iter()
        .map(|status| TargetView {
            health: serde_json::to_value(status.health)
                .ok()
                .and_then(|value| value.as_str().map(str::to_owned))
                .unwrap_or_default(),
            last_scrape: status.last_scrape_unix_nano.map(format_nanos),
            last_success: status.last_success_unix_nano.map(format_nanos),
            latest: status
                .latest
                .into_iter()
                .map(|value| LatestValueView {
                    name: match value.of {
                        Some(of) => format!("{} ({of})", value.name),
                        None => value.name,
                    },
                    value: value.value,
                })
                .collect(),
            name: status.name,
            kind: status.kind,
            url: status.url,
            interval_secs: status.interval_secs,
            last_error: status.last_error,
            scrapes: status.scrapes,
            failures: status.failures,
            consecutive_failures: status.consecutive_failures,
            last_duration_ms: status.last_duration_ms,
            last_points: status.last_points,
            models: status.models,
            gpu_hour_usd: status.gpu_hour_usd,
            gpus: status.gpus,
        })
        .collect();
    Json(TargetList { targets })
}
