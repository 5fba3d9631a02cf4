//! `glassbox serve`: opens the store, starts the batch writer and every listener, and on
//! SIGTERM or Ctrl-C stops accepting, commits everything accepted, then exits. With
//! `--demo`, a synthetic workload fills the server once it listens.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use glassbox_api::ApiState;
use glassbox_gateway::Gateway;
use glassbox_infra::Infra;
use glassbox_ingest::{BatchWriter, Ingest, IngestOptions, WriterOptions};
use glassbox_quality::{ExperimentRunner, GatewayClient};
use glassbox_store::{ContentHook, SqliteOptions, SqliteStore, Store};
use glassbox_ui::UiState;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::{Config, listener_address};
use crate::data_lock::lock_data_dir;
use crate::listener::bind;

/// Runs the server until a shutdown signal, then flushes. `demo` adds the demo workload.
pub async fn run(mut config: Config, demo: bool) -> anyhow::Result<()> {
    glassbox_store::background::set_priority(config.background_priority);
    let _data_dir_lock = lock_data_dir(&config.data_dir)?;
    let store = SqliteStore::open(
        &config.data_dir,
        SqliteOptions {
            readers: config.sqlite.readers,
            sync_full: config.sqlite.sync_full,
            content_hook: Some(content_hook(config.analyzer_config())),
            ..SqliteOptions::default()
        },
    )
    .context("failed to open the store")?;
    tracing::info!(path = %store.path().display(), "store opened");
    let store: Arc<dyn Store> = Arc::new(store);
    let enricher = Arc::new(crate::pricing::enricher(&config, store.as_ref()).await?);

    tracing::info!(
        queue_records = config.ingest.queue_records,
        queue_bytes = config.ingest.queue_bytes,
        max_body_bytes = config.ingest.max_body_bytes,
        "ingest limits"
    );
    let (writer, writer_task) = BatchWriter::start(
        Arc::clone(&store) as Arc<dyn glassbox_store::WriteStore>,
        WriterOptions {
            queue_records: config.ingest.queue_records,
            queue_bytes: config.ingest.queue_bytes,
            max_batch_records: config.ingest.max_batch_records,
            ..WriterOptions::default()
        },
    );
    let ingest = Ingest::new(
        writer,
        IngestOptions {
            max_body_bytes: config.ingest.max_body_bytes,
        },
        enricher,
    )
    .with_analyzers(config.analyzer_config());
    log_analyzers(&config);
    let quality = Quality::new(&store, ingest.enricher());
    let (shutdown_sender, shutdown) = watch::channel(false);
    let demo_provider = if demo && config.gateway.enabled {
        Some(demo_provider(&mut config).await?)
    } else {
        None
    };
    let gateway = start_gateway(&config, &ingest)?;
    if demo {
        config.infra.host.enabled = true;
    }
    let infra = Infra::start(
        &config.infra,
        ingest.writer().clone(),
        Arc::clone(&store),
        &shutdown,
    )
    .map_err(|message| anyhow::anyhow!("invalid infrastructure configuration: {message}"))?;
    let (servers, main_address) = start_listeners(
        &config,
        &store,
        ingest.clone(),
        gateway.as_ref().map(|(gateway, _)| Arc::clone(gateway)),
        Arc::clone(infra.registry()),
        &quality.experiments,
        &shutdown,
    )
    .await?;
    let recorder_task = gateway.map(|(_, task)| task);
    if config.gateway.enabled {
        quality
            .client
            .connect(format!("http://{}", loopback(main_address)));
    }
    let evaluators = start_evaluators(&config, &store, &quality, &shutdown)?;
    let demo = demo.then(|| {
        tokio::spawn(crate::demo::fill_server(
            ingest.clone(),
            Arc::clone(&store),
            Arc::clone(&quality.experiments),
            shutdown.clone(),
        ))
    });
    let demo_calls = demo_provider.as_ref().map(|_| {
        let gateway = format!("http://{main_address}");
        tokio::spawn(crate::demo::gateway::send_calls(gateway, shutdown.clone()))
    });
    // The writer stops once every `Ingest` handle is gone: keep only the listeners' and the
    // demo's.
    drop(ingest);

    wait_for_signal().await;
    tracing::info!("shutting down: no new requests; committing what was accepted");
    let _ = shutdown_sender.send(true);
    if let Some(demo) = demo
        && let Err(error) = demo.await
    {
        tracing::error!(%error, "the demo task failed");
    }
    if let Some(calls) = demo_calls {
        let _ = calls.await;
    }
    drop(demo_provider);
    if let Some(evaluators) = evaluators {
        let _ = evaluators.await;
    }
    infra.stopped().await;
    finish(servers, recorder_task, writer_task, store.as_ref()).await
}

