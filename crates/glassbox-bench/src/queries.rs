//! `glassbox-bench queries`: fills a store with spans spread over days, then times the API's
//! summary, time series, trace list and trace detail queries against a server started on it.
//!
//! The store is filled directly through `SqliteStore::write`, which is the server's own write
//! path without the network, so a store of millions of spans takes minutes, not hours.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use glassbox_model::{CostStatus, Span, SpanId, SpanKind, SpanStatus, TokenUsage, TraceId};
use glassbox_store::{SqliteOptions, SqliteStore, WriteBatch, WriteStore};
use serde::Serialize;

use crate::rng::Rng;
use crate::server::ServerProcess;

/// Spans written per transaction while filling.
const FILL_BATCH_SPANS: usize = 8_192;

/// Settings of a queries run.
#[derive(Debug, Clone)]
pub struct QuerySettings {
    /// Spans to store.
    pub spans: u64,
    /// Days the spans are spread over, ending at the start of the current hour.
    pub days: u64,
    /// Timed repetitions of each query.
    pub repeat: usize,
    /// Seed of the generator.
    pub seed: u64,
    /// The glassbox binary.
    pub binary: PathBuf,
    /// Parent of the data directory.
    pub work_dir: PathBuf,
    /// Path of the JSON report.
    pub json_out: PathBuf,
}

const MODELS: &[(&str, &str)] = &[
    ("openai", "gpt-4o-2024-08-06"),
    ("openai", "gpt-4o-mini-2024-07-18"),
    ("openai", "o3-mini-2025-01-31"),
    ("anthropic", "claude-sonnet-4-20250514"),
    ("anthropic", "claude-3-5-haiku-20241022"),
    ("gcp.gemini", "gemini-2.0-flash"),
    ("mistral_ai", "mistral-large-latest"),
    ("vllm", "llama-3.1-70b-instruct"),
];

const SERVICES: &[&str] = &["support-bot", "rag-search", "coding-agent", "summarizer"];

/// Builds one trace of five spans: an agent, two model calls, a tool and a retrieval.
pub(crate) fn trace(rng: &mut Rng, index: u64, start_ns: u64) -> Vec<Span> {
    let trace_id =
        TraceId((u128::from(index) << 32 | u128::from(rng.next_u64() as u32)).to_be_bytes());
    let service = *rng.pick(SERVICES);
    let user = format!("user-{:04}", rng.range(0, 1_000));
    let session = format!("session-{:05}", rng.range(0, 5_000));
    let root_ms = 800 + rng.range(0, 8_000);

    let mut spans = Vec::with_capacity(5);
    let mut root = base_span(
        trace_id,
        1,
        None,
        "invoke_agent assistant",
        start_ns,
        root_ms,
    );
    root.kind = SpanKind::Agent;
    root.operation = Some("invoke_agent".into());
    spans.push(root);

    let mut offset_ms = 5;
    for id in 2..=5u8 {
        let duration_ms = 20 + rng.range(0, root_ms / 3);
        let mut span = base_span(
            trace_id,
            id,
            Some(1),
            "",
            start_ns + offset_ms * 1_000_000,
            duration_ms,
        );
        match id {
            2 | 4 => model_call(rng, &mut span),
            3 => {
                span.kind = SpanKind::Tool;
                span.name = "execute_tool lookup_order".into();
                span.tool_name = Some("lookup_order".into());
            }
            _ => {
                span.kind = SpanKind::Retrieval;
                span.name = "retrieve knowledge-base".into();
            }
        }
        offset_ms += duration_ms / 2;
        spans.push(span);
    }
    for span in &mut spans {
        span.service_name = Some(service.to_owned());
        span.user_id = Some(user.clone());
        span.session_id = Some(session.clone());
    }
    spans
}

fn base_span(
    trace_id: TraceId,
    id: u8,
    parent: Option<u8>,
    name: &str,
    start_ns: u64,
    duration_ms: u64,
) -> Span {
    let mut span = Span::new(trace_id, SpanId([0, 0, 0, 0, 0, 0, 0, id]), name);
    span.parent_span_id = parent.map(|parent| SpanId([0, 0, 0, 0, 0, 0, 0, parent]));
    span.start_time_unix_nano = start_ns;
    span.end_time_unix_nano = start_ns + duration_ms * 1_000_000;
    span.status = SpanStatus::Ok;
    span
}

