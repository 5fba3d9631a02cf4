//! A request to the coding agent: a reasoning model plans, then the agent model calls tools
//! (code search, file reads, patches, test runs) in rounds until the tests pass, and streams a
//! summary. Code search retrieves from a code index, which embeds the query.
//!
//! ```text
//! POST /v1/tasks/{task_id}/messages                       server
//! └─ invoke_agent coding_agent                            agent
//!    ├─ invoke_agent planner ─ chat o3-mini               agent, llm (reasoning)
//!    ├─ chat claude-sonnet-4-20250514                     llm (tool call)
//!    ├─ execute_tool search_code                          tool
//!    │  └─ retrieval storefront-api-main                  retrieval
//!    │     └─ embeddings text-embedding-3-small           embedding
//!    ├─ chat ... ─ execute_tool read_file / apply_patch / run_tests ─ pytest
//!    ├─ invoke_agent reviewer ─ chat gpt-4o               agent, llm (sometimes)
//!    └─ chat claude-sonnet-4-20250514                     llm (streamed summary)
//! ```

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use serde_json::{Value, json};

use crate::demo::catalog::coding::{CODE_INDEX, CodingTask, PLANNER_PROMPT, SYSTEM_PROMPT, TASKS};
use crate::demo::catalog::flagged::{openai_project_key, pasted_env};
use crate::demo::catalog::models::{
    CLAUDE_SONNET_4, GPT_4O, Model, O3_MINI, TEXT_EMBEDDING_3_SMALL,
};
use crate::demo::catalog::services::{CODING_AGENT, GENAI_UTIL};
use crate::demo::messages::{Message, Part, anthropic_call_id};
use crate::demo::rng::Rng;
use crate::demo::scenario::calls::{
    self, CallResult, ChatCall, Convention, DEFAULT_MAX_TOKENS, EmbeddingCall, tokens,
};
use crate::demo::scenario::failure::Failure;
use crate::demo::scenario::{
    Ctx, Finding, HttpRequest, Operation, fail_all, function, http_response, http_server, operation,
};
use crate::demo::trace::{Place, SpanRef, int, ms, text};

/// Prompt tokens of the tool definitions and the repository map, sent on every call.
const TOOL_DEFINITION_TOKENS: u64 = 3_400;
/// The agent's client timeout for model calls, in milliseconds.
const TIMEOUT_MS: f64 = 120_000.0;
/// Share of sessions whose first request contains a pasted API key.
const LEAKED_KEY_SHARE: f64 = 0.01;

/// The agent's state while one request runs.
struct Run {
    place: Place,
    task: &'static CodingTask,
    /// The developer's first request, as sent.
    request: String,
    turn: usize,
    prompt: Vec<Message>,
    /// Whether the next model call is the request's first, which the plan's forced failure
    /// applies to.
    first_call: bool,
}

/// Generates a request to the coding agent.
pub fn trace(ctx: &mut Ctx<'_>) {
    let place = Place::pick(&mut ctx.rng, &CODING_AGENT);
    let (seed, turn) = ctx
        .plan
        .session
        .as_ref()
        .map_or((ctx.plan.seed, 0), |session| (session.seed, session.turn));
    let task = Rng::new(seed).pick(TASKS);
    let mut request = task.request.to_owned();
    if ctx.plan.session_shows(Finding::LeakedKey, LEAKED_KEY_SHARE) {
        let key = openai_project_key(&mut Rng::new(seed));
        request.push_str(&pasted_env(&key));
    }
    let mut run = Run {
        place,
        task,
        prompt: prompt(task, &request, turn),
        request,
        turn,
        first_call: true,
    };

    let task_id = format!("task_{:08x}", seed >> 32);
    let root = http_server(
        ctx,
        HttpRequest {
            parent: None,
            place,
            method: "POST",
            route: "/v1/tasks/{task_id}/messages",
            path: &format!("/v1/tasks/{task_id}/messages"),
            start: 0,
        },
    );
    let agent_start = ms(ctx.rng.uniform(1.0, 4.0));
    let agent = agent_span(
        ctx,
        place,
        root,
        "coding_agent",
        &CLAUDE_SONNET_4,
        agent_start,
    );

    let status = match run_agent(ctx, &mut run, agent) {
        Ok(end) => {
            ctx.builder.close(agent, end);
            200
        }
        Err((status, end)) => {
            fail_all(ctx, &[agent, root], "agent run failed: model call failed");
            ctx.builder.close(agent, end);
            status
        }
    };

    let end = ctx.end_of(agent) + ms(ctx.rng.uniform(0.5, 3.0));
    http_response(ctx, root, status, end);
}

