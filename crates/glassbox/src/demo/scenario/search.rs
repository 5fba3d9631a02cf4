//! The help center search API: a question from the website is embedded, matching passages
//! are retrieved from the vector index and reranked, and a fast model writes the answer.
//!
//! ```text
//! POST /v1/answer                                   server
//! └─ invoke_workflow answer_question                chain
//!    ├─ embeddings text-embedding-3-small           embedding
//!    ├─ retrieval help-center-v3 ─ search (qdrant)  retrieval
//!    ├─ rerank bge-reranker-v2-m3                   rerank
//!    └─ chat claude-3-5-haiku-20241022              llm (streamed)
//! ```
//!
//! About a quarter of the requests reach the previous release, instrumented with
//! OpenInference, whose spans carry `openinference.span.kind` and `llm.*` attributes instead.
//! The support chatbot calls `POST /v1/search`, which retrieves passages and writes no answer.

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use serde_json::json;

use crate::demo::catalog::flagged::{FORUM_POST, search_query_with_email};
use crate::demo::catalog::help_center::{
    self, ANSWER_SYSTEM_PROMPT, ARTICLES, INDEX, QUESTIONS, Question, RERANKER,
};
use crate::demo::catalog::models::{
    CLAUDE_3_5_HAIKU, GEMINI_2_0_FLASH, Model, TEXT_EMBEDDING_3_SMALL,
};
use crate::demo::catalog::services::{
    GENAI_UTIL, OPENINFERENCE_LLAMA_INDEX, RAG_SEARCH_API, RAG_SEARCH_API_PREVIOUS, Scope,
};
use crate::demo::messages::Message;
use crate::demo::rng::Rng;
use crate::demo::scenario::calls::{
    self, ChatCall, Convention, DEFAULT_MAX_TOKENS, EmbeddingCall, identity,
};
use crate::demo::scenario::failure::Failure;
use crate::demo::scenario::{
    Ctx, Finding, HttpRequest, Operation, Showcase, fail_all, http_response, http_server, operation,
};
use crate::demo::trace::{Place, SpanRef, count, int, ms, text};

/// Prompt tokens of the answer style guide and examples, the same in every call.
const STYLE_GUIDE_TOKENS: u64 = 2_300;
/// The search API's client timeout for model calls, in milliseconds.
const TIMEOUT_MS: f64 = 20_000.0;
/// Passages retrieved before reranking.
const CANDIDATES: i64 = 20;
/// Share of questions that contain the customer's email address.
const PERSONAL_DATA_SHARE: f64 = 0.02;
/// Share of questions whose passages include the forum post with an injection.
const POISONED_PASSAGE_SHARE: f64 = 0.015;
/// The question that customers add their email address to.
const PASSWORD_QUESTION: usize = 6;

/// Generates a question from the website, answered by the search API.
pub fn trace(ctx: &mut Ctx<'_>) {
    let previous_release = match ctx.plan.showcase {
        Some(Showcase::OpenInference) => true,
        Some(_) => false,
        None => ctx.rng.chance(0.25),
    };
    let (service, convention) = if previous_release {
        (&RAG_SEARCH_API_PREVIOUS, Convention::OpenInference)
    } else {
        (&RAG_SEARCH_API, Convention::OpenTelemetry)
    };

    let place = Place::pick(&mut ctx.rng, service);
    let mut question = ctx.rng.pick(QUESTIONS);
    let mut query = question.text.to_owned();
    if ctx.plan.shows(Finding::PersonalData, PERSONAL_DATA_SHARE) {
        question = &QUESTIONS[PASSWORD_QUESTION];
        query = search_query_with_email(&mut Rng::new(ctx.plan.seed));
    }
    let root = http_server(
        ctx,
        HttpRequest {
            parent: None,
            place,
            method: "POST",
            route: "/v1/answer",
            path: "/v1/answer",
            start: 0,
        },
    );
    let pipeline = Pipeline {
        place,
        convention,
        query: &query,
        articles: question.articles,
    };

    let workflow_start = ms(ctx.rng.uniform(0.4, 2.0));
    let workflow = open_workflow(ctx, &pipeline, root, workflow_start);
    let status = answer_question(ctx, &pipeline, question, workflow);
    if status != 200 {
        fail_all(ctx, &[workflow, root], "failed to answer the question");
    }

    let end = ctx.end_of(workflow) + ms(ctx.rng.uniform(0.3, 1.5));
    http_response(ctx, root, status, end);
}

