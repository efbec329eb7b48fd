//! The whole stack in one process, for a laptop: the web on 8080, the worker
//! on 8081 polling the queue itself (there is no sqsd off Elastic Beanstalk),
//! and with no AWS configured, the embedded backend under `DATA_DIR`. This is
//! what `cargo run --release` starts.
//!
//! Web and worker share one [`Backends`] value, so the embedded queue wakes the
//! poller the moment the web sends. They could as well run as two processes
//! (`web` and `worker` binaries) on the same `DATA_DIR`.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use messages::{BackendConfig, Backends};
use service::env;
use service::shutdown::Shutdown;

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
    /// The worker's settings (`WORKER_POLL` defaults to `true` here).
    pub worker: worker::WorkerConfig,
}

impl LocalConfig {
    /// Reads the settings, or says which one is wrong.
    pub fn from_env() -> anyhow::Result<Self> {
        let host = env::parse_or(
            "HOST",
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            "it must be an IP address such as 127.0.0.1 or 0.0.0.0",
        )?;
        let mut worker = worker::WorkerConfig::from_env()?;
        // Locally there is no sqsd: poll unless told not to.
        worker.poll = env::flag("WORKER_POLL", true)?;
        Ok(Self {
            host,
            web_port: u16::try_from(env::number_in("WEB_PORT", 8080, 0, 65535)?)?,
            worker_port: u16::try_from(env::number_in("WORKER_PORT", 8081, 0, 65535)?)?,
            worker,
        })
    }
}

/// The web and the worker, bound and ready to run.
pub struct Stack {
    web: web::Application,
    worker: worker::Application,
    host: IpAddr,
}

impl Stack {
    /// Connects the backend once and binds both listeners.
    pub async fn start(config: &LocalConfig) -> anyhow::Result<Self> {
        let backend = &config.worker.backend;
        let backends = Backends::connect(backend, config.worker.max_attempts).await?;
        let worker = worker::Application::with_backends(
            &config.worker,
            backends.clone(),
            SocketAddr::new(config.host, config.worker_port),
        )
        .await?;
        let worker_url = format!(
            "http://{}",
            SocketAddr::new(loopback_for(config.host), worker.port())
        );
        let web = web::Application::with_backends(
            backends,
            Some(web::worker_link::WorkerLink::new(worker_url)),
            SocketAddr::new(config.host, config.web_port),
        )
        .await?;
        if let BackendConfig::Embedded { data_dir } = backend {
            tracing::info!(data_dir = %data_dir.display(), "embedded backend (no AWS configured)");
        }
        Ok(Self {
            web,
            worker,
            host: config.host,
        })
    }

    /// The web's URL, for a browser.
    pub fn web_url(&self) -> String {
        format!(
            "http://{}",
            SocketAddr::new(loopback_for(self.host), self.web.port())
        )
    }

    /// The worker's URL.
    pub fn worker_url(&self) -> String {
        format!(
            "http://{}",
            SocketAddr::new(loopback_for(self.host), self.worker.port())
        )
    }

    /// Whether the worker polls the queue itself.
    pub fn polls(&self) -> bool {
        self.worker.polls()
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

/// Where to reach a listener bound to `host`: an unspecified address
/// (`0.0.0.0`) is reached on loopback.
fn loopback_for(host: IpAddr) -> IpAddr {
    if host.is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        host
    }
}
