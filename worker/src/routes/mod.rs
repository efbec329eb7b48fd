//! The worker's HTTP surface.

mod health;
mod process;

use axum::Router;
use axum::routing::{get, post};

use crate::process::WorkerState;

/// Every route of the worker, ready for state.
pub fn router(state: WorkerState) -> Router {
    Router::new()
        .route("/process", post(process::process))
        .route("/health", get(health::health))
        .with_state(state)
}
