//! Quality cases: scores, datasets and experiments. Each receives an empty store.

use std::collections::BTreeMap;
use std::sync::Arc;

use glassbox_model::{
    ExperimentResult, ExperimentStatus, ScoreSource, ScoreValue, SpanId, SpanKind, TraceId,
};
use glassbox_store::{
    NewDatasetItem, NewExperiment, NewScore, Page, ScoreFilter, ScoreGroupBy, ScoreMetricsFilter,
    Store, StoreError, WriteBatch,
};
use serde_json::json;

use crate::conformance::span;

/// Start of the test spans, as in the conformance cases: 2023-11-14T22:13:20Z.
const T0: u64 = 1_700_000_000_000_000_000;
const MINUTE: u64 = 60_000_000_000;

/// Writes a trace of a root span (service `svc`) and a model call (`gpt-4o`, `openai`)
/// that starts `start_ms` after T0.
async fn write_trace(store: &Arc<dyn Store>, trace: u8, start_ms: u64) {
    let root = span(trace, 1, None, start_ms, start_ms + 100);
    let mut call = span(trace, 2, Some(1), start_ms + 10, start_ms + 90);
    call.kind = SpanKind::Llm;
    call.service_name = Some("chat-svc".into());
    call.provider = Some("openai".into());
    call.request_model = Some("gpt-4o".into());
    call.response_model = Some("gpt-4o-2024-08-06".into());
    store
        .write(WriteBatch {
            spans: vec![root, call],
            ..Default::default()
        })
        .await
        .unwrap();
}

fn score(trace: u8, span: Option<u8>, name: &str, value: ScoreValue) -> NewScore {
    NewScore {
        id: None,
        trace_id: TraceId([trace; 16]),
        span_id: span.map(|id| SpanId([id; 8])),
        name: name.to_owned(),
        value,
        source: ScoreSource::Api,
        comment: None,
        author: None,
    }
}

fn page(limit: usize) -> Page {
    Page {
        limit,
        cursor: None,
    }
}

pub async fn scores_copy_target_context(store: Arc<dyn Store>) {
    write_trace(&store, 1, 0).await;
    let mut on_span = score(1, Some(2), "helpfulness", ScoreValue::Numeric(0.75));
    on_span.comment = Some("clear answer".into());
    on_span.author = Some("reviewer-1".into());
    on_span.source = ScoreSource::LlmJudge;
    let on_trace = score(1, None, "thumbs", ScoreValue::Boolean(true));

    let stored = store.insert_scores(vec![on_span, on_trace]).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].id.len(), 32);
    assert_ne!(stored[0].id, stored[1].id);

    let span_score = &stored[0];
    assert_eq!(span_score.service.as_deref(), Some("chat-svc"));
    assert_eq!(span_score.provider.as_deref(), Some("openai"));
    assert_eq!(span_score.model.as_deref(), Some("gpt-4o"));
    assert_eq!(span_score.target_start_unix_nano, T0 + 10_000_000);

    let trace_score = &stored[1];
    assert_eq!(trace_score.service.as_deref(), Some("svc"));
    assert_eq!(trace_score.model.as_deref(), Some("gpt-4o"));
    assert_eq!(trace_score.target_start_unix_nano, T0);

    let (listed, cursor) = store
        .list_scores(ScoreFilter::default(), page(10))
        .await
        .unwrap();
    assert!(cursor.is_none());
    assert_eq!(listed.len(), 2);
    let read_back = listed.iter().find(|s| s.id == span_score.id).unwrap();
    assert_eq!(read_back, span_score);

    let filter = ScoreFilter {
        span_id: Some(SpanId([2; 8])),
        ..Default::default()
    };
    let (by_span, _) = store.list_scores(filter, page(10)).await.unwrap();
    assert_eq!(by_span.len(), 1);
    assert_eq!(by_span[0].value, ScoreValue::Numeric(0.75));
    let filter = ScoreFilter {
        source: Some(ScoreSource::Api),
        ..Default::default()
    };
    let (by_source, _) = store.list_scores(filter, page(10)).await.unwrap();
    assert_eq!(by_source.len(), 1);
    assert_eq!(by_source[0].value, ScoreValue::Boolean(true));
}

