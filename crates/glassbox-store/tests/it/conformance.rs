//! The cases. Each receives an empty store.

use std::sync::Arc;

use glassbox_model::{
    ContentTarget, CostStatus, Message, Span, SpanContentPatch, SpanId, SpanKind, SpanStatus,
    TokenUsage, TraceId,
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
    assert_eq!(summary.input_tokens, Some(15));
    assert_eq!(summary.output_tokens, Some(3));
    assert_eq!(summary.total_tokens, Some(18));
    assert_eq!(summary.cost_usd, Some(1.0));
    assert_eq!(summary.duration_ms(), 100.0);
    assert_eq!(summary.models, vec!["gpt-4o-2024-08-06".to_owned()]);
    assert_eq!(summary.user_id.as_deref(), Some("u-1"));

    let names: Vec<&str> = trace.spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["span-1", "span-2", "span-3"]);
}

pub async fn summary_counts_unpriced_calls(store: Arc<dyn Store>) {
    let mut unpriced = llm(9, 2, Some(1), 5, 10, 2);
    unpriced.cost_usd = None;
    unpriced.cost_status = Some(CostStatus::Unpriced);
    write_spans(
        &store,
        vec![span(9, 1, None, 0, 50), llm(9, 3, Some(1), 20, 5, 1)],
    )
    .await;
    write_spans(&store, vec![unpriced]).await;

    let summary = store.trace(TraceId([9; 16])).await.unwrap().unwrap().trace;
    assert_eq!(summary.llm_call_count, 2);
    assert_eq!(summary.unpriced_call_count, 1);
    assert_eq!(summary.cost_usd, Some(0.5));

    let page = Page {
        limit: 10,
        cursor: None,
    };
    let (listed, _) = store.list_traces(Default::default(), page).await.unwrap();
    assert_eq!(listed[0].unpriced_call_count, 1);
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
    assert_eq!(detail.trace.input_tokens, Some(21));
}

pub async fn span_sent_twice_in_one_batch_is_stored_once(store: Arc<dyn Store>) {
    let first = llm(3, 2, Some(1), 5, 10, 2);
    let mut again = first.clone();
    again.usage.input = Some(30);
    write_spans(&store, vec![span(3, 1, None, 0, 50), first, again]).await;
    write_spans(&store, vec![span(4, 1, None, 0, 50)]).await;

    let detail = store.trace(TraceId([3; 16])).await.unwrap().unwrap();
    assert_eq!(detail.spans.len(), 2);
    assert_eq!(detail.trace.span_count, 2);
    assert_eq!(detail.trace.input_tokens, Some(30));

    let filter = SpanFilter {
        trace_id: Some(TraceId([3; 16])),
        ..Default::default()
    };
    let page = Page {
        limit: 10,
        cursor: None,
    };
    let (spans, _) = store.list_spans(filter, page).await.unwrap();
    let mut ids: Vec<SpanId> = spans.iter().map(|span| span.span_id).collect();
    ids.sort();
    assert_eq!(ids, [SpanId([1; 8]), SpanId([2; 8])]);
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
    let trace = store.trace(TraceId([5; 16])).await.unwrap().unwrap().trace;
    assert_eq!(trace.input_tokens, None);
    assert_eq!(trace.total_tokens, None);

    let mut embedding = span(15, 1, None, 0, 1);
    embedding.usage.input = Some(7);
    write_spans(&store, vec![embedding]).await;
    let trace = store.trace(TraceId([15; 16])).await.unwrap().unwrap().trace;
    assert_eq!(trace.input_tokens, Some(7));
    assert_eq!(trace.output_tokens, None);
    assert_eq!(trace.total_tokens, Some(7));
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

use glassbox_store::{GroupBy, MetricsFilter};

fn llm_at(trace: u8, id: u8, start_ms: u64, duration_ms: u64, model: &str) -> Span {
    let mut span = llm(trace, id, None, start_ms, 10, 5);
    span.end_time_unix_nano = span.start_time_unix_nano + duration_ms * 1_000_000;
    span.response_model = Some(model.into());
    span.provider = Some("openai".into());
    span.operation = Some("chat".into());
    span
}

fn whole_range() -> MetricsFilter {
    MetricsFilter {
        from_unix_nano: T0 - 3_600_000_000_000,
        to_unix_nano: T0 + 10 * 86_400_000_000_000,
        ..Default::default()
    }
}

/// A deterministic pseudo-random sequence in [0, 1).
fn xorshift(state: &mut u64) -> f64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state >> 11) as f64 / (1u64 << 53) as f64
}

