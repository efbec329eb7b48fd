//! The worker's HTTP surface.

mod batch;
mod health;
mod process;
pub mod tasks;

use axum::Router;
use axum::routing::{get, post};
use sqsd::Poller;

use crate::process::WorkerState;

/// `POST /process` alone: what sqsd (or the local poller) calls.
pub fn process_router(state: WorkerState) -> Router {
    Router::new()
        .route("/process", post(process::process))
        .with_state(state)
}

/// Every route: `/process`, `/health`, `/process-batch` for processing by
/// hand, and `/tasks/sweep` for `cron.yaml`.
pub fn router(
    state: WorkerState,
    poller: Poller,
    polling: bool,
    tasks: tasks::TaskState,
) -> Router {
    let manual = Router::new()
        .route("/health", get(health::health))
        .route("/process-batch", post(batch::process_batch))
        .with_state(batch::BatchState { poller, polling });
    let periodic = Router::new()
        .route("/tasks/sweep", post(tasks::sweep_task))
        .with_state(tasks);
    process_router(state).merge(manual).merge(periodic)
}
