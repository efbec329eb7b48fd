//! The message domain of the web + worker application and its ports.
//!
//! The web records a message as `pending` and enqueues a [`JobPayload`]; the
//! worker does the job and moves the record to `complete` or `fail`. Both
//! binaries, the sqsd poller and both backends depend on this crate, so they
//! agree on the wire format and the states. It knows nothing of AWS, SQLite
//! or HTTP: see `ARCHITECTURE.md` for what may depend on what.
//!
//! # Layout
//! - Domain: [`MessageId`] (UUIDv7), [`Status`], [`JobKind`] (from the `jobs`
//!   crate, where each job is registered), [`MessageBody`]
//!   (validated text), [`Message`] (the record), its [`Event`]s (its timeline) and its [`Progress`], [`JobPayload`] (what the queue
//!   carries), [`MessageGroup`] (FIFO order), [`IdempotencyKey`] and its [`KeyClaim`] (idempotent sends).
//! - Ports: [`Queue`] (its traffic: [`QueueTraffic`]; and its
//!   [`DeadLetterQueue`]), [`StatusStore`] (its roles: [`MessageLifecycle`],
//!   [`IdempotencyKeys`], [`RunClaims`], [`SweeperQueries`],
//!   [`OperatorActions`], [`DashboardReads`]) and
//!   [`SessionStore`] (the operator's sign-ins, known by a [`SessionKey`]),
//!   returning [`BackendError`] and never an SDK type; [`Backends`] holds a
//!   queue, a store and the sessions. The backends live in their
//!   own crates (`messages-aws`, `messages-embedded`).

mod backends;
mod body;
mod dead_letters;
mod error;
mod group;
mod history;
mod id;
mod idempotency;
mod message;
mod progress;
mod queue;
mod sessions;
mod status;
mod store;

pub use backends::Backends;
pub use body::{InvalidBody, MAX_BODY_BYTES, MessageBody};
pub use dead_letters::{DeadLetter, DeadLetterQueue, MOVE_BATCH};
pub use error::BackendError;
pub use group::{InvalidGroup, MAX_GROUP_CHARS, MessageGroup};
pub use history::{Event, MAX_EVENT_ERROR_CHARS, MAX_HISTORY};
pub use id::{InvalidMessageId, MessageId};
pub use idempotency::{
    Claimed, IdempotencyKey, InvalidIdempotencyKey, KEY_WINDOW, KeyClaim, KeyOutcome, MAX_KEY_BYTES,
};
pub use jobs::{JobKind, UnknownJobKind};
pub use message::{JobPayload, Message, now};
pub use progress::Progress;
pub use queue::{Outgoing, Queue, QueueDepth, QueueKind, QueueTraffic, Received};
pub use sessions::{InvalidSessionKey, NewSession, SESSION_KEY_CHARS, SessionKey, SessionStore};
pub use status::{FinalStatus, Status, UnknownStatus};
pub use store::{
    DashboardReads, IdempotencyKeys, ListQuery, MAX_PAGE, MessageLifecycle, OperatorActions,
    Outcome, Page, Requeues, RunClaims, StaleQuery, StatusStore, SweeperQueries, Transition,
};
