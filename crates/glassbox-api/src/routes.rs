//! Handlers of `/api/v1`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use glassbox_model::TraceId;
use serde::Serialize;
use utoipa::ToSchema;

use crate::ApiState;
use crate::error::{ApiError, ErrorBody};
use crate::params::{SpanQuery, TraceQuery, extract};
use crate::views::{
    SessionDetailView, SessionList, SpanList, SpanView, TraceDetailView, TraceList, TraceView,
};

/// Lists traces, newest first.
#[utoipa::path(get, path = "/api/v1/traces", params(TraceQuery), responses(
    (status = 200, body = TraceList),
    (status = 400, body = ErrorBody, description = "A parameter is invalid"),
))]
pub async fn list_traces(
    State(state): State<ApiState>,
    query: Result<Query<TraceQuery>, QueryRejection>,
) -> Result<Json<TraceList>, ApiError> {
    let (filter, page) = extract(query)?.into_filter()?;
    let (traces, cursor) = state.store.list_traces(filter, page).await?;
    Ok(Json(TraceList {
        traces: traces.into_iter().map(TraceView::from).collect(),
        next_cursor: cursor.map(|cursor| cursor.encode()),
    }))
}

/// Returns one trace with every span.
#[utoipa::path(get, path = "/api/v1/traces/{trace_id}",
    params(("trace_id" = String, Path, description = "32 hex characters")),
    responses(
        (status = 200, body = TraceDetailView),
        (status = 400, body = ErrorBody, description = "The id is not 32 hex characters"),
        (status = 404, body = ErrorBody, description = "No span of this trace is stored"),
    ))]
pub async fn get_trace(
    State(state): State<ApiState>,
    Path(trace_id): Path<String>,
) -> Result<Json<TraceDetailView>, ApiError> {
    let id: TraceId = trace_id
        .parse()
        .map_err(|error| ApiError::invalid_parameter("trace_id", error))?;
    let detail = state
        .store
        .trace(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("trace {id} not found")))?;
    Ok(Json(TraceDetailView {
        trace: TraceView::from(detail.trace),
        spans: detail.spans.into_iter().map(SpanView::from).collect(),
    }))
}

/// Lists single spans, newest first.
#[utoipa::path(get, path = "/api/v1/spans", params(SpanQuery), responses(
    (status = 200, body = SpanList),
    (status = 400, body = ErrorBody, description = "A parameter is invalid"),
))]
pub async fn list_spans(
    State(state): State<ApiState>,
    query: Result<Query<SpanQuery>, QueryRejection>,
) -> Result<Json<SpanList>, ApiError> {
    let (filter, page) = extract(query)?.into_filter()?;
    let (spans, cursor) = state.store.list_spans(filter, page).await?;
    Ok(Json(SpanList {
        spans: spans.into_iter().map(SpanView::from).collect(),
        next_cursor: cursor.map(|cursor| cursor.encode()),
    }))
}

/// Lists sessions, most recently active first.
#[utoipa::path(get, path = "/api/v1/sessions", params(TraceQuery), responses(
    (status = 200, body = SessionList),
    (status = 400, body = ErrorBody, description = "A parameter is invalid"),
))]
pub async fn list_sessions(
    State(state): State<ApiState>,
    query: Result<Query<TraceQuery>, QueryRejection>,
) -> Result<Json<SessionList>, ApiError> {
    let (filter, page) = extract(query)?.into_filter()?;
    if filter.order != glassbox_store::TraceOrder::Newest {
        return Err(ApiError::invalid_parameter(
            "sort",
            "applies to /api/v1/traces only; sessions are listed by latest activity",
        ));
    }
    let (sessions, cursor) = state.store.list_sessions(filter, page).await?;
    Ok(Json(SessionList {
        sessions: sessions.into_iter().map(Into::into).collect(),
        next_cursor: cursor.map(|cursor| cursor.encode()),
    }))
}

/// Returns a session with its traces in order.
#[utoipa::path(get, path = "/api/v1/sessions/{session_id}",
    params(("session_id" = String, Path, description = "The session id as sent")),
    responses(
        (status = 200, body = SessionDetailView),
        (status = 404, body = ErrorBody, description = "No trace of this session is stored"),
    ))]
