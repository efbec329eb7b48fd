//! The worker's HTTP surface. Each module owns its route and maps its use
//! case's error to a [`service::http::HttpError`]; errors are logged once,
//! by [`service::http::log_errors`]. No route module imports another: what
//! two of them share is here.

mod batch;
mod health;
mod process;
mod tasks;

use axum::Router;
use axum::routing::{get, post};
use sqsd::Poller;

pub use tasks::TaskState;

use crate::config::Intake;
use crate::process::WorkerState;

/// What `/process-batch` and `/health` need.
#[derive(Clone)]
struct BatchState {
    /// The same poller that `WORKER_POLL=true` runs, used for one batch.
    poller: Poller,
    /// How jobs reach this worker.
    intake: Intake,
}

/// `POST /process` alone: what sqsd (or the local poller, in-process) calls.
/// Each group of routes here logs its own errors, once, whichever router it
/// is served from (the poller calls these without the outer one).
pub fn process_router(state: WorkerState) -> Router {
    Router::new()
        .route("/process", post(process::process))
        .with_state(state)
        .layer(axum::middleware::from_fn(service::http::log_errors))
}

/// What sqsd (or the local poller, in-process) calls: `/process` for jobs and
/// the path of each periodic task of `cron.yaml`.
pub fn sqsd_router(state: WorkerState, tasks: TaskState) -> Router {
    let periodic = Router::new()
        .route("/tasks/sweep", post(tasks::sweep_task))
        .with_state(tasks)
        .layer(axum::middleware::from_fn(service::http::log_errors));
    process_router(state).merge(periodic)
}

/// Every route: those of [`sqsd_router`], plus `/health`, and on a worker in
/// manual mode only, `/process-batch` for processing by hand. Anywhere else
/// it does not exist: on a worker fed by sqsd, anyone who could reach it
/// could pull jobs off the queue outside sqsd's pace and retries.
pub fn router(state: WorkerState, poller: Poller, intake: Intake, tasks: TaskState) -> Router {
    let mut own = Router::new().route("/health", get(health::health));
    if intake == Intake::Manual {
        own = own.route("/process-batch", post(batch::process_batch));
    }
    let own = own
        .with_state(BatchState { poller, intake })
        .fallback(no_such_address)
        .layer(axum::middleware::from_fn(service::http::log_errors));
    sqsd_router(state, tasks).merge(own)
}

/// A `404` that says what this worker serves.
async fn no_such_address() -> service::http::HttpError {
    service::http::HttpError::not_found(
        "this worker serves POST /process (sqsd's jobs), POST /tasks/<name> (cron.yaml's periodic tasks, with X-Aws-Sqsd-Taskname) and GET /health; POST /process-batch exists only with WORKER_POLL=manual",
    )
}
