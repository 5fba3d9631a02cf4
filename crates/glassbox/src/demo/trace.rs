//! Generated traces before encoding: spans with their service, scope and OTLP fields.
//!
//! Scenarios build a trace forward in time from 0; [`TraceBuilder::finish`] then moves every
//! time so that the root span ends at the trace's planned time.

use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

use crate::demo::catalog::services::{Scope, Service};
use crate::demo::rng::Rng;

/// Nanoseconds in one millisecond.
pub const MILLISECOND: u64 = 1_000_000;

/// The service and host that a span runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// The service.
    pub service: &'static Service,
    /// The host, one of the service's.
    pub host: &'static str,
}

impl Place {
    /// Picks a host of the service.
    pub fn pick(rng: &mut Rng, service: &'static Service) -> Place {
        Place {
            service,
            host: rng.choose(service.hosts),
        }
    }
}

/// One generated span.
#[derive(Debug, Clone)]
pub struct DemoSpan {
    /// The service and host that recorded it.
    pub place: Place,
    /// The library that recorded it.
    pub scope: &'static Scope,
    /// The span id.
    pub span_id: [u8; 8],
    /// The parent's span id; `None` for the root.
    pub parent: Option<[u8; 8]>,
    /// The span name.
    pub name: String,
    /// The OTLP span kind.
    pub kind: SpanKind,
    /// Start time in nanoseconds: relative while building, Unix time once finished.
    pub start: u64,
    /// End time, on the same clock as `start`.
    pub end: u64,
    /// Attributes in the order they were set.
    pub attributes: Vec<KeyValue>,
    /// Span events.
    pub events: Vec<Event>,
    /// OTLP status code.
    pub status: StatusCode,
    /// Status message, empty unless the span failed.
    pub status_message: String,
}

/// One generated trace.
#[derive(Debug, Clone)]
pub struct DemoTrace {
    /// The trace id.
    pub trace_id: [u8; 16],
    /// Spans in the order they were opened; the first is the root.
    pub spans: Vec<DemoSpan>,
}

/// A handle to a span of the trace being built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanRef(usize);

/// The fields of a new span: its parent, place, scope, kind, name and start.
#[derive(Debug, Clone)]
pub struct SpanStart {
    /// The parent, or `None` for the root.
    pub parent: Option<SpanRef>,
    /// The service and host.
    pub place: Place,
    /// The library that records it.
    pub scope: &'static Scope,
    /// The OTLP span kind.
    pub kind: SpanKind,
    /// The span name.
    pub name: String,
    /// Start time on the trace's relative clock.
    pub start: u64,
}

/// Builds the spans of one trace.
#[derive(Debug)]
pub struct TraceBuilder {
    trace: DemoTrace,
}

impl TraceBuilder {
    /// Starts an empty trace.
    pub fn new(trace_id: [u8; 16]) -> TraceBuilder {
        TraceBuilder {
            trace: DemoTrace {
                trace_id,
                spans: Vec::new(),
            },
        }
    }

    /// Opens a span; it lasts no time until [`TraceBuilder::close`] sets its end.
    pub fn open(&mut self, rng: &mut Rng, start: SpanStart) -> SpanRef {
        let parent = start
            .parent
            .map(|parent| self.trace.spans[parent.0].span_id);
        self.trace.spans.push(DemoSpan {
            place: start.place,
            scope: start.scope,
            span_id: rng.span_id(),
            parent,
            name: start.name,
            kind: start.kind,
            start: start.start,
            end: start.start,
            attributes: Vec::new(),
            events: Vec::new(),
            status: StatusCode::Unset,
            status_message: String::new(),
        });
        SpanRef(self.trace.spans.len() - 1)
    }

    /// Sets the end of a span.
    pub fn close(&mut self, span: SpanRef, end: u64) {
        let span = &mut self.trace.spans[span.0];
        span.end = end.max(span.start);
    }

    /// Returns the start of a span.
    pub fn start_of(&self, span: SpanRef) -> u64 {
        self.trace.spans[span.0].start
    }

    /// Returns the end of a span.
    pub fn end_of(&self, span: SpanRef) -> u64 {
        self.trace.spans[span.0].end
    }

