//! Command-line parsing and the settings derived from it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, ensure};
use clap::{ArgGroup, Parser, Subcommand};
use reqwest::Url;

use crate::load::Mode;
use crate::server::{default_binary, loopback_url, traces_url};
use crate::template::Encoding;
use crate::transport::Transport;

/// Benchmarks of the Glassbox receivers.
#[derive(Debug, Parser)]
#[command(name = "glassbox-bench", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send generated GenAI traces to an OTLP receiver and measure what it commits.
    Ingest(IngestArgs),
    /// Fill a store with spans over many days, then time the API's metrics and trace queries.
    Queries(QueriesArgs),
    /// Measure bytes on disk per span, with and without message content (uses the options of
    /// `queries`; `--spans` defaults to 1000000, or 20000 with --short).
    Storage(QueriesArgs),
    /// Compare chat calls sent straight to a mock provider and through the gateway, at fixed
    /// rates, streamed and not; then find the most calls per second the gateway sustains.
    Gateway(GatewayArgs),
    /// Measure the server's CPU while it scrapes many inference servers that serve a
    /// recorded vLLM metrics page.
    Scrape(ScrapeArgs),
    /// Time the analyzers against the rest of ingest, per span with 2 KB of content.
    Analyzers(crate::analyzers::AnalyzersArgs),
    /// Run every benchmark in turn: ingest (OTLP/HTTP protobuf and JSON, gRPC), gateway,
    /// queries, storage, scrape and analyzers.
    All(AllArgs),
}

#[derive(Debug, clap::Args)]
pub struct AllArgs {
    /// A quick run of each benchmark, for CI.
    #[arg(long)]
    pub short: bool,
    /// The glassbox binary to start [default: `glassbox` in the directory of this program].
    #[arg(long, value_name = "BIN")]
    pub glassbox: Option<PathBuf>,
}

impl AllArgs {
    /// Returns the argument lists of each benchmark, as typed on the command line.
    pub fn runs(&self) -> Vec<Vec<String>> {
        let mut common: Vec<String> = Vec::new();
        if self.short {
            common.push("--short".to_owned());
        }
        if let Some(binary) = &self.glassbox {
            common.push("--glassbox".to_owned());
            common.push(binary.display().to_string());
        }
        let runs: [&[&str]; 8] = [
            &[
                "ingest",
                "--max",
                "--transport",
                "http",
                "--encoding",
                "protobuf",
            ],
            &[
                "ingest",
                "--max",
                "--transport",
                "http",
                "--encoding",
                "json",
            ],
            &["ingest", "--max", "--transport", "grpc"],
            &["gateway"],
            &["queries"],
            &["storage"],
            &["scrape"],
            &["analyzers"],
        ];
        runs.iter()
            .map(|run| {
                let mut arguments = vec!["glassbox-bench".to_owned()];
                arguments.extend(run.iter().map(|part| (*part).to_owned()));
                arguments.extend(common.iter().cloned());
                arguments
            })
            .collect()
    }
}

#[derive(Debug, clap::Args)]
pub struct GatewayArgs {
    /// Open-loop rates in calls per second, comma-separated [default: 1000,4000, or 200,500
    /// with --short].
    #[arg(long, value_delimiter = ',')]
    rates: Vec<f64>,
    /// Seconds of each open-loop run [default: 10, or 1 with --short].
    #[arg(long)]
    duration: Option<f64>,
    /// Seconds of the closed-loop run [default: 10, or 1 with --short].
    #[arg(long)]
    max_duration: Option<f64>,
    /// Connections of the closed-loop run.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// A quick run for CI.
    #[arg(long)]
    short: bool,
    /// The glassbox binary to start [default: `glassbox` in the directory of this program].
    #[arg(long, value_name = "BIN")]
    glassbox: Option<PathBuf>,
    /// Also measure this nginx binary as a reference proxy in front of the mock provider.
    #[arg(long, value_name = "BIN")]
    nginx: Option<PathBuf>,
    /// Directory in which the data directory is created and removed after the run
    /// [default: the system's temporary directory].
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Path of the JSON report [default: target/bench/gateway.json].
    #[arg(long, value_name = "PATH")]
    json_out: Option<PathBuf>,
}

