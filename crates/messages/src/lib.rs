//! The message domain of the web + worker application, its ports, and their
//! backends.
//!
//! The web records a message as `pending` and enqueues a [`Job`]; the worker
//! does the job and moves the record to `complete` or `fail`. Everything here is
//! shared by both binaries, so they agree on the wire format and the states.
//!
//! # Layout
//! - Domain: [`MessageId`] (UUIDv7), [`Status`], [`Simulate`], [`MessageBody`]
//!   (validated text), [`Message`] (the record), [`Job`] (the queue payload).
//! - Ports: [`Queue`] and [`StatusStore`], returning [`BackendError`] and never
//!   an SDK type.
//! - Backends: [`aws`] (SQS, DynamoDB, provisioning), [`embedded`] (one
//!   SQLite file, no AWS) and [`backend`], which picks one from the environment.

pub mod aws;
pub mod backend;
mod body;
pub mod embedded;
mod error;
mod id;
mod message;
mod queue;
mod simulate;
mod status;
mod store;

pub use backend::{BackendConfig, Backends, DEFAULT_MAX_ATTEMPTS, max_attempts_from_env};
pub use body::{InvalidBody, MAX_BODY_BYTES, MessageBody};
pub use error::BackendError;
pub use id::{InvalidMessageId, MessageId};
pub use message::{Job, Message, now};
pub use queue::{Queue, Received};
pub use simulate::{Simulate, UnknownSimulate};
pub use status::{FinalStatus, Status, UnknownStatus};
pub use store::{ListQuery, MAX_PAGE, Outcome, Page, StatusStore, Transition};