/// Serves `POST /v1/search` for another service's client span `client`; returns when the
/// response is sent.
pub fn serve_search(
    ctx: &mut Ctx<'_>,
    client: SpanRef,
    query: &str,
    articles: &[usize],
    start: u64,
) -> u64 {
    let place = Place::pick(&mut ctx.rng, &RAG_SEARCH_API);
    let server = http_server(
        ctx,
        HttpRequest {
            parent: Some(client),
            place,
            method: "POST",
            route: "/v1/search",
            path: "/v1/search",
            start,
        },
    );
    let pipeline = Pipeline {
        place,
        convention: Convention::OpenTelemetry,
        query,
        articles,
    };
    let retrieve_start = start + ctx.pause();
    let (end, status) = match retrieve(ctx, &pipeline, server, retrieve_start) {
        Ok(end) => (end, 200),
        Err(end) => (end, 502),
    };
    let end = end + ms(ctx.rng.uniform(0.3, 1.5));
    http_response(ctx, server, status, end);
    end
}

/// The query of one request and the convention of its spans.
struct Pipeline<'a> {
    place: Place,
    convention: Convention,
    query: &'a str,
    articles: &'a [usize],
}

impl Pipeline<'_> {
    /// Returns the scope of the pipeline's own spans.
    fn scope(&self) -> &'static Scope {
        match self.convention {
            Convention::OpenTelemetry => &GENAI_UTIL,
            Convention::OpenInference => &OPENINFERENCE_LLAMA_INDEX,
        }
    }
}

fn open_workflow(ctx: &mut Ctx<'_>, pipeline: &Pipeline<'_>, root: SpanRef, start: u64) -> SpanRef {
    if pipeline.convention == Convention::OpenTelemetry {
        return operation(
            ctx,
            Operation {
                parent: root,
                place: pipeline.place,
                operation: "invoke_workflow",
                name: "answer_question",
                start,
            },
        );
    }
    let span = ctx.open(
        Some(root),
        pipeline.place,
        pipeline.scope(),
        SpanKind::Internal,
        "RetrieverQueryEngine.aquery".to_owned(),
        start,
    );
    let mut attributes = vec![
        text("openinference.span.kind", "CHAIN"),
        text("input.value", pipeline.query),
    ];
    attributes.extend(identity(ctx));
    ctx.builder.add(span, attributes);
    span
}

/// Retrieves passages and writes the answer; returns the HTTP status.
fn answer_question(
    ctx: &mut Ctx<'_>,
    pipeline: &Pipeline<'_>,
    question: &Question,
    workflow: SpanRef,
) -> i64 {
    let start = ctx.builder.start_of(workflow) + ctx.pause();
    let retrieved = match retrieve(ctx, pipeline, workflow, start) {
        Ok(end) => end,
        Err(end) => {
            ctx.close_after(workflow, end);
            return 502;
        }
    };
    let model = if ctx.rng.chance(0.15) {
        &GEMINI_2_0_FLASH
    } else {
        &CLAUDE_3_5_HAIKU
    };
    let mut passages = help_center::context(question.articles);
    if ctx
        .plan
        .shows(Finding::PoisonedPassage, POISONED_PASSAGE_SHARE)
    {
        let (id, title, text) = FORUM_POST;
        passages.push_str(&format!("\n\n[{id}] {title}\n{text}"));
    }
    let input = [
        Message::system(ANSWER_SYSTEM_PROMPT),
        Message::user(&format!(
            "Passages:\n{passages}\n\nQuestion: {}",
            pipeline.query
        )),
    ];
    let answer = answer_text(ctx, pipeline, question, model);
    let failure = ctx.failure(true, false);
    let cache_warm = !ctx.rng.chance(0.1);
    let answer_start = retrieved + ctx.pause();
    let result = calls::chat_with_retry(
        ctx,
        ChatCall {
            model,
            parent: workflow,
            place: pipeline.place,
            start: answer_start,
            input: &input,
            reply: Message::assistant(&answer),
            stream: true,
            hidden_input_tokens: STYLE_GUIDE_TOKENS,
            prefix_tokens: STYLE_GUIDE_TOKENS + calls::tokens(ANSWER_SYSTEM_PROMPT.len()),
            cache_warm,
            timeout_ms: TIMEOUT_MS,
            max_tokens: DEFAULT_MAX_TOKENS,
            json_output: false,
            failure,
            convention: pipeline.convention,
        },
    );
    if pipeline.convention == Convention::OpenInference && result.failure.is_none() {
        ctx.builder.add(workflow, [text("output.value", &answer)]);
        ctx.builder.succeed(workflow);
    }
    ctx.close_after(workflow, result.end);
    match result.failure {
        None | Some(Failure::ContentFilter) => 200,
        Some(Failure::Timeout) => 504,
        Some(_) => 502,
    }
}

