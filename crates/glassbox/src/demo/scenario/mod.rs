//! Trace shapes: what one request to each demo service records, from the HTTP server span at
//! the root down to model calls, tools, retrievals and database queries.
//!
//! A [`TracePlan`] names the service that handles a trace, when the trace ends, its user and
//! its session turn. [`generate`] turns the plan into spans. Everything random in a trace comes
//! from the plan's seed, so a plan always gives the same trace.

pub mod batch;
pub mod calls;
pub mod coding;
pub mod failure;
pub mod search;
pub mod support;

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;

use crate::demo::catalog::models::Model;
use crate::demo::catalog::services::{ASYNCPG, FASTAPI, GENAI_UTIL, Scope};
use crate::demo::rng::Rng;
use crate::demo::scenario::failure::Failure;
use crate::demo::trace::{DemoTrace, Place, SpanRef, SpanStart, TraceBuilder, int, ms, text};

/// The services' request types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// A turn of a support chat.
    Support,
    /// A question to the help center search API.
    Search,
    /// A request to the coding agent.
    Coding,
    /// A batch of documents to summarize.
    Batch,
}

impl Scenario {
    /// Returns whether the scenario's traces belong to multi-turn sessions.
    pub fn has_sessions(self) -> bool {
        matches!(self, Scenario::Support | Scenario::Coding)
    }
}

/// A feature that the first traces of a run are made to show (see `schedule`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Showcase {
    /// The main model call of the trace fails this way.
    Failure(Failure),
    /// The trace comes from the previous search API release, instrumented with OpenInference.
    OpenInference,
    /// The batch digest is written by this model.
    Digest(&'static Model),
    /// The trace carries text that an analyzer flags.
    Finding(Finding),
}

/// Text in a model call that the rule-based analyzers flag. Each scenario draws the findings
/// that fit it, for a small share of its traces or sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    /// A support customer adds an email address, a phone number or a card number.
    PersonalData,
    /// A support customer tries to override the agent's instructions, and the agent refuses.
    Injection,
    /// A support customer writes in French or German, and the agent answers in English.
    ForeignLanguage,
    /// The support classifier, asked for JSON, answers with text that does not parse.
    BrokenJson,
    /// A developer pastes an environment file with an OpenAI API key into the coding agent.
    LeakedKey,
    /// The search API retrieves a forum post that tries to steer the answer model.
    PoisonedPassage,
    /// A self-hosted model's summary runs past the call's token limit.
    Truncation,
}

impl Finding {
    /// Returns whether the finding belongs to a whole session, so that every later turn
    /// repeats it in its history.
    pub fn is_per_session(self) -> bool {
        matches!(
            self,
            Finding::PersonalData
                | Finding::Injection
                | Finding::ForeignLanguage
                | Finding::LeakedKey
        )
    }
}

/// Independent random stream of the findings, so that drawing them leaves the rest of a
/// trace as it would be without them.
const FINDING_STREAM: u64 = 0x464C_4147;

/// Draws whether the trace or session of `seed` shows `finding`, with the given probability.
pub fn draws_finding(seed: u64, finding: Finding, probability: f64) -> bool {
    Rng::derive(seed, FINDING_STREAM, finding as u64).chance(probability)
}

/// One turn of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTurn {
    /// The session id.
    pub id: String,
    /// The seed of the whole conversation, shared by its turns.
    pub seed: u64,
    /// The turn, from 0.
    pub turn: usize,
}

/// The plan of one trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TracePlan {
    /// Position in the run, from 0.
    pub index: u64,
    /// The seed of everything random in the trace.
    pub seed: u64,
    /// When the root span ends, in Unix nanoseconds.
    pub end_unix_ns: u64,
    /// The request type.
    pub scenario: Scenario,
    /// The user, when the service identifies one.
    pub user: Option<String>,
    /// The session turn, for scenarios with sessions.
    pub session: Option<SessionTurn>,
    /// A feature the trace must show.
    pub showcase: Option<Showcase>,
    /// Whether the trace ends after the search API's latest release, whose answers with
    /// Claude list related articles and so have more output tokens.
    pub after_release: bool,
}

