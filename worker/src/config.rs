//! The worker's settings, all from the environment (README, "Configuration"),
//! in two parts: [`WorkerConfig`] says where to listen and which backend to
//! connect to; [`WorkerSettings`] says how to behave once connected, so tests
//! and the local launcher build a worker on backends of their own with the
//! same settings type.

use std::path::Path;
use std::time::Duration;

use backend_config::BackendConfig;
use service::env;
use sqsd::{CronTable, PollerConfig};

use crate::sweep::SweepConfig;
use jobs::JobSettings;

/// How jobs reach this worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intake {
    /// sqsd POSTs each job to `/process` (Elastic Beanstalk). `WORKER_POLL=false`.
    Sqsd,
    /// The worker polls the queue itself, as sqsd would. `WORKER_POLL=true`.
    Polling,
    /// Nothing polls: a batch is processed when someone asks, at
    /// `POST /process-batch` (the page's Process buttons in a local run).
    /// `WORKER_POLL=manual`. Only in this mode does that route exist: a
    /// worker fed by sqsd must not let anyone who reaches it pull jobs.
    Manual,
}

impl Intake {
    /// The mode's name, as `/health` and the logs give it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqsd => "sqsd",
            Self::Polling => "polling",
            Self::Manual => "manual",
        }
    }
}

/// Where the worker listens and what it connects to.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// `PORT`, default [`service::listener::PLATFORM_PORT`] (5000, where
    /// Elastic Beanstalk's nginx proxies sqsd's requests); 0 picks a free port (tests).
    pub port: u16,
    /// `HOST`, default `127.0.0.1`: only what runs on this host (sqsd,
    /// through nginx) may reach `/process`, which runs what it is asked to.
    /// The Docker image sets `0.0.0.0` (nginx reaches it across the bridge).
    pub host: std::net::IpAddr,
    /// Where messages live.
    pub backend: BackendConfig,
    /// How it behaves.
    pub settings: WorkerSettings,
}

impl WorkerConfig {
    /// Reads the settings, or says which one is wrong. `WORKER_POLL`
    /// defaults to `false`: on Elastic Beanstalk, sqsd delivers.
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            port: env::number_in("PORT", service::listener::PLATFORM_PORT, 0, 65535)?,
            host: service::listener::host_from_env(std::net::IpAddr::V4(
                std::net::Ipv4Addr::LOCALHOST,
            ))?,
            backend: BackendConfig::from_env()?,
            settings: WorkerSettings::from_env(Intake::Sqsd, Intake::Sqsd, None)?,
        })
    }
}

/// How the worker behaves, whatever it is connected to.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// `MAX_ATTEMPTS`: the delivery at which a failing job is given up as `fail`.
    /// Must equal sqsd's `MaxRetries` (and the queue's redrive `maxReceiveCount`)
    /// so the record is final before SQS moves the message to the dead-letter queue.
    pub max_attempts: u32,
    /// `WORKER_POLL`: poll the queue ourselves, or wait for sqsd's POSTs.
    pub intake: Intake,
    /// What the jobs are tuned with (`SLOW_JOB_MS`).
    pub jobs: JobSettings,
    /// The pending sweeper's settings (`SWEEP_*`).
    pub sweep: SweepConfig,
    /// How the poller behaves (`POLL_*`, `*VISIBILITY_TIMEOUT`), sqsd's defaults.
    pub poller: PollerConfig,
    /// The periodic tasks a polling worker enqueues, as sqsd's leader does
    /// (`CRON_FILE`). Empty for a worker that sqsd delivers to: on Elastic
    /// Beanstalk sqsd reads `cron.yaml` itself.
    pub cron: CronTable,
}

impl Default for WorkerSettings {
    /// sqsd delivers, and every knob has its documented default.
    fn default() -> Self {
        Self {
            max_attempts: backend_config::DEFAULT_MAX_ATTEMPTS,
            intake: Intake::Sqsd,
            jobs: JobSettings::default(),
            sweep: SweepConfig::default(),
            poller: PollerConfig::default(),
            cron: CronTable::default(),
        }
    }
}

