//! The worker's settings, all from the environment (README, "Configuration").

use std::time::Duration;

use messages::BackendConfig;
use service::env;

/// Everything the worker needs to start.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// `PORT`, default 8081; 0 picks a free port (tests).
    pub port: u16,
    /// Where messages live.
    pub backend: BackendConfig,
    /// `MAX_ATTEMPTS`: the delivery at which a failing job is given up as `fail`.
    /// Must equal sqsd's `MaxRetries` (and the queue's redrive `maxReceiveCount`)
    /// so the record is final before SQS moves the message to the dead-letter queue.
    pub max_attempts: u32,
    /// `SLOW_JOB_MS`: how long a `slow` job takes.
    pub slow_job: Duration,
}

/// sqsd's default `MaxRetries`.
pub const DEFAULT_MAX_ATTEMPTS: u64 = 10;

impl WorkerConfig {
    /// Reads the settings, or says which one is wrong.
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            port: u16::try_from(env::number_in("PORT", 8081, 0, 65535)?)?,
            backend: BackendConfig::from_env()?,
            max_attempts: u32::try_from(env::number_in(
                "MAX_ATTEMPTS",
                DEFAULT_MAX_ATTEMPTS,
                1,
                1000,
            )?)?,
            slow_job: Duration::from_millis(env::number_in("SLOW_JOB_MS", 3000, 0, 600_000)?),
        })
    }
}