impl TracePlan {
    /// Returns the failure the plan forces on the trace's main model call, if any.
    pub fn forced_failure(&self) -> Option<Failure> {
        match self.showcase {
            Some(Showcase::Failure(failure)) => Some(failure),
            _ => None,
        }
    }

    /// Returns whether the trace shows `finding`: forced by the plan, or drawn with the
    /// given probability from the trace's seed.
    pub fn shows(&self, finding: Finding, probability: f64) -> bool {
        self.showcase == Some(Showcase::Finding(finding))
            || draws_finding(self.seed, finding, probability)
    }

    /// Returns whether the session of the trace shows a per-session `finding`: forced by the
    /// plan of its first turn, or drawn with the given probability from the session's seed.
    pub fn session_shows(&self, finding: Finding, probability: f64) -> bool {
        let seed = self
            .session
            .as_ref()
            .map_or(self.seed, |session| session.seed);
        self.showcase == Some(Showcase::Finding(finding))
            || draws_finding(seed, finding, probability)
    }
}

/// The state of the trace being generated.
#[derive(Debug)]
pub struct Ctx<'p> {
    /// The trace's random numbers.
    pub rng: Rng,
    /// The spans so far.
    pub builder: TraceBuilder,
    /// The plan.
    pub plan: &'p TracePlan,
}

impl Ctx<'_> {
    /// Opens a span.
    pub fn open(
        &mut self,
        parent: Option<SpanRef>,
        place: Place,
        scope: &'static Scope,
        kind: SpanKind,
        name: String,
        start: u64,
    ) -> SpanRef {
        let start = SpanStart {
            parent,
            place,
            scope,
            kind,
            name,
            start,
        };
        self.builder.open(&mut self.rng, start)
    }

    /// Returns the end of a span.
    pub fn end_of(&self, span: SpanRef) -> u64 {
        self.builder.end_of(span)
    }

    /// Closes a span a short pause after `time`.
    pub fn close_after(&mut self, span: SpanRef, time: u64) {
        let end = time + self.pause();
        self.builder.close(span, end);
    }

    /// Returns a short pause of application work, in nanoseconds.
    pub fn pause(&mut self) -> u64 {
        calls::think_time(&mut self.rng)
    }

    /// Returns the draw of a model call's failure, or the plan's forced failure for the
    /// trace's main call.
    pub fn failure(&mut self, main_call: bool, user_facing: bool) -> Option<Failure> {
        let drawn = Failure::draw(&mut self.rng, user_facing);
        if main_call {
            self.plan.forced_failure().or(drawn)
        } else {
            drawn
        }
    }
}

/// Generates the trace of a plan.
pub fn generate(plan: &TracePlan) -> DemoTrace {
    let mut rng = Rng::new(plan.seed);
    let builder = TraceBuilder::new(rng.trace_id());
    let mut ctx = Ctx { rng, builder, plan };
    match plan.scenario {
        Scenario::Support => support::trace(&mut ctx),
        Scenario::Search => search::trace(&mut ctx),
        Scenario::Coding => coding::trace(&mut ctx),
        Scenario::Batch => batch::trace(&mut ctx),
    }
    ctx.builder.finish(plan.end_unix_ns)
}

/// An incoming HTTP request, as the server instrumentation records it.
pub struct HttpRequest<'a> {
    /// The parent span of a request from another instrumented service.
    pub parent: Option<SpanRef>,
    /// The server.
    pub place: Place,
    /// The method.
    pub method: &'a str,
    /// The route template.
    pub route: &'a str,
    /// The path.
    pub path: &'a str,
    /// When the request arrives.
    pub start: u64,
}

