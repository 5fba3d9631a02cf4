//! A turn of a support chat: the HTTP request, a workflow that loads the history, classifies
//! the message with a small model, runs the support agent (a tool call, then a streamed
//! answer) and saves the reply.
//!
//! ```text
//! POST /api/chat                                   server
//! └─ invoke_workflow support_turn                  chain
//!    ├─ load_history ─ SELECT messages             other
//!    ├─ chat gpt-4o-mini                           llm (intent)
//!    ├─ invoke_agent support_agent                 agent
//!    │  ├─ chat gpt-4o                             llm (tool call)
//!    │  ├─ execute_tool lookup_order ─ SELECT ...  tool
//!    │  │  (search_help_center calls the search API: POST /v1/search ─ embeddings, retrieval, rerank)
//!    │  └─ chat gpt-4o                             llm (streamed answer)
//!    └─ save_message ─ INSERT messages             other
//! ```

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use serde_json::{Value, json};

use crate::demo::catalog::flagged::{
    BROKEN_CLASSIFIER_REPLIES, FOREIGN_OPENERS, INJECTION_MESSAGE, INJECTION_REFUSAL, PersonalData,
};
use crate::demo::catalog::help_center;
use crate::demo::catalog::models::{GPT_4O, GPT_4O_MINI};
use crate::demo::catalog::services::{HTTPX, SUPPORT_CHATBOT};
use crate::demo::catalog::support::{
    AGENT_SYSTEM_PROMPT, CLASSIFIER_SYSTEM_PROMPT, FILTERED_MESSAGE, FILTERED_REPLY, Facts,
    SupportTool, SupportTopic, TOPICS,
};
use crate::demo::messages::{Message, Part, openai_call_id};
use crate::demo::rng::Rng;
use crate::demo::scenario::calls::{
    self, CallResult, ChatCall, Convention, DEFAULT_MAX_TOKENS, tokens,
};
use crate::demo::scenario::failure::Failure;
use crate::demo::scenario::{
    Ctx, Finding, HttpRequest, Operation, Showcase, TracePlan, fail_all, function, http_response,
    http_server, operation, query, search,
};
use crate::demo::trace::{Place, SpanRef, int, ms, text};

/// Prompt tokens of the agent's tool definitions and policy excerpt, sent on every call.
const TOOL_DEFINITION_TOKENS: u64 = 1_150;
/// The chatbot's client timeout for model calls, in milliseconds.
const TIMEOUT_MS: f64 = 30_000.0;

/// The findings of whole conversations and the share of conversations with each, in the
/// order they are drawn; a conversation shows at most one.
const CONVERSATION_FINDINGS: [(Finding, f64); 3] = [
    (Finding::Injection, 0.01),
    (Finding::ForeignLanguage, 0.02),
    (Finding::PersonalData, 0.03),
];
/// Share of classifier calls whose answer is not valid JSON.
const BROKEN_JSON_SHARE: f64 = 0.015;
/// Random stream of the texts of a conversation's finding, apart from the conversation's own.
const FINDING_TEXT_STREAM: u64 = 1;

/// The whole conversation of a session, the same for each of its turns.
struct Conversation {
    topic: &'static SupportTopic,
    facts: Facts,
    /// User message and answer of each turn.
    turns: Vec<(String, String)>,
    /// The finding that the analyzers flag in the conversation, if any.
    finding: Option<Finding>,
}

/// Returns the finding of a conversation, if any: the one the plan forces, else a drawn one.
fn conversation_finding(plan: &TracePlan) -> Option<Finding> {
    let forced = match plan.showcase {
        Some(Showcase::Finding(finding)) => CONVERSATION_FINDINGS
            .iter()
            .any(|(known, _)| *known == finding)
            .then_some(finding),
        _ => None,
    };
    forced.or_else(|| {
        CONVERSATION_FINDINGS
            .iter()
            .find(|(finding, share)| plan.session_shows(*finding, *share))
            .map(|(finding, _)| *finding)
    })
}