/// Returns the answer to a question. Since the latest release, answers written by Claude
/// end with the related articles and a request for feedback.
fn answer_text(
    ctx: &Ctx<'_>,
    pipeline: &Pipeline<'_>,
    question: &Question,
    model: &Model,
) -> String {
    let new_template = ctx.plan.after_release
        && pipeline.convention == Convention::OpenTelemetry
        && *model == CLAUDE_3_5_HAIKU;
    if !new_template {
        return question.answer.to_owned();
    }
    let related: Vec<String> = question
        .articles
        .iter()
        .filter_map(|index| ARTICLES.get(*index))
        .map(|article| format!("- {} (help center article {})", article.title, article.id))
        .collect();
    format!(
        "{}\n\nRelated articles:\n{}\n\nWas this answer helpful? Rate it with the buttons \
         below, or contact our support team from your account page if you need more help.",
        question.answer,
        related.join("\n")
    )
}

/// Embeds the query, retrieves and reranks passages under `parent`; returns when done, or
/// `Err` with the time of failure when the embedding call failed.
fn retrieve(
    ctx: &mut Ctx<'_>,
    pipeline: &Pipeline<'_>,
    parent: SpanRef,
    start: u64,
) -> Result<u64, u64> {
    let failure = ctx.failure(false, false).filter(|failure| {
        matches!(
            failure,
            Failure::RateLimited | Failure::ServerError | Failure::Timeout
        )
    });
    let embedded = calls::embedding(
        ctx,
        EmbeddingCall {
            model: &TEXT_EMBEDDING_3_SMALL,
            parent,
            place: pipeline.place,
            start,
            inputs: &[pipeline.query.to_owned()],
            failure,
            convention: pipeline.convention,
        },
    );
    if embedded.failure.is_some() {
        return Err(embedded.end);
    }
    let retrieval_start = embedded.end + ctx.pause();
    let retrieved = retrieval(ctx, pipeline, parent, retrieval_start);
    let rerank_start = retrieved + ctx.pause();
    Ok(rerank(ctx, pipeline, parent, rerank_start))
}

fn documents(ctx: &mut Ctx<'_>, articles: &[usize]) -> Vec<(usize, f64)> {
    let mut score = ctx.rng.uniform(0.78, 0.91);
    let mut list = Vec::new();
    for index in articles {
        list.push((*index, score));
        score -= ctx.rng.uniform(0.02, 0.08);
    }
    for _ in 0..3 {
        let index = ctx.rng.range(0, ARTICLES.len() as u64 - 1) as usize;
        if !list.iter().any(|(known, _)| *known == index) {
            list.push((index, score));
            score -= ctx.rng.uniform(0.02, 0.05);
        }
    }
    list
}