/// Opens the server span of an HTTP request, with the user and session the application
/// attaches to it.
pub fn http_server(ctx: &mut Ctx<'_>, request: HttpRequest<'_>) -> SpanRef {
    let name = format!("{} {}", request.method, request.route);
    let span = ctx.open(
        request.parent,
        request.place,
        &FASTAPI,
        SpanKind::Server,
        name,
        request.start,
    );
    let mut attributes = vec![
        text("http.request.method", request.method),
        text("http.route", request.route),
        text("url.path", request.path),
        text("url.scheme", "http"),
        text("network.protocol.version", "1.1"),
        text("server.address", request.place.service.name),
        int("server.port", 8080),
    ];
    if request.parent.is_none() {
        attributes.extend(calls::identity(ctx));
    }
    ctx.builder.add(span, attributes);
    span
}

/// Sets the response status of a server span and closes it; a 5xx status fails the span.
pub fn http_response(ctx: &mut Ctx<'_>, span: SpanRef, status: i64, end: u64) {
    ctx.builder
        .add(span, [int("http.response.status_code", status)]);
    if status >= 500 {
        ctx.builder.fail(span, "");
    }
    ctx.builder.close(span, end);
}

/// Records a PostgreSQL query and returns when it ended.
pub fn query(ctx: &mut Ctx<'_>, parent: SpanRef, place: Place, statement: &str, start: u64) -> u64 {
    let operation = statement.split(' ').next().unwrap_or("SELECT");
    let table = statement
        .split(' ')
        .skip_while(|word| !matches!(*word, "FROM" | "INTO" | "UPDATE"))
        .nth(1)
        .or_else(|| statement.split(' ').nth(1))
        .unwrap_or("unknown");
    let name = format!("{operation} {table}");
    let span = ctx.open(Some(parent), place, &ASYNCPG, SpanKind::Client, name, start);
    ctx.builder.add(
        span,
        [
            text("db.system.name", "postgresql"),
            text("db.namespace", "storefront"),
            text("db.operation.name", operation),
            text("db.collection.name", table),
            text("db.query.text", statement),
            text("server.address", "postgres.storefront.internal"),
            int("server.port", 5432),
        ],
    );
    let end = start + ms(ctx.rng.log_uniform(0.8, 25.0));
    ctx.builder.close(span, end);
    end
}

/// Opens a span of the application's own code, which carries no GenAI attributes.
pub fn function(
    ctx: &mut Ctx<'_>,
    parent: SpanRef,
    place: Place,
    name: &str,
    start: u64,
) -> SpanRef {
    let span = ctx.open(
        Some(parent),
        place,
        &place.service.app,
        SpanKind::Internal,
        name.to_owned(),
        start,
    );
    ctx.builder.add(span, [text("code.function.name", name)]);
    span
}

/// A GenAI operation of the application: an agent, a workflow or a tool.
pub struct Operation<'a> {
    /// The parent span.
    pub parent: SpanRef,
    /// The service and host.
    pub place: Place,
    /// `invoke_agent`, `invoke_workflow` or `execute_tool`.
    pub operation: &'a str,
    /// The agent, workflow or tool name.
    pub name: &'a str,
    /// When it starts.
    pub start: u64,
}

/// Opens the span of a GenAI operation, named as the OpenTelemetry GenAI conventions name it.
pub fn operation(ctx: &mut Ctx<'_>, operation: Operation<'_>) -> SpanRef {
    let span_name = format!("{} {}", operation.operation, operation.name);
    let span = ctx.open(
        Some(operation.parent),
        operation.place,
        &GENAI_UTIL,
        SpanKind::Internal,
        span_name,
        operation.start,
    );
    let name_key = match operation.operation {
        "invoke_agent" => "gen_ai.agent.name",
        "invoke_workflow" => "gen_ai.workflow.name",
        _ => "gen_ai.tool.name",
    };
    let mut attributes = vec![
        text("gen_ai.operation.name", operation.operation),
        text(name_key, operation.name),
    ];
    if let Some(session) = &ctx.plan.session {
        attributes.push(text("gen_ai.conversation.id", &session.id));
    }
    ctx.builder.add(span, attributes);
    span
}

/// Fails every span of `spans` with `message`, as an exception rising through the callers.
pub fn fail_all(ctx: &mut Ctx<'_>, spans: &[SpanRef], message: &str) {
    for span in spans {
        ctx.builder.fail(*span, message);
    }
}

#[cfg(test)]
mod tests;
