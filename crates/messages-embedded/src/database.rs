//! The SQLite file: opening it, its schema, and a way to run blocking calls.

use std::path::{Path, PathBuf};
use std::time::Duration;

use backon::BlockingRetryable;
use rusqlite::{Connection, OptionalExtension};

use messages::{BackendError, QueueKind};

use crate::connection_thread::{Access, ConnectionThread};

/// The file's name under `DATA_DIR`.
pub const FILE_NAME: &str = "messages.sqlite3";

/// The tables mirror their AWS counterparts: `messages` is the DynamoDB
/// table (with an index for lists by status, newest first), `queue` and
/// `dead_letters` are the SQS queue and its dead-letter queue, and
/// `scheduled_runs` is the latest claimed run of each periodic task (sqsd's
/// leader election, done per run), and `idempotency_keys` the claims of
/// idempotent sends (`keys.rs`). `queue_kind` says whether the queue is
/// standard or FIFO (fixed when the file is made, as an SQS queue's kind is),
/// and `deduplication` holds the deduplication ids a FIFO queue saw in the
/// last five minutes. `operator_sessions` holds the operator's sign-ins
/// (`sessions.rs`), the counterpart of the DynamoDB items
/// `operator-session#<key>`. Every table is made with `IF NOT EXISTS`, so a
/// file made by an older release gets the new ones when it is opened.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS messages (
    id          TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    simulate    TEXT NOT NULL,
    status      TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
        error       TEXT,
    requeues    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_by_status ON messages (status, id);