fn model_call(rng: &mut Rng, span: &mut Span) {
    let (provider, model) = *rng.pick(MODELS);
    span.kind = SpanKind::Llm;
    span.name = format!("chat {model}");
    span.operation = Some("chat".into());
    span.provider = Some(provider.into());
    span.request_model = Some(model.into());
    span.response_model = Some(model.into());
    let input = 200 + rng.range(0, 4_000);
    let output = 20 + rng.range(0, 800);
    span.usage = TokenUsage {
        input: Some(input),
        output: Some(output),
        cached_input: Some(input / 4),
        total: Some(input + output),
        ..TokenUsage::default()
    };
    if provider == "vllm" {
        span.cost_status = Some(CostStatus::Unpriced);
    } else {
        let cost = (input as f64 * 2.5 + output as f64 * 10.0) / 1e6;
        span.cost_usd = Some(cost);
        span.computed_cost_usd = Some(cost);
        span.cost_status = Some(CostStatus::Computed);
    }
    let duration_ms = (span.end_time_unix_nano - span.start_time_unix_nano) / 1_000_000;
    let ttft = (duration_ms / 5).max(1) as f64;
    span.ttft_ms = Some(ttft);
    span.output_tokens_per_second =
        Some(output as f64 / ((duration_ms as f64 - ttft).max(1.0) / 1000.0));
    if rng.chance(0.02) {
        span.status = SpanStatus::Error;
        span.error_type = Some("RateLimitError".into());
    }
}

/// Spans of the large trace that the dashboard's trace page is timed on.
pub(crate) const LARGE_TRACE_SPANS: u64 = 500;

/// Builds one trace of [`LARGE_TRACE_SPANS`] spans, as a long agent run makes: a root agent,
/// steps under it, and in each step a model call with messages, tool calls and retrievals.
pub(crate) fn large_trace(rng: &mut Rng, start_ns: u64) -> Vec<Span> {
    let trace_id = TraceId([0x5a; 16]);
    let steps = (LARGE_TRACE_SPANS - 1).div_ceil(5);
    let step_ms = 400;
    let mut root = base_span(
        trace_id,
        0,
        None,
        "invoke_agent researcher",
        start_ns,
        steps * step_ms + 50,
    );
    root.kind = SpanKind::Agent;
    root.span_id = large_span_id(0);
    let mut spans = vec![root];
    let mut next_id = 1u64;
    for step in 0..steps {
        let step_start = start_ns + step * step_ms * 1_000_000;
        let step_id = next_id;
        let mut step_span = base_span(
            trace_id,
            0,
            None,
            "invoke_agent step",
            step_start,
            step_ms - 10,
        );
        step_span.kind = SpanKind::Chain;
        step_span.span_id = large_span_id(step_id);
        step_span.parent_span_id = Some(large_span_id(0));
        spans.push(step_span);
        next_id += 1;
        for (offset, kind) in [
            SpanKind::Llm,
            SpanKind::Tool,
            SpanKind::Retrieval,
            SpanKind::Tool,
        ]
        .into_iter()
        .enumerate()
        {
            let offset = offset as u64;
            let mut span = base_span(trace_id, 0, None, "", step_start + offset * 90_000_000, 80);
            span.span_id = large_span_id(next_id);
            span.parent_span_id = Some(large_span_id(step_id));
            next_id += 1;
            match kind {
                SpanKind::Llm => {
                    model_call(rng, &mut span);
                    span.input_messages = Some(vec![
                        glassbox_model::Message::text(
                            "system",
                            "You are a careful research assistant.",
                        ),
                        glassbox_model::Message::text(
                            "user",
                            format!("Step {step}: find what changed in the report and why."),
                        ),
                    ]);
                    span.output_messages = Some(vec![glassbox_model::Message::text(
                        "assistant",
                        format!(
                            "Step {step}: the totals moved because two late invoices were booked in the next quarter."
                        ),
                    )]);
                }
                SpanKind::Tool => {
                    span.kind = SpanKind::Tool;
                    span.name = "execute_tool search_documents".into();
                    span.tool_name = Some("search_documents".into());
                }
                _ => {
                    span.kind = SpanKind::Retrieval;
                    span.name = "retrieve reports".into();
                }
            }
            spans.push(span);
        }
    }
    spans.truncate(LARGE_TRACE_SPANS as usize);
    spans
}

fn large_span_id(index: u64) -> SpanId {
    SpanId((0x7000_0000_0000_0000 | index).to_be_bytes())
}

/// Time of the filled range's end: the start of the current hour.
pub(crate) fn range_end() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    (now - now % 3_600) * 1_000_000_000
}

/// Writes `spans` spans, in time order, spread evenly over the range.
pub(crate) async fn fill(
    store: &SqliteStore,
    settings: &QuerySettings,
    end_ns: u64,
) -> anyhow::Result<f64> {
    fill_with(store, settings, end_ns, |_| {}).await
}

