//! A batch job of the summarizer. A queue message starts a workflow that reads a few support
//! documents and classifies and summarizes each with self-hosted models (Ollama, vLLM). It
//! embeds the summaries and writes a digest with a hosted model (Gemini or Mistral).
//!
//! ```text
//! support-digest-jobs process                       consumer
//! └─ invoke_workflow support_digest                 chain
//!    ├─ fetch_documents ─ SELECT support_documents  other
//!    ├─ invoke_workflow summarize_document (each)   chain
//!    │  ├─ chat llama3.1:8b                         llm (ollama, unpriced)
//!    │  ├─ chat llama-3.1-70b-instruct              llm (vllm, unpriced)
//!    │  └─ embeddings text-embedding-3-small        embedding
//!    ├─ generate_content gemini-2.0-flash           llm (or chat mistral-large-latest)
//!    └─ store_digest ─ INSERT digests               other
//! ```

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;

use crate::demo::catalog::flagged::rambling_summary;
use crate::demo::catalog::models::{
    GEMINI_2_0_FLASH, LLAMA_3_1_8B_OLLAMA, LLAMA_3_1_70B_VLLM, MISTRAL_LARGE, Model,
    TEXT_EMBEDDING_3_SMALL,
};
use crate::demo::catalog::notes::{
    CLASSIFY_PROMPT, DIGEST_PROMPT, NOTES, Note, QUEUE, SUMMARY_PROMPT,
};
use crate::demo::catalog::services::{BATCH_SUMMARIZER, PIKA};
use crate::demo::messages::Message;
use crate::demo::scenario::calls::{self, ChatCall, Convention, DEFAULT_MAX_TOKENS, EmbeddingCall};
use crate::demo::scenario::{
    Ctx, Finding, Operation, Showcase, fail_all, function, operation, query,
};
use crate::demo::trace::{Place, SpanRef, count, ms, text};

/// The summarizer's client timeout for model calls, in milliseconds.
const TIMEOUT_MS: f64 = 60_000.0;
/// The `max_tokens` of a one-sentence summary.
const SUMMARY_MAX_TOKENS: u64 = 160;
/// Share of jobs whose first summary ignores the one-sentence instruction and stops at
/// [`SUMMARY_MAX_TOKENS`].
const TRUNCATION_SHARE: f64 = 0.04;

/// Generates one batch job.
pub fn trace(ctx: &mut Ctx<'_>) {
    let place = Place::pick(&mut ctx.rng, &BATCH_SUMMARIZER);
    let root = ctx.open(
        None,
        place,
        &PIKA,
        SpanKind::Consumer,
        format!("{QUEUE} process"),
        0,
    );
    let message_id = format!("{:016x}", ctx.rng.next_u64());
    ctx.builder.add(
        root,
        [
            text("messaging.system", "rabbitmq"),
            text("messaging.operation.type", "process"),
            text("messaging.destination.name", QUEUE),
            text("messaging.message.id", &message_id),
        ],
    );
    let workflow_start = ms(ctx.rng.uniform(0.2, 1.5));
    let workflow = operation(
        ctx,
        Operation {
            parent: root,
            place,
            operation: "invoke_workflow",
            name: "support_digest",
            start: workflow_start,
        },
    );
    let succeeded = run_job(ctx, place, workflow);
    if !succeeded {
        fail_all(
            ctx,
            &[workflow, root],
            "digest failed; the message is requeued",
        );
    }
    let end = ctx.end_of(workflow) + ms(ctx.rng.uniform(0.5, 2.0));
    ctx.builder.close(root, end);
}

/// Runs the job's steps; returns whether the digest was written.
fn run_job(ctx: &mut Ctx<'_>, place: Place, workflow: SpanRef) -> bool {
    let start = ctx.builder.start_of(workflow) + ctx.pause();
    let fetch = function(ctx, workflow, place, "fetch_documents", start);
    let statement = "SELECT id, kind, body FROM support_documents WHERE digested_at IS NULL \
                     LIMIT 20";
    let query_start = start + ctx.pause();
    let fetched = query(ctx, fetch, place, statement, query_start);
    ctx.close_after(fetch, fetched);

    let documents = ctx.rng.range(3, 5) as usize;
    let first = ctx.rng.range(0, NOTES.len() as u64 - 1) as usize;
    let mut cursor = ctx.end_of(fetch);
    let mut summaries = Vec::new();
    for offset in 0..documents {
        let note = &NOTES[(first + offset) % NOTES.len()];
        let summary_start = cursor + ctx.pause();
        let rambles = offset == 0 && ctx.plan.shows(Finding::Truncation, TRUNCATION_SHARE);
        let (summary, end) = summarize(ctx, place, workflow, (note, rambles), summary_start);
        summaries.extend(summary);
        cursor = end;
    }

    let digest_start = cursor + ctx.pause();
    let written = match digest(ctx, place, workflow, &summaries, digest_start) {
        Ok(end) => end,
        Err(failed) => {
            ctx.close_after(workflow, failed);
            return false;
        }
    };
    let store_start = written + ctx.pause();
    let store = function(ctx, workflow, place, "store_digest", store_start);
    let statement = "INSERT INTO digests (day, body, document_count) VALUES ($1, $2, $3)";
    let query_start = ctx.builder.start_of(store) + ctx.pause();
    let stored = query(ctx, store, place, statement, query_start);
    ctx.close_after(store, stored);
    ctx.close_after(workflow, ctx.end_of(store));
    true
}