pub async fn get_session(
    State(state): State<ApiState>,
    Path(session_id): Path<String>,
) -> Result<Json<SessionDetailView>, ApiError> {
    let (session, traces) = state
        .store
        .session(session_id.clone())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("session {session_id:?} not found")))?;
    Ok(Json(SessionDetailView {
        session: session.into(),
        traces: traces.into_iter().map(TraceView::from).collect(),
    }))
}

/// Health of the server and its write queue.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `degraded` while `problems` lists something that went wrong in the last
    /// minute. The server keeps serving either way.
    pub status: &'static str,
    /// Problems of the last minute: requests rejected for a full write queue, failed commits,
    /// gateway spans lost. Empty when `status` is `ok`.
    pub problems: Vec<&'static str>,
    /// The Glassbox version.
    pub version: &'static str,
    /// Records waiting to be committed.
    pub queued_records: usize,
    /// Records the write queue takes at most (`ingest.queue_records`).
    pub queue_capacity_records: usize,
    /// Bytes of the export requests being normalized or waiting to be committed, counted in
    /// whole KiB per request: bodies after decompression, or the protobuf message over gRPC.
    /// A request larger than the capacity counts as the whole capacity.
    pub queued_bytes: usize,
    /// Request bytes the write queue takes at most (`ingest.queue_bytes`, in whole KiB).
    pub queue_capacity_bytes: usize,
    /// Records committed since start.
    pub committed_records: u64,
    /// Export requests rejected because the write queue was full.
    pub rejected_requests: u64,
    /// Transactions that failed since start.
    pub failed_commits: u64,
    /// Gateway counters; `null` when the gateway is off.
    pub gateway: Option<GatewayHealthView>,
}

/// Counters of the gateway since start.
#[derive(Serialize, ToSchema)]
pub struct GatewayHealthView {
    /// Calls received by a recording endpoint.
    pub calls: u64,
    /// Calls whose span was committed.
    pub recorded_spans: u64,
    /// Calls that succeeded for the client but whose span was lost.
    pub lost_spans: u64,
    /// Of those, lost because the record queue was full.
    pub lost_queue_full: u64,
    /// Of those, lost because the store refused or failed them.
    pub lost_store: u64,
    /// Calls that got an error response, from the upstream or from the gateway.
    pub failed_calls: u64,
}

impl From<glassbox_gateway::GatewayHealth> for GatewayHealthView {
    fn from(health: glassbox_gateway::GatewayHealth) -> Self {
        GatewayHealthView {
            calls: health.calls,
            recorded_spans: health.recorded_spans,
            lost_spans: health.lost_spans,
            lost_queue_full: health.lost_queue_full,
            lost_store: health.lost_store,
            failed_calls: health.failed_calls,
        }
    }
}

/// Reports health and write-queue counters.
#[utoipa::path(get, path = "/api/v1/health", responses((status = 200, body = Health)))]
pub async fn health(State(state): State<ApiState>) -> Json<Health> {
    let writer = state.ingest.writer();
    let stats = Arc::clone(writer.stats());
    let gateway = state.gateway.as_ref().map(|gateway| gateway.health());

    let mut problems = stats.recent_problems();
    if gateway.is_some_and(|gateway| gateway.lost_recently) {
        problems.push("the gateway could not record some calls in the last minute");
    }
    let status = if problems.is_empty() {
        "ok"
    } else {
        "degraded"
    };

    Json(Health {
        status,
        problems,
        version: env!("CARGO_PKG_VERSION"),
        queued_records: writer.queued_records(),
        queue_capacity_records: writer.capacity_records(),
        queued_bytes: writer.queued_bytes(),
        queue_capacity_bytes: writer.capacity_bytes(),
        committed_records: stats.committed_records.load(Ordering::Relaxed),
        rejected_requests: stats.rejected_full.load(Ordering::Relaxed),
        failed_commits: stats.failed_commits.load(Ordering::Relaxed),
        gateway: gateway.map(GatewayHealthView::from),
    })
}

/// Answers unknown `/api` paths with a JSON 404.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no API endpoint at {}", uri.path()))
}