/// Writes the spans of [`fill`], passing each one through `shape` first.
pub(crate) async fn fill_with(
    store: &SqliteStore,
    settings: &QuerySettings,
    end_ns: u64,
    shape: impl Fn(&mut Span),
) -> anyhow::Result<f64> {
    let traces = settings.spans.div_ceil(5);
    let range_ns = settings.days * 86_400 * 1_000_000_000;
    let step_ns = range_ns / traces.max(1);
    let mut rng = Rng::new(settings.seed);
    let started = Instant::now();
    let mut batch = WriteBatch::default();
    for index in 0..traces {
        let start_ns = end_ns - range_ns + index * step_ns;
        let mut spans = trace(&mut rng, index, start_ns);
        spans.iter_mut().for_each(&shape);
        batch.spans.extend(spans);
        if batch.spans.len() >= FILL_BATCH_SPANS {
            store
                .write(std::mem::take(&mut batch))
                .await
                .context("failed to fill the store")?;
        }
        if index > 0 && index % (traces / 10).max(1) == 0 {
            eprintln!("filled {} of {} spans", index * 5, traces * 5);
        }
    }
    store
        .write(batch)
        .await
        .context("failed to fill the store")?;
    store.flush().await.context("failed to flush the store")?;
    Ok(started.elapsed().as_secs_f64())
}

/// Writes the large trace of the dashboard benchmark, an hour before `end_ns`, and returns
/// its id.
pub(crate) async fn add_large_trace(
    store: &SqliteStore,
    seed: u64,
    end_ns: u64,
) -> anyhow::Result<String> {
    let mut rng = Rng::new(seed ^ 0x5a5a);
    let spans = large_trace(&mut rng, end_ns - 3_600 * 1_000_000_000);
    let id = spans[0].trace_id.to_string();
    store
        .write(WriteBatch {
            spans,
            ..WriteBatch::default()
        })
        .await
        .context("failed to write the large trace")?;
    store.flush().await.context("failed to flush the store")?;
    Ok(id)
}

/// Figures of one query.
#[derive(Debug, Serialize)]
struct QueryFigures {
    name: String,
    path: String,
    median_ms: f64,
    max_ms: f64,
    response_bytes: usize,
}

/// The report written as JSON.
#[derive(Debug, Serialize)]
struct Report {
    spans: u64,
    days: u64,
    fill_seconds: f64,
    fill_spans_per_second: f64,
    database_bytes: u64,
    queries: Vec<QueryFigures>,
}

