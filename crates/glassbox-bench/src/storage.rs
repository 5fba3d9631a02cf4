//! `glassbox-bench storage`: bytes on disk per span, with and without message content.
//!
//! Two stores are filled with the same spans as the queries benchmark; in the second, every
//! model call also carries about 1 KB of messages, both as the raw `gen_ai.input.messages` /
//! `gen_ai.output.messages` attributes an instrumentation sends and as the normalized messages
//! derived from them, as ingest stores them. The size is that of the database file after the
//! write-ahead log is checkpointed, divided by the spans stored.

use std::path::PathBuf;

use anyhow::Context;
use glassbox_model::{Message, Span, SpanKind};
use glassbox_store::{SqliteOptions, SqliteStore};
use serde::Serialize;

use crate::queries::{QuerySettings, fill_with, range_end};

/// Figures of one fill.
#[derive(Debug, Serialize)]
struct Fill {
    content: bool,
    spans: u64,
    database_bytes: u64,
    bytes_per_span: f64,
}

const QUESTION: &str = "Our order 4471 was supposed to ship on Monday with the blue widgets and the \
    spare brackets, but the tracking page still says the label was created and nothing more. \
    Can you check whether it left the warehouse, and if not, what is holding it up? We need it \
    before the installation on Friday.";

const ANSWER: &str = "Order 4471 left the Riverside warehouse on Tuesday at 16:40 in two parcels. \
    The tracking page lags behind the carrier by about a day; the carrier shows both parcels at \
    the regional hub, due on Thursday. The spare brackets are in the second parcel. If either \
    parcel is not delivered by Thursday evening, reply here and we will send a replacement by \
    express at no cost.";

/// Adds about 1 KB of content to a model call, as raw attributes and normalized messages.
fn add_content(span: &mut Span) {
    if span.kind != SpanKind::Llm {
        return;
    }
    let parts = |role: &str, text: &str| {
        serde_json::json!([{"role": role, "parts": [{"type": "text", "content": text}]}])
            .to_string()
    };
    span.attributes.insert(
        "gen_ai.input.messages".into(),
        parts("user", QUESTION).into(),
    );
    span.attributes.insert(
        "gen_ai.output.messages".into(),
        parts("assistant", ANSWER).into(),
    );
    span.input_messages = Some(vec![Message::text("user", QUESTION)]);
    span.output_messages = Some(vec![Message::text("assistant", ANSWER)]);
}

async fn fill_one(settings: &QuerySettings, content: bool) -> anyhow::Result<Fill> {
    std::fs::create_dir_all(&settings.work_dir)?;
    let data_dir = tempfile::Builder::new()
        .prefix("glassbox-bench-storage-")
        .tempdir_in(&settings.work_dir)?;
    let store = SqliteStore::open(data_dir.path(), SqliteOptions::default())?;
    fill_with(&store, settings, range_end(), |span| {
        if content {
            add_content(span);
        }
    })
    .await?;
    // Index the full-text backlog and empty the write-ahead log into the database file, so
    // that the file holds everything before it is measured.
    store.flush_blocking()?;
    drop(store);
    let database_bytes = std::fs::metadata(data_dir.path().join("glassbox.db"))
        .context("the database file is missing")?
        .len();
    Ok(Fill {
        content,
        spans: settings.spans,
        database_bytes,
        bytes_per_span: database_bytes as f64 / settings.spans as f64,
    })
}

/// Fills a store without and one with content, and reports bytes per span.
pub async fn run(settings: QuerySettings, json_out: PathBuf) -> anyhow::Result<()> {
    let mut fills = Vec::new();
    for content in [false, true] {
        let fill = fill_one(&settings, content).await?;
        println!(
            "storage {} spans {} content: {:.0} bytes per span, database {} MB",
            fill.spans,
            if content { "with" } else { "without" },
            fill.bytes_per_span,
            fill.database_bytes / 1_000_000
        );
        fills.push(fill);
    }
    if let Some(parent) = json_out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&json_out, serde_json::to_vec_pretty(&fills)?)
        .with_context(|| format!("failed to write {}", json_out.display()))?;
    Ok(())
}