/// The parts that score traffic: the client of the server's own gateway, shared by judges
/// and experiments, and the experiment runner.
struct Quality {
    client: Arc<GatewayClient>,
    experiments: Arc<ExperimentRunner>,
}

impl Quality {
    fn new(store: &Arc<dyn Store>, enricher: &Arc<glassbox_enrich::Enricher>) -> Quality {
        let client = Arc::new(GatewayClient::new());
        let experiments = Arc::new(ExperimentRunner::new(
            Arc::clone(store),
            Arc::clone(&client),
            Arc::clone(enricher),
        ));
        Quality {
            client,
            experiments,
        }
    }
}

/// Starts the online evaluators of the configuration, if any.
fn start_evaluators(
    config: &Config,
    store: &Arc<dyn Store>,
    quality: &Quality,
    shutdown: &watch::Receiver<bool>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let evaluators = glassbox_quality::build_evaluators(&config.evaluators)
        .map_err(|message| anyhow::anyhow!("invalid configuration: {message}"))?;
    if evaluators.is_empty() {
        return Ok(None);
    }
    let judges = evaluators.iter().any(|evaluator| {
        matches!(
            evaluator.method,
            glassbox_quality::evaluator::Method::Judge(_)
        )
    });
    for evaluator in &config.evaluators {
        let key = evaluator
            .judge
            .as_ref()
            .and_then(|judge| judge.access.api_key_env.as_deref());
        if let Some(variable) = key
            && std::env::var_os(variable).is_none()
        {
            tracing::warn!(
                evaluator = %evaluator.name,
                variable,
                "the judge's api_key_env variable is not set; its calls will fail until it is"
            );
        }
    }
    if judges && !config.gateway.enabled {
        anyhow::bail!(
            "invalid configuration: LLM judge evaluators call models through the gateway; set gateway.enabled = true"
        );
    }
    Ok(Some(glassbox_quality::evaluator::start(
        Arc::clone(store),
        Arc::clone(&quality.client),
        evaluators,
        shutdown.clone(),
    )))
}

/// Returns the address to reach a listener from this machine: loopback when it listens on
/// every interface.
fn loopback(address: SocketAddr) -> SocketAddr {
    match address.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from(([127, 0, 0, 1], address.port()))
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, address.port()))
        }
        _ => address,
    }
}

/// Starts the mock provider of `--demo` and adds its upstreams to the gateway configuration.
async fn demo_provider(config: &mut Config) -> anyhow::Result<crate::demo::gateway::DemoProvider> {
    let provider = crate::demo::gateway::DemoProvider::start()
        .await
        .context("failed to start the demo's mock provider")?;
    config.gateway.upstreams.extend(provider.upstreams());
    Ok(provider)
}

/// The store runs the analyzers on content that joins its span after the span was stored.
fn content_hook(analyzers: glassbox_analyze::AnalyzerConfig) -> ContentHook {
    ContentHook(Arc::new(move |span| {
        glassbox_analyze::annotate(span, &analyzers)
    }))
}

fn log_analyzers(config: &Config) {
    let analyzers = config.analyzer_config();
    let enabled: Vec<&str> = analyzers
        .enabled
        .iter()
        .map(|analyzer| analyzer.as_str())
        .collect();
    tracing::info!(
        analyzers = %enabled.join(","),
        mask_pii = analyzers.mask_pii,
        mask_secrets = analyzers.mask_secrets,
        "analyzers configured"
    );
}

/// Starts the gateway's recorder, when the gateway is on.
fn start_gateway(
    config: &Config,
    ingest: &Ingest,
) -> anyhow::Result<Option<(Arc<Gateway>, tokio::task::JoinHandle<()>)>> {
    if !config.gateway.enabled {
        return Ok(None);
    }
    let base_urls = config
        .base_urls()
        .map_err(|message| anyhow::anyhow!("invalid configuration: {message}"))?;
    let started = glassbox_gateway::start(&config.gateway, &base_urls, ingest)
        .map_err(|message| anyhow::anyhow!("invalid gateway configuration: {message}"))?;
    tracing::info!(
        openai = %base_urls.openai,
        anthropic = %base_urls.anthropic,
        extra_upstreams = config.gateway.upstreams.len(),
        capture = config.gateway.capture.as_str(),
        "gateway ready"
    );
    Ok(Some(started))
}