impl GatewayArgs {
    /// Validates the arguments into settings.
    pub fn into_settings(self) -> anyhow::Result<crate::gateway::GatewaySettings> {
        let rates = if self.rates.is_empty() {
            if self.short {
                vec![200.0, 500.0]
            } else {
                vec![1_000.0, 4_000.0]
            }
        } else {
            self.rates
        };
        for rate in &rates {
            ensure!(
                rate.is_finite() && *rate > 0.0 && *rate <= 100_000.0,
                "--rates must be between 0 and 100000 calls per second, got {rate}"
            );
        }
        let seconds = |value: Option<f64>, flag: &str| -> anyhow::Result<Duration> {
            let value = value.unwrap_or(if self.short { 1.0 } else { 10.0 });
            ensure!(
                value.is_finite() && value > 0.0 && value <= 3_600.0,
                "{flag} must be between 0 and 3600 seconds, got {value}"
            );
            Ok(Duration::from_secs_f64(value))
        };
        ensure!(self.concurrency >= 1, "--concurrency must be at least 1");
        Ok(crate::gateway::GatewaySettings {
            rates,
            duration: seconds(self.duration, "--duration")?,
            max_duration: seconds(self.max_duration, "--max-duration")?,
            concurrency: self.concurrency,
            binary: match self.glassbox {
                Some(binary) => binary,
                None => default_binary()?,
            },
            nginx: self.nginx,
            work_dir: self.work_dir.unwrap_or_else(std::env::temp_dir),
            json_out: self
                .json_out
                .unwrap_or_else(|| PathBuf::from("target/bench/gateway.json")),
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct ScrapeArgs {
    /// Targets to scrape [default: 50, or 5 with --short].
    #[arg(long)]
    targets: Option<usize>,
    /// Seconds between scrapes of each target.
    #[arg(long, default_value_t = 5)]
    interval: u64,
    /// Seconds of the measured window [default: 60, or 5 with --short].
    #[arg(long)]
    seconds: Option<u64>,
    /// A quick run for CI.
    #[arg(long)]
    short: bool,
    /// The glassbox binary to start [default: `glassbox` in the directory of this program].
    #[arg(long, value_name = "BIN")]
    glassbox: Option<PathBuf>,
    /// Directory in which the data directory is created and removed after the run
    /// [default: the system's temporary directory].
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Path of the JSON report [default: target/bench/scrape.json].
    #[arg(long, value_name = "PATH")]
    json_out: Option<PathBuf>,
}

impl ScrapeArgs {
    /// Validates the arguments into settings.
    pub fn into_settings(self) -> anyhow::Result<crate::scrape::ScrapeSettings> {
        let targets = self.targets.unwrap_or(if self.short { 5 } else { 50 });
        ensure!(
            (1..=1_000).contains(&targets),
            "--targets must be from 1 to 1000, got {targets}"
        );
        ensure!(
            (1..=3_600).contains(&self.interval),
            "--interval must be from 1 to 3600 seconds"
        );
        let seconds = self.seconds.unwrap_or(if self.short { 5 } else { 60 });
        ensure!(
            (1..=3_600).contains(&seconds),
            "--seconds must be from 1 to 3600"
        );
        Ok(crate::scrape::ScrapeSettings {
            targets,
            interval_secs: if self.short { 1 } else { self.interval },
            seconds,
            binary: match self.glassbox {
                Some(binary) => binary,
                None => default_binary()?,
            },
            work_dir: self.work_dir.unwrap_or_else(std::env::temp_dir),
            json_out: self
                .json_out
                .unwrap_or_else(|| PathBuf::from("target/bench/scrape.json")),
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct QueriesArgs {
    /// Spans to store [default: 1000000, or 20000 with --short].
    #[arg(long)]
    spans: Option<u64>,
    /// Days the spans are spread over, ending at the current hour.
    #[arg(long, default_value_t = 30)]
    days: u64,
    /// Timed repetitions of each query, after one untimed warm-up.
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// A quick run for CI: 20,000 spans.
    #[arg(long)]
    short: bool,
    /// Seed of the span generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The glassbox binary to start [default: `glassbox` in the directory of this program].
    #[arg(long, value_name = "BIN")]
    glassbox: Option<PathBuf>,
    /// Directory in which the data directory is created and removed after the run
    /// [default: the system's temporary directory].
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Path of the JSON report [default: target/bench/queries.json, or storage.json].
    #[arg(long, value_name = "PATH")]
    pub json_out: Option<PathBuf>,
}

impl QueriesArgs {
    /// Validates the arguments into settings.
    pub fn into_settings(self) -> anyhow::Result<crate::queries::QuerySettings> {
        let spans = self
            .spans
            .unwrap_or(if self.short { 20_000 } else { 1_000_000 });
        ensure!(spans >= 5, "--spans must be at least 5");
        ensure!(self.days >= 1, "--days must be at least 1");
        ensure!(self.repeat >= 1, "--repeat must be at least 1");
        Ok(crate::queries::QuerySettings {
            spans,
            days: self.days,
            repeat: self.repeat,
            seed: self.seed,
            binary: match self.glassbox {
                Some(binary) => binary,
                None => default_binary()?,
            },
            work_dir: self.work_dir.unwrap_or_else(std::env::temp_dir),
            json_out: self
                .json_out
                .unwrap_or_else(|| PathBuf::from("target/bench/queries.json")),
        })
    }
}

#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("mode").required(true).args(["rate", "max"])))]
pub struct IngestArgs {
    /// Open loop: send requests on a fixed timetable at this many spans per second.
    #[arg(long, value_name = "SPANS_PER_SEC")]
    rate: Option<f64>,
    /// Closed loop: each connection sends its next request as soon as its last one gets a
    /// response.
    #[arg(long)]
    max: bool,
    /// Connections to the receiver, each with one request in flight.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Seconds during which new requests start [default: 10, or 2 with --short].
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Spans per request [default: 512, or 64 with --short].
    #[arg(long, value_name = "SPANS")]
    batch: Option<usize>,
    /// A quick run for CI: 2 seconds of requests of 64 spans.
    #[arg(long)]
    short: bool,
    /// Body encoding. OTLP/gRPC carries protobuf only.
    #[arg(long, value_enum, default_value = "protobuf")]
    encoding: Encoding,
    /// OTLP transport.
    #[arg(long, value_enum, default_value = "http")]
    transport: Transport,
    /// Seed of the trace generator. The same seed sends the same spans with the same ids.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The glassbox binary to start [default: `glassbox` in the directory of this program].
    #[arg(long, value_name = "BIN", conflicts_with_all = ["target_http", "target_grpc"])]
    glassbox: Option<PathBuf>,
    /// Directory in which the started server's data directory is created and removed after
    /// the run [default: the system's temporary directory].
    #[arg(long, value_name = "DIR", conflicts_with_all = ["target_http", "target_grpc"])]
    work_dir: Option<PathBuf>,
    /// Send OTLP/HTTP to this running receiver instead of starting one. A URL without a path
    /// gets `/v1/traces`. Loopback addresses only.
    #[arg(long, value_name = "URL")]
    target_http: Option<String>,
    /// Send OTLP/gRPC to this running receiver instead of starting one. Loopback only.
    #[arg(long, value_name = "URL")]
    target_grpc: Option<String>,
    /// Base URL of the Glassbox API of the running receiver, for the checks after the run.
    #[arg(long, value_name = "URL")]
    target_api: Option<String>,
    /// Process id of the running receiver, for its memory and CPU figures.
    #[arg(long, value_name = "PID")]
    server_pid: Option<u32>,
    /// Traces of acknowledged requests fetched after the run to check that they are complete.
    #[arg(long, value_name = "COUNT", default_value_t = 20)]
    verify_traces: usize,
    /// Path of the JSON report [default: target/bench/ingest-<transport>-<encoding>.json].
    #[arg(long, value_name = "PATH")]
    json_out: Option<PathBuf>,
}

/// The receiver under test.
#[derive(Debug, Clone)]
pub enum Target {
    /// Start `glassbox serve` from this binary, with its data directory under `work_dir`.
    Start { binary: PathBuf, work_dir: PathBuf },
    /// Use a running receiver.
    Running {
        /// The URL of export requests.
        export: Url,
        /// The Glassbox API, if the receiver is Glassbox.
        api: Option<Url>,
        /// The receiver's process id.
        pid: Option<u32>,
    },
}

/// Validated settings of an ingest run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
    pub concurrency: usize,
    pub duration: Duration,
    pub batch_spans: usize,
    pub encoding: Encoding,
    pub transport: Transport,
    pub seed: u64,
    pub target: Target,
    pub verify_traces: usize,
    pub json_out: PathBuf,
}

impl Settings {
    /// Checks the arguments and fills in defaults.
    pub fn from_args(args: IngestArgs) -> anyhow::Result<Settings> {
        let mode = match args.rate {
            Some(rate) => {
                ensure!(
                    rate.is_finite() && rate > 0.0,
                    "--rate must be a positive number of spans per second, got {rate}"
                );
                Mode::Rate(rate)
            }
            None => Mode::Max,
        };
        ensure!(args.concurrency >= 1, "--concurrency must be at least 1");
        let seconds = args.duration.unwrap_or(if args.short { 2.0 } else { 10.0 });
        ensure!(
            seconds.is_finite() && seconds > 0.0,
            "--duration must be a positive number of seconds, got {seconds}"
        );
        let batch_spans = args.batch.unwrap_or(if args.short { 64 } else { 512 });
        ensure!(batch_spans >= 1, "--batch must be at least 1 span");
        if args.transport == Transport::Grpc && args.encoding == Encoding::Json {
            bail!("OTLP/gRPC carries protobuf only; drop --encoding json or use --transport http");
        }

        let target = target(&args)?;
        let label = format!("{}-{}", args.transport.as_str(), args.encoding.as_str());
        let json_out = match args.json_out {
            Some(path) => path,
            None => default_json_path(&label),
        };
        Ok(Settings {
            mode,
            concurrency: args.concurrency,
            duration: Duration::from_secs_f64(seconds),
            batch_spans,
            encoding: args.encoding,
            transport: args.transport,
            seed: args.seed,
            target,
            verify_traces: args.verify_traces,
            json_out,
        })
    }

    /// Returns `<transport>-<encoding>`.
    pub fn label(&self) -> String {
        format!("{}-{}", self.transport.as_str(), self.encoding.as_str())
    }
}

fn target(args: &IngestArgs) -> anyhow::Result<Target> {
    if args.target_http.is_none() && args.target_grpc.is_none() {
        if args.target_api.is_some() || args.server_pid.is_some() {
            bail!(
                "--target-api and --server-pid describe a running receiver; \
                 give --target-http or --target-grpc too"
            );
        }
        let binary = match &args.glassbox {
            Some(binary) => binary.clone(),
            None => default_binary()?,
        };
        return Ok(Target::Start {
            binary,
            work_dir: args.work_dir.clone().unwrap_or_else(std::env::temp_dir),
        });
    }
    let export = match (args.transport, &args.target_http, &args.target_grpc) {
        (Transport::Http, Some(url), _) => traces_url(&loopback_url("--target-http", url)?)?,
        (Transport::Grpc, _, Some(url)) => loopback_url("--target-grpc", url)?,
        (Transport::Http, None, Some(_)) => {
            bail!("--target-grpc needs --transport grpc; for OTLP/HTTP give --target-http")
        }
        (Transport::Grpc, Some(_), None) => {
            bail!("--transport grpc needs --target-grpc; --target-http is for OTLP/HTTP")
        }
        (_, None, None) => bail!("no receiver given"),
    };
    let api = match &args.target_api {
        Some(url) => Some(loopback_url("--target-api", url)?),
        None => None,
    };
    Ok(Target::Running {
        export,
        api,
        pid: args.server_pid,
    })
}

/// Returns `target/bench/ingest-<label>.json`, with `target` the directory above this program's
/// (`target/release/glassbox-bench`), or relative to the working directory if that fails.
fn default_json_path(label: &str) -> PathBuf {
    let file = format!("ingest-{label}.json");
    std::env::current_exe()
        .ok()
        .and_then(|executable| Some(executable.parent()?.parent()?.join("bench").join(&file)))
        .unwrap_or_else(|| PathBuf::from("target/bench").join(file))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    fn parse(arguments: &[&str]) -> anyhow::Result<Settings> {
        let mut full = vec!["glassbox-bench", "ingest"];
        full.extend(arguments);
        let cli = Cli::try_parse_from(full)?;
        let Command::Ingest(args) = cli.command else {
            panic!("expected the ingest command");
        };
        Settings::from_args(args)
    }

    #[test]
    fn all_runs_every_benchmark_with_valid_arguments() {
        let all = AllArgs {
            short: true,
            glassbox: Some(PathBuf::from("/opt/glassbox")),
        };
        let runs = all.runs();
        assert_eq!(runs.len(), 8);
        for arguments in runs {
            let cli = Cli::try_parse_from(&arguments).unwrap();
            assert!(!matches!(cli.command, Command::All(_)), "{arguments:?}");
            assert!(arguments.contains(&"--short".to_owned()), "{arguments:?}");
        }
    }

    #[test]
    fn gateway_short_uses_small_rates() {
        let cli = Cli::try_parse_from(["glassbox-bench", "gateway", "--short", "--glassbox", "/x"])
            .unwrap();
        let Command::Gateway(args) = cli.command else {
            panic!("expected the gateway command");
        };
        let settings = args.into_settings().unwrap();
        assert_eq!(settings.rates, vec![200.0, 500.0]);
        assert_eq!(settings.duration, Duration::from_secs(1));
        let cli = Cli::try_parse_from(["glassbox-bench", "gateway", "--rates", "0"]).unwrap();
        let Command::Gateway(args) = cli.command else {
            panic!("expected the gateway command");
        };
        assert!(args.into_settings().is_err());
    }

    #[test]
    fn short_sets_small_defaults() {
        let settings = parse(&["--max", "--short"]).unwrap();
        assert_eq!(settings.duration, Duration::from_secs(2));
        assert_eq!(settings.batch_spans, 64);
        let explicit = parse(&["--max", "--short", "--batch", "100"]).unwrap();
        assert_eq!(explicit.batch_spans, 100);
    }

    #[test]
    fn mode_flag_is_required() {
        assert!(parse(&[]).is_err());
        assert!(parse(&["--max", "--rate", "1000"]).is_err());
    }

    #[test]
    fn grpc_with_json_is_rejected() {
        let error = parse(&["--max", "--transport", "grpc", "--encoding", "json"]).unwrap_err();
        assert!(error.to_string().contains("protobuf only"), "{error}");
    }

    #[test]
    fn remote_targets_are_rejected() {
        let error = parse(&["--max", "--target-http", "http://192.0.2.1:4318"]).unwrap_err();
        assert!(
            error.to_string().contains("not a loopback address"),
            "{error}"
        );
        let api = parse(&[
            "--max",
            "--target-http",
            "http://127.0.0.1:4318",
            "--target-api",
            "http://192.0.2.1:7317",
        ])
        .unwrap_err();
        assert!(api.to_string().contains("not a loopback address"), "{api}");
    }

    #[test]
    fn running_target_gets_traces_path() {
        let settings = parse(&["--max", "--target-http", "http://127.0.0.1:4318"]).unwrap();
        let Target::Running { export, .. } = settings.target else {
            panic!("expected a running target");
        };
        assert_eq!(export.as_str(), "http://127.0.0.1:4318/v1/traces");
    }

    #[test]
    fn transport_needs_its_target() {
        assert!(
            parse(&[
                "--max",
                "--transport",
                "grpc",
                "--target-http",
                "http://127.0.0.1:1"
            ])
            .is_err()
        );
        assert!(parse(&["--max", "--target-grpc", "http://127.0.0.1:1"]).is_err());
    }
}