pub async fn score_batch_with_unknown_target_writes_nothing(store: Arc<dyn Store>) {
    write_trace(&store, 1, 0).await;
    let batch = vec![
        score(1, None, "ok", ScoreValue::Boolean(true)),
        score(1, Some(9), "ok", ScoreValue::Boolean(true)),
    ];
    let error = store.insert_scores(batch).await.unwrap_err();
    let StoreError::NotFound(message) = error else {
        panic!("expected NotFound, got {error:?}");
    };
    assert!(
        message.starts_with("scores[1]: span 0909090909090909"),
        "{message}"
    );

    let error = store
        .insert_scores(vec![score(5, None, "ok", ScoreValue::Boolean(true))])
        .await
        .unwrap_err();
    assert!(error.to_string().contains("trace 05050505"), "{error}");

    let (listed, _) = store
        .list_scores(ScoreFilter::default(), page(10))
        .await
        .unwrap();
    assert!(listed.is_empty());
}

pub async fn resent_score_id_replaces(store: Arc<dyn Store>) {
    write_trace(&store, 1, 0).await;
    let mut first = score(1, None, "quality", ScoreValue::Numeric(1.0));
    first.id = Some("00112233445566778899aabbccddeeff".into());
    let stored = store.insert_scores(vec![first.clone()]).await.unwrap();

    let mut resent = first;
    resent.value = ScoreValue::Categorical("fine".into());
    resent.comment = Some("changed my mind".into());
    let replaced = store.insert_scores(vec![resent]).await.unwrap();
    assert_eq!(replaced[0].id, "00112233445566778899aabbccddeeff");
    assert_eq!(replaced[0].created_unix_nano, stored[0].created_unix_nano);

    let (listed, _) = store
        .list_scores(ScoreFilter::default(), page(10))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].value, ScoreValue::Categorical("fine".into()));
    assert_eq!(listed[0].comment.as_deref(), Some("changed my mind"));
}

pub async fn score_pagination_walks_every_score(store: Arc<dyn Store>) {
    write_trace(&store, 1, 0).await;
    let mut inserted = Vec::new();
    for index in 0..5 {
        let new = score(1, None, "n", ScoreValue::Numeric(f64::from(index)));
        inserted.push(store.insert_scores(vec![new]).await.unwrap().remove(0));
    }

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let (scores, next) = store
            .list_scores(ScoreFilter::default(), Page { limit: 2, cursor })
            .await
            .unwrap();
        assert!(scores.len() <= 2);
        seen.extend(scores);
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let seen_values: Vec<ScoreValue> = seen.iter().map(|s| s.value.clone()).collect();
    let expected: Vec<ScoreValue> = (0..5)
        .rev()
        .map(|index| ScoreValue::Numeric(f64::from(index)))
        .collect();
    assert_eq!(seen_values, expected, "newest first, each once");
}