/// Classifies, summarizes and embeds one document; returns its summary, if written, and
/// when the step ended.
fn summarize(
    ctx: &mut Ctx<'_>,
    place: Place,
    parent: SpanRef,
    (note, rambles): (&Note, bool),
    start: u64,
) -> (Option<&'static str>, u64) {
    let step = operation(
        ctx,
        Operation {
            parent,
            place,
            operation: "invoke_workflow",
            name: "summarize_document",
            start,
        },
    );
    ctx.builder.add(step, [text("document.id", note.id)]);

    let document = format!("{} {}: {}", note.kind, note.id, note.text);
    // A document whose summary rambles is there to show the truncation, so its calls succeed.
    let classify_start = start + ctx.pause();
    let classified = local_call(
        ctx,
        place,
        step,
        (&LLAMA_3_1_8B_OLLAMA, CLASSIFY_PROMPT, DEFAULT_MAX_TOKENS),
        (&document, note.category),
        (classify_start, rambles),
    );
    let summary = if rambles {
        rambling_summary(note.id, note.summary)
    } else {
        note.summary.to_owned()
    };
    let summarized = classified.and_then(|end| {
        let start = end + ctx.pause();
        local_call(
            ctx,
            place,
            step,
            (&LLAMA_3_1_70B_VLLM, SUMMARY_PROMPT, SUMMARY_MAX_TOKENS),
            (&document, &summary),
            (start, rambles),
        )
    });
    let end = match summarized {
        Ok(end) => end,
        Err(failed) => {
            ctx.builder
                .fail(step, "summary failed; the document is skipped");
            let end = failed + ctx.pause();
            ctx.builder.close(step, end);
            return (None, end);
        }
    };

    let failure = ctx
        .failure(false, false)
        .filter(|failure| failure.is_retried());
    let embed_start = end + ctx.pause();
    let embedded = calls::embedding(
        ctx,
        EmbeddingCall {
            model: &TEXT_EMBEDDING_3_SMALL,
            parent: step,
            place,
            start: embed_start,
            inputs: &[note.summary.to_owned()],
            failure,
            convention: Convention::OpenTelemetry,
        },
    );
    ctx.close_after(step, embedded.end);
    (Some(note.summary), ctx.end_of(step))
}

/// One call of a self-hosted model; returns when it ended, as an error when it failed. A
/// call that must succeed still draws its failure, so the rest of the trace stays the same.
fn local_call(
    ctx: &mut Ctx<'_>,
    place: Place,
    parent: SpanRef,
    (model, instructions, max_tokens): (&'static Model, &str, u64),
    (document, reply): (&str, &str),
    (start, must_succeed): (u64, bool),
) -> Result<u64, u64> {
    let input = [Message::system(instructions), Message::user(document)];
    let failure = ctx
        .failure(false, false)
        .filter(|failure| !failure.is_retried() && !must_succeed);
    let result = calls::chat(
        ctx,
        ChatCall {
            model,
            parent,
            place,
            start,
            input: &input,
            reply: Message::assistant(reply),
            stream: false,
            hidden_input_tokens: 0,
            prefix_tokens: 0,
            cache_warm: false,
            timeout_ms: TIMEOUT_MS,
            max_tokens,
            json_output: false,
            failure,
            convention: Convention::OpenTelemetry,
        },
    );
    match result.failure {
        None => Ok(result.end),
        Some(_) => Err(result.end),
    }
}

/// Writes the digest with a hosted model; returns when done, as an error when it failed.
fn digest(
    ctx: &mut Ctx<'_>,
    place: Place,
    parent: SpanRef,
    summaries: &[&str],
    start: u64,
) -> Result<u64, u64> {
    let model = match ctx.plan.showcase {
        Some(Showcase::Digest(model)) => model,
        _ if ctx.rng.chance(0.55) => &GEMINI_2_0_FLASH,
        _ => &MISTRAL_LARGE,
    };
    let listed = summaries
        .iter()
        .map(|summary| format!("- {summary}"))
        .collect::<Vec<_>>()
        .join("\n");
    let input = [Message::system(DIGEST_PROMPT), Message::user(&listed)];
    let reply = format!(
        "Daily support digest ({} documents)\n\n{listed}\n\nFollow-ups: assign owners to the \
         open items above.",
        summaries.len()
    );
    let failure = ctx.failure(true, false);
    let result = calls::chat_with_retry(
        ctx,
        ChatCall {
            model,
            parent,
            place,
            start,
            input: &input,
            reply: Message::assistant(&reply),
            stream: false,
            hidden_input_tokens: 0,
            prefix_tokens: 0,
            cache_warm: false,
            timeout_ms: TIMEOUT_MS,
            max_tokens: DEFAULT_MAX_TOKENS,
            json_output: false,
            failure,
            convention: Convention::OpenTelemetry,
        },
    );
    ctx.builder.add(
        parent,
        [count("digest.document_count", summaries.len() as u64)],
    );
    match result.failure {
        None => Ok(result.end),
        Some(_) => Err(result.end),
    }
}
