//! Scraping against local HTTP servers that serve recorded metric pages, and against targets
//! that time out, refuse connections, fail, or serve broken, huge or changing pages. Points go
//! through a real batch writer into a real SQLite store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use glassbox_infra::config::TargetConfig;
use glassbox_infra::{Health, Infra, InfraConfig, TargetKind, TargetStatus};
use glassbox_ingest::{BatchWriter, WriterOptions};
use glassbox_store::{PointQuery, SqliteOptions, SqliteStore, Store};
use tokio::sync::watch;

fn page(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../glassbox-prometheus/tests/data")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// Serves `pages` in turn at `/metrics`, the last one again and again.
async fn serve_pages(pages: Vec<String>) -> String {
    let served = Arc::new(AtomicUsize::new(0));
    let pages = Arc::new(pages);
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let served = Arc::clone(&served);
            let pages = Arc::clone(&pages);
            async move {
                let index = served.fetch_add(1, Ordering::SeqCst).min(pages.len() - 1);
                pages[index].clone()
            }
        }),
    );
    serve(app).await
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/metrics")
}

fn target(name: &str, kind: TargetKind, url: &str) -> TargetConfig {
    TargetConfig {
        name: Some(name.to_owned()),
        kind,
        url: url.to_owned(),
        interval_secs: Some(1),
        timeout_secs: Some(1),
        models: Vec::new(),
        gpu_hour_usd: None,
        gpus: None,
    }
}

struct Running {
    infra: Infra,
    store: Arc<dyn Store>,
    stop: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

fn start(config: InfraConfig) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap());
    let (writer, _task) = BatchWriter::start(
        Arc::clone(&store) as Arc<dyn glassbox_store::WriteStore>,
        WriterOptions::default(),
    );
    let (stop, shutdown) = watch::channel(false);
    let infra = Infra::start(&config, writer, Arc::clone(&store), &shutdown).unwrap();
    Running {
        infra,
        store,
        stop,
        _dir: dir,
    }
}

fn status<'a>(statuses: &'a [TargetStatus], name: &str) -> &'a TargetStatus {
    statuses.iter().find(|status| status.name == name).unwrap()
}

