//! Starting the worker for a test.

use std::net::SocketAddr;

use messages::Backends;
use worker::WorkerSettings;

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