CREATE TABLE IF NOT EXISTS queue (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id           TEXT NOT NULL UNIQUE,
    body                 TEXT NOT NULL,
    sent_at_ms           INTEGER NOT NULL,
    visible_at_ms        INTEGER NOT NULL,
    receive_count        INTEGER NOT NULL DEFAULT 0,
    first_received_at_ms INTEGER,
    receipt              TEXT UNIQUE,
    attributes           TEXT
);
CREATE INDEX IF NOT EXISTS queue_by_visibility ON queue (visible_at_ms, seq);
-- The redrive step looks for messages received too often: few, whatever the
-- backlog, and found through this index without reading the backlog.
CREATE INDEX IF NOT EXISTS queue_by_receive_count ON queue (receive_count, visible_at_ms);
CREATE TABLE IF NOT EXISTS dead_letters (
    message_id     TEXT PRIMARY KEY,
    body           TEXT NOT NULL,
    sent_at_ms     INTEGER NOT NULL,
    receive_count  INTEGER NOT NULL,
    moved_at_ms    INTEGER NOT NULL,
    attributes     TEXT
);
CREATE TABLE IF NOT EXISTS scheduled_runs (
    task             TEXT PRIMARY KEY,
    scheduled_at_ms  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key            TEXT PRIMARY KEY,
    fingerprint    TEXT NOT NULL,
    ids            TEXT NOT NULL,
    claimed_at_ms  INTEGER NOT NULL,
    outcome        TEXT NOT NULL,
    answer_status  INTEGER,
    answer_error   TEXT
);
CREATE INDEX IF NOT EXISTS idempotency_keys_by_age ON idempotency_keys (claimed_at_ms);
CREATE TABLE IF NOT EXISTS queue_kind (
    only  INTEGER PRIMARY KEY CHECK (only = 1),
    kind  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deduplication (
    id          TEXT PRIMARY KEY,
    sent_at_ms  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deduplication_by_age ON deduplication (sent_at_ms);
CREATE TABLE IF NOT EXISTS operator_sessions (
    key            TEXT PRIMARY KEY,
    credential     TEXT NOT NULL,
    started_at_ms  INTEGER NOT NULL,
    ends_at_ms     INTEGER NOT NULL,
    idle_until_ms  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS operator_sessions_by_idle ON operator_sessions (idle_until_ms);
";

/// What needs [`ADDED_COLUMNS`] in place: run after them.
const SCHEMA_ON_ADDED_COLUMNS: &str = "
-- A FIFO receive asks whether a group has a message in flight.
CREATE INDEX IF NOT EXISTS queue_by_group ON queue (message_group, visible_at_ms);
-- Lists of one group, newest first.
CREATE INDEX IF NOT EXISTS messages_by_group ON messages (message_group, id);
";

/// Columns added after the first release, as `(table, column, type)`: a file
/// made before them gets them on open, so an existing `DATA_DIR` keeps working.
const ADDED_COLUMNS: [(&str, &str, &str); 8] = [
    ("queue", "attributes", "TEXT"),
    ("dead_letters", "attributes", "TEXT"),
    ("queue", "message_group", "TEXT"),
    ("dead_letters", "message_group", "TEXT"),
    ("messages", "message_group", "TEXT"),
    ("messages", "retries", "INTEGER NOT NULL DEFAULT 0"),
    ("messages", "history", "TEXT"),
    ("messages", "trace_id", "TEXT"),
];

/// Puts the file in WAL mode and its schema in place, all of it or none.
fn prepare(connection: &mut Connection, path: &Path) -> rusqlite::Result<()> {
    // WAL lets readers run beside the writer, across processes. NORMAL
    // syncing survives a crash of either process; only a power cut may lose
    // the last moments, which is fine for a local development backend.
    connection
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
        .map(|mode| {
            // Some filesystems (network ones) cannot do WAL; SQLite then
            // stays in its rollback journal, where readers block writers.
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(%mode, path = %path.display(), "the embedded database is not in WAL mode: the web and the worker will wait on each other more");
            }
        })
        .and_then(|()| connection.pragma_update(None, "synchronous", "NORMAL"))
        // All of the schema or none of it: a failure rolls back as the
        // connection is dropped.
        .and_then(|()| connection.execute_batch(&format!("BEGIN IMMEDIATE;{SCHEMA}COMMIT;")))
        .and_then(|()| add_missing_columns(connection))
}

/// Whether SQLite refused for another connection's lock.
fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Adds each of [`ADDED_COLUMNS`] that the file does not have yet, under the
/// write lock, so two processes opening an old file at once do not both add one.
fn add_missing_columns(connection: &mut Connection) -> rusqlite::Result<()> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for (table, column, kind) in ADDED_COLUMNS {
        let present: bool = transaction.query_row(
            "SELECT EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2)",
            rusqlite::params![table, column],
            |row| row.get(0),
        )?;
        if !present {
            transaction
                .execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
        }
    }
    transaction.execute_batch(SCHEMA_ON_ADDED_COLUMNS)?;
    add_status_counts(&transaction)?;
    transaction.commit()
}

/// The count of each status, kept by triggers on `messages` in the same
/// transaction as every insert, status change and delete: exact, and read
/// in one row whatever the number of messages.
const STATUS_COUNT_TRIGGERS: &str = "
CREATE TRIGGER IF NOT EXISTS count_insert AFTER INSERT ON messages BEGIN
    INSERT INTO status_counts (status, count) VALUES (new.status, 1)
    ON CONFLICT (status) DO UPDATE SET count = count + 1;
END;
CREATE TRIGGER IF NOT EXISTS count_update AFTER UPDATE OF status ON messages
WHEN old.status <> new.status BEGIN
    UPDATE status_counts SET count = count - 1 WHERE status = old.status;
    INSERT INTO status_counts (status, count) VALUES (new.status, 1)
    ON CONFLICT (status) DO UPDATE SET count = count + 1;
END;
CREATE TRIGGER IF NOT EXISTS count_delete AFTER DELETE ON messages BEGIN
    UPDATE status_counts SET count = count - 1 WHERE status = old.status;
END;
";

/// Makes `status_counts` and its triggers if the file has none yet, counting
/// the messages already there once, under the write lock, so the counts
/// start exact.
fn add_status_counts(transaction: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let present: bool = transaction.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'status_counts')",
        [],
        |row| row.get(0),
    )?;
    if !present {
        transaction.execute_batch(
            "CREATE TABLE status_counts (status TEXT PRIMARY KEY, count INTEGER NOT NULL);
             INSERT INTO status_counts (status, count) SELECT status, COUNT(*) FROM messages GROUP BY status;",
        )?;
    }
    transaction.execute_batch(STATUS_COUNT_TRIGGERS)
}

