//! Drift samples and flag rates. Each case receives an empty store.

use std::collections::BTreeMap;
use std::sync::Arc;

use glassbox_model::{
    Analyzer, Flag, Location, Part, ScoreSource, ScoreValue, Span, SpanId, SpanKind, TokenUsage,
    TraceId,
};
use glassbox_store::{DriftFilter, FlagRateFilter, NewScore, Store, WriteBatch};

use crate::conformance::span;

/// Start of the test spans, as in the conformance cases: 2023-11-14T22:13:20Z, 20 s past a
/// whole minute.
const T0: u64 = 1_700_000_000_000_000_000;
const MINUTE: u64 = 60_000_000_000;

/// Builds a model call of trace `trace` (span id 1) that starts `start_ms` after T0.
fn call(trace: u8, service: &str, model: &str, start_ms: u64) -> Span {
    let mut call = span(trace, 1, None, start_ms, start_ms + 10);
    call.kind = SpanKind::Llm;
    call.service_name = Some(service.into());
    call.provider = Some("openai".into());
    call.request_model = Some(model.into());
    call
}

fn with_tokens(mut span: Span, input: Option<u64>, output: Option<u64>) -> Span {
    span.usage = TokenUsage {
        input,
        output,
        ..Default::default()
    };
    span
}

fn flag(analyzer: Analyzer, finding: &str) -> Flag {
    Flag {
        analyzer,
        finding: finding.into(),
        message: "test finding".into(),
        location: Location::whole(Part::Input),
    }
}

async fn write(store: &Arc<dyn Store>, spans: Vec<Span>) {
    store
        .write(WriteBatch {
            spans,
            ..Default::default()
        })
        .await
        .unwrap();
}

fn score(trace: u8, name: &str, value: ScoreValue) -> NewScore {
    NewScore {
        id: None,
        trace_id: TraceId([trace; 16]),
        span_id: Some(SpanId([1; 8])),
        name: name.into(),
        value,
        source: ScoreSource::Api,
        comment: None,
        author: None,
    }
}

fn window(max_per_group: usize) -> DriftFilter {
    DriftFilter {
        from_unix_nano: T0,
        to_unix_nano: T0 + 10 * MINUTE,
        service: None,
        model: None,
        provider: None,
        max_per_group,
    }
}

/// Writes five calls of `chat`/`gpt-4o` (traces 1 to 5, one per second), one call of
/// `search`/`small` (trace 6), a call before the window (trace 7), a tool span (trace 8)
/// and scores on traces 1 to 6.
async fn write_groups(store: &Arc<dyn Store>) {
    let mut spans = Vec::new();
    for trace in 1..=5u8 {
        let start = u64::from(trace) * 1_000;
        let output = (trace != 5).then_some(u64::from(trace) * 10);
        let mut call = with_tokens(
            call(trace, "chat", "gpt-4o", start),
            Some(u64::from(trace)),
            output,
        );
        call.input_language = Some(if trace <= 3 { "en" } else { "fr" }.into());
        spans.push(call);
    }
    spans[4].flags = vec![flag(Analyzer::Pii, "email"), flag(Analyzer::Pii, "phone")];
    spans[3].flags = vec![
        flag(Analyzer::Pii, "email"),
        flag(Analyzer::PromptInjection, "ignore_instructions"),
    ];
    // Outside the cap of three, so its flag is not counted.
    spans[0].flags = vec![flag(Analyzer::Secrets, "jwt")];

    let mut search = with_tokens(call(6, "search", "small", 500), Some(7), Some(8));
    search.provider = Some("anthropic".into());
    spans.push(search);
    spans.push(with_tokens(
        call(7, "chat", "gpt-4o", 0),
        Some(1_000),
        Some(1_000),
    ));
    spans[6].start_time_unix_nano = T0 - MINUTE;
    let mut tool = with_tokens(call(8, "chat", "gpt-4o", 2_000), Some(99), Some(99));
    tool.kind = SpanKind::Tool;
    spans.push(tool);
    write(store, spans).await;

    let scores = vec![
        score(1, "helpfulness", ScoreValue::Numeric(0.25)),
        score(4, "helpfulness", ScoreValue::Numeric(0.5)),
        score(5, "helpfulness", ScoreValue::Numeric(0.75)),
        score(5, "thumbs", ScoreValue::Boolean(true)),
        score(4, "thumbs", ScoreValue::Boolean(false)),
        score(5, "tone", ScoreValue::Categorical("polite".into())),
        score(6, "helpfulness", ScoreValue::Numeric(1.0)),
        score(7, "helpfulness", ScoreValue::Numeric(0.0)),
    ];
    store.insert_scores(scores).await.unwrap();
}

pub async fn drift_samples_group_and_cap(store: Arc<dyn Store>) {
    write_groups(&store).await;

    let groups = store.drift_samples(window(3)).await.unwrap();
    let keys: Vec<(Option<&str>, Option<&str>)> = groups
        .iter()
        .map(|group| (group.service.as_deref(), group.model.as_deref()))
        .collect();
    assert_eq!(
        keys,
        [
            (Some("chat"), Some("gpt-4o")),
            (Some("search"), Some("small"))
        ]
    );

    let chat = &groups[0];
    assert_eq!(chat.spans_in_window, 5);
    assert_eq!(chat.spans_sampled, 3);
    assert_eq!(chat.input_tokens, [5, 4, 3]);
    assert_eq!(chat.output_tokens, [40, 30]);
    assert_eq!(
        chat.input_languages,
        BTreeMap::from([("en".to_owned(), 1), ("fr".to_owned(), 2)])
    );
    assert_eq!(
        chat.flagged,
        BTreeMap::from([(Analyzer::Pii, 2), (Analyzer::PromptInjection, 1)])
    );
    assert_eq!(chat.scores["helpfulness"], [0.75, 0.5, 0.25]);
    assert_eq!(chat.scores["thumbs"], [1.0, 0.0]);
    assert!(!chat.scores.contains_key("tone"));

    let search = &groups[1];
    assert_eq!(search.spans_in_window, 1);
    assert_eq!(search.spans_sampled, 1);
    assert_eq!(search.input_tokens, [7]);
    assert_eq!(search.output_tokens, [8]);
    assert!(search.input_languages.is_empty());
    assert!(search.flagged.is_empty());
    assert_eq!(search.scores["helpfulness"], [1.0]);
}

