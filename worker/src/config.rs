//! The worker's settings, all from the environment (README, "Configuration").

use std::time::Duration;

use messages::BackendConfig;
use service::env;
use sqsd::PollerConfig;

use crate::sweep::SweepConfig;

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
    /// `WORKER_POLL`: poll the queue ourselves (no sqsd), or wait for sqsd's POSTs.
    pub poll: bool,
    /// The pending sweeper's settings (`SWEEP_*`).
    pub sweep: SweepConfig,
    /// How the poller behaves (`POLL_*`, `*VISIBILITY_TIMEOUT`), sqsd's defaults.
    pub poller: PollerConfig,
}

impl WorkerConfig {
    /// Reads the settings, or says which one is wrong.
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            port: u16::try_from(env::number_in("PORT", 8081, 0, 65535)?)?,
            backend: BackendConfig::from_env()?,
            max_attempts: messages::max_attempts_from_env()?,
            slow_job: Duration::from_millis(env::number_in("SLOW_JOB_MS", 3000, 0, 600_000)?),
            poll: env::flag("WORKER_POLL", false)?,
            sweep: sweep_from_env()?,
            poller: poller_from_env()?,
        })
    }
}

/// The poller's settings; each defaults to what sqsd does on Elastic Beanstalk.
fn poller_from_env() -> anyhow::Result<PollerConfig> {
    let defaults = PollerConfig::default();
    let seconds = |name: &str, default: Duration, min: u64, max: u64| -> anyhow::Result<Duration> {
        Ok(Duration::from_secs(env::number_in(
            name,
            default.as_secs(),
            min,
            max,
        )?))
    };
    Ok(PollerConfig {
        batch_size: u32::try_from(env::number_in(
            "POLL_BATCH_SIZE",
            u64::from(defaults.batch_size),
            1,
            10,
        )?)?,
        wait: seconds("POLL_WAIT_SECONDS", defaults.wait, 0, 20)?,
        visibility_timeout: seconds("VISIBILITY_TIMEOUT", defaults.visibility_timeout, 0, 43_200)?,
        error_visibility_timeout: seconds(
            "ERROR_VISIBILITY_TIMEOUT",
            defaults.error_visibility_timeout,
            0,
            43_200,
        )?,
        concurrency: usize::try_from(env::number_in(
            "POLL_CONCURRENCY",
            defaults.concurrency as u64,
            1,
            1000,
        )?)?,
        inactivity_timeout: seconds("INACTIVITY_TIMEOUT", defaults.inactivity_timeout, 1, 36_000)?,
        shutdown_grace: defaults.shutdown_grace,
    })
}

/// The sweeper's settings.
fn sweep_from_env() -> anyhow::Result<SweepConfig> {
    let defaults = SweepConfig::default();
    let seconds = |name: &str, default: Duration, max: u64| -> anyhow::Result<Duration> {
        Ok(Duration::from_secs(env::number_in(
            name,
            default.as_secs(),
            1,
            max,
        )?))
    };
    Ok(SweepConfig {
        after: seconds("SWEEP_AFTER_SECONDS", defaults.after, 1_209_600)?,
        batch: u32::try_from(env::number_in(
            "SWEEP_BATCH",
            u64::from(defaults.batch),
            1,
            1000,
        )?)?,
        max_requeues: u32::try_from(env::number_in(
            "SWEEP_MAX_REQUEUES",
            u64::from(defaults.max_requeues),
            0,
            100,
        )?)?,
        every: seconds("SWEEP_EVERY_SECONDS", defaults.every, 86_400)?,
    })
}