fn conversation(seed: u64, turns: usize, finding: Option<Finding>) -> Conversation {
    let mut rng = Rng::new(seed);
    let mut topic = rng.pick(TOPICS);
    let facts = Facts::draw(&mut rng);
    let mut opener = facts.fill(rng.choose(topic.openers));
    let mut answer = facts.fill(rng.choose(topic.answers));

    let mut extra = Rng::derive(seed, FINDING_TEXT_STREAM, 0);
    match finding {
        Some(Finding::Injection) => {
            opener = INJECTION_MESSAGE.to_owned();
            answer = INJECTION_REFUSAL.to_owned();
        }
        Some(Finding::ForeignLanguage) => {
            // The foreign openers ask where an order is, which the first topic answers.
            topic = &TOPICS[0];
            opener = facts.fill(extra.choose(FOREIGN_OPENERS));
            answer = facts.fill(extra.choose(topic.answers));
        }
        Some(Finding::PersonalData) => {
            let aside = PersonalData::draw(&mut extra).aside(&mut extra);
            opener = format!("{opener} {aside}");
        }
        _ => {}
    }

    let mut list = vec![(opener, answer)];
    for turn in 1..turns {
        let index = (turn - 1) % topic.follow_ups.len();
        list.push((
            facts.fill(topic.follow_ups[index]),
            facts.fill(topic.follow_up_answers[index]),
        ));
    }
    Conversation {
        topic,
        facts,
        turns: list,
        finding,
    }
}

/// The state of one turn while its spans are generated.
struct Turn {
    place: Place,
    conversation: Conversation,
    turn: usize,
    /// The customer's message.
    message: String,
    /// The prompt so far: system prompt, history, the message, tool calls and results.
    prompt: Vec<Message>,
}

/// Generates one turn of a support chat.
pub fn trace(ctx: &mut Ctx<'_>) {
    let place = Place::pick(&mut ctx.rng, &SUPPORT_CHATBOT);
    let (seed, turn) = ctx
        .plan
        .session
        .as_ref()
        .map_or((ctx.plan.seed, 0), |session| (session.seed, session.turn));
    let conversation = conversation(seed, turn + 1, conversation_finding(ctx.plan));
    let mut message = conversation.turns[turn].0.clone();
    if ctx.plan.forced_failure() == Some(Failure::ContentFilter) {
        message = FILTERED_MESSAGE.to_owned();
    }
    let mut state = Turn {
        place,
        prompt: prompt(&conversation, turn, &message),
        conversation,
        turn,
        message,
    };

    let root = http_server(
        ctx,
        HttpRequest {
            parent: None,
            place,
            method: "POST",
            route: "/api/chat",
            path: "/api/chat",
            start: 0,
        },
    );
    let workflow_start = ms(ctx.rng.uniform(0.5, 3.0));
    let workflow = operation(
        ctx,
        Operation {
            parent: root,
            place,
            operation: "invoke_workflow",
            name: "support_turn",
            start: workflow_start,
        },
    );
    let status = run_workflow(ctx, &mut state, root, workflow);
    let end = ctx.end_of(workflow) + ms(ctx.rng.uniform(0.3, 2.0));
    http_response(ctx, root, status, end);
}

fn prompt(conversation: &Conversation, turn: usize, message: &str) -> Vec<Message> {
    let mut prompt = vec![Message::system(AGENT_SYSTEM_PROMPT)];
    for (user, answer) in &conversation.turns[..turn] {
        prompt.push(Message::user(user));
        prompt.push(Message::assistant(answer));
    }
    prompt.push(Message::user(message));
    prompt
}