    /// Adds attributes to a span.
    pub fn add(&mut self, span: SpanRef, attributes: impl IntoIterator<Item = KeyValue>) {
        self.trace.spans[span.0].attributes.extend(attributes);
    }

    /// Adds an event to a span.
    pub fn event(&mut self, span: SpanRef, name: &str, time: u64, attributes: Vec<KeyValue>) {
        self.trace.spans[span.0].events.push(Event {
            time_unix_nano: time,
            name: name.to_owned(),
            attributes,
            dropped_attributes_count: 0,
        });
    }

    /// Marks a span as failed.
    pub fn fail(&mut self, span: SpanRef, message: &str) {
        let span = &mut self.trace.spans[span.0];
        span.status = StatusCode::Error;
        span.status_message = message.to_owned();
    }

    /// Marks a span as successful, as instrumentations that set status OK do.
    pub fn succeed(&mut self, span: SpanRef) {
        self.trace.spans[span.0].status = StatusCode::Ok;
    }

    /// Moves every time so that the root span ends at `root_end_unix_ns`, and returns the trace.
    pub fn finish(mut self, root_end_unix_ns: u64) -> DemoTrace {
        let root_end = self.trace.spans.first().map_or(0, |root| root.end);
        let shift = root_end_unix_ns.saturating_sub(root_end);
        for span in &mut self.trace.spans {
            span.start += shift;
            span.end += shift;
            for event in &mut span.events {
                event.time_unix_nano += shift;
            }
        }
        self.trace
    }
}

fn attribute(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

/// Returns a string attribute.
pub fn text(key: &str, value: &str) -> KeyValue {
    attribute(key, any_value::Value::StringValue(value.to_owned()))
}

/// Returns an integer attribute.
pub fn int(key: &str, value: i64) -> KeyValue {
    attribute(key, any_value::Value::IntValue(value))
}

/// Returns an integer attribute from a count, capped at `i64::MAX`.
pub fn count(key: &str, value: u64) -> KeyValue {
    int(key, i64::try_from(value).unwrap_or(i64::MAX))
}

/// Returns a floating-point attribute.
pub fn float(key: &str, value: f64) -> KeyValue {
    attribute(key, any_value::Value::DoubleValue(value))
}

/// Returns a boolean attribute.
pub fn flag(key: &str, value: bool) -> KeyValue {
    attribute(key, any_value::Value::BoolValue(value))
}

/// Returns a string array attribute.
pub fn texts(key: &str, values: &[&str]) -> KeyValue {
    let values = values
        .iter()
        .map(|value| AnyValue {
            value: Some(any_value::Value::StringValue((*value).to_owned())),
        })
        .collect();
    attribute(key, any_value::Value::ArrayValue(ArrayValue { values }))
}

/// Converts milliseconds to nanoseconds, rounded down.
pub fn ms(milliseconds: f64) -> u64 {
    (milliseconds.max(0.0) * MILLISECOND as f64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::catalog::services::{GENAI_UTIL, SUPPORT_CHATBOT};

    fn start(parent: Option<SpanRef>, at: u64) -> SpanStart {
        SpanStart {
            parent,
            place: Place {
                service: &SUPPORT_CHATBOT,
                host: "host",
            },
            scope: &GENAI_UTIL,
            kind: SpanKind::Internal,
            name: "step".into(),
            start: at,
        }
    }

    #[test]
    fn finish_moves_root_end_to_the_given_time() {
        let mut rng = Rng::new(1);
        let mut builder = TraceBuilder::new([7; 16]);
        let root = builder.open(&mut rng, start(None, 0));
        let child = builder.open(&mut rng, start(Some(root), 5));
        builder.event(child, "first", 6, Vec::new());
        builder.close(child, 8);
        builder.close(root, 10);

        let trace = builder.finish(1_000);
        assert_eq!(trace.spans[0].start, 990);
        assert_eq!(trace.spans[0].end, 1_000);
        assert_eq!(trace.spans[1].start, 995);
        assert_eq!(trace.spans[1].events[0].time_unix_nano, 996);
        assert_eq!(trace.spans[1].parent, Some(trace.spans[0].span_id));
    }
}