fn retrieval(ctx: &mut Ctx<'_>, pipeline: &Pipeline<'_>, parent: SpanRef, start: u64) -> u64 {
    let found = documents(ctx, pipeline.articles);
    let (name, kind) = match pipeline.convention {
        Convention::OpenTelemetry => (format!("retrieval {INDEX}"), SpanKind::Client),
        Convention::OpenInference => (
            "VectorIndexRetriever.aretrieve".to_owned(),
            SpanKind::Internal,
        ),
    };
    let span = ctx.open(
        Some(parent),
        pipeline.place,
        pipeline.scope(),
        kind,
        name,
        start,
    );
    let attributes = match pipeline.convention {
        Convention::OpenTelemetry => {
            let listed: Vec<_> = found
                .iter()
                .map(|(index, score)| json!({"id": ARTICLES[*index].id, "score": round(*score)}))
                .collect();
            vec![
                text("gen_ai.operation.name", "retrieval"),
                text("gen_ai.data_source.id", INDEX),
                int("gen_ai.request.top_k", CANDIDATES),
                text("gen_ai.retrieval.query.text", pipeline.query),
                text("gen_ai.retrieval.documents", &json!(listed).to_string()),
            ]
        }
        Convention::OpenInference => {
            let mut attributes = vec![
                text("openinference.span.kind", "RETRIEVER"),
                text("input.value", pipeline.query),
            ];
            attributes.extend(openinference_documents(ctx, "retrieval.documents", &found));
            attributes
        }
    };
    ctx.builder.add(span, attributes);
    let search_start = start + ctx.pause();
    let searched = vector_search(ctx, span, pipeline.place, search_start);
    ctx.close_after(span, searched);
    ctx.end_of(span)
}

fn round(score: f64) -> f64 {
    (score * 1_000.0).round() / 1_000.0
}

fn openinference_documents(
    ctx: &Ctx<'_>,
    prefix: &str,
    found: &[(usize, f64)],
) -> Vec<opentelemetry_proto::tonic::common::v1::KeyValue> {
    let mut attributes = Vec::new();
    for (position, (index, score)) in found.iter().enumerate() {
        let article = &ARTICLES[*index];
        let key = |field: &str| format!("{prefix}.{position}.document.{field}");
        attributes.push(text(&key("id"), article.id));
        attributes.push(crate::demo::trace::float(&key("score"), round(*score)));
        attributes.push(text(&key("content"), article.text));
    }
    attributes.extend(identity(ctx));
    attributes
}

/// Records the vector database query under a retrieval.
fn vector_search(ctx: &mut Ctx<'_>, parent: SpanRef, place: Place, start: u64) -> u64 {
    let span = ctx.open(
        Some(parent),
        place,
        &place.service.app,
        SpanKind::Client,
        format!("search {INDEX}"),
        start,
    );
    ctx.builder.add(
        span,
        [
            text("db.system.name", "qdrant"),
            text("db.operation.name", "search"),
            text("db.collection.name", INDEX),
            text("server.address", "qdrant.search.internal"),
            int("server.port", 6333),
        ],
    );
    let end = start + ms(ctx.rng.log_uniform(4.0, 40.0));
    ctx.builder.close(span, end);
    end
}

fn rerank(ctx: &mut Ctx<'_>, pipeline: &Pipeline<'_>, parent: SpanRef, start: u64) -> u64 {
    let found = documents(ctx, pipeline.articles);
    let top = &found[..pipeline.articles.len()];
    let (name, scope) = match pipeline.convention {
        Convention::OpenTelemetry => (format!("rerank {RERANKER}"), &GENAI_UTIL),
        Convention::OpenInference => (
            "SentenceTransformerRerank.apostprocess_nodes".to_owned(),
            &OPENINFERENCE_LLAMA_INDEX,
        ),
    };
    let span = ctx.open(
        Some(parent),
        pipeline.place,
        scope,
        SpanKind::Internal,
        name,
        start,
    );
    let attributes = match pipeline.convention {
        Convention::OpenTelemetry => vec![
            text("gen_ai.operation.name", "rerank"),
            text("gen_ai.request.model", RERANKER),
            count("gen_ai.request.top_k", top.len() as u64),
            count("rerank.input_documents.count", CANDIDATES as u64),
        ],
        Convention::OpenInference => {
            let mut attributes = vec![
                text("openinference.span.kind", "RERANKER"),
                text("reranker.model_name", RERANKER),
                text("reranker.query", pipeline.query),
                count("reranker.top_k", top.len() as u64),
            ];
            attributes.extend(openinference_documents(
                ctx,
                "reranker.output_documents",
                top,
            ));
            attributes
        }
    };
    ctx.builder.add(span, attributes);
    let end = start + ms(ctx.rng.log_uniform(25.0, 140.0));
    ctx.builder.close(span, end);
    end
}
