//! The normalization entry point: one OTLP span, with its resource and scope, to one
//! canonical span.
//!
//! The span's attributes are converted to a JSON map once, and every reader looks keys up in
//! that map. JSON string attributes are parsed only by the reader that interprets them.

use glassbox_model::{CostStatus, Span, SpanEvent, SpanId, SpanKind, SpanStatus, TraceId};
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use opentelemetry_proto::tonic::trace::v1::span::Event;
use serde_json::{Map, Value};

use crate::attributes::attributes_to_map;
use crate::error::NormalizeError;
use crate::lookup::Attributes;
use crate::usage::UsageContext;
use crate::{
    context, cost, finish, kind, messages, models, names, provider, status, timing, usage,
};

/// Maximum length of a span name quoted in an error message, in characters.
const MAX_NAME_IN_ERROR: usize = 80;

/// Normalizes one OTLP span into the canonical [`Span`].
///
/// Fails only when the span cannot be stored. That is a trace id that is not 16 bytes or is
/// all zero, a span id that is not 8 bytes or is all zero, or a parent span id that is
/// neither empty nor 8 bytes. Everything else is lenient: a value of an unexpected type
/// leaves its canonical field `None` and stays in [`Span::attributes`].
pub fn normalize_span(
    resource: Option<&Resource>,
    scope: Option<&InstrumentationScope>,
    span: &OtlpSpan,
) -> Result<Span, NormalizeError> {
    let (trace_id, span_id, parent_span_id) = validate_ids(span)?;

    let attribute_map = attributes_to_map(&span.attributes);
    let resource_map =
        resource.map_or_else(Map::new, |resource| attributes_to_map(&resource.attributes));
    let attributes = Attributes::new(&attribute_map);

    let mut out = Span::new(trace_id, span_id, span.name.clone());
    out.parent_span_id = parent_span_id;
    out.start_time_unix_nano = span.start_time_unix_nano;
    out.end_time_unix_nano = span.end_time_unix_nano;
    out.service_name = Attributes::new(&resource_map)
        .text(names::SERVICE_NAME)
        .map(str::to_owned);
    out.scope_name = scope
        .map(|scope| scope.name.clone())
        .filter(|name| !name.is_empty());

    fill_genai_fields(&mut out, &attributes, &resource_map, scope, span);

    out.events = span.events.iter().map(convert_event).collect();
    out.attributes = attribute_map;
    out.resource_attributes = resource_map;
    Ok(out)
}

/// Fills every field that the GenAI conventions determine.
fn fill_genai_fields(
    out: &mut Span,
    attributes: &Attributes<'_>,
    resource: &Map<String, Value>,
    scope: Option<&InstrumentationScope>,
    span: &OtlpSpan,
) {
    let invocation_parameters = models::invocation_parameters(attributes);

    out.operation = kind::operation(attributes);
    out.kind = kind::kind(attributes, out.operation.as_deref());

    let outcome = status::outcome(attributes, span.status.as_ref(), &span.events);
    let failed = outcome.status == SpanStatus::Error;
    out.status = outcome.status;
    out.status_message = outcome.message;
    out.error_type = outcome.error_type;

    out.provider = provider::provider(attributes);
    let models = models::models(attributes, invocation_parameters.as_ref(), failed);
    out.request_model = models.request;
    out.response_model = models.response;
    out.response_id = models::response_id(attributes);

    let usage_context = UsageContext {
        openlit: is_openlit(attributes, resource, scope),
        anthropic: out.provider.as_deref() == Some("anthropic"),
    };
    out.usage = usage::usage(attributes, usage_context);

    out.streaming = timing::streaming(attributes, invocation_parameters.as_ref());
    out.ttft_ms = timing::ttft_ms(
        attributes,
        &span.events,
        span.start_time_unix_nano,
        out.streaming,
    );

    let content = messages::content(attributes, out.kind);
    out.input_messages = content.input;
    out.output_messages = content.output;
    out.finish_reasons = finish::finish_reasons(attributes, content.finish_reasons);

    out.tool_name = tool_name(attributes, out.kind, &span.name);
    out.user_id = context::user_id(attributes);
    out.session_id = context::session_id(attributes);
    out.tags = context::tags(attributes);
    out.metadata = context::metadata(attributes);

    out.cost_usd = cost::reported_cost(attributes, failed);
    out.cost_status = out.cost_usd.map(|_| CostStatus::Reported);
}

/// Checks the ids; returns the trace id, span id and parent span id (`None` for a root).
fn validate_ids(span: &OtlpSpan) -> Result<(TraceId, SpanId, Option<SpanId>), NormalizeError> {
    let span_name = || short_name(&span.name);

    let trace_id =
        TraceId::from_slice(&span.trace_id).map_err(|_| NormalizeError::TraceIdLength {
            got: span.trace_id.len(),
            span_name: span_name(),
        })?;
    if trace_id.is_zero() {
        return Err(NormalizeError::TraceIdZero {
            span_name: span_name(),
        });
    }

    let span_id = SpanId::from_slice(&span.span_id).map_err(|_| NormalizeError::SpanIdLength {
        got: span.span_id.len(),
        span_name: span_name(),
    })?;
    if span_id.is_zero() {
        return Err(NormalizeError::SpanIdZero {
            span_name: span_name(),
        });
    }

    if span.parent_span_id.is_empty() {
        return Ok((trace_id, span_id, None));
    }
    let parent = SpanId::from_slice(&span.parent_span_id).map_err(|_| {
        NormalizeError::ParentSpanIdLength {
            got: span.parent_span_id.len(),
            span_name: span_name(),
        }
    })?;
    // An all-zero parent is not a span; such a span is a root.
    Ok((trace_id, span_id, (!parent.is_zero()).then_some(parent)))
}

fn short_name(name: &str) -> String {
    match name.char_indices().nth(MAX_NAME_IN_ERROR) {
        Some((index, _)) => format!("{}...", &name[..index]),
        None => name.to_owned(),
    }
}

/// Tells whether the span comes from OpenLIT, whose Anthropic input counts leave out cache
/// tokens.
fn is_openlit(
    attributes: &Attributes<'_>,
    resource: &Map<String, Value>,
    scope: Option<&InstrumentationScope>,
) -> bool {
    let sdk_name = attributes
        .text(names::TELEMETRY_SDK_NAME)
        .or_else(|| Attributes::new(resource).text(names::TELEMETRY_SDK_NAME));
    sdk_name == Some(names::OPENLIT)
        || scope.is_some_and(|scope| scope.name.starts_with(names::OPENLIT))
}

/// Returns the tool name of a tool span. Traceloop names tools by the decorated function,
/// and Langfuse only by the observation (span) name.
fn tool_name(attributes: &Attributes<'_>, kind: SpanKind, span_name: &str) -> Option<String> {
    if kind != SpanKind::Tool {
        return None;
    }
    if let Some(name) = attributes.first_text(names::TOOL_NAME) {
        return Some(name.to_owned());
    }
    if attributes.text(names::TRACELOOP_SPAN_KIND) == Some("tool")
        && let Some(name) = attributes.text(names::TRACELOOP_ENTITY_NAME)
    {
        return Some(name.to_owned());
    }
    let langfuse_tool = attributes.text(names::LANGFUSE_OBSERVATION_TYPE) == Some("tool");
    (langfuse_tool && !span_name.is_empty()).then(|| span_name.to_owned())
}

fn convert_event(event: &Event) -> SpanEvent {
    SpanEvent {
        name: event.name.clone(),
        time_unix_nano: event.time_unix_nano,
        attributes: attributes_to_map(&event.attributes),
    }
}

#[cfg(test)]
mod tests;
