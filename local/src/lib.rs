//! The whole stack in one process, for a laptop: the web on 8080, the worker
//! on 8081 polling the queue itself (there is no sqsd off Elastic Beanstalk),
//! and with no AWS configured, the embedded backend under `DATA_DIR`. This is
//! what `cargo run --release` starts.
//!
//! Web and worker share one [`messages::Backends`] value, so the embedded queue wakes the
//! poller the moment the web sends. They could as well run as two processes
//! (`web` and `worker` binaries) on the same `DATA_DIR`.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use backend_config::BackendConfig;
use service::env::{Setting, Vars};
use service::shutdown::Shutdown;
use worker::{Intake, WorkerSettings};

/// The `cron.yaml` of the worker bundle, so that `cargo run` runs the same
/// periodic tasks as Elastic Beanstalk (`CRON_FILE` chooses another).
const BUNDLED_CRON_YAML: &str = include_str!("../../deploy/worker/cron.yaml");

/// The launcher's settings.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// `HOST`: the address both listen on; loopback unless asked otherwise, so
    /// a laptop does not offer the app to its network.
    pub host: IpAddr,
    /// `WEB_PORT`, default 8080.
    pub web_port: u16,
    /// `WORKER_PORT`, default 8081.
    pub worker_port: u16,
    /// Where messages live.
    pub backend: BackendConfig,
    /// How the worker behaves (`WORKER_POLL` defaults to `true` here).
    pub worker: WorkerSettings,
    /// `OPERATOR_TOKEN`: who may retry, delete and redrive on the page.
    pub operator: web::operator::Operator,
    /// The web's limits (`SEND_RATE_PER_MINUTE`, `SEND_BURST`,
    /// `READ_RATE_PER_MINUTE`, `TRUSTED_PROXIES`, `MAX_IN_FLIGHT`), as the
    /// `web` binary reads them; each unset one is off, since the browser is
    /// on this machine.
    pub limits: web::edge::throttle::Limits,
    /// `METRICS_ADDR`: where Prometheus text is served, the web's and the
    /// worker's together; unset, nowhere.
    pub metrics: Option<SocketAddr>,
}

/// Where both listen unless `HOST` says otherwise: a laptop does not offer
/// the app to its network.
const LOCAL_HOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// `WEB_PORT`'s default.
const WEB_PORT: u16 = 8080;
/// `WORKER_PORT`'s default.
const WORKER_PORT: u16 = 8081;

impl LocalConfig {
    /// Every setting the launcher reads, with its defaults: what `cargo run
    /// --release -- --help` lists.
    pub fn settings() -> Vec<Setting> {
        let mut settings = vec![
            service::listener::port_setting("WEB_PORT", "the web's port", WEB_PORT),
            service::listener::port_setting("WORKER_PORT", "the worker's port", WORKER_PORT),
            service::listener::host_setting(LOCAL_HOST),
        ];
        settings.extend(service::telemetry::settings());
        settings.extend(service::metrics::settings());
        settings.extend(backend_config::settings());
        settings.extend(WorkerSettings::settings(
            "true: poll the queue",
            "manual: there is no sqsd here",
            "the worker bundle's cron.yaml",
        ));
        settings.extend(web::operator::Operator::settings());
        settings.extend(web::edge::throttle::Limits::settings(
            &web::edge::throttle::Limits::off(),
        ));
        settings
    }

    /// Reads the settings, or says which one is wrong.
    pub fn from_vars(vars: &Vars) -> anyhow::Result<Self> {
        Ok(Self {
            host: service::listener::host_from(vars, LOCAL_HOST)?,
            web_port: vars.number_in("WEB_PORT", WEB_PORT, 0, 65535)?,
            worker_port: vars.number_in("WORKER_PORT", WORKER_PORT, 0, 65535)?,
            backend: BackendConfig::from_vars(vars)?,
            // Locally there is no sqsd: poll unless told not to, and run the
            // periodic tasks of the worker bundle's cron.yaml as sqsd would.
            // `WORKER_POLL=false` here is manual: there is no sqsd to deliver.
            worker: WorkerSettings::from_vars(
                vars,
                Intake::Polling,
                Intake::Manual,
                Some(BUNDLED_CRON_YAML),
            )?,
            operator: web::operator::Operator::from_vars(vars)?,
            limits: web::edge::throttle::Limits::from_vars(
                vars,
                web::edge::throttle::Limits::off(),
            )?,
            metrics: service::metrics::address_from(vars)?,
        })
    }
}