/// Returns the prompt at the start of turn `turn`: the first request, then the earlier
/// requests and summaries.
fn prompt(task: &CodingTask, request: &str, turn: usize) -> Vec<Message> {
    let mut prompt = vec![Message::system(SYSTEM_PROMPT), Message::user(request)];
    let mut summary = task.summary;
    for index in 0..turn {
        let (request, next_summary) = task.follow_ups[index % task.follow_ups.len()];
        prompt.push(Message::assistant(summary));
        prompt.push(Message::user(request));
        summary = next_summary;
    }
    prompt
}

fn summary_of(task: &CodingTask, turn: usize) -> &'static str {
    match turn {
        0 => task.summary,
        _ => task.follow_ups[(turn - 1) % task.follow_ups.len()].1,
    }
}

/// A failed run: the HTTP status and when the agent stopped.
type RunError = (i64, u64);

/// A tool call of the agent.
struct Step {
    tool: &'static str,
    arguments: Value,
    /// Whether the tool reports a problem: a file that does not exist, failing tests.
    fails: bool,
}

impl Step {
    fn new(tool: &'static str, arguments: Value) -> Step {
        Step {
            tool,
            arguments,
            fails: false,
        }
    }
}

/// Returns the tool calls of one request: search (first turn only), read, patch and test.
/// Now and then the agent first reads a wrong path, or patches twice after failing tests.
fn steps(ctx: &mut Ctx<'_>, run: &Run) -> Vec<Step> {
    let task = run.task;
    let path = task.files[0];
    let mut steps = Vec::new();
    if run.turn == 0 {
        steps.push(Step::new(
            "search_code",
            json!({"query": task.search, "limit": 8}),
        ));
    }
    if ctx.rng.chance(0.08) {
        let wrong = format!("src/{path}");
        steps.push(Step {
            fails: true,
            ..Step::new("read_file", json!({"path": wrong}))
        });
    }
    steps.push(Step::new("read_file", json!({"path": path})));
    let patch = json!({"path": path, "patch": task.patch});
    let tests = json!({"selector": task.tests});
    if run.turn == 0 && ctx.rng.chance(0.35) {
        steps.push(Step::new("apply_patch", patch.clone()));
        steps.push(Step {
            fails: true,
            ..Step::new("run_tests", tests.clone())
        });
    }
    steps.push(Step::new("apply_patch", patch));
    steps.push(Step::new("run_tests", tests));
    steps
}

fn run_agent(ctx: &mut Ctx<'_>, run: &mut Run, agent: SpanRef) -> Result<u64, RunError> {
    let mut cursor = ctx.builder.start_of(agent) + ctx.pause();
    if run.turn == 0 {
        cursor = plan(ctx, run, agent, cursor)?;
    }
    let task = run.task;
    for step in steps(ctx, run) {
        cursor = tool_round(ctx, run, agent, &step, cursor)?;
    }
    if run.turn == 0 && ctx.rng.chance(0.3) {
        cursor = review(ctx, run, agent, cursor);
    }
    let reply = Message::assistant(summary_of(task, run.turn));
    let call_start = cursor + ctx.pause();
    let result = agent_call(ctx, run, agent, reply, true, call_start);
    settle(result)
}

fn settle(result: CallResult) -> Result<u64, RunError> {
    match result.failure {
        None | Some(Failure::ContentFilter) => Ok(result.end),
        Some(failure) => Err((status_of(failure), result.end)),
    }
}

/// Returns the HTTP status of the response after a failed model call.
fn status_of(failure: Failure) -> i64 {
    if failure == Failure::Timeout {
        504
    } else {
        502
    }
}

