//! The enricher with every custom price: those saved through the API, then the configuration
//! file's.

use anyhow::Context;
use glassbox_enrich::Enricher;
use glassbox_store::SettingsStore;

use crate::config::Config;

/// Builds the enricher from the configuration and the prices saved in the store.
pub async fn enricher(config: &Config, store: &dyn SettingsStore) -> anyhow::Result<Enricher> {
    let mut custom = glassbox_api::saved_prices(store)
        .await
        .context("failed to read the custom prices saved in the database")?;
    custom.extend(config.pricing.custom.iter().cloned());
    Enricher::new(custom).context("invalid custom prices")
}