pub async fn drift_samples_cap_applies_to_scores(store: Arc<dyn Store>) {
    write_groups(&store).await;

    let groups = store.drift_samples(window(2)).await.unwrap();

    assert_eq!(groups[0].scores["helpfulness"], [0.75, 0.5]);
    assert_eq!(groups[0].input_tokens, [5, 4]);
}

pub async fn drift_samples_follow_filters(store: Arc<dyn Store>) {
    write_groups(&store).await;

    let mut by_provider = window(100);
    by_provider.provider = Some("anthropic".into());
    let groups = store.drift_samples(by_provider).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].service.as_deref(), Some("search"));
    assert_eq!(groups[0].scores["helpfulness"], [1.0]);

    let mut by_model = window(100);
    by_model.model = Some("gpt-4o".into());
    by_model.service = Some("chat".into());
    let groups = store.drift_samples(by_model).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].spans_sampled, 5);
    assert_eq!(
        groups[0].flagged,
        BTreeMap::from([
            (Analyzer::Pii, 2),
            (Analyzer::Secrets, 1),
            (Analyzer::PromptInjection, 1)
        ])
    );

    let mut unknown = window(100);
    unknown.service = Some("nowhere".into());
    assert!(store.drift_samples(unknown).await.unwrap().is_empty());
}

/// Writes model calls over three minutes from T0, with `m + 2` calls of `chat` and one of
/// `other` in minute `m`. The first call of each minute has two PII findings, the second a
/// secret, and `other` a PII finding. A flagged tool span counts nowhere.
async fn write_flagged_calls(store: &Arc<dyn Store>) {
    let mut spans = Vec::new();
    let mut trace = 1u8;
    for minute in 0..3u64 {
        for index in 0..minute + 2 {
            let mut call = call(trace, "chat", "gpt-4o", minute * 60_000 + index * 1_000);
            call.flags = match index {
                0 => vec![flag(Analyzer::Pii, "email"), flag(Analyzer::Pii, "phone")],
                1 => vec![flag(Analyzer::Secrets, "jwt")],
                _ => Vec::new(),
            };
            spans.push(call);
            trace += 1;
        }
        let mut other = call(trace, "other", "small", minute * 60_000 + 30_000);
        other.flags = vec![flag(Analyzer::Pii, "email")];
        spans.push(other);
        trace += 1;
    }
    let mut tool = call(trace, "chat", "gpt-4o", 5_000);
    tool.kind = SpanKind::Tool;
    tool.flags = vec![flag(Analyzer::Pii, "email")];
    spans.push(tool);
    write(store, spans).await;
}

fn rates_filter() -> FlagRateFilter {
    FlagRateFilter {
        from_unix_nano: T0,
        to_unix_nano: T0 + 3 * MINUTE,
        ..Default::default()
    }
}

pub async fn flag_rates_count_per_step(store: Arc<dyn Store>) {
    write_flagged_calls(&store).await;
    // Steps start at T0 rounded down to the minute, 20 s before T0.
    let step = |index: u64| T0 - 20_000_000_000 + index * MINUTE;

    let rates = store.flag_rates(rates_filter(), 60).await.unwrap();

    // Minute m's calls start at T0 + m min + {0, 1, 2, 3} s and + 30 s. Step m covers the
    // first 40 s of minute m, so every call of minute m falls in step m.
    assert_eq!(rates.spans, [(step(0), 3), (step(1), 4), (step(2), 5)]);
    assert_eq!(
        rates.flagged,
        BTreeMap::from([
            (
                "pii".to_owned(),
                vec![(step(0), 2), (step(1), 2), (step(2), 2)]
            ),
            (
                "secrets".to_owned(),
                vec![(step(0), 1), (step(1), 1), (step(2), 1)]
            ),
        ])
    );
}

pub async fn flag_rates_by_finding_and_filter(store: Arc<dyn Store>) {
    write_flagged_calls(&store).await;
    let mut filter = rates_filter();
    filter.analyzer = Some(Analyzer::Pii);
    filter.service = Some("chat".into());
    filter.model = Some("gpt-4o".into());

    let rates = store.flag_rates(filter, 180).await.unwrap();

    let first = T0 - 20_000_000_000;
    assert_eq!(rates.spans, [(first, 9)]);
    assert_eq!(
        rates.flagged,
        BTreeMap::from([
            ("email".to_owned(), vec![(first, 3)]),
            ("phone".to_owned(), vec![(first, 3)]),
        ])
    );

    let mut narrow = rates_filter();
    narrow.from_unix_nano = T0 + 500_000_000;
    narrow.to_unix_nano = T0 + MINUTE;
    narrow.model = Some("small".into());
    let rates = store.flag_rates(narrow, 60).await.unwrap();
    assert_eq!(rates.spans, [(first, 1)]);
    assert_eq!(
        rates.flagged,
        BTreeMap::from([("pii".to_owned(), vec![(first, 1)])])
    );
}

pub async fn flag_rates_reject_a_bad_step(store: Arc<dyn Store>) {
    let error = store.flag_rates(rates_filter(), 0).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid filter: step must be a positive number of seconds, got 0"
    );
}
