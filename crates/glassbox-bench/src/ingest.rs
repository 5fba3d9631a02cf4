//! The ingest benchmark: prepare the requests, start or find the receiver, run the load,
//! check what was committed, and report.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use reqwest::Url;
use tokio::sync::watch;

use crate::cli::{Settings, Target};
use crate::generate::generate_batch;
use crate::load::{self, Mode, Plan, Tally, Workload};
use crate::monitor::{self, Health, Samples};
use crate::report::{Outcome, Report, RunInfo, ServerFigures};
use crate::rng::Rng;
use crate::server::{ServerProcess, StopReport};
use crate::template::Template;
use crate::transport::{Sender, Transport};
use crate::verify::{self, Verification};

/// Distinct request bodies. Request `n` is a copy of template `n % TEMPLATES` with new ids.
const TEMPLATES: usize = 16;
/// Time that open-loop requests still queued at the end of the run may start.
const OPEN_LOOP_DRAIN: Duration = Duration::from_secs(10);

/// The receiver's export URL, and its API and process id where known.
struct Endpoints {
    export: Url,
    api: Option<Url>,
    pid: Option<u32>,
}

/// Runs the benchmark, prints the summary line and writes the JSON report. Fails when the
/// checks after the run fail, after reporting.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let started_unix_secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let workload = Arc::new(build_workload(&settings)?);
    let client = api_client()?;
    let (mut server, endpoints) = start_target(&settings)?;

    let (tally, samples, cpu, before) = run_load(&settings, &workload, &client, &endpoints).await?;
    if let Some(process) = &mut server {
        process.ensure_running()?;
    }
    let verification = match (&endpoints.api, before) {
        (Some(api), Some(before)) => {
            let traces =
                verify::sample_traces(&workload, &tally.acknowledged, settings.verify_traces);
            Some(verify::verify(&client, api, before, tally.spans_acknowledged, &traces).await?)
        }
        _ => None,
    };
    let vm_hwm = endpoints
        .pid
        .and_then(|pid| monitor::status_bytes(pid, "VmHWM"));
    let stop = match server {
        Some(process) => Some(stop_server(process).await?),
        None => None,
    };

    let measurements = Measurements {
        tally,
        samples,
        cpu,
        vm_hwm,
        stop,
        verification,
    };
    let run = run_info(&settings, &workload, started_unix_secs);
    let report = build_report(run, endpoints.pid, measurements);
    report.write(&settings.json_out)?;
    println!("{}", report.summary_line());
    check(&report, &settings)
}

/// Starts the server, or describes the running receiver.
fn start_target(settings: &Settings) -> anyhow::Result<(Option<ServerProcess>, Endpoints)> {
    match &settings.target {
        Target::Start { binary, work_dir } => {
            let process = ServerProcess::start(binary, work_dir)?;
            let endpoints = own_endpoints(&process, settings.transport)?;
            Ok((Some(process), endpoints))
        }
        Target::Running { export, api, pid } => Ok((
            None,
            Endpoints {
                export: export.clone(),
                api: api.clone(),
                pid: *pid,
            },
        )),
    }
}

/// Everything measured during and after the load.
struct Measurements {
    tally: Tally,
    samples: Samples,
    cpu: CpuTime,
    vm_hwm: Option<u64>,
    stop: Option<StopReport>,
    verification: Option<Verification>,
}

fn build_report(run: RunInfo, pid: Option<u32>, measured: Measurements) -> Report {
    let elapsed = measured.tally.last_response.as_secs_f64();
    let per_second = |secs: f64| (elapsed > 0.0).then(|| secs / elapsed);
    let cpu = &measured.cpu;
    let server = pid.map(|pid| ServerFigures {
        pid,
        vm_hwm_bytes: measured.vm_hwm,
        sampled_peak_rss_bytes: measured.samples.peak_rss_bytes,
        cpu_secs: cpu.server,
        cpu_cores: cpu.server.and_then(per_second),
        max_queued_records: measured.samples.max_queued_records,
        stop: measured.stop,
    });
    Report::new(Outcome {
        run,
        server,
        client_cpu_secs: cpu.client,
        machine_busy_cores: cpu.machine.and_then(per_second),
        other_processes_cores: other_processes_cores(cpu, elapsed),
        verification: measured.verification,
        tally: measured.tally,
    })
}