/// Runs the planner agent: one call of the reasoning model.
fn plan(ctx: &mut Ctx<'_>, run: &mut Run, parent: SpanRef, start: u64) -> Result<u64, RunError> {
    let planner = agent_span(ctx, run.place, parent, "planner", &O3_MINI, start);
    let input = [Message::system(PLANNER_PROMPT), Message::user(&run.request)];
    let failure = ctx.failure(false, false);
    let call_start = start + ctx.pause();
    let result = calls::chat_with_retry(
        ctx,
        ChatCall {
            model: &O3_MINI,
            parent: planner,
            place: run.place,
            start: call_start,
            input: &input,
            reply: Message::assistant(run.task.plan),
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
    ctx.close_after(planner, result.end);
    if let Some(failure) = result.failure {
        ctx.builder.fail(planner, "planning failed");
        return Err((status_of(failure), ctx.end_of(planner)));
    }
    run.prompt
        .push(Message::user(&format!("Plan:\n{}", run.task.plan)));
    Ok(ctx.end_of(planner))
}

fn agent_span(
    ctx: &mut Ctx<'_>,
    place: Place,
    parent: SpanRef,
    name: &str,
    model: &Model,
    start: u64,
) -> SpanRef {
    let span = operation(
        ctx,
        Operation {
            parent,
            place,
            operation: "invoke_agent",
            name,
            start,
        },
    );
    ctx.builder.add(
        span,
        [
            text("gen_ai.provider.name", model.provider),
            text("gen_ai.request.model", model.request),
        ],
    );
    span
}

/// Records a call of the agent model with the prompt so far.
fn agent_call(
    ctx: &mut Ctx<'_>,
    run: &mut Run,
    agent: SpanRef,
    reply: Message,
    stream: bool,
    start: u64,
) -> CallResult {
    let history: u64 = run.prompt[..run.prompt.len() - 1]
        .iter()
        .map(|message| tokens(message.characters()) + 4)
        .sum();
    // The prefix is in the cache once an earlier call of this request or of an earlier turn
    // sent it.
    let cache_warm = !run.first_call || run.turn > 0;
    let failure = ctx.failure(run.first_call, false);
    run.first_call = false;
    calls::chat_with_retry(
        ctx,
        ChatCall {
            model: &CLAUDE_SONNET_4,
            parent: agent,
            place: run.place,
            start,
            input: &run.prompt,
            reply,
            stream,
            hidden_input_tokens: TOOL_DEFINITION_TOKENS,
            prefix_tokens: TOOL_DEFINITION_TOKENS + history,
            cache_warm,
            timeout_ms: TIMEOUT_MS,
            max_tokens: DEFAULT_MAX_TOKENS,
            json_output: false,
            failure,
            convention: Convention::OpenTelemetry,
        },
    )
}

/// Runs one tool round: the model requests the tool, the tool runs and its result joins the
/// prompt.
fn tool_round(
    ctx: &mut Ctx<'_>,
    run: &mut Run,
    agent: SpanRef,
    step: &Step,
    start: u64,
) -> Result<u64, RunError> {
    let (tool, arguments) = (step.tool, &step.arguments);
    let id = anthropic_call_id(&mut ctx.rng);
    let request = Message {
        role: "assistant",
        parts: vec![
            Part::Text(intent(tool).to_owned()),
            Part::ToolCall {
                id: id.clone(),
                name: tool.to_owned(),
                arguments: arguments.clone(),
            },
        ],
    };
    let call_start = start + ctx.pause();
    let call = agent_call(ctx, run, agent, request.clone(), true, call_start);
    settle(call)?;

    let tool_start = call.end + ctx.pause();
    let span = operation(
        ctx,
        Operation {
            parent: agent,
            place: run.place,
            operation: "execute_tool",
            name: tool,
            start: tool_start,
        },
    );
    ctx.builder.add(
        span,
        [
            text("gen_ai.tool.type", "function"),
            text("gen_ai.tool.call.id", &id),
            text("gen_ai.tool.call.arguments", &arguments.to_string()),
        ],
    );
    let (result, end) = run_tool(ctx, run, span, step);
    ctx.builder
        .add(span, [text("gen_ai.tool.call.result", &result.to_string())]);
    ctx.builder.close(span, end);
    run.prompt.push(request);
    run.prompt.push(Message::tool_result(&id, result));
    Ok(end)
}

fn intent(tool: &str) -> &'static str {
    match tool {
        "search_code" => "Let me find where this is implemented.",
        "read_file" => "I'll read the relevant file.",
        "apply_patch" => "Now I'll make the change.",
        _ => "Let me run the tests.",
    }
}

/// Runs a tool; returns its result and when it ended.
fn run_tool(ctx: &mut Ctx<'_>, run: &Run, span: SpanRef, step: &Step) -> (Value, u64) {
    let start = ctx.builder.start_of(span) + ctx.pause();
    let task = run.task;
    match step.tool {
        "search_code" => {
            let end = search_code(ctx, run, span, start);
            (json!({"matches": task.files}), end + ctx.pause())
        }
        "read_file" if step.fails => {
            ctx.builder
                .add(span, [text("error.type", "FileNotFoundError")]);
            let path = step.arguments["path"].as_str().unwrap_or_default();
            let message = format!("[Errno 2] No such file or directory: '{path}'");
            ctx.builder.fail(span, &message);
            (
                json!({"error": message}),
                start + ms(ctx.rng.uniform(0.3, 2.0)),
            )
        }
        "read_file" => {
            let end = start + ms(ctx.rng.uniform(0.5, 6.0));
            (json!({"path": task.files[0], "content": task.excerpt}), end)
        }
        "apply_patch" => {
            let end = start + ms(ctx.rng.uniform(2.0, 25.0));
            (json!({"applied": true, "files_changed": 1}), end)
        }
        _ => run_tests(ctx, run, span, step.fails, start),
    }
}

fn search_code(ctx: &mut Ctx<'_>, run: &Run, parent: SpanRef, start: u64) -> u64 {
    let retrieval = ctx.open(
        Some(parent),
        run.place,
        &GENAI_UTIL,
        SpanKind::Client,
        format!("retrieval {CODE_INDEX}"),
        start,
    );
    let listed: Vec<Value> = run
        .task
        .files
        .iter()
        .map(|path| json!({"id": path, "score": 0.81}))
        .collect();
    ctx.builder.add(
        retrieval,
        [
            text("gen_ai.operation.name", "retrieval"),
            text("gen_ai.data_source.id", CODE_INDEX),
            int("gen_ai.request.top_k", 8),
            text("gen_ai.retrieval.query.text", run.task.search),
            text("gen_ai.retrieval.documents", &json!(listed).to_string()),
        ],
    );
    let failure = ctx
        .failure(false, false)
        .filter(|failure| *failure == Failure::RateLimited);
    let embed_start = start + ctx.pause();
    let embedded = calls::embedding(
        ctx,
        EmbeddingCall {
            model: &TEXT_EMBEDDING_3_SMALL,
            parent: retrieval,
            place: run.place,
            start: embed_start,
            inputs: &[run.task.search.to_owned()],
            failure,
            convention: Convention::OpenTelemetry,
        },
    );
    // A failed embedding falls back to a keyword search, which takes a little longer.
    let searched = embedded.end + ms(ctx.rng.log_uniform(5.0, 60.0));
    ctx.builder.close(retrieval, searched);
    searched
}

fn run_tests(
    ctx: &mut Ctx<'_>,
    run: &Run,
    parent: SpanRef,
    fails: bool,
    start: u64,
) -> (Value, u64) {
    let span = function(ctx, parent, run.place, "pytest", start);
    ctx.builder.add(
        span,
        [
            text("process.command", "pytest"),
            text(
                "process.command_args",
                &format!("pytest -q {}", run.task.tests),
            ),
            int("process.exit.code", i64::from(fails)),
        ],
    );
    let end = start + ms(ctx.rng.log_uniform(900.0, 9_000.0));
    ctx.builder.close(span, end);
    let output = if fails {
        run.task.failure
    } else {
        "all tests passed"
    };
    (
        json!({"exit_code": i64::from(fails), "output": output}),
        end + ctx.pause(),
    )
}

/// Runs a reviewer agent, with another provider's model, over the change.
fn review(ctx: &mut Ctx<'_>, run: &Run, parent: SpanRef, start: u64) -> u64 {
    let review_start = start + ctx.pause();
    let reviewer = agent_span(ctx, run.place, parent, "reviewer", &GPT_4O, review_start);
    let input = [
        Message::system("Review this patch for bugs and missing tests. Reply LGTM or list issues."),
        Message::user(run.task.patch),
    ];
    let failure = ctx.failure(false, false);
    let call_start = ctx.builder.start_of(reviewer) + ctx.pause();
    let result = calls::chat_with_retry(
        ctx,
        ChatCall {
            model: &GPT_4O,
            parent: reviewer,
            place: run.place,
            start: call_start,
            input: &input,
            reply: Message::assistant("LGTM. The change is minimal and the new test covers it."),
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
    if result.failure.is_some() {
        // The review is optional: the agent goes on without it.
        ctx.builder.fail(reviewer, "review failed");
    }
    ctx.close_after(reviewer, result.end);
    ctx.end_of(reviewer)
}