/// Runs the workflow's steps and returns the HTTP status of the response.
fn run_workflow(ctx: &mut Ctx<'_>, state: &mut Turn, root: SpanRef, workflow: SpanRef) -> i64 {
    let place = state.place;
    let start = ctx.builder.start_of(workflow) + ctx.pause();
    let load = function(ctx, workflow, place, "load_history", start);
    let statement = "SELECT role, content FROM messages WHERE session_id = $1 ORDER BY created";
    let query_start = start + ctx.pause();
    let loaded = query(ctx, load, place, statement, query_start);
    ctx.close_after(load, loaded);

    let classify_start = ctx.end_of(load) + ctx.pause();
    let classified = classify(ctx, state, workflow, classify_start);
    let agent_start = classified + ctx.pause();
    let (status, agent_end) = match run_agent(ctx, state, workflow, agent_start) {
        Ok(end) => (200, end),
        Err((status, end, message)) => {
            fail_all(ctx, &[workflow, root], &message);
            ctx.close_after(workflow, end);
            return status;
        }
    };

    let save_start = agent_end + ctx.pause();
    let save = function(ctx, workflow, place, "save_message", save_start);
    let statement = "INSERT INTO messages (session_id, role, content) VALUES ($1, $2, $3)";
    let query_start = ctx.builder.start_of(save) + ctx.pause();
    let saved = query(ctx, save, place, statement, query_start);
    ctx.close_after(save, saved);
    ctx.close_after(workflow, ctx.end_of(save));
    status
}

/// Classifies the message with the small model; returns when it is done.
fn classify(ctx: &mut Ctx<'_>, state: &Turn, parent: SpanRef, start: u64) -> u64 {
    let input = [
        Message::system(CLASSIFIER_SYSTEM_PROMPT),
        Message::user(&state.message),
    ];
    let intent = state.conversation.topic.intent;
    let broken = ctx.plan.shows(Finding::BrokenJson, BROKEN_JSON_SHARE);
    let reply = if broken {
        let index = ctx.plan.seed % BROKEN_CLASSIFIER_REPLIES.len() as u64;
        let broken = BROKEN_CLASSIFIER_REPLIES[index as usize];
        broken.replace("{intent}", intent)
    } else {
        json!({"intent": intent, "sentiment": "neutral"}).to_string()
    };
    // A broken reply is there to show the finding, so its call succeeds. The failure is drawn
    // anyway, so the rest of the trace stays the same.
    let failure = ctx.failure(false, false).filter(|_| !broken);
    let result = calls::chat_with_retry(
        ctx,
        ChatCall {
            model: &GPT_4O_MINI,
            parent,
            place: state.place,
            start,
            input: &input,
            reply: Message::assistant(&reply),
            stream: false,
            hidden_input_tokens: 0,
            prefix_tokens: 0,
            cache_warm: false,
            timeout_ms: TIMEOUT_MS,
            max_tokens: DEFAULT_MAX_TOKENS,
            json_output: true,
            failure,
            convention: Convention::OpenTelemetry,
        },
    );
    // A failed classification is not fatal: the agent runs without the intent.
    result.end
}

/// A failed step: the HTTP status, when it ended and the error message.
type StepError = (i64, u64, String);

/// Runs the support agent: an optional tool round, then the streamed answer.
fn run_agent(
    ctx: &mut Ctx<'_>,
    state: &mut Turn,
    parent: SpanRef,
    start: u64,
) -> Result<u64, StepError> {
    let agent = operation(
        ctx,
        Operation {
            parent,
            place: state.place,
            operation: "invoke_agent",
            name: "support_agent",
            start,
        },
    );
    ctx.builder.add(
        agent,
        [
            text("gen_ai.provider.name", GPT_4O.provider),
            text("gen_ai.request.model", GPT_4O.request),
        ],
    );
    let mut cursor = start + ctx.pause();
    if let Some(tool) = tool_of_turn(ctx, state) {
        cursor = tool_round(ctx, state, agent, tool, cursor)
            .map_err(|error| fail_agent(ctx, agent, error))?;
    }
    let answer_start = cursor + ctx.pause();
    let answer = answer(ctx, state, agent, answer_start);
    let end = answer.end + ctx.pause();
    ctx.builder.close(agent, end);
    match answer
        .failure
        .filter(|failure| *failure != Failure::ContentFilter)
    {
        Some(failure) => Err(fail_agent(ctx, agent, step_error(failure, end))),
        None => Ok(end),
    }
}

