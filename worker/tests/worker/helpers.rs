//! Starting the worker for a test, whole or just its `/process` route.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use jobs::JobSettings;
use messages::Backends;
use worker::WorkerSettings;
use worker::process::WorkerState;

/// `POST /process` alone on `backends`' store, as the poller calls it.
pub fn process_router(backends: &Backends, max_attempts: u32, slow_job: Duration) -> Router {
    worker::process_router(WorkerState {
        store: Arc::clone(&backends.store),
        max_attempts,
        jobs: JobSettings { slow_job },
        queue_timing: (&sqsd::PollerConfig::default()).into(),
    })
}

/// Starts the worker with `settings` on `backends`, on a free port of
/// 127.0.0.1, served until the test ends; returns its URL.
pub async fn spawn_worker(settings: &WorkerSettings, backends: Backends) -> String {
    let app = worker::Application::with_backends(
        settings,
        backends,
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("the worker binds a free port");
    let url = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    url
}