async fn start_listeners(
    config: &Config,
    store: &Arc<dyn Store>,
    ingest: Ingest,
    gateway: Option<Arc<Gateway>>,
    infra: Arc<glassbox_infra::Registry>,
    experiments: &Arc<ExperimentRunner>,
    shutdown: &watch::Receiver<bool>,
) -> anyhow::Result<(JoinSet<anyhow::Result<()>>, SocketAddr)> {
    let mut servers = JoinSet::new();

    let mut main_router = glassbox_api::router(ApiState {
        store: Arc::clone(store),
        ingest: ingest.clone(),
        config_prices: Arc::new(config.pricing.custom.clone()),
        gateway: gateway
            .as_ref()
            .map(|gateway| Arc::clone(gateway.recorder().stats())),
        infra: Some(Arc::clone(&infra)),
        experiments: Some(Arc::clone(experiments)),
    })
    .merge(glassbox_ingest::http::router(ingest.clone()))
    .merge(glassbox_ui::router(UiState {
        store: Arc::clone(store),
        enricher: Arc::clone(ingest.enricher()),
        infra: Some(infra),
    }));
    if let Some(gateway) = gateway {
        main_router = main_router.merge(glassbox_gateway::router(gateway));
    }
    let main = bind(&config.listen, "listen").await?;
    let main_address = main
        .local_addr()
        .context("failed to read the API address")?;
    tracing::info!(
        gateway = config.gateway.enabled,
        address = %local(&main),
        "API and OTLP/HTTP listening"
    );
    tracing::info!("dashboard at http://{main_address}/");
    servers.spawn(serve_http(main, main_router, shutdown.clone()));

    if let Some(address) = listener_address(&config.otlp_http_listen) {
        let listener = bind(address, "otlp_http_listen").await?;
        tracing::info!(address = %local(&listener), "OTLP/HTTP listening");
        servers.spawn(serve_http(
            listener,
            glassbox_ingest::http::router(ingest.clone()),
            shutdown.clone(),
        ));
    }
    if let Some(address) = listener_address(&config.otlp_grpc_listen) {
        let listener = bind(address, "otlp_grpc_listen").await?;
        tracing::info!(address = %local(&listener), "OTLP/gRPC listening");
        servers.spawn(serve_grpc(listener, ingest, shutdown.clone()));
    }
    Ok((servers, main_address))
}

fn local(listener: &TcpListener) -> String {
    listener.local_addr().map_or_else(
        |_| "unknown".to_owned(),
        |address: SocketAddr| address.to_string(),
    )
}

async fn serve_http(
    listener: TcpListener,
    router: Router,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    crate::http::serve(listener, router, shutdown)
        .await
        .context("HTTP server failed")
}

async fn serve_grpc(
    listener: TcpListener,
    ingest: Ingest,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tonic::transport::Server::builder()
        .layer(glassbox_ingest::grpc::ReserveLayer::new(ingest.clone()))
        .add_routes(glassbox_ingest::grpc::routes(ingest))
        .serve_with_incoming_shutdown(incoming, async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await
        .context("gRPC server failed")
}

/// Waits for the servers to finish their requests, then for the gateway's recorder to hand
/// over its calls, then for the writer to commit its queue.
async fn finish(
    mut servers: JoinSet<anyhow::Result<()>>,
    recorder_task: Option<tokio::task::JoinHandle<()>>,
    writer_task: tokio::task::JoinHandle<()>,
    store: &dyn Store,
) -> anyhow::Result<()> {
    while let Some(result) = servers.join_next().await {
        match result {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::error!(error = %format!("{error:#}"), "listener stopped with an error")
            }
            Err(error) => tracing::error!(%error, "listener task failed"),
        }
    }
    if let Some(task) = recorder_task {
        task.await.context("the gateway recorder failed")?;
    }
    writer_task.await.context("the batch writer failed")?;
    store.flush().await.context("failed to flush the store")?;
    tracing::info!("all accepted data committed; bye");
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "failed to listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "failed to listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