/// Why a file cannot serve as the queue kind asked for.
fn settle_queue_kind(
    connection: &mut Connection,
    requested: Option<QueueKind>,
) -> Result<QueueKind, String> {
    let transaction = connection
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|error| error.to_string())?;
    let recorded: Option<String> = transaction
        .query_row("SELECT kind FROM queue_kind", [], |row| row.get(0))
        .optional()
        .map_err(|error| error.to_string())?;
    let kind = match (recorded, requested) {
        (Some(recorded), requested) => {
            let recorded: QueueKind = recorded.parse()?;
            match requested {
                Some(requested) if requested != recorded => {
                    return Err(format!(
                        "its queue was made as a {} queue, and QUEUE_TYPE={} asks for a {} one; a queue's kind cannot change, as on SQS: unset QUEUE_TYPE, or set DATA_DIR to another folder",
                        recorded.as_str(),
                        requested.as_str(),
                        requested.as_str()
                    ));
                }
                _ => recorded,
            }
        }
        // A new file, or one made before queues had a kind (standard).
        (None, requested) => {
            let kind = requested.unwrap_or_default();
            transaction
                .execute(
                    "INSERT INTO queue_kind (only, kind) VALUES (1, ?1)",
                    [kind.as_str()],
                )
                .map_err(|error| error.to_string())?;
            kind
        }
    };
    transaction.commit().map_err(|error| error.to_string())?;
    Ok(kind)
}

/// One open database file, shared by the queue and the store of a process.
#[derive(Debug, Clone)]
pub struct Database {
    // One connection per process, owned by one thread: SQLite serialises
    // writers anyway, and a thread of its own lets concurrent writes share a
    // commit (`connection_thread.rs`). Other processes open their own.
    thread: ConnectionThread,
    path: PathBuf,
    queue_kind: QueueKind,
}

impl Database {
    /// Opens (creating if needed) `DATA_DIR/messages.sqlite3`, with the
    /// queue of the kind the file was made with (standard for a new file).
    pub fn open(data_dir: &Path) -> Result<Self, BackendError> {
        Self::open_as(data_dir, None)
    }

