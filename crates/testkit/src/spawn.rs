//! The web and the worker, each on a free port of 127.0.0.1, served until the
//! test ends.

use std::net::SocketAddr;
use std::time::Duration;

use messages::{BackendConfig, Backends};

/// Where a spawned app answers.
#[derive(Debug, Clone)]
pub struct Spawned {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Starts the web on `backends`.
pub async fn web(backends: Backends) -> Spawned {
    web_with(backends, None).await
}

/// Starts the web on `backends`, knowing the worker at `worker_url`.
pub async fn web_with(backends: Backends, worker_url: Option<String>) -> Spawned {
    let worker = worker_url.map(web::worker_link::WorkerLink::new);
    let app = web::Application::with_backends(backends, worker, loopback())
        .await
        .expect("the web binds a free port");
    let url = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    Spawned { url }
}

/// The worker's configuration for tests: `slow` jobs take 200 ms.
pub fn worker_config(max_attempts: u32) -> worker::WorkerConfig {
    worker::WorkerConfig {
        port: 0,
        backend: BackendConfig::Embedded {
            data_dir: "unused".into(),
        },
        max_attempts,
        slow_job: Duration::from_millis(200),
        poll: false,
        sweep: worker::sweep::SweepConfig::default(),
        poller: sqsd::PollerConfig::default(),
    }
}

/// Starts the worker on `backends`, waiting for sqsd-style POSTs.
pub async fn worker(backends: Backends, max_attempts: u32) -> Spawned {
    worker_with(&worker_config(max_attempts), backends).await
}

/// Starts the worker with `config` on `backends`.
pub async fn worker_with(config: &worker::WorkerConfig, backends: Backends) -> Spawned {
    let app = worker::Application::with_backends(config, backends, loopback())
        .await
        .expect("the worker binds a free port");
    let url = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    Spawned { url }
}
