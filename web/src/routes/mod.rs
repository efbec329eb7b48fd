//! The web's HTTP surface; each module owns its routes, and none imports
//! another (what they share is in `input.rs`, `html.rs` and `error.rs`).

mod api;
mod assets;
mod health;
mod page;

use axum::Router;
use messages::Backends;

use crate::worker_link::WorkerLink;

/// What every handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The queue and the status store.
    pub backends: Backends,
    /// The worker, when `WORKER_URL` says where it is.
    pub worker: Option<WorkerLink>,
}

/// Every route of the web.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(page::router())
        .merge(api::router())
        .merge(health::router())
        .merge(assets::router())
        .with_state(state)
}