    /// Opens the file as [`Database::open`] does, asking for a queue of
    /// `kind`: a new file is made so, and an existing one must be so already.
    pub fn open_as(data_dir: &Path, kind: Option<QueueKind>) -> Result<Self, BackendError> {
        let failed = |error: String| BackendError::new("opening the embedded backend", error);
        crate::private::create_dir(data_dir).map_err(|error| {
            failed(format!(
                "cannot create DATA_DIR {}: {error}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join(FILE_NAME);
        crate::private::create_file(&path)
            .map_err(|error| failed(format!("cannot create {}: {error}", path.display())))?;
        for companion in ["-wal", "-shm"] {
            let mut name = path.clone().into_os_string();
            name.push(companion);
            crate::private::tighten(Path::new(&name))
                .map_err(|error| failed(format!("cannot look at {}: {error}", path.display())))?;
        }
        let mut connection = Connection::open(&path)
            .map_err(|error| failed(format!("cannot open {}: {error}", path.display())))?;
        // Another process (the web or the worker) may hold the write lock for a
        // moment: wait for it rather than fail.
        connection
            .busy_timeout(Duration::from_secs(10))
            .map_err(|error| failed(error.to_string()))?;
        // Nothing below may change a file that is not ours: look first.
        if let Some(problem) = foreign(&connection) {
            return Err(failed(format!(
                "{} is not this app's database ({problem}): move it away, or set DATA_DIR to another folder. It was left as it was",
                path.display()
            )));
        }
        // Two processes opening an old file at once: the one converting it
        // to WAL holds a lock that SQLite's busy handler does not wait on
        // (a journal-mode change answers "locked" at once), so the other
        // tries again for up to the same 10 s.
        let prepare_once = || {
            let prepared = prepare(&mut connection, &path);
            // A schema batch cut short leaves its transaction open.
            if prepared.as_ref().is_err_and(is_busy) && !connection.is_autocommit() {
                let _ = connection.execute_batch("ROLLBACK");
            }
            prepared
        };
        prepare_once
            .retry(
                backon::ConstantBuilder::default()
                    .with_delay(Duration::from_millis(100))
                    .with_max_times(100),
            )
            .sleep(std::thread::sleep)
            .when(is_busy)
            .call()
            .map_err(|error| failed(format!("cannot prepare {}: {error}", path.display())))?;
        let queue_kind = settle_queue_kind(&mut connection, kind)
            .map_err(|problem| failed(format!("cannot use {}: {problem}", path.display())))?;
        // A read-only file (a read-only mount, say) still serves reads; every
        // write will be refused, so say so once, here.
        if connection.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
            tracing::warn!(path = %path.display(), "the embedded database is read-only: messages can be read, but every send will be refused until it is writable and the program restarted");
        }
        let thread = ConnectionThread::start(connection)
            .map_err(|error| failed(format!("cannot start the database thread: {error}")))?;
        Ok(Self {
            thread,
            path,
            queue_kind,
        })
    }

    /// Whether the file's queue is standard or FIFO.
    pub fn queue_kind(&self) -> QueueKind {
        self.queue_kind
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work`, which writes, on the database's thread, in the next group
    /// transaction; answers once that has committed. Off the async runtime,
    /// so SQLite's waits (disk, another process's lock) never stall it.
    pub(crate) async fn write<T, F>(
        &self,
        operation: &'static str,
        work: F,
    ) -> Result<T, BackendError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.thread.call(operation, Access::Write, work).await
    }

    /// Runs `work`, which only reads, on the database's thread, outside any
    /// transaction.
    pub(crate) async fn read<T, F>(
        &self,
        operation: &'static str,
        work: F,
    ) -> Result<T, BackendError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.thread.call(operation, Access::Read, work).await
    }
}

/// Why the file behind `connection` is not one this app made, if it is not:
/// not a SQLite database at all (garbage, or a damaged header), or one of
/// something else (tables, but not ours). A new, empty file is ours to fill.
fn foreign(connection: &Connection) -> Option<String> {
    let tables: rusqlite::Result<Vec<String>> = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut statement| {
            statement
                .query_map([], |row| row.get::<_, String>(0))?
                .collect()
        });
    let tables = match tables {
        Ok(tables) => tables,
        Err(error) => return Some(error.to_string()),
    };
    let ours = ["messages", "queue", "dead_letters"];
    if tables.is_empty()
        || ours
            .iter()
            .all(|table| tables.iter().any(|name| name == table))
    {
        return None;
    }
    let mut shown: Vec<&str> = tables.iter().map(String::as_str).take(5).collect();
    shown.sort_unstable();
    Some(format!(
        "a SQLite database with tables {} but not this app's messages, queue and dead_letters",
        shown.join(", ")
    ))
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    /// The web and the worker share one WAL database from two processes,
    /// the case SQLite 3.51.3 fixed a corruption bug in (the WAL-reset bug):
    /// the SQLite compiled in must be that one or later.
    #[test]
    fn the_sqlite_compiled_in_has_the_wal_reset_fix() {
        let version = rusqlite::version_number();
        assert!(
            version >= 3_051_003,
            "SQLite {} is older than 3.51.3",
            rusqlite::version()
        );
    }
}
