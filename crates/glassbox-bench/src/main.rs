//! `glassbox-bench`: benchmarks of the Glassbox receivers.
//!
//! `glassbox-bench ingest` sends generated GenAI traces over OTLP to a `glassbox serve` that it
//! starts, or to a running receiver on loopback. It measures acknowledged spans per second,
//! request latency and the receiver's memory. Then it checks that every acknowledged span can
//! be read back through the API. `gateway` compares chat calls sent straight to a mock
//! provider and through the gateway; `queries` and `storage` time the API and measure the
//! database; `all` runs each in turn.

// The summary lines on standard output and the progress on standard error are this
// program's output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod analyzers;
mod cli;
mod gateway;
mod generate;
mod ingest;
mod load;
mod loopback;
mod monitor;
mod nginx;
mod otlp_json;
mod queries;
mod relay;
mod report;
mod rng;
mod scrape;
mod server;
mod storage;
mod template;
mod transport;
mod verify;

use clap::Parser;

use crate::cli::{Cli, Command, Settings};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    dispatch(cli, &runtime)
}

fn dispatch(cli: Cli, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    match cli.command {
        Command::Ingest(args) => {
            let settings = Settings::from_args(args)?;
            runtime.block_on(ingest::run(settings))
        }
        Command::Queries(args) => runtime.block_on(queries::run(args.into_settings()?)),
        Command::Storage(args) => {
            let json_out = args
                .json_out
                .clone()
                .unwrap_or_else(|| std::path::PathBuf::from("target/bench/storage.json"));
            let settings = args.into_settings()?;
            runtime.block_on(storage::run(settings, json_out))
        }
        Command::Gateway(args) => runtime.block_on(gateway::run(args.into_settings()?)),
        Command::Scrape(args) => runtime.block_on(scrape::run(args.into_settings()?)),
        Command::Analyzers(args) => analyzers::run(args),
        Command::All(args) => {
            for arguments in args.runs() {
                eprintln!("running: {}", arguments[1..].join(" "));
                dispatch(Cli::try_parse_from(&arguments)?, runtime)?;
            }
            Ok(())
        }
    }
}
