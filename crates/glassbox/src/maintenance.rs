//! Commands that change stored data: `reprice` and `rollups rebuild`.

use std::sync::Arc;

use anyhow::{Context, bail};
use glassbox_store::{Repricer, SqliteOptions, SqliteStore, WriteStore};

use crate::config::Config;

/// Parses an RFC 3339 time given on the command line.
fn time(flag: &str, text: &str) -> anyhow::Result<u64> {
    glassbox_api::parse_rfc3339(text)
        .map_err(|problem| anyhow::anyhow!("invalid --{flag}: {problem}"))
}

fn range(from: &str, to: &str) -> anyhow::Result<(u64, u64)> {
    let (from, to) = (time("from", from)?, time("to", to)?);
    if from >= to {
        bail!("invalid range: --from must be earlier than --to");
    }
    Ok((from, to))
}

fn open(config: &Config) -> anyhow::Result<SqliteStore> {
    SqliteStore::open(&config.data_dir, SqliteOptions::default())
        .with_context(|| format!("failed to open the store in {}", config.data_dir.display()))
}

/// Recomputes stored costs with the current prices; returns how many spans changed.
pub async fn reprice(
    config: &Config,
    from: &str,
    to: &str,
    model: Option<String>,
) -> anyhow::Result<u64> {
    let (from, to) = range(from, to)?;
    let store = open(config)?;
    let enricher = Arc::new(crate::pricing::enricher(config, &store).await?);
    let repricer: Repricer = Arc::new(move |span| enricher.reprice(span));
    store
        .reprice(from, to, model, repricer)
        .await
        .context("failed to reprice")
}

/// Rebuilds the rollups of a range from the spans; returns how many spans were read.
pub async fn rebuild_rollups(config: &Config, from: &str, to: &str) -> anyhow::Result<u64> {
    let (from, to) = range(from, to)?;
    let store = open(config)?;
    store
        .rebuild_rollups(from, to)
        .await
        .context("failed to rebuild the rollups")
}
