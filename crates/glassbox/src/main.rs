//! The `glassbox` command.

mod cli;
mod config;
mod data_lock;
mod demo;
mod experiment;
mod http;
mod listener;
mod maintenance;
mod pricing;
mod serve;

use clap::Parser;

/// mimalloc instead of the system allocator: ingest allocates and frees many small strings per
/// span, and a profile of the ingest benchmark (`perf`, 2 cores) showed the system allocator's
/// functions at about a tenth of the server's time. It is built without transparent huge pages
/// (see the workspace manifest): with them, memory the server had freed stayed resident.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    cli::init_logging();
    match cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
