//! The web: a browser page and a JSON API where people send messages. Each
//! message is recorded as `pending` in the status store, then enqueued for the
//! worker; the answer comes at once, and the page shows the state as it moves.
//!
//! # Layout
//! - [`config`]: settings from the environment.
//! - [`send`]: the send use case (record, then enqueue) and its [`send::SendError`];
//!   it knows nothing of HTTP.
//! - `idempotent`: sends under an `Idempotency-Key`, answered once.
//! - `input`: reading what a form or a client sent, shared by the page and the API.
//! - `error`: where the use cases' errors (`SendError`, `SendOnceError`,
//!   `ActionError`) become a [`service::http::HttpError`] with its status
//!   and `code`, once for every route, and the JSON extractor that answers in it.
//! - `badge`: the failures badge in every page's header, from the shared snapshot.
//! - `html`: rendering pages, and answering the browser's errors as a page.
//! - `assets`: the stylesheet and script, compiled in, and their content hash.
//! - `limits`: request size and time limits, and the burst and count caps.
//! - [`snapshot`]: one snapshot of the pipeline (counts, queue and
//!   dead-letter depth, worker mode) per web instance, and [`recent`]: one
//!   feed of new messages, both shared by every open page, so what the pages
//!   cost does not grow with the tabs; `strip`: the pipeline as pages show it;
//!   [`activity`]: the last hour's throughput and latency, shared the same
//!   way, and `charts`: drawn as inline SVG; `timeline`: a message's history
//!   in words, for its page.
//! - [`operator`]: who may act (`OPERATOR_TOKEN`, `REQUIRE_HTTPS`,
//!   `SIGN_IN_RATE_PER_MINUTE`); `credential`: what credential a request
//!   presents; `session`: the session cookie, sealed; `guesses`: the
//!   per-client budget of wrong credentials; `access`: whether a request may
//!   act, checked before anything else, and signing in and out, with the
//!   sessions in the backend; `actions`: the actions on
//!   failed messages (retry, delete); `error_groups`: their errors by text,
//!   for the failures page; `all_failed`: one of them on every
//!   failed message, in the background; [`redrive`]: moving the dead-letter
//!   queue back, in the background.
//! - [`deadline`]: every request answers in time, with a sentence that says
//!   what a late send may still do.
//! - `routes`: the page (`/`, `/messages/{id}`), the operator's page
//!   (`/dead-letters`), `/api/messages`, the operator's API, `/health`,
//!   `/static`; each module owns its routes and none imports another.
//! - [`security`]: security headers and the same-origin check on form posts.
//! - [`client`]: who sent a request (`TRUSTED_PROXIES`), for every limit and log.
//! - [`throttle`]: the per-client rates on sends and reads and the cap on requests in flight.
//! - [`provision`]: the `web provision` command.
//! - [`worker_link`]: asking the worker (at `WORKER_URL`) to process a batch by hand.
//! - `plural`: counts in words ("1 message", "3 messages").
//! - `shared_read`: a value read at most every so often and shared by every
//!   request, one read at a time: the snapshot, the dead-letter look and the
//!   activity each keep theirs in one.
//! - [`startup`]: [`Application`], which binds the listener and serves.
//!
//! Modules only import downwards: (`startup`, `provision`) > (`routes`, `security`, `deadline`) > `all_failed` >
//! `error` > (`idempotent`, `actions`, `access`, `strip`, `charts`, `timeline`) > (`html`, `input`) > (`send`, `snapshot`,
//! `recent`, `activity`, `redrive`, `error_groups`, `plural`, `shared_read`, `credential`, `guesses`, `assets`, `worker_link`, `config`) > `session` >
//! (`operator`, `throttle`, `limits`) > `client`. ARCHITECTURE.md, "Code map"; `scripts/check-architecture`
//! fails on a cycle.

mod access;
mod actions;
pub mod activity;
mod all_failed;
mod assets;
mod badge;
mod charts;
pub mod client;
pub mod config;
mod credential;
pub mod deadline;
mod error;
mod error_groups;
mod guesses;
mod html;
mod idempotent;
mod input;
mod limits;
mod listing;
mod message_json;
pub mod operator;
mod plural;
pub mod provision;
pub mod recent;
pub mod redrive;
mod routes;
mod row_state;
pub mod security;
pub mod send;
mod session;
mod shared_read;
pub mod snapshot;
mod stall;
pub mod startup;
mod strip;
pub mod throttle;
mod timeline;
pub mod worker_link;

pub use config::WebConfig;
pub use startup::{Application, app, app_with, app_with_limits};
