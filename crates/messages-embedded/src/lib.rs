//! The embedded backend of the message ports: the queue and the status store
//! in one SQLite file under `DATA_DIR`, for a machine with no AWS, no emulator and no Docker.
//!
//! Why SQLite (through rusqlite, with SQLite bundled so nothing needs
//! installing): it is durable (a restart loses nothing), and its file locking
//! lets a web and a worker running as two processes share one file safely. Every
//! write runs under the write lock (a `BEGIN IMMEDIATE` transaction shared by
//! the writes waiting at that moment, each in a savepoint of its own), so an
//! operation that must be atomic (receive: pick visible messages and hide them)
//! is, and two pollers never receive the same message at once.
//!
//! The queue mirrors what the worker relies on from SQS: visibility timeouts,
//! receive counts, a dead-letter area that takes a message received
//! `max_receive_count` times (SQS's redrive policy), and long polling; and,
//! made as a FIFO queue, message groups and deduplication.
//!
//! # Layout
//! - [`Database`]: opening the file, the schema, and running blocking SQLite
//!   calls off the async runtime.
//! - `queue`: [`EmbeddedQueue`], the queue; `dead_letters`:
//!   [`EmbeddedDeadLetters`], its dead-letter area.
//! - `store`: [`EmbeddedStore`], the status store; `keys`: its idempotency keys.
//! - `sessions`: [`EmbeddedSessions`], the operator's sessions.
//! - `wake`: waking a receive in another process the moment a message is sent.
//! - `connection_thread`: the thread that owns the connection and runs every
//!   read and write on it, with group commit for the writes.
//! - `private`: the folder and the file for this user alone (`0700`, `0600`).

mod connection_thread;
mod database;
mod dead_letters;
mod keys;
mod private;
mod queue;
mod sessions;
mod store;
mod wake;

use std::path::Path;
use std::sync::Arc;

use messages::{BackendError, Backends, QueueKind};

pub use database::{Database, FILE_NAME};
pub use dead_letters::EmbeddedDeadLetters;
pub use queue::EmbeddedQueue;
pub use sessions::EmbeddedSessions;
pub use store::EmbeddedStore;

/// The embedded backend in `data_dir`, dead-lettering after `max_attempts`
/// receives, with a queue of the kind the file was made with.
pub fn backends(data_dir: &Path, max_attempts: u32) -> Result<Backends, BackendError> {
    backends_as(data_dir, max_attempts, None)
}

/// As [`backends`], asking for a queue of `kind` (`QUEUE_TYPE`): a new file
/// is made so, and an existing one must be so already.
pub fn backends_as(
    data_dir: &Path,
    max_attempts: u32,
    kind: Option<QueueKind>,
) -> Result<Backends, BackendError> {
    let database = Database::open_as(data_dir, kind)?;
    Ok(Backends {
        queue: Arc::new(EmbeddedQueue::new(database.clone(), max_attempts)),
        store: Arc::new(EmbeddedStore::new(database.clone())),
        sessions: Arc::new(EmbeddedSessions::new(database)),
    })
}
