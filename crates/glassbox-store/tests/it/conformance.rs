//! The cases. Each receives an empty store.

use std::sync::Arc;

use glassbox_model::{
    ContentTarget, Message, Span, SpanContentPatch, SpanId, SpanKind, SpanStatus, TokenUsage,
    TraceId,
};
use glassbox_store::{Page, SpanFilter, Store, WriteBatch};

const T0: u64 = 1_700_000_000_000_000_000;

pub fn span(trace: u8, id: u8, parent: Option<u8>, start_ms: u64, end_ms: u64) -> Span {
    let mut span = Span::new(TraceId([trace; 16]), SpanId([id; 8]), format!("span-{id}"));
    span.parent_span_id = parent.map(|p| SpanId([p; 8]));
    span.start_time_unix_nano = T0 + start_ms * 1_000_000;
    span.end_time_unix_nano = T0 + end_ms * 1_000_000;
    span.service_name = Some("svc".into());
    span
}

fn llm(trace: u8, id: u8, parent: Option<u8>, start_ms: u64, input: u64, output: u64) -> Span {
    let mut span = span(trace, id, parent, start_ms, start_ms + 10);
    span.kind = SpanKind::Llm;
    span.response_model = Some("gpt-4o-2024-08-06".into());
    span.usage = TokenUsage {
        input: Some(input),
        output: Some(output),
        ..Default::default()
    };
    span.cost_usd = Some(0.5);
    span
}

async fn write_spans(store: &Arc<dyn Store>, spans: Vec<Span>) {
    store
        .write(WriteBatch {
            spans,
            ..Default::default()
        })
        .await
        .unwrap();
}

pub async fn summary_tracks_spans_in_any_order(store: Arc<dyn Store>) {
    let mut failing = llm(1, 3, Some(1), 20, 5, 1);
    failing.status = SpanStatus::Error;
    failing.user_id = Some("u-1".into());
    write_spans(&store, vec![llm(1, 2, Some(1), 5, 10, 2)]).await;
    write_spans(&store, vec![failing]).await;

    let partial = store.trace(TraceId([1; 16])).await.unwrap().unwrap().trace;
    assert_eq!(partial.root_span_id, None);
    assert_eq!(partial.root_name.as_deref(), Some("span-2"));

    write_spans(&store, vec![span(1, 1, None, 0, 100)]).await;
    let trace = store.trace(TraceId([1; 16])).await.unwrap().unwrap();
    let summary = trace.trace;
    assert_eq!(summary.root_span_id, Some(SpanId([1; 8])));
    assert_eq!(summary.root_name.as_deref(), Some("span-1"));
    assert_eq!(summary.span_count, 3);
    assert_eq!(summary.error_count, 1);
    assert_eq!(summary.llm_call_count, 2);
    assert_eq!(summary.input_tokens, 15);
    assert_eq!(summary.output_tokens, 3);
    assert_eq!(summary.total_tokens, 18);
    assert_eq!(summary.cost_usd, Some(1.0));
    assert_eq!(summary.duration_ms(), 100.0);
    assert_eq!(summary.models, vec!["gpt-4o-2024-08-06".to_owned()]);
    assert_eq!(summary.user_id.as_deref(), Some("u-1"));

    let names: Vec<&str> = trace.spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["span-1", "span-2", "span-3"]);
}

pub async fn resent_span_is_counted_once(store: Arc<dyn Store>) {
    let first = llm(2, 1, None, 0, 10, 2);
    write_spans(&store, vec![first.clone(), llm(2, 2, Some(1), 1, 1, 1)]).await;
    let mut resent = first;
    resent.usage.input = Some(20);
    write_spans(&store, vec![resent]).await;

    let detail = store.trace(TraceId([2; 16])).await.unwrap().unwrap();
    assert_eq!(detail.spans.len(), 2);
    assert_eq!(detail.trace.span_count, 2);
    assert_eq!(detail.trace.input_tokens, 21);
}

fn patch(target: ContentTarget, sequence: u64, role: &str, text: &str) -> SpanContentPatch {
    SpanContentPatch {
        target,
        time_unix_nano: T0,
        sequence,
        event_name: "gen_ai.user.message".into(),
        input_messages: vec![Message::text(role, text)],
        output_messages: Vec::new(),
        finish_reasons: Vec::new(),
        replaces: false,
    }
}

pub async fn content_applies_whichever_arrives_first(store: Arc<dyn Store>) {
    let target = ContentTarget::Span {
        trace_id: TraceId([3; 16]),
        span_id: SpanId([1; 8]),
    };
    let write_patch = |p: SpanContentPatch| WriteBatch {
        content_patches: vec![p],
        ..Default::default()
    };
    store
        .write(write_patch(patch(target.clone(), 1, "system", "be terse")))
        .await
        .unwrap();
    write_spans(&store, vec![llm(3, 1, None, 0, 1, 1)]).await;
    store
        .write(write_patch(patch(target.clone(), 2, "user", "hello")))
        .await
        .unwrap();
    // A resend of the span must not duplicate the joined messages.
    write_spans(&store, vec![llm(3, 1, None, 0, 1, 1)]).await;

    let span = &store.trace(TraceId([3; 16])).await.unwrap().unwrap().spans[0];
    let messages = span.input_messages.as_ref().unwrap();
    let texts: Vec<&str> = messages
        .iter()
        .map(|m| m.content.as_deref().unwrap())
        .collect();
    assert_eq!(texts, ["be terse", "hello"]);
}

pub async fn content_by_response_id(store: Arc<dyn Store>) {
    let mut call = llm(4, 1, None, 0, 1, 1);
    call.response_id = Some("chatcmpl-1".into());
    let mut choice = patch(
        ContentTarget::ResponseId("chatcmpl-1".into()),
        1,
        "assistant",
        "shelf three",
    );
    choice.output_messages = std::mem::take(&mut choice.input_messages);
    choice.finish_reasons = vec!["stop".into()];
    store
        .write(WriteBatch {
            content_patches: vec![choice],
            ..Default::default()
        })
        .await
        .unwrap();
    write_spans(&store, vec![call]).await;

    let span = &store.trace(TraceId([4; 16])).await.unwrap().unwrap().spans[0];
    assert_eq!(
        span.output_messages.as_ref().unwrap()[0].content.as_deref(),
        Some("shelf three")
    );
    assert_eq!(span.finish_reasons, ["stop"]);
}

pub async fn absent_values_stay_null(store: Arc<dyn Store>) {
    write_spans(&store, vec![span(5, 1, None, 0, 1)]).await;
    let stored = &store.trace(TraceId([5; 16])).await.unwrap().unwrap().spans[0];
    assert_eq!(stored.usage, TokenUsage::default());
    assert_eq!(stored.cost_usd, None);
    assert_eq!(stored.ttft_ms, None);
    assert_eq!(stored.streaming, None);
    assert_eq!(stored.input_messages, None);
    assert_eq!(*stored, span(5, 1, None, 0, 1));
}

pub async fn span_pagination_is_stable(store: Arc<dyn Store>) {
    let spans: Vec<Span> = (1..=25).map(|id| span(6, id, None, 7, 8)).collect();
    write_spans(&store, spans).await;
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = store
            .list_spans(SpanFilter::default(), Page { limit: 4, cursor })
            .await
            .unwrap();
        seen.extend(page.into_iter().map(|s| s.span_id));
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25);
}
