//! Starts a store, a mock upstream and the gateway, and reads back what was recorded.

use std::sync::Arc;
use std::time::Duration;

use glassbox_enrich::Enricher;
use glassbox_gateway::{BaseUrls, GatewayConfig, GatewayHealth};
use glassbox_ingest::{BatchWriter, Ingest, IngestOptions, WriterOptions};
use glassbox_mock::{MockOptions, MockServer};
use glassbox_model::{Span, TraceId};
use glassbox_store::{SqliteOptions, SqliteStore, TraceStore, WriteStore};
use tokio::net::TcpListener;

/// A running gateway in front of a mock upstream.
pub struct Harness {
    pub url: String,
    pub mock: MockServer,
    pub gateway: Arc<glassbox_gateway::Gateway>,
    pub store: Option<Arc<SqliteStore>>,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// Starts with the default configuration and a mock without delays.
    pub async fn start() -> Harness {
        Harness::with(GatewayConfig::default(), MockOptions::default()).await
    }

    /// Starts with a SQLite store.
    pub async fn with(config: GatewayConfig, mock: MockOptions) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap());
        let write: Arc<dyn WriteStore> = Arc::clone(&store) as Arc<dyn WriteStore>;
        let mut harness = Harness::over(write, config, mock, WriterOptions::default()).await;
        harness.store = Some(store);
        harness._dir = dir;
        harness
    }

    /// Starts over any write store, for tests of a failing or slow store.
    pub async fn over(
        store: Arc<dyn WriteStore>,
        config: GatewayConfig,
        mock: MockOptions,
        writer: WriterOptions,
    ) -> Harness {
        let mock = glassbox_mock::spawn(loopback().await, mock).unwrap();
        let base_urls = BaseUrls {
            openai: mock.openai_base_url(),
            anthropic: mock.anthropic_base_url(),
        };
        let (writer, _writer_task) = BatchWriter::start(store, writer);
        let enricher = Arc::new(Enricher::new(Vec::new()).unwrap());
        let ingest = Ingest::new(writer, IngestOptions::default(), enricher);
        let (gateway, _recorder_task) =
            glassbox_gateway::start(&config, &base_urls, &ingest).unwrap();
        let listener = loopback().await;
        let url = format!("http://{}", listener.local_addr().unwrap());
        let router = glassbox_gateway::router(Arc::clone(&gateway));
        let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
            let _ = stream.set_nodelay(true);
        });
        tokio::spawn(async move { axum::serve(listener, router).await });
        Harness {
            url,
            mock,
            gateway,
            store: None,
            client: reqwest::Client::new(),
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Returns the gateway's counters.
    pub fn health(&self) -> GatewayHealth {
        self.gateway.recorder().stats().health()
    }

    /// Posts JSON to a gateway path with the given headers.
    pub async fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.post_raw(path, headers, body.to_string().into_bytes())
            .await
    }

    /// Posts raw bytes as JSON.
    pub async fn post_raw(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> reqwest::Response {
        post_to(&self.client, &format!("{}{path}", self.url), headers, body).await
    }

    /// Posts the same request straight to the mock, for comparison.
    pub async fn post_direct(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &serde_json::Value,
    ) -> reqwest::Response {
        let url = format!("http://{}{path}", self.mock.addr());
        post_to(&self.client, &url, headers, body.to_string().into_bytes()).await
    }

    /// Waits until the trace has `count` spans, then returns them.
    pub async fn spans(&self, trace: &str, count: usize) -> Vec<Span> {
        let store = self.store.as_ref().expect("a SQLite harness");
        let id: TraceId = trace.parse().unwrap();
        for _ in 0..200 {
            if let Some(detail) = store.trace(id).await.unwrap()
                && detail.spans.len() >= count
            {
                return detail.spans;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("trace {trace} did not get {count} spans within 5 s");
    }

    /// Waits until `check` holds for the counters, or fails after 5 s.
    pub async fn wait_health(&self, check: impl Fn(&GatewayHealth) -> bool) -> GatewayHealth {
        for _ in 0..200 {
            let health = self.health();
            if check(&health) {
                return health;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("health never matched: {:?}", self.health());
    }
}

async fn post_to(
    client: &reqwest::Client,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// Binds a loopback port chosen by the system.
pub async fn loopback() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// Returns a fresh trace id and the `traceparent` header value that carries it.
pub fn trace_context() -> (String, String) {
    let trace = format!("{:032x}", fastrand::u128(1..));
    let header = format!("00-{trace}-00f067aa0ba902b7-01");
    (trace, header)
}

/// Removes the fields that differ between two calls of the mock (ids count up).
pub fn without_ids(mut value: serde_json::Value) -> serde_json::Value {
    if let Some(object) = value.as_object_mut() {
        object.remove("id");
    }
    value
}

/// Splits a streamed body into its `data:` payloads.
pub fn data_lines(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}
