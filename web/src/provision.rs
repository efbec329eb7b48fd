//! `web provision`: creates (or finds) the queue, its dead-letter queue and the
//! table named by the configuration, on AWS or the emulator at
//! `AWS_ENDPOINT_URL`. Idempotent: run it as often as you like.

use crate::WebConfig;

/// Provisions and returns one line per resource saying what was done.
pub async fn provision(config: &WebConfig) -> anyhow::Result<Vec<String>> {
    config
        .backend
        .provision(config.max_attempts)
        .await
        .map_err(|error| anyhow::anyhow!(error.chain()))
}
