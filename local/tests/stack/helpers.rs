//! Starting the whole stack for a test, on backends the test made.

use std::net::{IpAddr, Ipv4Addr};

use local::Stack;
use messages::Backends;
use web::operator::Operator;
use worker::WorkerSettings;

/// Where a running stack answers.
pub struct Running {
    /// The web's URL.
    pub web: String,
    /// The worker's URL.
    pub worker: String,
}

/// Starts the web and the worker on `backends`, on free ports of 127.0.0.1,
/// served until the test ends.
pub async fn spawn_stack(backends: Backends, settings: &WorkerSettings) -> Running {
    spawn_stack_with(backends, settings, Operator::off()).await
}

/// As [`spawn_stack`], the web held to `limits`.
pub async fn spawn_limited_stack(
    backends: Backends,
    settings: &WorkerSettings,
    limits: web::edge::throttle::Limits,
) -> Running {
    let web = web::Web::new(backends).limits(limits);
    let stack = Stack::bind(web, settings, IpAddr::V4(Ipv4Addr::LOCALHOST), (0, 0))
        .await
        .expect("the stack binds free ports");
    run(stack)
}

/// Serves `stack` until the test ends.
fn run(stack: Stack) -> Running {
    let running = Running {
        web: stack.web_url(),
        worker: stack.worker_url(),
    };
    tokio::spawn(stack.run_until(std::future::pending()));
    running
}

/// As [`spawn_stack`], letting `operator` act on the page.
pub async fn spawn_stack_with(
    backends: Backends,
    settings: &WorkerSettings,
    operator: Operator,
) -> Running {
    let web = web::Web::new(backends).operator(operator);
    let stack = Stack::bind(web, settings, IpAddr::V4(Ipv4Addr::LOCALHOST), (0, 0))
        .await
        .expect("the stack binds free ports");
    run(stack)
}

/// A worker that waits for "Process" (`WORKER_POLL=manual`), so a job stays
/// on the queue, and a retried message `pending`, until the test asks.
pub fn manual_worker() -> WorkerSettings {
    WorkerSettings {
        intake: worker::Intake::Manual,
        poller: sqsd::PollerConfig {
            wait: std::time::Duration::from_secs(1),
            error_visibility_timeout: std::time::Duration::ZERO,
            ..sqsd::PollerConfig::default()
        },
        ..WorkerSettings::default()
    }
}
