//! The worker's settings, from its flags or else the environment (README,
//! "Configuration"), each declared for `--help` beside its reading,
//! in two parts: [`WorkerConfig`] says where to listen and which backend to
//! connect to; [`WorkerSettings`] says how to behave once connected, so tests
//! and the local launcher build a worker on backends of their own with the
//! same settings type.

use std::path::Path;
use std::time::Duration;

use backend_config::BackendConfig;
use service::env::{self, Setting, Vars};
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
    /// `METRICS_ADDR`: where Prometheus text is served; unset, nowhere.
    pub metrics: Option<std::net::SocketAddr>,
}

/// Where the worker listens unless `HOST` says otherwise: only what runs on
/// this host (sqsd, through nginx) may reach `/process`.
const WORKER_HOST: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

impl WorkerConfig {
    /// Every setting the worker reads, with the worker's defaults: what
    /// `worker --help` lists.
    pub fn settings() -> Vec<Setting> {
        let mut settings = vec![
            service::listener::port_setting(
                "PORT",
                "the port to serve /process on (Elastic Beanstalk's nginx proxies sqsd's requests to 5000)",
                service::listener::PLATFORM_PORT,
            ),
            service::listener::host_setting(WORKER_HOST),
        ];
        settings.extend(service::telemetry::settings());
        settings.extend(service::metrics::settings());
        settings.extend(backend_config::settings());
        settings.extend(WorkerSettings::settings(
            "false: sqsd delivers",
            "sqsd delivers",
            "none",
        ));
        settings
    }