pub async fn rollup_percentiles_match_exact_ones(store: Arc<dyn Store>) {
    let mut state = 7;
    let mut durations = Vec::new();
    let mut spans = Vec::new();
    // 3,000 spans over about two days, so both hour and minute rows are read.
    for index in 0..3_000u64 {
        let duration = 1 + (xorshift(&mut state) * 8.0).exp() as u64;
        let start_ms = index * 60_000 + (xorshift(&mut state) * 59_000.0) as u64;
        let trace = (index % 250) as u8;
        let id = (index / 250 + 1) as u8;
        spans.push(llm_at(trace, id, start_ms, duration, "gpt-4o"));
        durations.push(duration as f64);
    }
    write_spans(&store, spans).await;

    let groups = store
        .summary(whole_range(), Some(GroupBy::Model))
        .await
        .unwrap();
    assert_eq!(groups.len(), 1);
    let aggregate = &groups[0].aggregate;
    assert_eq!(groups[0].key.as_deref(), Some("gpt-4o"));
    assert_eq!(aggregate.count, 3_000);
    assert_eq!(aggregate.input_tokens, 30_000);
    durations.sort_by(f64::total_cmp);
    for q in [0.5, 0.9, 0.95, 0.99] {
        let exact = durations[(q * (durations.len() - 1) as f64).floor() as usize];
        let estimate = aggregate.latency_ms.quantile(q).unwrap();
        assert!(
            (estimate - exact).abs() / exact <= 0.01 + 1e-9,
            "q={q}: {estimate} vs {exact}"
        );
    }

    // A range that cuts hours in the middle reads minute rows at both ends.
    let partial = MetricsFilter {
        from_unix_nano: T0 + 90 * 60_000_000_000,
        to_unix_nano: T0 + 1_000 * 60_000_000_000,
        ..Default::default()
    };
    let rollup_count = store.summary(partial.clone(), None).await.unwrap()[0]
        .aggregate
        .count;
    let by_spans = MetricsFilter {
        tag: None,
        user_id: Some("nobody".into()),
        ..partial
    };
    assert!(store.summary(by_spans, None).await.unwrap().is_empty());
    assert_eq!(rollup_count, 910);
}

pub async fn rollups_ignore_resent_spans(store: Arc<dyn Store>) {
    let spans = vec![llm_at(9, 1, 0, 100, "a"), llm_at(9, 2, 10, 200, "b")];
    write_spans(&store, spans.clone()).await;
    write_spans(&store, spans).await;
    let total = store.summary(whole_range(), None).await.unwrap();
    assert_eq!(total[0].aggregate.count, 2);
    assert_eq!(total[0].aggregate.cost_usd, Some(1.0));
}

pub async fn summary_groups_by_span_fields(store: Arc<dyn Store>) {
    let mut first = llm_at(10, 1, 0, 100, "a");
    first.user_id = Some("u-1".into());
    first.tags = vec!["beta".into(), "eu".into()];
    let mut second = llm_at(10, 2, 10, 100, "a");
    second.user_id = Some("u-2".into());
    second.tags = vec!["eu".into()];
    second.status = SpanStatus::Error;
    second.error_type = Some("RateLimitError".into());
    write_spans(&store, vec![first, second]).await;

    let by_tag = store
        .summary(whole_range(), Some(GroupBy::Tag))
        .await
        .unwrap();
    let counts: Vec<(Option<&str>, u64)> = by_tag
        .iter()
        .map(|g| (g.key.as_deref(), g.aggregate.count))
        .collect();
    assert_eq!(counts, [(Some("eu"), 2), (Some("beta"), 1)]);
    let by_user = store
        .summary(whole_range(), Some(GroupBy::UserId))
        .await
        .unwrap();
    assert_eq!(by_user.len(), 2);
    let total = store.summary(whole_range(), None).await.unwrap();
    assert_eq!(total[0].aggregate.error_count, 1);
    assert_eq!(
        total[0]
            .aggregate
            .errors_of(glassbox_model::ErrorClass::RateLimited),
        1
    );
}