/// Waits until every named target has made at least `scrapes` attempts.
async fn wait_for(running: &Running, names: &[&str], scrapes: u64) -> Vec<TargetStatus> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let statuses = running.infra.registry().snapshot();
        if names
            .iter()
            .all(|name| status(&statuses, name).scrapes >= scrapes)
        {
            return statuses;
        }
        assert!(
            Instant::now() < deadline,
            "targets were not scraped: {statuses:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn latest(store: &Arc<dyn Store>, name: &str, target: &str) -> Option<f64> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let series = store
        .metric_series(
            PointQuery {
                name: name.to_owned(),
                from_unix_nano: now - 600 * 1_000_000_000,
                to_unix_nano: now + 1_000_000_000,
                labels: vec![("target".to_owned(), target.to_owned())],
            },
            600,
        )
        .await
        .unwrap();
    series
        .first()
        .and_then(|one| one.steps.last())
        .map(|step| step.last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_and_failing_targets_side_by_side() {
    let vllm = serve_pages(vec![page("vllm-0.11.txt"), page("vllm-0.11-next.txt")]).await;
    let upgraded = serve_pages(vec![page("vllm-0.8.txt"), page("vllm-0.11.txt")]).await;
    let slow = serve(Router::new().route(
        "/metrics",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            "late 1\n"
        }),
    ))
    .await;
    let failing = serve(Router::new().route(
        "/metrics",
        get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "engine dead") }),
    ))
    .await;
    let malformed = serve_pages(vec![
        "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name=\"a\" 3\n"
            .to_owned(),
    ])
    .await;
    let huge = serve_pages(vec!["x 1\n".repeat(40_000)]).await;
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/metrics", listener.local_addr().unwrap())
    };

    let mut config = InfraConfig::default();
    config.scrape.max_page_bytes = 64 * 1024;
    config.targets = vec![
        target("vllm", TargetKind::Vllm, &vllm),
        target("upgraded", TargetKind::Vllm, &upgraded),
        target("slow", TargetKind::Tgi, &slow),
        target("failing", TargetKind::Sglang, &failing),
        target("malformed", TargetKind::Vllm, &malformed),
        target("huge", TargetKind::Prometheus, &huge),
        target("refused", TargetKind::Llamacpp, &refused),
    ];
    let running = start(config);
    let names = [
        "vllm",
        "upgraded",
        "slow",
        "failing",
        "malformed",
        "huge",
        "refused",
    ];
    let statuses = wait_for(&running, &names, 2).await;

    for name in ["vllm", "upgraded"] {
        let healthy = status(&statuses, name);
        assert_eq!(healthy.health, Health::Healthy, "{healthy:?}");
        assert_eq!(healthy.failures, 0, "{healthy:?}");
        assert!(healthy.last_points > 10, "{healthy:?}");
        assert_eq!(healthy.models, ["meta-llama/Llama-3.1-8B-Instruct"]);
    }
    for (name, reason) in [
        ("slow", "timed out after 1 s"),
        ("failing", "answered HTTP 500: engine dead"),
        ("malformed", "invalid metrics page: line 2"),
        ("huge", "page larger than 65536 bytes"),
        ("refused", "request failed"),
    ] {
        let broken = status(&statuses, name);
        assert_eq!(broken.health, Health::Unhealthy, "{broken:?}");
        let error = broken.last_error.as_deref().unwrap_or_default();
        assert!(error.contains(reason), "{name}: {error}");
        assert_eq!(broken.failures, broken.scrapes, "{broken:?}");
    }

    // The points are in the store under canonical names, from the old names and the new.
    let store = &running.store;
    assert!(
        latest(store, "inference.requests.running", "vllm")
            .await
            .is_some()
    );
    assert!(
        latest(store, "vllm:num_requests_running", "vllm")
            .await
            .is_some()
    );
    assert!(
        latest(store, "inference.kv_cache.usage", "upgraded")
            .await
            .is_some()
    );
    // Rates need two scrapes of the same server.
    assert!(
        latest(store, "inference.generation_tokens.rate", "vllm")
            .await
            .is_some()
    );
    assert_eq!(
        latest(store, "inference.requests.running", "failing").await,
        None
    );

    running.stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), running.infra.stopped())
        .await
        .expect("tasks stop on shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_collector_reports_and_gpu_is_unavailable() {
    let mut config = InfraConfig::default();
    config.host.enabled = true;
    config.host.interval_secs = 1;
    config.gpu.enabled = true;
    let running = start(config);
    let statuses = wait_for(&running, &["host"], 2).await;
    let host = status(&statuses, "host");
    assert_eq!(host.health, Health::Healthy, "{host:?}");
    assert!(
        host.latest
            .iter()
            .any(|value| value.name.starts_with("system.memory")),
        "{host:?}"
    );
    let gpu = status(&statuses, "gpu");
    if gpu.health == Health::Unavailable {
        assert!(
            gpu.last_error
                .as_deref()
                .unwrap_or_default()
                .contains("NVML"),
            "{gpu:?}"
        );
    }
    let utilization = running
        .store
        .metric_series(
            PointQuery {
                name: "system.memory.limit".to_owned(),
                from_unix_nano: 0,
                to_unix_nano: u64::MAX / 2,
                labels: Vec::new(),
            },
            86_400,
        )
        .await
        .unwrap();
    assert!(!utilization.is_empty());
    running.stop.send(true).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_credentials_become_basic_authentication() {
    let page = page("vllm-0.11.txt");
    let url = serve(Router::new().route(
        "/metrics",
        get(move |headers: axum::http::HeaderMap| {
            let page = page.clone();
            async move {
                // "scraper:s3cret" in base64.
                match headers
                    .get("authorization")
                    .and_then(|value| value.to_str().ok())
                {
                    Some("Basic c2NyYXBlcjpzM2NyZXQ=") => (StatusCode::OK, page),
                    _ => (StatusCode::UNAUTHORIZED, "who are you".to_owned()),
                }
            }
        }),
    ))
    .await;
    let with_credentials = url.replace("http://", "http://scraper:s3cret@");
    let mut config = InfraConfig::default();
    let mut protected = target("protected", TargetKind::Vllm, &with_credentials);
    protected.name = None;
    config.targets = vec![protected, target("anonymous", TargetKind::Vllm, &url)];
    let running = start(config);
    let statuses = running.infra.registry().snapshot();
    let name = statuses[0].name.clone();
    assert!(!name.contains("s3cret"), "{name}");
    assert!(
        !statuses[0]
            .url
            .as_deref()
            .unwrap_or_default()
            .contains("s3cret")
    );

    let statuses = wait_for(&running, &[name.as_str(), "anonymous"], 1).await;
    assert_eq!(status(&statuses, &name).health, Health::Healthy);
    let anonymous = status(&statuses, "anonymous");
    assert_eq!(anonymous.health, Health::Unhealthy);
    assert!(
        anonymous
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("HTTP 401")
    );
    running.stop.send(true).unwrap();
}

#[test]
fn duplicate_target_names_are_rejected() {
    let config = InfraConfig {
        targets: vec![
            target("a", TargetKind::Vllm, "http://127.0.0.1:1/metrics"),
            target("a", TargetKind::Tgi, "http://127.0.0.1:2/metrics"),
        ],
        ..InfraConfig::default()
    };
    let error = config.validate().unwrap_err();
    assert!(error.contains("\"a\""), "{error}");
}
