//! The web: a browser page and a JSON API where people send messages. Each
//! message is recorded as `pending` in the status store, then enqueued for the
//! worker; the answer comes at once, and the page shows the state as it moves.
//!
//! # Layout
//! - [`config`]: settings from the environment.
//! - [`send`]: accepting one message (record, then enqueue): shared by the API and the form.
//! - [`error`]: [`error::ApiError`], the JSON error format, and the JSON extractor using it.
//! - [`routes`]: the page (`/`, `/messages/{id}`), `/api/messages`, `/health`, `/static`.
//! - [`security`]: security headers and the same-origin check on form posts.
//! - [`provision`]: the `web provision` command.
//! - [`worker_link`]: asking the worker (at `WORKER_URL`) to process a batch by hand.
//! - [`startup`]: [`Application`], which binds the listener and serves.

pub mod config;
pub mod error;
pub mod provision;
pub mod routes;
pub mod security;
pub mod send;
pub mod startup;
pub mod worker_link;

pub use config::WebConfig;
pub use startup::Application;
