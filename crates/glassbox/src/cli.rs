//! Command-line parsing and dispatch.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{self, FlagOverrides};
use crate::demo::{self, DemoOptions, Mode};

/// Glassbox: observability for generative-AI applications.
#[derive(Debug, Parser)]
#[command(name = "glassbox", version, about)]
pub struct Cli {
    /// A TOML configuration file; `GLASSBOX_*` variables and flags override its values.
    #[arg(long, global = true, env = "GLASSBOX_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Receive OTLP data, store it and serve the API.
    Serve(ServeArgs),
    /// Recompute the cost of stored model calls with the current prices.
    Reprice(RepriceArgs),
    /// Maintain the per-minute, per-hour and per-day rollups.
    Rollups {
        #[command(subcommand)]
        command: RollupsCommand,
    },
    /// Send a synthetic GenAI workload to a running Glassbox on this machine.
    Demo(DemoArgs),
    /// Run experiments: a dataset through a model, scored against its expected outputs.
    Experiment {
        #[command(subcommand)]
        command: ExperimentCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ExperimentCommand {
    /// Start an experiment on a running server, show its progress and print its scores.
    Run(crate::experiment::RunArgs),
}

/// Default live traffic of `glassbox demo`, in traces per second.
const DEFAULT_DEMO_RATE: f64 = 5.0;
/// Default length of live traffic of `glassbox demo`, in seconds.
const DEFAULT_DEMO_SECONDS: u64 = 60;

#[derive(Debug, clap::Args)]
struct DemoArgs {
    /// Base URL of the OTLP/HTTP receiver; only this machine's addresses (127.0.0.0/8, ::1,
    /// localhost) are accepted.
    #[arg(long, default_value = demo::DEFAULT_TARGET)]
    target: String,
    /// Seed of the generator: a seed sends the same traces, ids included, with times relative
    /// to the start of the run [default: random, printed at the end].
    #[arg(long)]
    seed: Option<u64>,
    /// Number of traces to send.
    #[arg(long, conflicts_with = "duration", value_parser = clap::value_parser!(u64).range(1..))]
    traces: Option<u64>,
    /// Seconds of live traffic [default: 60].
    #[arg(long, conflicts_with = "backfill", value_parser = clap::value_parser!(u64).range(1..))]
    duration: Option<u64>,
    /// Live traffic in traces per second, up to 1000 [default: 5].
    #[arg(long, conflicts_with = "backfill", value_parser = parse_rate)]
    rate: Option<f64>,
    /// Instead of live traffic, write this much history (`30m`, `24h`, `7d`) as fast as the
    /// server acknowledges, more during working hours (UTC) [default traces: 20 per hour].
    #[arg(long, value_parser = demo::parse_period)]
    backfill: Option<Duration>,
}

impl DemoArgs {
    fn options(self) -> DemoOptions {
        let mode = match self.backfill {
            Some(period) => Mode::Backfill {
                period,
                traces: self.traces,
            },
            None => {
                let rate = self.rate.unwrap_or(DEFAULT_DEMO_RATE);
                let seconds = self.duration.unwrap_or(DEFAULT_DEMO_SECONDS);
                let traces = self
                    .traces
                    .unwrap_or_else(|| ((seconds as f64 * rate).ceil() as u64).max(1));
                Mode::Live {
                    rate,
                    traces: Some(traces),
                }
            }
        };
        DemoOptions {
            target: self.target,
            seed: self.seed,
            mode,
        }
    }
}

fn parse_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .parse()
        .map_err(|_| format!("invalid rate {text:?}: expected traces per second, such as 5"))?;
    if !(rate > 0.0 && rate <= 1_000.0) {
        return Err(format!(
            "invalid rate {text:?}: must be above 0 and at most 1000 traces per second"
        ));
    }
    Ok(rate)
}

#[derive(Debug, clap::Args)]
struct DataArgs {
    /// Directory of the database [default: ./glassbox-data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct RepriceArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Start of the range (RFC 3339, e.g. 2026-11-01T00:00:00Z), inclusive.
    #[arg(long)]
    from: String,
    /// End of the range (RFC 3339), exclusive.
    #[arg(long)]
    to: String,
    /// Only calls of this exact model name (request or response model).
    #[arg(long)]
    model: Option<String>,
}

#[derive(Debug, Subcommand)]
enum RollupsCommand {
    /// Recompute the rollups of a range from the stored spans.
    Rebuild {
        #[command(flatten)]
        data: DataArgs,
        /// Start of the range (RFC 3339), widened to the hour.
        #[arg(long)]
        from: String,
        /// End of the range (RFC 3339), widened to the hour.
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Directory of the database [default: ./glassbox-data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Address of the API, which also accepts OTLP/HTTP [default: 127.0.0.1:7317].
    #[arg(long)]
    listen: Option<String>,
    /// Address of the OTLP/HTTP receiver, or `off` [default: 127.0.0.1:4318].
    #[arg(long)]
    otlp_http_listen: Option<String>,
    /// Address of the OTLP/gRPC receiver, or `off` [default: 127.0.0.1:4317].
    #[arg(long)]
    otlp_grpc_listen: Option<String>,
    /// Base URL of the gateway's `openai` upstream: OpenAI or any compatible server, in the
    /// form OpenAI's SDK takes [default: https://api.openai.com/v1].
    #[arg(long)]
    openai_base_url: Option<String>,
    /// Base URL of the gateway's `anthropic` upstream, in the form Anthropic's SDK takes
    /// [default: https://api.anthropic.com].
    #[arg(long)]
    anthropic_base_url: Option<String>,
    /// Scrape a Prometheus metrics URL; KIND is vllm, tgi, llamacpp, triton, sglang, dcgm
    /// or prometheus. Repeat for more targets; they add to `[[infra.targets]]`.
    #[arg(long, value_name = "KIND=URL", value_parser = parse_scrape)]
    scrape: Vec<glassbox_infra::config::TargetConfig>,
    /// Mask PII and secrets (emails, phone numbers, card numbers, API keys, ...) in model
    /// calls before they are stored; the originals are never written. Also set by
    /// `GLASSBOX_MASK_PII=true`.
    #[arg(long)]
    mask_pii: bool,
    /// Fill the server with a synthetic workload: 7 days of history (unless the database
    /// already contains traces), then one trace per second until shutdown. Also turns on
    /// the host collector.
    #[arg(long)]
    demo: bool,
}

fn parse_scrape(text: &str) -> Result<glassbox_infra::config::TargetConfig, String> {
    glassbox_infra::parse_flag(text)
}

/// Starts logging to standard error; `GLASSBOX_LOG` (or `RUST_LOG`) sets the filter.
pub fn init_logging() {
    let filter = std::env::var("GLASSBOX_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")
}

fn data_config(file: Option<&std::path::Path>, data: DataArgs) -> anyhow::Result<config::Config> {
    let flags = FlagOverrides {
        data_dir: data.data_dir,
        ..FlagOverrides::default()
    };
    config::load(file, flags).context("invalid configuration")
}

/// Runs the chosen command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Reprice(args) => {
            let config = data_config(cli.config.as_deref(), args.data)?;
            let changed = runtime()?.block_on(crate::maintenance::reprice(
                &config, &args.from, &args.to, args.model,
            ))?;
            tracing::info!(repriced_spans = changed, "reprice finished");
            Ok(())
        }
        Command::Rollups {
            command: RollupsCommand::Rebuild { data, from, to },
        } => {
            let config = data_config(cli.config.as_deref(), data)?;
            let spans =
                runtime()?.block_on(crate::maintenance::rebuild_rollups(&config, &from, &to))?;
            tracing::info!(spans, "rollups rebuilt");
            Ok(())
        }
        Command::Serve(args) => {
            let flags = FlagOverrides {
                data_dir: args.data_dir,
                listen: args.listen,
                otlp_http_listen: args.otlp_http_listen,
                otlp_grpc_listen: args.otlp_grpc_listen,
                openai_base_url: args.openai_base_url,
                anthropic_base_url: args.anthropic_base_url,
                mask_pii: args.mask_pii.then_some(true),
            };
            let mut config =
                config::load(cli.config.as_deref(), flags).context("invalid configuration")?;
            match cli.config.as_deref() {
                Some(path) => tracing::info!(path = %path.display(), "configuration file read"),
                None => tracing::info!(
                    "no configuration file; defaults, GLASSBOX_* variables and flags apply"
                ),
            }
            config.infra.targets.extend(args.scrape);
            config
                .infra
                .validate()
                .map_err(|message| anyhow::anyhow!("invalid configuration: {message}"))?;
            runtime()?.block_on(crate::serve::run(config, args.demo))
        }
        Command::Demo(args) => runtime()?.block_on(demo::run(args.options())),
        Command::Experiment {
            command: ExperimentCommand::Run(args),
        } => runtime()?.block_on(crate::experiment::run(args)),
    }
}