fn rfc3339(ns: u64) -> String {
    let seconds = ns / 1_000_000_000;
    let days = seconds / 86_400;
    let (year, month, day) = civil_from_days(days as i64);
    let rest = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

/// Converts days since 1970-01-01 to a civil date (the proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

async fn time_query(
    client: &reqwest::Client,
    base: &str,
    name: &str,
    path: String,
    repeat: usize,
) -> anyhow::Result<QueryFigures> {
    let url = format!("{base}{path}");
    let mut times = Vec::with_capacity(repeat);
    let mut response_bytes = 0;
    for attempt in 0..=repeat {
        let started = Instant::now();
        let response = client
            .get(&url)
            .send()
            .await
            .with_context(|| format!("GET {path} failed"))?;
        let status = response.status();
        let body = response.bytes().await?;
        anyhow::ensure!(
            status.is_success(),
            "GET {path} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
        // The first request warms the caches and is not counted.
        if attempt > 0 {
            times.push(started.elapsed().as_secs_f64() * 1_000.0);
        }
        response_bytes = body.len();
    }
    times.sort_by(f64::total_cmp);
    Ok(QueryFigures {
        name: name.to_owned(),
        path,
        median_ms: times[times.len() / 2],
        max_ms: times.last().copied().unwrap_or(0.0),
        response_bytes,
    })
}

/// Fills a store, starts a server on it and times the queries.
pub async fn run(settings: QuerySettings) -> anyhow::Result<()> {
    std::fs::create_dir_all(&settings.work_dir)?;
    let data_dir = tempfile::Builder::new()
        .prefix("glassbox-bench-queries-")
        .tempdir_in(&settings.work_dir)?;
    let end_ns = range_end();
    let store = SqliteStore::open(data_dir.path(), SqliteOptions::default())?;
    let fill_seconds = fill(&store, &settings, end_ns).await?;
    let large_trace_id = add_large_trace(&store, settings.seed, end_ns).await?;
    drop(store);
    let database_bytes =
        std::fs::metadata(data_dir.path().join("glassbox.db")).map_or(0, |meta| meta.len());

    let server = ServerProcess::start_with(&settings.binary, data_dir)?;
    let base = server.api.as_str().trim_end_matches('/').to_owned();
    let client = reqwest::Client::new();
    let from = rfc3339(end_ns - settings.days * 86_400 * 1_000_000_000);
    let to = rfc3339(end_ns);
    let last_day = rfc3339(end_ns - 86_400 * 1_000_000_000);
    let trace_list = client
        .get(format!("{base}/api/v1/traces?limit=1"))
        .send()
        .await?
        .json::<serde_json::Value>()
        .await?;
    let trace_id = trace_list["traces"][0]["trace_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let days = settings.days;
    let queries = [
        (
            format!("summary {days}d by model"),
            format!("/api/v1/metrics/summary?from={from}&to={to}&group_by=model"),
        ),
        (
            format!("summary {days}d"),
            format!("/api/v1/metrics/summary?from={from}&to={to}"),
        ),
        (
            format!("timeseries {days}d 1h p95 by model"),
            format!(
                "/api/v1/metrics/timeseries?from={from}&to={to}&step=1h&metric=latency_p95&group_by=model"
            ),
        ),
        (
            format!("timeseries {days}d 1d cost by provider"),
            format!(
                "/api/v1/metrics/timeseries?from={from}&to={to}&step=1d&metric=cost_usd&group_by=provider"
            ),
        ),
        (
            "summary 1d by user".to_owned(),
            format!("/api/v1/metrics/summary?from={last_day}&to={to}&group_by=user_id"),
        ),
        (
            "traces list".to_owned(),
            "/api/v1/traces?limit=50".to_owned(),
        ),
        (
            "traces list, model filter".to_owned(),
            "/api/v1/traces?limit=50&model=claude-sonnet-4-20250514".to_owned(),
        ),
        (
            "trace detail".to_owned(),
            format!("/api/v1/traces/{trace_id}"),
        ),
        ("page: overview, 24 hours".to_owned(), "/".to_owned()),
        ("page: traces, 24 hours".to_owned(), "/traces".to_owned()),
        (
            format!("page: trace of {LARGE_TRACE_SPANS} spans"),
            format!("/traces/{large_trace_id}"),
        ),
        ("page: models, 24 hours".to_owned(), "/models".to_owned()),
        ("page: costs, 24 hours".to_owned(), "/costs".to_owned()),
        (
            "page: functions, 24 hours".to_owned(),
            "/functions".to_owned(),
        ),
        ("page: overview, 7 days".to_owned(), "/?range=7d".to_owned()),
        ("page: quality, 24 hours".to_owned(), "/quality".to_owned()),
        (
            "drift report, 24 hours against 7 days".to_owned(),
            "/api/v1/quality/drift".to_owned(),
        ),
    ];
    let mut figures = Vec::new();
    for (name, path) in queries {
        let measured = time_query(&client, &base, &name, path, settings.repeat).await?;
        println!(
            "queries {} spans over {} days: {}: median {:.1} ms, max {:.1} ms, {} bytes",
            settings.spans,
            settings.days,
            measured.name,
            measured.median_ms,
            measured.max_ms,
            measured.response_bytes
        );
        figures.push(measured);
    }
    server.stop()?;

    let report = Report {
        spans: settings.spans,
        days: settings.days,
        fill_seconds,
        fill_spans_per_second: settings.spans as f64 / fill_seconds,
        database_bytes,
        queries: figures,
    };
    println!(
        "queries fill: {} spans in {:.0} s ({:.0} spans/s), database {} MB",
        report.spans,
        report.fill_seconds,
        report.fill_spans_per_second,
        report.database_bytes / 1_000_000
    );
    if let Some(parent) = settings.json_out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&settings.json_out, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("failed to write {}", settings.json_out.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_are_right() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_413_435_000_000_000), "2026-12-04T19:43:55Z");
        assert_eq!(rfc3339(951_782_400_000_000_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn large_trace_has_size_and_one_root() {
        let mut rng = Rng::new(3);
        let spans = large_trace(&mut rng, 1_000);
        assert_eq!(spans.len() as u64, LARGE_TRACE_SPANS);
        assert_eq!(
            spans.iter().filter(|s| s.parent_span_id.is_none()).count(),
            1
        );
    }

    #[test]
    fn traces_have_five_spans_with_one_root() {
        let mut rng = Rng::new(3);
        let spans = trace(&mut rng, 7, 1_000);
        assert_eq!(spans.len(), 5);
        assert_eq!(
            spans.iter().filter(|s| s.parent_span_id.is_none()).count(),
            1
        );
        assert_eq!(spans.iter().filter(|s| s.kind == SpanKind::Llm).count(), 2);
    }
}