pub async fn score_aggregates_are_exact(store: Arc<dyn Store>) {
    write_trace(&store, 1, 0).await;
    write_trace(&store, 2, 60_000).await;
    let scores = vec![
        score(1, Some(2), "quality", ScoreValue::Numeric(0.25)),
        score(1, Some(2), "quality", ScoreValue::Numeric(0.5)),
        score(2, Some(2), "quality", ScoreValue::Numeric(1.0)),
        score(1, None, "thumbs", ScoreValue::Boolean(true)),
        score(2, None, "thumbs", ScoreValue::Boolean(false)),
        score(1, None, "label", ScoreValue::Categorical("good".into())),
        score(2, None, "label", ScoreValue::Categorical("good".into())),
        score(
            2,
            None,
            "label",
            ScoreValue::Categorical("off_topic".into()),
        ),
    ];
    store.insert_scores(scores).await.unwrap();
    let filter = ScoreMetricsFilter {
        from_unix_nano: T0,
        to_unix_nano: T0 + 10 * MINUTE,
        ..Default::default()
    };

    let groups = store
        .score_aggregates(filter.clone(), Some(ScoreGroupBy::Name), None)
        .await
        .unwrap();
    let keys: Vec<Option<&str>> = groups.iter().map(|g| g.key.as_deref()).collect();
    assert_eq!(keys, [Some("label"), Some("quality"), Some("thumbs")]);
    let quality = &groups[1].aggregate;
    assert_eq!(quality.count, 3);
    assert_eq!(quality.mean(), Some(1.75 / 3.0));
    assert_eq!(quality.min, Some(0.25));
    assert_eq!(quality.max, Some(1.0));
    assert!(groups[1].steps.is_empty());
    let thumbs = &groups[2].aggregate;
    assert_eq!(thumbs.mean(), Some(0.5));
    assert_eq!((thumbs.min, thumbs.max), (Some(0.0), Some(1.0)));
    let label = &groups[0].aggregate;
    assert_eq!(label.count, 3);
    assert_eq!(label.mean(), None);
    assert_eq!(
        label.categories,
        BTreeMap::from([("good".to_owned(), 2), ("off_topic".to_owned(), 1)])
    );

    let only_quality = ScoreMetricsFilter {
        name: Some("quality".into()),
        ..filter.clone()
    };
    let series = store
        .score_aggregates(only_quality, Some(ScoreGroupBy::Model), Some(60))
        .await
        .unwrap();
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].key.as_deref(), Some("gpt-4o"));
    let steps: Vec<(u64, u64, Option<f64>)> = series[0]
        .steps
        .iter()
        .map(|(start, aggregate)| (*start, aggregate.count, aggregate.mean()))
        .collect();
    // T0 is 20 s past a whole minute, and steps start at `from` rounded down to the minute.
    let first_step = T0 - 20_000_000_000;
    assert_eq!(
        steps,
        [
            (first_step, 2, Some(0.375)),
            (first_step + MINUTE, 1, Some(1.0))
        ]
    );

    let later = ScoreMetricsFilter {
        from_unix_nano: T0 + MINUTE,
        ..filter
    };
    let groups = store.score_aggregates(later, None, None).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].aggregate.count, 4, "trace 2's scores only");
}

pub async fn datasets_hold_items_in_order(store: Arc<dyn Store>) {
    let created = store
        .create_dataset("qa-v1".into(), Some("questions".into()))
        .await
        .unwrap();
    assert_eq!(created.item_count, 0);
    let error = store
        .create_dataset("qa-v1".into(), None)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");

    let items: Vec<NewDatasetItem> = (0..5)
        .map(|index| NewDatasetItem {
            input: json!(format!("question {index}")),
            expected_output: (index % 2 == 0).then(|| json!({"answer": index})),
            metadata: serde_json::Map::from_iter([("index".to_owned(), json!(index))]),
            source_trace_id: (index == 0).then_some(TraceId([1; 16])),
            source_span_id: (index == 0).then_some(SpanId([2; 8])),
        })
        .collect();
    let stored = store
        .add_dataset_items("qa-v1".into(), items)
        .await
        .unwrap();
    assert_eq!(stored.len(), 5);
    assert_eq!(stored[0].dataset_id, created.id);

    let dataset = store.dataset("qa-v1".into()).await.unwrap().unwrap();
    assert_eq!(dataset.item_count, 5);
    assert_eq!(dataset.description.as_deref(), Some("questions"));

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let (items, next) = store
            .list_dataset_items("qa-v1".into(), Page { limit: 2, cursor })
            .await
            .unwrap()
            .unwrap();
        seen.extend(items);
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, stored, "items come back in the order they were added");

    let error = store
        .add_dataset_items("missing".into(), Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");
    assert!(
        store
            .list_dataset_items("missing".into(), page(10))
            .await
            .unwrap()
            .is_none()
    );

    store.create_dataset("other".into(), None).await.unwrap();
    let (datasets, _) = store.list_datasets(page(10)).await.unwrap();
    let names: Vec<&str> = datasets.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["other", "qa-v1"]);

    assert!(store.delete_dataset("qa-v1".into()).await.unwrap());
    assert!(!store.delete_dataset("qa-v1".into()).await.unwrap());
    assert!(store.dataset("qa-v1".into()).await.unwrap().is_none());
    let recreated = store.create_dataset("qa-v1".into(), None).await.unwrap();
    assert_eq!(recreated.item_count, 0);
}