/// The web and the worker, bound and ready to run.
pub struct Stack {
    web: web::Application,
    worker: worker::Application,
    host: IpAddr,
    /// The metrics listener's address, when there is one.
    metrics: Option<SocketAddr>,
}

impl Stack {
    /// Connects the backend once and binds both listeners.
    pub async fn start(config: &LocalConfig) -> anyhow::Result<Self> {
        let backends = config.backend.connect(config.worker.max_attempts).await?;
        let web = web::Web::new(backends)
            .operator(config.operator.clone())
            .limits(config.limits.clone());
        let mut stack = Self::bind(
            web,
            &config.worker,
            config.host,
            (config.web_port, config.worker_port),
        )
        .await?;
        if let Some(address) = config.metrics {
            stack.metrics = Some(service::metrics::serve(address).await?);
        }
        // Said at start, so a setting is never silently ignored.
        tracing::info!(
            sends = %config.limits.sends_in_words(),
            reads_per_minute = config.limits.reads_per_minute,
            "the web's limits (SEND_RATE_PER_MINUTE, SEND_BURST, READ_RATE_PER_MINUTE; 0 or unset is off here)"
        );
        if let BackendConfig::Embedded { data_dir, .. } = &config.backend {
            tracing::info!(data_dir = %data_dir.display(), "embedded backend (no AWS configured)");
        }
        Ok(stack)
    }

    /// Binds both listeners on `host`, at `(web, worker)` ports (tests:
    /// port 0): `web` as built (its backends, limits and operator; the
    /// launcher's has no limit, its browser being on this machine), linked
    /// to a worker with `worker`'s settings on the same backends.
    pub async fn bind(
        web: web::Web,
        worker: &WorkerSettings,
        host: IpAddr,
        (web_port, worker_port): (u16, u16),
    ) -> anyhow::Result<Self> {
        let worker = worker::Application::with_backends(
            worker,
            web.backends().clone(),
            SocketAddr::new(host, worker_port),
        )
        .await?;
        let link = web::dashboard::worker_link::WorkerLink::new(url(host, worker.port()))?;
        let web = web
            .worker(Some(link))
            .bind(SocketAddr::new(host, web_port))
            .await?;
        Ok(Self {
            web,
            worker,
            host,
            metrics: None,
        })
    }

    /// The web's URL, for a browser.
    pub fn web_url(&self) -> String {
        url(self.host, self.web.port())
    }

    /// The worker's URL.
    pub fn worker_url(&self) -> String {
        url(self.host, self.worker.port())
    }

    /// Where the metrics are, when `METRICS_ADDR` is set.
    pub fn metrics_url(&self) -> Option<String> {
        Some(format!("http://{}/metrics", self.metrics?))
    }

    /// How jobs reach the worker.
    pub fn intake(&self) -> Intake {
        self.worker.intake()
    }

    /// Runs both until `shutdown` completes; then both finish what is in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let shutdown = Shutdown::on(shutdown);
        let (web, worker) = tokio::join!(
            self.web.run_until(shutdown.clone().wait()),
            self.worker.run_until(shutdown.wait()),
        );
        web?;
        worker?;
        Ok(())
    }
}

/// Where to reach a listener bound to `host` at `port`: an unspecified
/// address (`0.0.0.0`) is reached on loopback.
fn url(host: IpAddr, port: u16) -> String {
    let host = if host.is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        host
    };
    format!("http://{}", SocketAddr::new(host, port))
}

#[cfg(test)]
mod help_tests {
    use super::*;

    /// `--help` says each setting once, and each number's bounds are the
    /// ones its reading keeps.
    #[test]
    fn the_help_tells_the_truth_about_every_setting() {
        let problems = service::env::help_problems(&LocalConfig::settings(), |vars| {
            LocalConfig::from_vars(vars).map(drop)
        });
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
