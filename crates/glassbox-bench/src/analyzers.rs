//! `glassbox-bench analyzers`: the CPU the analyzers add to ingesting a span.
//!
//! Generated traces get about 2 KB of message content per model call: the user message grows
//! by one sentence with an email address and a card number, then ordinary support text. Each step of the
//! ingest path is timed in this process on the same spans, one thread:
//!
//! - decoding the OTLP protobuf request;
//! - normalizing and pricing with the analyzers off, with the default analyzers, and with
//!   masking too;
//! - committing the batches to a fresh SQLite store, with the full-text index and the
//!   checkpoint that the server runs in the background.
//!
//! The receiver's HTTP and decompression work is not counted, so the share of the analyzers
//! is overstated rather than understated.
//!
//! Decoding and converting run five times each and the fastest run counts; the commit runs
//! once, into a new store. The ingest cost of a span is decode + convert (analyzers off) +
//! commit; the analyzers'
//! share is the difference they make to the conversion, divided by that cost.

use std::time::{Duration, Instant};

use anyhow::Context;
use glassbox_analyze::AnalyzerConfig;
use glassbox_enrich::Enricher;
use glassbox_store::{SqliteOptions, SqliteStore, WriteBatch, WriteStore};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use prost::Message;
use serde::Serialize;
use serde_json::Value;

use crate::generate::generate_batch;
use crate::rng::Rng;

/// Runs of each timed step; the fastest counts.
const RUNS: usize = 5;

/// Options of the analyzers benchmark.
#[derive(Debug, clap::Args)]
pub struct AnalyzersArgs {
    /// Spans generated; about half are model calls.
    #[arg(long, default_value_t = 20_000)]
    pub spans: usize,
    /// Spans per request.
    #[arg(long, default_value_t = 200)]
    pub batch: usize,
    /// Bytes of message content per model call.
    #[arg(long, default_value_t = 2048)]
    pub content_bytes: usize,
    /// A quick run for CI (2,000 spans).
    #[arg(long)]
    pub short: bool,
    /// Accepted for `all`, which passes it to every benchmark; this one starts no server.
    #[arg(long, value_name = "BIN", hide = true)]
    pub glassbox: Option<std::path::PathBuf>,
}

/// Microseconds per span of each step.
#[derive(Debug, Serialize)]
struct Figures {
    spans: usize,
    model_spans: usize,
    content_bytes_per_model_span: f64,
    decode_us: f64,
    convert_without_analyzers_us: f64,
    convert_with_analyzers_us: f64,
    convert_with_masking_us: f64,
    commit_us: f64,
    ingest_us: f64,
    analyzers_share_percent: f64,
    masking_share_percent: f64,
}

/// A sentence with an email address and a card number, added once to each model call.
const PII_SENTENCE: &str = "Please write to me at maria.keller@fabrikam-mail.de or call back, \
    and refund the card 4539 1488 0343 6467 if it cannot be found by Friday. ";

/// Support text without personal data that fills the rest; ASCII only.
const FILLER: &str = "The parcel was marked as delivered yesterday afternoon, but nobody at \
    the front desk signed for it and the camera shows no courier. We ordered the same bracket \
    set twice last month and both times the tracking stopped at the regional hub. ";

/// Runs the benchmark and prints the figures as JSON.
pub fn run(args: AnalyzersArgs) -> anyhow::Result<()> {
    let spans = if args.short { 2_000 } else { args.spans };
    let requests = requests(spans, args.batch.max(1), args.content_bytes);
    let bodies: Vec<Vec<u8>> = requests.iter().map(Message::encode_to_vec).collect();
    let enricher = Enricher::new(Vec::new()).context("failed to load the price catalog")?;
    let off = AnalyzerConfig {
        enabled: Vec::new(),
        ..AnalyzerConfig::default()
    };
    let masking = AnalyzerConfig {
        mask_pii: true,
        mask_secrets: true,
        ..AnalyzerConfig::default()
    };

    let decode = fastest(|| {
        for body in &bodies {
            let _ = ExportTraceServiceRequest::decode(body.as_slice());
        }
    });
    let convert = |config: &AnalyzerConfig| -> Vec<WriteBatch> {
        requests
            .iter()
            .map(|request| glassbox_ingest::convert::traces_to_batch(request, &enricher, config).0)
            .collect()
    };
    // A first pass warms the caches and the lazily compiled patterns.
    let analyzed = convert(&AnalyzerConfig::default());
    let without = fastest(|| drop(convert(&off)));
    let with = fastest(|| drop(convert(&AnalyzerConfig::default())));
    let masked = fastest(|| drop(convert(&masking)));
    let batches = convert(&off);
    let commit = commit(analyzed)?;

    let model_spans = batches
        .iter()
        .flat_map(|batch| &batch.spans)
        .filter(|span| span.kind == glassbox_model::SpanKind::Llm)
        .count();
    let content: usize = batches
        .iter()
        .flat_map(|batch| &batch.spans)
        .filter_map(|span| {
            span.input_messages
                .as_ref()
                .zip(span.output_messages.as_ref())
        })
        .map(|(input, output)| {
            input
                .iter()
                .chain(output)
                .filter_map(|message| message.content.as_ref())
                .map(String::len)
                .sum::<usize>()
        })
        .sum();

    let per_span = |elapsed: Duration| elapsed.as_secs_f64() * 1e6 / spans as f64;
    let ingest = per_span(decode) + per_span(without) + per_span(commit);
    let figures = Figures {
        spans,
        model_spans,
        content_bytes_per_model_span: content as f64 / model_spans.max(1) as f64,
        decode_us: per_span(decode),
        convert_without_analyzers_us: per_span(without),
        convert_with_analyzers_us: per_span(with),
        convert_with_masking_us: per_span(masked),
        commit_us: per_span(commit),
        ingest_us: ingest,
        analyzers_share_percent: 100.0 * (per_span(with) - per_span(without)) / ingest,
        masking_share_percent: 100.0 * (per_span(masked) - per_span(without)) / ingest,
    };
    #[expect(
        clippy::print_stdout,
        reason = "the benchmark's result goes to standard output"
    )]
    {
        println!("{}", serde_json::to_string_pretty(&figures)?);
    }
    Ok(())
}

