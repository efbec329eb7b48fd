//! `web provision`: creates (or finds) the queue, its dead-letter queue and the
//! table named by the configuration, on AWS or the emulator at
//! `AWS_ENDPOINT_URL`. Idempotent: run it as often as you like.

use backend_config::BackendConfig;

use crate::WebConfig;

/// Provisions and returns one line per resource saying what was done.
pub async fn provision(config: &WebConfig) -> anyhow::Result<Vec<String>> {
    match &config.backend {
        BackendConfig::Aws {
            queue_url,
            table_name,
        } => {
            let sdk = messages_aws::load_config().await?;
            let lines = messages_aws::provision(&sdk, queue_url, table_name, config.max_attempts)
                .await
                .map_err(|error| anyhow::anyhow!(error.chain()))?;
            Ok(lines)
        }
        BackendConfig::Embedded { data_dir } => Ok(vec![format!(
            "nothing to provision: QUEUE_URL and TABLE_NAME are not set, so the embedded backend is used, and it creates its files under {} on first use",
            data_dir.display()
        )]),
    }
}
