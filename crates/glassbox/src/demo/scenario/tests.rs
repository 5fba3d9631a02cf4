use std::collections::{BTreeSet, HashMap};

use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

use super::*;
use crate::demo::schedule::{Planner, SECOND};
use crate::demo::trace::DemoSpan;

/// 2026-03-04T00:00:00Z.
const DAY_START: u64 = 1_772_582_400 * SECOND;

fn traces(count: u64) -> Vec<DemoTrace> {
    let mut planner = Planner::new(11, 0);
    (0..count)
        .map(|index| generate(&planner.plan(index, DAY_START + index * 45 * SECOND)))
        .collect()
}

fn attribute<'a>(span: &'a DemoSpan, key: &str) -> Option<&'a str> {
    let value = span.attributes.iter().find(|pair| pair.key == key)?;
    match value.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(text) => Some(text),
        _ => None,
    }
}

#[test]
fn spans_nest_inside_their_parents() {
    for trace in traces(150) {
        let by_id: HashMap<[u8; 8], &DemoSpan> = trace
            .spans
            .iter()
            .map(|span| (span.span_id, span))
            .collect();
        assert_eq!(by_id.len(), trace.spans.len(), "duplicate span ids");
        assert!(trace.spans[0].parent.is_none());
        assert_eq!(
            trace
                .spans
                .iter()
                .filter(|span| span.parent.is_none())
                .count(),
            1
        );
        for span in &trace.spans[1..] {
            let parent = span.parent.and_then(|id| by_id.get(&id));
            let parent = parent.unwrap_or_else(|| panic!("{} has no parent", span.name));
            assert!(
                span.start >= parent.start,
                "{} starts before {}",
                span.name,
                parent.name
            );
            assert!(
                span.end <= parent.end,
                "{} ends after {}",
                span.name,
                parent.name
            );
            assert!(span.start <= span.end, "{}", span.name);
        }
    }
}

#[test]
fn root_ends_at_the_planned_time() {
    let mut planner = Planner::new(3, 0);
    for index in 0..30 {
        let plan = planner.plan(index, DAY_START + index * SECOND);
        let trace = generate(&plan);
        assert_eq!(trace.spans[0].end, plan.end_unix_ns);
    }
}

#[test]
fn traces_are_several_levels_deep() {
    let deepest = traces(60)
        .iter()
        .map(|trace| {
            let parents: HashMap<[u8; 8], Option<[u8; 8]>> = trace
                .spans
                .iter()
                .map(|span| (span.span_id, span.parent))
                .collect();
            trace
                .spans
                .iter()
                .map(|span| {
                    let mut depth = 0;
                    let mut parent = span.parent;
                    while let Some(id) = parent {
                        depth += 1;
                        parent = parents.get(&id).copied().flatten();
                    }
                    depth
                })
                .max()
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0);
    assert!(
        deepest >= 4,
        "deepest span is {deepest} levels below the root"
    );
}

#[test]
fn both_conventions_mark_every_kind() {
    let traces = traces(150);
    let spans = || traces.iter().flat_map(|trace| &trace.spans);
    let operations: BTreeSet<&str> = spans()
        .filter_map(|span| attribute(span, "gen_ai.operation.name"))
        .collect();
    for operation in [
        "chat",
        "generate_content",
        "embeddings",
        "retrieval",
        "rerank",
        "execute_tool",
        "invoke_agent",
        "invoke_workflow",
    ] {
        assert!(operations.contains(operation), "no {operation} span");
    }
    let openinference: BTreeSet<&str> = spans()
        .filter_map(|span| attribute(span, "openinference.span.kind"))
        .collect();
    for kind in ["LLM", "EMBEDDING", "RETRIEVER", "RERANKER", "CHAIN"] {
        assert!(openinference.contains(kind), "no OpenInference {kind} span");
    }
}

#[test]
fn failures_carry_error_attributes() {
    let traces = traces(150);
    let failed_calls: Vec<&DemoSpan> = traces
        .iter()
        .flat_map(|trace| &trace.spans)
        .filter(|span| span.status == StatusCode::Error)
        .filter(|span| attribute(span, "gen_ai.request.model").is_some())
        .collect();
    let types: BTreeSet<&str> = failed_calls
        .iter()
        .filter_map(|span| attribute(span, "error.type"))
        .collect();
    for error_type in ["RateLimitError", "APITimeoutError"] {
        assert!(types.contains(error_type), "no {error_type} in {types:?}");
    }
    let statuses: BTreeSet<i64> = failed_calls
        .iter()
        .filter_map(|span| {
            let pair = span
                .attributes
                .iter()
                .find(|pair| pair.key == "http.response.status_code")?;
            match pair.value.as_ref()?.value.as_ref()? {
                any_value::Value::IntValue(status) => Some(*status),
                _ => None,
            }
        })
        .collect();
    for status in [400, 429, 500] {
        assert!(
            statuses.contains(&status),
            "no HTTP {status} in {statuses:?}"
        );
    }
    assert!(
        statuses.contains(&503) || statuses.contains(&529),
        "{statuses:?}"
    );
    let filtered = traces
        .iter()
        .flat_map(|trace| &trace.spans)
        .filter_map(|span| attribute(span, "gen_ai.output.messages"))
        .any(|messages| messages.contains("\"content_filter\""));
    assert!(filtered, "no content filter stop");
}