/// Runs `work` a few times and returns the shortest time, the one least disturbed by other
/// processes on the machine.
fn fastest(mut work: impl FnMut()) -> Duration {
    (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Commits the batches to a new store, indexes their text for search and checkpoints the
/// write-ahead log, as the server does in the background for every span. Returns the time
/// it took.
fn commit(batches: Vec<WriteBatch>) -> anyhow::Result<Duration> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path(), SqliteOptions::default())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    runtime.block_on(async {
        for batch in batches {
            store.write(batch).await?;
        }
        store.flush().await?;
        anyhow::Ok(())
    })?;
    Ok(started.elapsed())
}

/// Generates the requests and grows each model call's user message to `content_bytes` of
/// content in total.
fn requests(spans: usize, batch: usize, content_bytes: usize) -> Vec<ExportTraceServiceRequest> {
    let mut rng = Rng::new(42);
    let mut requests = Vec::new();
    let mut remaining = spans;
    while remaining > 0 {
        let size = remaining.min(batch);
        let mut request = generate_batch(&mut rng, size).request;
        grow_content(&mut request, content_bytes);
        requests.push(request);
        remaining -= size;
    }
    requests
}

fn grow_content(request: &mut ExportTraceServiceRequest, content_bytes: usize) {
    let spans = request
        .resource_spans
        .iter_mut()
        .flat_map(|resource| &mut resource.scope_spans)
        .flat_map(|scope| &mut scope.spans);
    for span in spans {
        let output_bytes = text_bytes(span, "gen_ai.output.messages");
        for attribute in &mut span.attributes {
            if attribute.key != "gen_ai.input.messages" {
                continue;
            }
            let Some(any_value::Value::StringValue(text)) = attribute
                .value
                .as_mut()
                .and_then(|value| value.value.as_mut())
            else {
                continue;
            };
            *text = grown(text, content_bytes.saturating_sub(output_bytes));
        }
    }
}

/// Returns the content bytes of a messages attribute.
fn text_bytes(span: &opentelemetry_proto::tonic::trace::v1::Span, key: &str) -> usize {
    span.attributes
        .iter()
        .filter(|attribute| attribute.key == key)
        .filter_map(
            |attribute| match attribute.value.as_ref()?.value.as_ref()? {
                any_value::Value::StringValue(text) => serde_json::from_str::<Value>(text).ok(),
                _ => None,
            },
        )
        .map(|messages| contents(&messages).iter().map(String::len).sum::<usize>())
        .sum()
}

fn contents(messages: &Value) -> Vec<String> {
    messages
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|message| message["parts"].as_array().cloned().unwrap_or_default())
        .filter_map(|part| part["content"].as_str().map(str::to_owned))
        .collect()
}

/// Appends the sentence with personal data to the last user message, then filler until the
/// input's content reaches `target` bytes.
fn grown(messages_json: &str, target: usize) -> String {
    let Ok(mut messages) = serde_json::from_str::<Value>(messages_json) else {
        return messages_json.to_owned();
    };
    let mut total: usize = contents(&messages).iter().map(String::len).sum();
    let user = messages.as_array_mut().and_then(|list| {
        list.iter_mut()
            .rev()
            .find(|message| message["role"] == "user")
    });
    if let Some(Value::String(content)) =
        user.and_then(|message| message.pointer_mut("/parts/0/content"))
    {
        content.push_str(PII_SENTENCE);
        total += PII_SENTENCE.len();
        while total < target {
            // The text is ASCII, so every byte offset is a character boundary.
            let piece = &FILLER[..FILLER.len().min(target - total)];
            content.push_str(piece);
            total += piece.len();
        }
    }
    messages.to_string()
}