pub async fn timeseries_fills_steps(store: Arc<dyn Store>) {
    let spans = (0..6u8)
        .map(|i| llm_at(11, i + 1, u64::from(i) * 600_000, 50, "a"))
        .collect();
    write_spans(&store, spans).await;
    let filter = MetricsFilter {
        from_unix_nano: T0 - T0 % 3_600_000_000_000,
        to_unix_nano: T0 + 7_200_000_000_000,
        ..Default::default()
    };
    let series = store.timeseries(filter, None, 1_200).await.unwrap();
    assert_eq!(series.len(), 1);
    let counts: u64 = series[0].steps.iter().map(|(_, a)| a.count).sum();
    assert_eq!(counts, 6);
    assert!(series[0].steps.iter().all(|(_, a)| a.count <= 2));
}

pub async fn functions_report_self_time(store: Arc<dyn Store>) {
    let mut root = span(12, 1, None, 0, 1_000);
    root.kind = SpanKind::Agent;
    root.name = "agent".into();
    let mut tool = span(12, 2, Some(1), 100, 400);
    tool.kind = SpanKind::Tool;
    tool.name = "search".into();
    let model_call = llm(12, 3, Some(1), 500, 1, 1);
    write_spans(&store, vec![root, tool, model_call]).await;

    let functions = store.functions(whole_range()).await.unwrap();
    let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["agent", "search"]);
    let agent = &functions[0];
    assert_eq!(agent.total_ms, 1_000.0);
    assert_eq!(agent.self_ms, 1_000.0 - 300.0 - 10.0);
    assert_eq!(agent.trace_ms, 1_000.0);
    assert_eq!(functions[1].kind, SpanKind::Tool);
    assert_eq!(functions[1].slowest[0].1, 300.0);
}

pub async fn reprice_updates_spans_traces_and_rollups(store: Arc<dyn Store>) {
    write_spans(
        &store,
        vec![
            llm_at(13, 1, 0, 100, "gpt-4o"),
            llm_at(13, 2, 5, 100, "other"),
        ],
    )
    .await;
    let repricer: glassbox_store::Repricer = Arc::new(|span: &mut Span| {
        if span.model() == Some("gpt-4o") {
            span.cost_usd = Some(2.0);
            span.computed_cost_usd = Some(2.0);
        }
    });
    let changed = store
        .reprice(T0 - 1, T0 + 60_000_000_000, None, repricer)
        .await
        .unwrap();
    assert_eq!(changed, 1);
    let trace = store.trace(TraceId([13; 16])).await.unwrap().unwrap();
    assert_eq!(trace.trace.cost_usd, Some(2.5));
    let total = store.summary(whole_range(), None).await.unwrap();
    assert_eq!(total[0].aggregate.cost_usd, Some(2.5));
}

pub async fn rebuild_gives_the_same_rollups(store: Arc<dyn Store>) {
    let spans = (0..40u8)
        .map(|i| llm_at(14, i + 1, u64::from(i) * 3_600_000, 10 + u64::from(i), "a"))
        .collect();
    write_spans(&store, spans).await;
    let before = store
        .summary(whole_range(), Some(GroupBy::Model))
        .await
        .unwrap();
    let read = store
        .rebuild_rollups(T0 - 86_400_000_000_000, T0 + 3 * 86_400_000_000_000)
        .await
        .unwrap();
    assert_eq!(read, 40);
    let after = store
        .summary(whole_range(), Some(GroupBy::Model))
        .await
        .unwrap();
    assert_eq!(before, after);
    assert_eq!(after[0].aggregate.count, 40);
}