fn result(item_id: &str, latency: f64, cost: f64, exact: f64) -> ExperimentResult {
    ExperimentResult {
        experiment_id: String::new(),
        item_id: item_id.to_owned(),
        output: Some(json!("an answer")),
        error: None,
        scores: BTreeMap::from([("exact".to_owned(), exact)]),
        latency_ms: Some(latency),
        cost_usd: Some(cost),
        input_tokens: Some(100),
        output_tokens: Some(20),
        trace_id: Some(TraceId([4; 16])),
    }
}

pub async fn experiments_store_results_and_totals(store: Arc<dyn Store>) {
    store.create_dataset("qa".into(), None).await.unwrap();
    let items: Vec<NewDatasetItem> = (0..3)
        .map(|index| NewDatasetItem {
            input: json!(format!("q{index}")),
            expected_output: None,
            metadata: serde_json::Map::new(),
            source_trace_id: None,
            source_span_id: None,
        })
        .collect();
    let items = store.add_dataset_items("qa".into(), items).await.unwrap();

    let experiment = store
        .create_experiment(NewExperiment {
            name: "baseline".into(),
            dataset_name: "qa".into(),
            config: json!({"model": "gpt-4o-mini"}),
        })
        .await
        .unwrap();
    assert_eq!(experiment.status, ExperimentStatus::Running);

    let mut failed = result(&items[2].id, 0.0, 0.0, 0.0);
    failed.latency_ms = None;
    failed.cost_usd = None;
    failed.output = None;
    failed.scores.clear();
    failed.error = Some("upstream timed out".into());
    let results = vec![
        result(&items[1].id, 300.0, 0.25, 0.0),
        result(&items[0].id, 100.0, 0.5, 0.0),
        failed,
    ];
    store
        .save_experiment_results(experiment.id.clone(), results)
        .await
        .unwrap();
    // A second result for the same item replaces the first.
    store
        .save_experiment_results(
            experiment.id.clone(),
            vec![result(&items[0].id, 100.0, 0.5, 1.0)],
        )
        .await
        .unwrap();
    store
        .finish_experiment(experiment.id.clone(), ExperimentStatus::Completed, None)
        .await
        .unwrap();

    let detail = store
        .experiment(experiment.id.clone())
        .await
        .unwrap()
        .unwrap();
    let order: Vec<&str> = detail.results.iter().map(|r| r.item_id.as_str()).collect();
    assert_eq!(order, [&items[0].id, &items[1].id, &items[2].id]);
    assert_eq!(detail.results[0].output, Some(json!("an answer")));
    assert_eq!(detail.results[0].trace_id, Some(TraceId([4; 16])));
    let stored = &detail.experiment;
    assert_eq!(stored.status, ExperimentStatus::Completed);
    assert!(stored.finished_unix_nano.is_some());
    assert_eq!(stored.config, json!({"model": "gpt-4o-mini"}));
    let totals = &stored.totals;
    assert_eq!(totals.items, 3);
    assert_eq!(totals.errors, 1);
    assert_eq!(totals.score_means.get("exact"), Some(&0.5));
    assert_eq!(totals.cost_usd, Some(0.75));
    assert_eq!(totals.input_tokens, Some(300));
    assert_eq!(totals.latency_mean_ms, Some(200.0));
    assert_eq!(totals.latency_p50_ms, Some(200.0));
    assert_eq!(totals.latency_p95_ms, Some(290.0));

    let (listed, _) = store.list_experiments(None, page(10)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].totals, *totals);
    let (other, _) = store
        .list_experiments(Some("nothing".into()), page(10))
        .await
        .unwrap();
    assert!(other.is_empty());

    let error = store
        .finish_experiment("nope".into(), ExperimentStatus::Failed, Some("x".into()))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");
    let error = store
        .save_experiment_results("nope".into(), Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");
    let error = store
        .create_experiment(NewExperiment {
            name: "x".into(),
            dataset_name: "absent".into(),
            config: json!({}),
        })
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");
    assert!(store.experiment("nope".into()).await.unwrap().is_none());
}