fn fail_agent(ctx: &mut Ctx<'_>, agent: SpanRef, error: StepError) -> StepError {
    ctx.builder.fail(agent, &error.2);
    ctx.builder.close(agent, error.1);
    error
}

fn step_error(failure: Failure, end: u64) -> StepError {
    let (status, message) = match failure {
        Failure::Timeout => (504, "model call timed out"),
        Failure::RateLimited | Failure::Overloaded => (503, "model provider unavailable"),
        Failure::BadRequest => (500, "model rejected the request"),
        _ => (502, "model provider failed"),
    };
    (status, end, message.to_owned())
}

/// Returns the tool of a turn. The first turn always looks something up, and later turns
/// sometimes search the help center.
fn tool_of_turn(ctx: &mut Ctx<'_>, state: &Turn) -> Option<SupportTool> {
    if state.message == FILTERED_MESSAGE {
        return None;
    }
    if state.turn == 0 && state.conversation.finding == Some(Finding::Injection) {
        // The agent refuses without looking anything up.
        return None;
    }
    if state.turn == 0 {
        return Some(state.conversation.topic.tool);
    }
    ctx.rng
        .chance(0.35)
        .then_some(SupportTool::SearchHelpCenter)
}

/// Runs one tool round: the model requests a tool, the tool runs and its result joins the
/// prompt.
fn tool_round(
    ctx: &mut Ctx<'_>,
    state: &mut Turn,
    agent: SpanRef,
    tool: SupportTool,
    start: u64,
) -> Result<u64, StepError> {
    let topic = state.conversation.topic;
    let id = openai_call_id(&mut ctx.rng);
    let arguments = state.conversation.facts.tool_arguments(tool, topic.query);
    let request = Message {
        role: "assistant",
        parts: vec![Part::ToolCall {
            id: id.clone(),
            name: tool.name().to_owned(),
            arguments: arguments.clone(),
        }],
    };
    let failure = ctx.failure(false, false);
    let call = agent_call(ctx, state, agent, start, request.clone(), false, failure);
    if let Some(failure) = call.failure {
        return Err(step_error(failure, call.end));
    }

    let (result, end) = run_tool(ctx, state, agent, tool, &id, &arguments, call.end);
    state.prompt.push(request);
    state.prompt.push(Message::tool_result(&id, result));
    Ok(end)
}

/// Records a call of the agent's model with the prompt so far.
fn agent_call(
    ctx: &mut Ctx<'_>,
    state: &Turn,
    agent: SpanRef,
    start: u64,
    reply: Message,
    stream: bool,
    failure: Option<Failure>,
) -> CallResult {
    let prefix: u64 = state.prompt[..state.prompt.len() - 1]
        .iter()
        .map(|message| tokens(message.characters()) + 4)
        .sum();
    let warm = state.turn > 0 || state.prompt.len() > 2 + state.turn * 2;
    calls::chat_with_retry(
        ctx,
        ChatCall {
            model: &GPT_4O,
            parent: agent,
            place: state.place,
            start,
            input: &state.prompt,
            reply,
            stream,
            hidden_input_tokens: TOOL_DEFINITION_TOKENS,
            prefix_tokens: TOOL_DEFINITION_TOKENS + prefix,
            cache_warm: warm,
            timeout_ms: TIMEOUT_MS,
            max_tokens: DEFAULT_MAX_TOKENS,
            json_output: false,
            failure,
            convention: Convention::OpenTelemetry,
        },
    )
}

