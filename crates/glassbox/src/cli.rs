//! Command-line parsing and dispatch.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{self, FlagOverrides};

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

/// Runs the chosen command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let flags = FlagOverrides {
                data_dir: args.data_dir,
                listen: args.listen,
                otlp_http_listen: args.otlp_http_listen,
                otlp_grpc_listen: args.otlp_grpc_listen,
            };
            let config =
                config::load(cli.config.as_deref(), flags).context("invalid configuration")?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("failed to start the async runtime")?;
            runtime.block_on(crate::serve::run(config))
        }
    }
}
