//! One task per scrape target: fetch the metrics page on its interval, parse and map it, write
//! the points, and record the outcome in the registry. A failing target never stops the
//! others, and every failure names its cause.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use glassbox_gateway::client::UpstreamClient;
use glassbox_ingest::BatchWriter;
use glassbox_prometheus::{Limits, Mapper};
use glassbox_store::WriteBatch;
use http::header::{ACCEPT, USER_AGENT};
use http_body_util::{BodyExt, Limited};
use tokio::sync::watch;

use crate::health::{LatestValue, SharedRegistry};
use crate::target::Target;
use crate::{now_nanos, wait_or_stop};

/// The reason one scrape failed.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// No response within the timeout.
    #[error("timed out after {0} s")]
    Timeout(u64),
    /// The connection or request failed.
    #[error("request failed: {0}")]
    Request(String),
    /// The server responded with a status other than 200.
    #[error("answered HTTP {status}: {body}")]
    Status {
        /// The status code.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The page is larger than allowed.
    #[error("page larger than {0} bytes")]
    TooLarge(usize),
    /// The page is not UTF-8 text.
    #[error("page is not UTF-8 text")]
    NotText,
    /// The page is not a valid exposition.
    #[error("invalid metrics page: {0}")]
    Parse(String),
    /// The points could not be stored.
    #[error("points not stored: {0}")]
    Store(String),
}

/// Everything a scrape task needs besides its target.
#[derive(Clone)]
pub struct Scraper {
    /// The HTTP client, shared by every target.
    pub client: UpstreamClient,
    /// The writer of the points.
    pub writer: BatchWriter,
    /// The registry to report to.
    pub registry: SharedRegistry,
    /// Parser limits.
    pub limits: Limits,
}

impl Scraper {
    /// Scrapes `target` on its interval until `shutdown` turns true.
    pub async fn run(self, target: Target, index: usize, mut shutdown: watch::Receiver<bool>) {
        let mut mapper = Mapper::new(target.kind.server_kind());
        let mut last_logged: Option<String> = None;
        // Spread the first scrapes of many targets over one interval.
        let jitter = target.interval.mul_f64(fastrand::f64());
        let mut next = tokio::time::Instant::now() + jitter;
        loop {
            if !wait_or_stop(next, &mut shutdown).await {
                return;
            }
            next += target.interval;
            self.scrape(&target, index, &mut mapper, &mut last_logged)
                .await;
        }
    }

    /// Scrapes once. A failure is logged when it differs from the last one logged, so a
    /// target that stays down does not fill the log.
    async fn scrape(
        &self,
        target: &Target,
        index: usize,
        mapper: &mut Mapper,
        last_logged: &mut Option<String>,
    ) {
        let at = now_nanos();
        let started = Instant::now();
        let outcome = self.scrape_once(target, mapper, at).await;
        let duration_ms = started.elapsed().as_secs_f64() * 1_000.0;
        match outcome {
            Ok((points, latest, models)) => {
                if last_logged.take().is_some() {
                    tracing::info!(target = %target.name, "scrape target recovered");
                }
                self.registry.update(index, |status| {
                    status.succeeded(at, duration_ms, points, latest);
                    if target.models.is_empty() {
                        status.models = models;
                    }
                });
            }
            Err(error) => {
                let text = error.to_string();
                if last_logged.as_deref() != Some(text.as_str()) {
                    tracing::warn!(target = %target.name, %error, "scrape failed");
                    *last_logged = Some(text);
                }
                self.registry.update(index, |status| {
                    status.failed(at, duration_ms, error.to_string())
                });
            }
        }
    }

    async fn scrape_once(
        &self,
        target: &Target,
        mapper: &mut Mapper,
        at: u64,
    ) -> Result<(u64, Vec<LatestValue>, Vec<String>), ScrapeError> {
        let page = tokio::time::timeout(target.timeout, self.fetch(target))
            .await
            .map_err(|_| ScrapeError::Timeout(target.timeout.as_secs()))??;
        let exposition = glassbox_prometheus::parse(&page, &self.limits)
            .map_err(|error| ScrapeError::Parse(error.to_string()))?;
        let converted = mapper.convert(&exposition, &target.name, at);

        let models = models_of(&converted.canonical);
        let latest = converted
            .latest
            .iter()
            .map(|(name, value)| LatestValue {
                name: name.clone(),
                of: None,
                value: *value,
            })
            .collect();
        let mut points = converted.raw;
        points.extend(converted.canonical);
        let count = points.len() as u64;
        self.writer
            .write(WriteBatch {
                metric_points: points,
                ..WriteBatch::default()
            })
            .await
            .map_err(|error| ScrapeError::Store(error.to_string()))?;
        Ok((count, latest, models))
    }

    async fn fetch(&self, target: &Target) -> Result<String, ScrapeError> {
        let request = http::Request::get(target.url.clone())
            .header(
                ACCEPT,
                "text/plain;version=0.0.4;q=0.9, application/openmetrics-text;version=1.0.0;q=0.5",
            )
            .header(USER_AGENT, concat!("glassbox/", env!("CARGO_PKG_VERSION")));
        let request = match &target.authorization {
            Some(value) => request.header(http::header::AUTHORIZATION, value),
            None => request,
        };
        let request = request
            .body(Bytes::new())
            .map_err(|error| ScrapeError::Request(error.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|error| ScrapeError::Request(describe(&error)))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), self.limits.max_bytes)
            .collect()
            .await
            .map_err(|error| {
                if error.is::<http_body_util::LengthLimitError>() {
                    ScrapeError::TooLarge(self.limits.max_bytes)
                } else {
                    ScrapeError::Request(error.to_string())
                }
            })?
            .to_bytes();
        if !status.is_success() {
            // The start of the body, on one line: an error page may be long HTML.
            let text = String::from_utf8_lossy(&body[..body.len().min(2_000)]);
            let mut start: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if let Some((cut, _)) = start.char_indices().nth(200) {
                start.truncate(cut);
            }
            return Err(ScrapeError::Status {
                status: status.as_u16(),
                body: start,
            });
        }
        String::from_utf8(body.to_vec()).map_err(|_| ScrapeError::NotText)
    }
}

/// Describes a client error with its causes, since its own message only names the step that
/// failed.
fn describe(error: &glassbox_gateway::client::ClientError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Collects the models a server reported through `model` labels.
fn models_of(points: &[glassbox_model::MetricPoint]) -> Vec<String> {
    let models: BTreeSet<String> = points
        .iter()
        .filter_map(|point| point.labels.get("model").and_then(|value| value.as_str()))
        .map(str::to_owned)
        .collect();
    models.into_iter().collect()
}

/// The timeout of the client's connection attempts: the scrape timeout also bounds them.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
