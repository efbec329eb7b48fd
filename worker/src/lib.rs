//! The worker: what Elastic Beanstalk's SQS daemon (sqsd) calls at
//! `POST /process` with each queued job. It does the job and moves the message
//! from `pending` to `complete` or `fail`, safely under at-least-once delivery.
//!
//! # Layout
//! - [`config`]: settings (flags or the environment, `--help`): where to listen and connect
//!   ([`WorkerConfig`]), and how to behave ([`WorkerSettings`]).
//! - [`process`]: one delivery, from sqsd's request to a recorded state: the
//!   only processing path, used by `/process` and by the local poller alike.
//! - [`sweep`]: the periodic task that rescues messages stuck in `pending`.
//! - `routes`: the HTTP surface (`/process`, `/health`, `/process-batch`,
//!   `/tasks/sweep`), where use-case errors become HTTP answers.
//! - [`startup`]: [`Application`], which binds the listener and serves.

pub mod config;
mod observed;
pub mod process;
mod routes;
pub mod startup;
pub mod sweep;

pub use config::{Intake, WorkerConfig, WorkerSettings};
pub use jobs::JobSettings;
pub use routes::{TaskState, process_router, sqsd_router};
pub use startup::Application;