/// Runs a tool; returns its result and when it ended.
fn run_tool(
    ctx: &mut Ctx<'_>,
    state: &Turn,
    agent: SpanRef,
    tool: SupportTool,
    id: &str,
    arguments: &Value,
    start: u64,
) -> (Value, u64) {
    let place = state.place;
    let tool_start = start + ctx.pause();
    let span = operation(
        ctx,
        Operation {
            parent: agent,
            place,
            operation: "execute_tool",
            name: tool.name(),
            start: tool_start,
        },
    );
    ctx.builder.add(
        span,
        [
            text("gen_ai.tool.type", "function"),
            text("gen_ai.tool.call.id", id),
            text("gen_ai.tool.description", tool.description()),
            text("gen_ai.tool.call.arguments", &arguments.to_string()),
        ],
    );
    let inner = ctx.builder.start_of(span) + ctx.pause();
    let facts = &state.conversation.facts;
    let (result, end) = match tool {
        SupportTool::LookupOrder => {
            let statement = "SELECT id, status, carrier, eta FROM orders WHERE id = $1";
            let end = query(ctx, span, place, statement, inner);
            (facts.tool_result(tool), end)
        }
        SupportTool::CheckStock => {
            let statement = "SELECT size, online, store_id FROM stock WHERE product_id = $1";
            let end = query(ctx, span, place, statement, inner);
            (facts.tool_result(tool), end)
        }
        SupportTool::CreateReturnLabel => {
            let end = carrier_request(ctx, span, place, inner);
            (facts.tool_result(tool), end)
        }
        SupportTool::SearchHelpCenter => {
            search_help_center(ctx, span, place, state.conversation.topic.query, inner)
        }
    };
    ctx.builder
        .add(span, [text("gen_ai.tool.call.result", &result.to_string())]);
    ctx.close_after(span, end);
    (result, ctx.end_of(span))
}

/// Calls the carrier's label API, which is not instrumented: only the client span exists.
fn carrier_request(ctx: &mut Ctx<'_>, parent: SpanRef, place: Place, start: u64) -> u64 {
    let span = ctx.open(
        Some(parent),
        place,
        &HTTPX,
        SpanKind::Client,
        "POST".to_owned(),
        start,
    );
    ctx.builder.add(
        span,
        [
            text("http.request.method", "POST"),
            text("url.full", "https://api.parcel-labels.example/v2/labels"),
            text("server.address", "api.parcel-labels.example"),
            int("http.response.status_code", 201),
        ],
    );
    let end = start + ms(ctx.rng.log_uniform(120.0, 900.0));
    ctx.builder.close(span, end);
    end
}

/// Calls the search API over HTTP; its spans join this trace under the client span.
fn search_help_center(
    ctx: &mut Ctx<'_>,
    parent: SpanRef,
    place: Place,
    query: &str,
    start: u64,
) -> (Value, u64) {
    let client = ctx.open(
        Some(parent),
        place,
        &HTTPX,
        SpanKind::Client,
        "POST".to_owned(),
        start,
    );
    let articles = help_center::articles_for_query(query);
    let served = search::serve_search(ctx, client, query, articles, start + ms(1.5));
    ctx.builder.add(
        client,
        [
            text("http.request.method", "POST"),
            text("url.full", "http://rag-search-api:8080/v1/search"),
            text("server.address", "rag-search-api"),
            int("http.response.status_code", 200),
        ],
    );
    let end = served + ms(1.2);
    ctx.builder.close(client, end);
    let found: Vec<Value> = articles
        .iter()
        .filter_map(|index| help_center::ARTICLES.get(*index))
        .map(|article| json!({"id": article.id, "title": article.title, "text": article.text}))
        .collect();
    (json!({"results": found}), end)
}

/// Records the streamed answer to the customer.
fn answer(ctx: &mut Ctx<'_>, state: &Turn, agent: SpanRef, start: u64) -> CallResult {
    let text = if state.message == FILTERED_MESSAGE {
        FILTERED_REPLY
    } else {
        state.conversation.turns[state.turn].1.as_str()
    };
    // The refusal of an injection attempt is there to show the finding, so it succeeds.
    let refusal = state.turn == 0 && state.conversation.finding == Some(Finding::Injection);
    let failure = ctx.failure(true, true).filter(|_| !refusal);
    agent_call(
        ctx,
        state,
        agent,
        start,
        Message::assistant(text),
        true,
        failure,
    )
}
