//! The web's HTTP surface; each module owns its routes, and none imports
//! another (what they share is in `input.rs`, `html.rs` and `error.rs`).

mod api;
mod assets;
mod health;
mod page;

use axum::Router;
use axum::http::Uri;
use axum::response::Response;
use messages::Backends;
use service::http::HttpError;

use crate::worker_link::WorkerLink;

/// What every handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The queue and the status store.
    pub backends: Backends,
    /// The worker, when `WORKER_URL` says where it is.
    pub worker: Option<WorkerLink>,
}

/// Every route of the web, and an answer that says so for any other address.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(page::router())
        .merge(api::router())
        .merge(health::router())
        .merge(assets::router())
        .fallback(no_such_address)
        .with_state(state)
}

/// A `404` with a sentence: JSON under `/api/`, a page elsewhere.
async fn no_such_address(uri: Uri) -> Response {
    let sentence = if uri.path().starts_with("/api/") {
        "there is nothing at this address: the API is /api/messages, /api/messages/{id}, /api/messages/batch and /api/messages/updates (see the README)"
    } else {
        "there is no page at this address: the messages are at /"
    };
    crate::html::error_for(uri.path(), HttpError::not_found(sentence))
}