impl WorkerSettings {
    /// Reads the settings; `WORKER_POLL` unset means `default_intake` (the
    /// worker binary waits for sqsd, the local launcher polls), and `false`
    /// means `without_polling` (sqsd for the worker binary; manual for the
    /// launcher, where there is no sqsd). A polling worker with no
    /// `CRON_FILE` and no `cron.yaml` in its working directory schedules
    /// `default_cron` (the text of a `cron.yaml`, if any).
    pub fn from_env(
        default_intake: Intake,
        without_polling: Intake,
        default_cron: Option<&str>,
    ) -> anyhow::Result<Self> {
        let defaults = Self::default();
        let intake = intake_from_env(default_intake, without_polling)?;
        let polls = intake == Intake::Polling;
        Ok(Self {
            cron: if polls {
                cron_from_env(default_cron)?
            } else {
                CronTable::default()
            },
            max_attempts: backend_config::max_attempts_from_env()?,
            intake,
            jobs: JobSettings {
                slow_job: Duration::from_millis(env::number_in(
                    "SLOW_JOB_MS",
                    millis(defaults.jobs.slow_job),
                    0,
                    600_000,
                )?),
            },
            sweep: sweep_from_env(defaults.sweep)?,
            poller: poller_from_env(&defaults.poller)?,
        })
    }
}

/// `WORKER_POLL`: `true`, `false` (`without_polling`) or `manual`.
fn intake_from_env(default: Intake, without_polling: Intake) -> Result<Intake, env::EnvError> {
    let Some(value) = env::var("WORKER_POLL")? else {
        return Ok(default);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "manual" => Ok(Intake::Manual),
        _ => env::parse_flag("WORKER_POLL", &value, "it must be true (poll the queue), false (sqsd delivers) or manual (process a batch when asked)")
            .map(|polls| if polls { Intake::Polling } else { without_polling }),
    }
}

/// A default duration in whole milliseconds (the defaults are small).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).expect("a default duration fits in u64 milliseconds")
}

/// Reads a duration in whole seconds within `min..=max`.
fn seconds(name: &str, default: Duration, min: u64, max: u64) -> anyhow::Result<Duration> {
    Ok(Duration::from_secs(env::number_in(
        name,
        default.as_secs(),
        min,
        max,
    )?))
}

/// The poller's settings; each defaults to what sqsd does on Elastic Beanstalk.
fn poller_from_env(defaults: &PollerConfig) -> anyhow::Result<PollerConfig> {
    Ok(PollerConfig {
        batch_size: env::number_in("POLL_BATCH_SIZE", defaults.batch_size, 1, 10)?,
        wait: seconds("POLL_WAIT_SECONDS", defaults.wait, 0, 20)?,
        visibility_timeout: seconds("VISIBILITY_TIMEOUT", defaults.visibility_timeout, 0, 43_200)?,
        error_visibility_timeout: seconds(
            "ERROR_VISIBILITY_TIMEOUT",
            defaults.error_visibility_timeout,
            0,
            43_200,
        )?,
        concurrency: env::number_in("POLL_CONCURRENCY", defaults.concurrency, 1, 1000)?,
        inactivity_timeout: seconds("INACTIVITY_TIMEOUT", defaults.inactivity_timeout, 1, 36_000)?,
        shutdown_grace: defaults.shutdown_grace,
    })
}

/// `CRON_FILE`: the `cron.yaml` a polling worker schedules; `none` for no
/// periodic tasks. Unset: `cron.yaml` in the working directory, where it is at
/// the root of a worker bundle, or else `default_cron`.
fn cron_from_env(default_cron: Option<&str>) -> anyhow::Result<CronTable> {
    let in_bundle = Path::new("cron.yaml");
    Ok(match env::var("CRON_FILE")? {
        Some(path) if path.trim().eq_ignore_ascii_case("none") => CronTable::default(),
        Some(path) => CronTable::load(Path::new(path.trim())).map_err(|error| {
            anyhow::anyhow!("CRON_FILE is set, but {error}. Fix the file, or set CRON_FILE=none")
        })?,
        None if in_bundle.is_file() => CronTable::load(in_bundle).map_err(|error| {
            anyhow::anyhow!(
                "CRON_FILE is not set, so the worker reads ./cron.yaml (the root of a worker bundle), but {error}. Fix it, or set CRON_FILE=none"
            )
        })?,
        None => match default_cron {
            Some(text) => CronTable::parse(text)?,
            None => CronTable::default(),
        },
    })
}

/// The sweeper's settings.
fn sweep_from_env(defaults: SweepConfig) -> anyhow::Result<SweepConfig> {
    Ok(SweepConfig {
        after: seconds("SWEEP_AFTER_SECONDS", defaults.after, 1, 1_209_600)?,
        batch: env::number_in("SWEEP_BATCH", defaults.batch, 1, 1000)?,
        max_requeues: env::number_in("SWEEP_MAX_REQUEUES", defaults.max_requeues, 0, 100)?,
    })
}