pub async fn functions_follow_trace_filters(store: Arc<dyn Store>) {
    let mut spans = Vec::new();
    for (trace, user, model) in [(16u8, "u-1", "gpt-4o"), (17u8, "u-2", "claude")] {
        let mut root = span(trace, 1, None, 0, 100);
        root.kind = SpanKind::Tool;
        root.name = "search".into();
        root.user_id = Some(user.into());
        let mut call = llm(trace, 2, Some(1), 10, 1, 1);
        call.request_model = Some(model.into());
        spans.extend([root, call]);
    }
    write_spans(&store, spans).await;

    let all = store.functions(whole_range()).await.unwrap();
    assert_eq!(all[0].calls, 2);
    let of_user = MetricsFilter {
        user_id: Some("u-1".into()),
        ..whole_range()
    };
    assert_eq!(store.functions(of_user).await.unwrap()[0].calls, 1);
    let of_model = MetricsFilter {
        model: Some("claude".into()),
        ..whole_range()
    };
    let functions = store.functions(of_model).await.unwrap();
    assert_eq!(functions.len(), 1);
    assert_eq!(functions[0].calls, 1);
    assert_eq!(functions[0].slowest[0].0, TraceId([17; 16]));
}

/// Walks every page of a trace listing in one order.
async fn every_trace(store: &Arc<dyn Store>, order: glassbox_store::TraceOrder) -> Vec<TraceId> {
    let filter = glassbox_store::TraceFilter {
        order,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = store
            .list_traces(filter.clone(), Page { limit: 3, cursor })
            .await
            .unwrap();
        seen.extend(page.into_iter().map(|trace| trace.trace_id));
        match next {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
}

pub async fn trace_orders_page_through_every_trace(store: Arc<dyn Store>) {
    use glassbox_store::TraceOrder;

    // Ten traces: start grows with the id, duration and cost do not; two share a duration,
    // two have no cost, and one has no tokens.
    let mut spans = Vec::new();
    for id in 1..=10u8 {
        let duration = [30, 10, 50, 10, 70, 20, 90, 40, 60, 80][usize::from(id - 1)];
        let mut root = llm(id, 1, None, u64::from(id) * 1_000, 10 * u64::from(id), 1);
        root.end_time_unix_nano = root.start_time_unix_nano + duration * 1_000_000;
        root.cost_usd = match id {
            3 | 8 => None,
            _ => Some(f64::from(11 - id) / 10.0),
        };
        if id == 4 {
            root.usage = TokenUsage::default();
        }
        spans.push(root);
    }
    write_spans(&store, spans).await;
    let ids = |list: &[u8]| -> Vec<TraceId> { list.iter().map(|id| TraceId([*id; 16])).collect() };

    assert_eq!(
        every_trace(&store, TraceOrder::Newest).await,
        ids(&[10, 9, 8, 7, 6, 5, 4, 3, 2, 1])
    );
    assert_eq!(
        every_trace(&store, TraceOrder::Oldest).await,
        ids(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    );
    // Equal durations break ties by trace id, descending.
    assert_eq!(
        every_trace(&store, TraceOrder::Slowest).await,
        ids(&[7, 10, 5, 9, 3, 8, 1, 6, 4, 2])
    );
    // Traces without a cost come last.
    assert_eq!(
        every_trace(&store, TraceOrder::Costliest).await,
        ids(&[1, 2, 4, 5, 6, 7, 9, 10, 8, 3])
    );
    let by_tokens = every_trace(&store, TraceOrder::MostTokens).await;
    assert_eq!(by_tokens.first(), Some(&TraceId([10; 16])));
    assert_eq!(by_tokens.last(), Some(&TraceId([4; 16])));
}

pub async fn finish_reasons_count_by_model(store: Arc<dyn Store>) {
    let mut spans = Vec::new();
    for (id, model, reasons) in [
        (1, "gpt-4o", vec!["stop"]),
        (2, "gpt-4o", vec!["stop"]),
        (3, "gpt-4o", vec!["length"]),
        (4, "claude", vec!["tool_calls", "stop"]),
        (5, "claude", vec![]),
    ] {
        let mut span = llm_at(20, id, u64::from(id) * 100, 10, model);
        span.finish_reasons = reasons.into_iter().map(str::to_owned).collect();
        spans.push(span);
    }
    write_spans(&store, spans).await;
    let counts = store.finish_reasons(whole_range()).await.unwrap();
    let found: Vec<(Option<&str>, &str, u64)> = counts
        .iter()
        .map(|count| (count.model.as_deref(), count.reason.as_str(), count.count))
        .collect();
    assert_eq!(
        found,
        [
            (Some("gpt-4o"), "stop", 2),
            (Some("claude"), "stop", 1),
            (Some("claude"), "tool_calls", 1),
            (Some("gpt-4o"), "length", 1),
        ]
    );
    let mut only_claude = whole_range();
    only_claude.model = Some("claude".into());
    assert_eq!(store.finish_reasons(only_claude).await.unwrap().len(), 2);
}

pub async fn top_lists_sum_in_the_database(store: Arc<dyn Store>) {
    let mut spans = Vec::new();
    // Each user's id sits on the root span only; the model call under it still counts.
    for (trace, user, failed) in [(31, "ann", false), (32, "ann", true), (33, "bob", false)] {
        let mut root = span(trace, 1, None, 0, 100);
        root.user_id = Some(user.into());
        let mut call = llm(trace, 2, Some(1), 10, 10, 5);
        if failed {
            call.status = SpanStatus::Error;
        }
        spans.extend([root, call]);
    }
    for (id, name, duration_ms) in [(4, "search", 300), (5, "search", 200), (6, "plan", 400)] {
        let mut function = span(21, id, None, 1_000, 1_000 + duration_ms);
        function.kind = SpanKind::Tool;
        function.name = name.into();
        spans.push(function);
    }
    write_spans(&store, spans).await;

    let users = store.top_users(whole_range(), 10).await.unwrap();
    let found: Vec<(&str, u64, u64, u64)> = users
        .iter()
        .map(|user| {
            (
                user.user_id.as_str(),
                user.traces,
                user.model_calls,
                user.errors,
            )
        })
        .collect();
    assert_eq!(found, [("ann", 2, 2, 1), ("bob", 1, 1, 0)]);
    assert_eq!(users[0].cost_usd, Some(1.0));
    assert_eq!(users[0].input_tokens, 20);

    let functions = store.top_functions(whole_range(), 1).await.unwrap();
    assert_eq!(functions.len(), 1);
    assert_eq!(functions[0].key, "search");
    assert_eq!(functions[0].service.as_deref(), Some("svc"));
    assert_eq!(functions[0].calls, 2);
    assert!((functions[0].total_ms - 500.0).abs() < 1e-9);
}

/// A time on a whole hour, so downsampling steps (aligned to the epoch) start on its minutes.
const HOUR_T0: u64 = 1_699_999_200_000_000_000;

fn gauge(name: &str, target: &str, seconds: u64, value: f64) -> glassbox_model::MetricPoint {
    let mut labels = serde_json::Map::new();
    labels.insert("target".into(), target.into());
    glassbox_model::MetricPoint {
        name: name.into(),
        kind: glassbox_model::MetricKind::Gauge,
        unit: None,
        service_name: None,
        labels,
        start_time_unix_nano: None,
        time_unix_nano: HOUR_T0 + seconds * 1_000_000_000,
        value: Some(value),
        count: None,
        detail: serde_json::Map::new(),
    }
}

async fn write_points(store: &Arc<dyn Store>, points: Vec<glassbox_model::MetricPoint>) {
    store
        .write(WriteBatch {
            metric_points: points,
            ..Default::default()
        })
        .await
        .unwrap();
}

pub async fn metric_series_average_per_step(store: Arc<dyn Store>) {
    // Two targets, a point every 15 s for 4 minutes; values grow by one per point.
    let mut points = Vec::new();
    for index in 0..16u64 {
        points.push(gauge(
            "inference.requests.waiting",
            "a",
            index * 15,
            index as f64,
        ));
        points.push(gauge("inference.requests.waiting", "b", index * 15, 100.0));
    }
    points.push(gauge("other", "a", 0, 1.0));
    write_points(&store, points).await;

    let query = glassbox_store::PointQuery {
        name: "inference.requests.waiting".into(),
        from_unix_nano: HOUR_T0,
        to_unix_nano: HOUR_T0 + 240 * 1_000_000_000,
        labels: vec![("target".into(), "a".into())],
    };
    let series = store.metric_series(query.clone(), 60).await.unwrap();
    assert_eq!(series.len(), 1);
    let steps = &series[0].steps;
    assert_eq!(steps.len(), 4);
    assert_eq!(steps[0].mean, 1.5);
    assert_eq!(steps[0].last, 3.0);
    assert_eq!(steps[3].start_unix_nano, HOUR_T0 + 180 * 1_000_000_000);
    assert_eq!(steps[3].last, 15.0);

    let both = glassbox_store::PointQuery {
        labels: Vec::new(),
        ..query
    };
    assert_eq!(store.metric_series(both, 60).await.unwrap().len(), 2);

    let names = store
        .metric_names(HOUR_T0, HOUR_T0 + 3_600 * 1_000_000_000)
        .await
        .unwrap();
    let found: Vec<(&str, u64)> = names
        .iter()
        .map(|name| (name.name.as_str(), name.points))
        .collect();
    assert_eq!(found, [("inference.requests.waiting", 32), ("other", 1)]);
}

pub async fn retention_deletes_and_downsamples(store: Arc<dyn Store>) {
    // A gauge every 15 s for 10 minutes, and a counter beside it.
    let mut points = Vec::new();
    for index in 0..40u64 {
        points.push(gauge("g", "a", index * 15, index as f64));
        let mut counter = gauge("c", "a", index * 15, index as f64);
        counter.kind = glassbox_model::MetricKind::Sum;
        points.push(counter);
    }
    write_points(&store, points).await;

    // Delete the first two minutes, downsample minutes 2 to 6 to 1-minute steps.
    let minute = 60 * 1_000_000_000;
    let summary = store
        .retain_metric_points(HOUR_T0 + 2 * minute, HOUR_T0 + 6 * minute, 60)
        .await
        .unwrap();
    assert_eq!(summary.deleted, 16);
    assert_eq!(summary.written, 4);
    assert_eq!(summary.merged, 16 + 12);

    let query = |name: &str| glassbox_store::PointQuery {
        name: name.into(),
        from_unix_nano: HOUR_T0,
        to_unix_nano: HOUR_T0 + 10 * minute,
        labels: Vec::new(),
    };
    let gauge_steps = &store.metric_series(query("g"), 60).await.unwrap()[0].steps;
    assert_eq!(gauge_steps.len(), 8);
    // Minute 2 held the values 8 to 11: their mean is kept.
    assert_eq!(gauge_steps[0].mean, 9.5);
    // Minute 6 was not downsampled: four points, mean 25.5.
    assert_eq!(gauge_steps[4].mean, 25.5);
    let counter_steps = &store.metric_series(query("c"), 60).await.unwrap()[0].steps;
    // The counter keeps the latest point of each downsampled minute.
    assert_eq!(counter_steps[0].mean, 11.0);

    // A second pass changes nothing more.
    let again = store
        .retain_metric_points(HOUR_T0 + 2 * minute, HOUR_T0 + 6 * minute, 60)
        .await
        .unwrap();
    assert_eq!(again, glassbox_store::RetentionSummary::default());
}