fn build_workload(settings: &Settings) -> anyhow::Result<Workload> {
    let mut rng = Rng::new(settings.seed);
    let templates = (0..TEMPLATES)
        .map(|_| {
            Template::new(
                generate_batch(&mut rng, settings.batch_spans),
                settings.encoding,
            )
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Workload::new(templates, settings.seed)
}

/// Builds a client for the API that never goes through a proxy.
fn api_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .context("failed to build the HTTP client")
}

fn own_endpoints(process: &ServerProcess, transport: Transport) -> anyhow::Result<Endpoints> {
    let export = match transport {
        Transport::Http => process.otlp_http.join("/v1/traces")?,
        Transport::Grpc => process.otlp_grpc.clone(),
    };
    Ok(Endpoints {
        export,
        api: Some(process.api.clone()),
        pid: Some(process.pid()),
    })
}

/// CPU time during the load, in seconds.
struct CpuTime {
    server: Option<f64>,
    client: Option<f64>,
    /// All processes of the machine, these two included.
    machine: Option<f64>,
}

/// Connects the senders, then runs the load while sampling the receiver.
async fn run_load(
    settings: &Settings,
    workload: &Arc<Workload>,
    client: &reqwest::Client,
    endpoints: &Endpoints,
) -> anyhow::Result<(Tally, Samples, CpuTime, Option<Health>)> {
    let mut senders = Vec::with_capacity(settings.concurrency);
    for _ in 0..settings.concurrency {
        senders
            .push(Sender::connect(settings.transport, settings.encoding, &endpoints.export).await?);
    }
    let before = match &endpoints.api {
        Some(api) => Some(
            monitor::health(client, api)
                .await
                .with_context(|| format!("failed to read {api}api/v1/health before the run"))?,
        ),
        None => None,
    };

    let (stop_sampling, stop) = watch::channel(false);
    let sampler = monitor::spawn(endpoints.pid, endpoints.api.clone(), client.clone(), stop);
    let own_pid = std::process::id();
    let server_cpu_before = endpoints.pid.and_then(monitor::cpu_seconds);
    let client_cpu_before = monitor::cpu_seconds(own_pid);
    let machine_cpu_before = monitor::machine_busy_seconds();

    let plan = Plan {
        mode: settings.mode,
        duration: settings.duration,
        drain: OPEN_LOOP_DRAIN,
    };
    let tally = load::run(plan, Arc::clone(workload), senders).await?;

    let cpu = CpuTime {
        server: difference(
            endpoints.pid.and_then(monitor::cpu_seconds),
            server_cpu_before,
        ),
        client: difference(monitor::cpu_seconds(own_pid), client_cpu_before),
        machine: difference(monitor::machine_busy_seconds(), machine_cpu_before),
    };
    let _ = stop_sampling.send(true);
    let samples = sampler.await.context("the sampler task failed")?;
    Ok((tally, samples, cpu, before))
}

fn difference(after: Option<f64>, before: Option<f64>) -> Option<f64> {
    Some(after? - before?)
}

/// Returns the cores that processes other than the server and the benchmark kept busy on
/// average, when the server's process id is known.
fn other_processes_cores(cpu: &CpuTime, elapsed: f64) -> Option<f64> {
    if elapsed <= 0.0 {
        return None;
    }
    let others = cpu.machine? - cpu.server? - cpu.client?;
    Some((others / elapsed).max(0.0))
}

async fn stop_server(process: ServerProcess) -> anyhow::Result<StopReport> {
    tokio::task::spawn_blocking(move || process.stop())
        .await
        .context("the task that stops the server failed")?
}

fn run_info(settings: &Settings, workload: &Workload, started_unix_secs: u64) -> RunInfo {
    RunInfo {
        label: settings.label(),
        mode: match settings.mode {
            Mode::Max => "max",
            Mode::Rate(_) => "rate",
        },
        target_spans_per_sec: match settings.mode {
            Mode::Max => None,
            Mode::Rate(rate) => Some(rate),
        },
        concurrency: settings.concurrency,
        batch_spans: workload.batch_spans(),
        duration_secs: settings.duration.as_secs_f64(),
        seed: settings.seed,
        mean_request_bytes: workload.mean_body_bytes(),
        started_unix_secs,
        started_server: matches!(settings.target, Target::Start { .. }),
    }
}

/// Fails when nothing was acknowledged or the checks after the run failed.
fn check(report: &Report, settings: &Settings) -> anyhow::Result<()> {
    if report.spans.acknowledged == 0 {
        bail!(
            "the receiver acknowledged no spans ({} requests throttled, {} failed); \
             the errors are in {}",
            report.requests.throttled,
            report.requests.failed,
            settings.json_out.display()
        );
    }
    if let Some(verification) = report.verification.as_ref().filter(|check| !check.passed()) {
        bail!(
            "acknowledged spans are missing: {}",
            verification_failures(verification)
        );
    }
    Ok(())
}

fn verification_failures(verification: &Verification) -> String {
    let first_failures: Vec<&str> = verification
        .failures
        .iter()
        .take(5)
        .map(String::as_str)
        .collect();
    let more = verification
        .failures
        .len()
        .saturating_sub(first_failures.len());
    if more > 0 {
        format!("{} (and {more} more)", first_failures.join("; "))
    } else {
        first_failures.join("; ")
    }
}