    /// Reads the settings, or says which one is wrong. `WORKER_POLL`
    /// defaults to `false`: on Elastic Beanstalk, sqsd delivers.
    pub fn from_vars(vars: &Vars) -> anyhow::Result<Self> {
        Ok(Self {
            port: vars.number_in("PORT", service::listener::PLATFORM_PORT, 0, 65535)?,
            host: service::listener::host_from(vars, WORKER_HOST)?,
            backend: BackendConfig::from_vars(vars)?,
            settings: WorkerSettings::from_vars(vars, Intake::Sqsd, Intake::Sqsd, None)?,
            metrics: service::metrics::address_from(vars)?,
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
    /// The settings of how the worker behaves, for `--help`: `intake` is
    /// `WORKER_POLL`'s default in words, `without_polling` what `false`
    /// means, `cron` the default periodic tasks in words.
    pub fn settings(intake: &str, without_polling: &str, cron: &str) -> Vec<Setting> {
        let defaults = Self::default();
        let poller = &defaults.poller;
        let secs = |duration: Duration| duration.as_secs();
        vec![
            Setting::new("WORKER_POLL", "how jobs reach the worker")
                .accepts(format!("true (poll the queue as sqsd would), false ({without_polling}) or manual (process a batch when asked)"))
                .default_is(intake),
            Setting::new("SLOW_JOB_MS", "how long a slow job takes, in milliseconds")
                .number(millis(defaults.jobs.slow_job), 0, 600_000),
            Setting::new("CRON_FILE", "the cron.yaml whose periodic tasks a polling worker enqueues, as sqsd's leader does")
                .accepts("a path, or none")
                .default_is(format!("./cron.yaml if there is one, else {cron}")),
            Setting::new("POLL_BATCH_SIZE", "messages a receive asks for (polling)")
                .number(poller.batch_size, 1, 10),
            Setting::new("POLL_WAIT_SECONDS", "a receive's long-polling wait (polling)")
                .number(secs(poller.wait), 0, 20),
            Setting::new("VISIBILITY_TIMEOUT", "seconds a received job stays hidden from other receivers (polling; sqsd's VisibilityTimeout)")
                .number(secs(poller.visibility_timeout), 0, 43_200),
            Setting::new("ERROR_VISIBILITY_TIMEOUT", "seconds before a job answered with a retry is delivered again (polling; sqsd's ErrorVisibilityTimeout)")
                .number(secs(poller.error_visibility_timeout), 0, 43_200),
            Setting::new("POLL_CONCURRENCY", "jobs run at once (polling; sqsd's HttpConnections)")
                .number(poller.concurrency, 1, 1000),
            Setting::new("INACTIVITY_TIMEOUT", "seconds a job may run before it is abandoned (polling; sqsd's InactivityTimeout)")
                .number(secs(poller.inactivity_timeout), 1, 36_000),
            Setting::new("SWEEP_AFTER_SECONDS", "how long a message may stay pending before the sweeper enqueues its job again")
                .number(secs(defaults.sweep.after), 1, 1_209_600),
            Setting::new("SWEEP_BATCH", "messages one sweep looks at")
                .number(defaults.sweep.batch, 1, 1000),
            Setting::new("SWEEP_MAX_REQUEUES", "times the sweeper enqueues one message again before it gives up")
                .number(defaults.sweep.max_requeues, 0, 100),
        ]
    }

    /// Reads the settings; `WORKER_POLL` unset means `default_intake` (the
    /// worker binary waits for sqsd, the local launcher polls), and `false`
    /// means `without_polling` (sqsd for the worker binary; manual for the
    /// launcher, where there is no sqsd). A polling worker with no
    /// `CRON_FILE` and no `cron.yaml` in its working directory schedules
    /// `default_cron` (the text of a `cron.yaml`, if any).
    pub fn from_vars(
        vars: &Vars,
        default_intake: Intake,
        without_polling: Intake,
        default_cron: Option<&str>,
    ) -> anyhow::Result<Self> {
        let defaults = Self::default();
        let intake = intake_from(vars, default_intake, without_polling)?;
        let polls = intake == Intake::Polling;
        Ok(Self {
            cron: if polls {
                cron_from(vars, default_cron)?
            } else {
                CronTable::default()
            },
            max_attempts: backend_config::max_attempts_from(vars)?,
            intake,
            jobs: JobSettings {
                slow_job: Duration::from_millis(vars.number_in(
                    "SLOW_JOB_MS",
                    millis(defaults.jobs.slow_job),
                    0,
                    600_000,
                )?),
            },
            sweep: sweep_from(vars, defaults.sweep)?,
            poller: poller_from(vars, &defaults.poller)?,
        })
    }
}

/// `WORKER_POLL`: `true`, `false` (`without_polling`) or `manual`.
fn intake_from(
    vars: &Vars,
    default: Intake,
    without_polling: Intake,
) -> Result<Intake, env::EnvError> {
    let Some(value) = vars.var("WORKER_POLL")? else {
        return Ok(default);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "manual" => Ok(Intake::Manual),
        _ => env::parse_flag("WORKER_POLL", &value, &format!("it must be true (poll the queue), false ({}) or manual (process a batch when asked)", match without_polling {
            Intake::Manual => "here the same as manual: there is no sqsd",
            Intake::Sqsd | Intake::Polling => "sqsd delivers",
        }))
            .map(|polls| if polls { Intake::Polling } else { without_polling }),
    }
}

/// A default duration in whole milliseconds (the defaults are small).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).expect("a default duration fits in u64 milliseconds")
}

/// Reads a duration in whole seconds within `min..=max`.
fn seconds(
    vars: &Vars,
    name: &str,
    default: Duration,
    min: u64,
    max: u64,
) -> anyhow::Result<Duration> {
    Ok(Duration::from_secs(vars.number_in(
        name,
        default.as_secs(),
        min,
        max,
    )?))
}

/// The poller's settings; each defaults to what sqsd does on Elastic Beanstalk.
fn poller_from(vars: &Vars, defaults: &PollerConfig) -> anyhow::Result<PollerConfig> {
    Ok(PollerConfig {
        batch_size: vars.number_in("POLL_BATCH_SIZE", defaults.batch_size, 1, 10)?,
        wait: seconds(vars, "POLL_WAIT_SECONDS", defaults.wait, 0, 20)?,
        visibility_timeout: seconds(
            vars,
            "VISIBILITY_TIMEOUT",
            defaults.visibility_timeout,
            0,
            43_200,
        )?,
        error_visibility_timeout: seconds(
            vars,
            "ERROR_VISIBILITY_TIMEOUT",
            defaults.error_visibility_timeout,
            0,
            43_200,
        )?,
        concurrency: vars.number_in("POLL_CONCURRENCY", defaults.concurrency, 1, 1000)?,
        inactivity_timeout: seconds(
            vars,
            "INACTIVITY_TIMEOUT",
            defaults.inactivity_timeout,
            1,
            36_000,
        )?,
        shutdown_grace: defaults.shutdown_grace,
    })
}

/// `CRON_FILE`: the `cron.yaml` a polling worker schedules; `none` for no
/// periodic tasks. Unset: `cron.yaml` in the working directory, where it is at
/// the root of a worker bundle, or else `default_cron`.
fn cron_from(vars: &Vars, default_cron: Option<&str>) -> anyhow::Result<CronTable> {
    let in_bundle = Path::new("cron.yaml");
    Ok(match vars.var("CRON_FILE")? {
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
fn sweep_from(vars: &Vars, defaults: SweepConfig) -> anyhow::Result<SweepConfig> {
    Ok(SweepConfig {
        after: seconds(vars, "SWEEP_AFTER_SECONDS", defaults.after, 1, 1_209_600)?,
        batch: vars.number_in("SWEEP_BATCH", defaults.batch, 1, 1000)?,
        max_requeues: vars.number_in("SWEEP_MAX_REQUEUES", defaults.max_requeues, 0, 100)?,
    })
}

#[cfg(test)]
mod help_tests {
    use super::*;

    /// `--help` says each setting once, and each number's bounds are the
    /// ones its reading keeps.
    #[test]
    fn the_help_tells_the_truth_about_every_setting() {
        let problems = service::env::help_problems(&WorkerConfig::settings(), |vars| {
            WorkerConfig::from_vars(vars).map(drop)
        });
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
