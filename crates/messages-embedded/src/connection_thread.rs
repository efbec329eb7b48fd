//! The thread that owns a process's connection to the SQLite file, and group
//! commit: the writes that arrive while one transaction commits are run
//! together in the next, each in a savepoint of its own, so many concurrent
//! sends cost one commit instead of one each. Every caller hears back only
//! after its transaction has committed, so an answer still means the write
//! survives a crash of the process (with `synchronous=NORMAL`, not a power
//! cut: `database.rs`). Reads run on the same thread outside any transaction,
//! so they never take the write lock that the other process (web or worker)
//! may be waiting for; they do wait while this thread waits for that lock.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};

use rusqlite::Connection;

use messages::BackendError;

/// At most this many calls (reads and writes) are taken at once; the writes
/// among them share transactions.
const MAX_GROUP: usize = 64;

/// Hands the outcome to the caller once the transaction is decided: `Some`
/// with the reason when it did not commit.
type Reply = Box<dyn FnOnce(Option<&str>) + Send>;

/// One call: runs on the connection (or learns it cannot) and returns how to
/// answer its caller.
type Run = Box<dyn FnOnce(Result<&mut Connection, &str>) -> Reply + Send>;

/// Whether a call changes the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads only: runs outside any transaction.
    Read,
    /// Writes: runs in the next group transaction, in a savepoint of its own.
    Write,
}

/// What the thread is asked to do.
struct Job {
    access: Access,
    run: Run,
}

/// The way to the connection's thread. Cheap to clone; the thread ends, and
/// the connection closes, when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct ConnectionThread {
    jobs: Sender<Job>,
}

impl ConnectionThread {
    /// Starts the thread that owns `connection`.
    pub fn start(connection: Connection) -> std::io::Result<Self> {
        let (jobs, queue) = channel();
        std::thread::Builder::new()
            .name("embedded-database".to_owned())
            .spawn(move || serve(connection, &queue))?;
        Ok(Self { jobs })
    }

    /// Runs `work` on the connection, as its `access` says. `operation`
    /// names it in errors.
    pub async fn call<T, F>(
        &self,
        operation: &'static str,
        access: Access,
        work: F,
    ) -> Result<T, BackendError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let run: Run = Box::new(move |connection| {
            let done = match connection {
                Err(why) => Err(BackendError::new(operation, why.to_owned())),
                Ok(connection) => run_once(connection, access, work)
                    .map_err(|error| BackendError::new(operation, error)),
            };
            Box::new(move |not_committed: Option<&str>| {
                let done = match not_committed {
                    Some(why) => Err(BackendError::new(
                        operation,
                        format!("the transaction did not commit: {why}"),
                    )),
                    None => done,
                };
                // The caller may have gone (a cancelled request): nothing to tell.
                let _ = reply.send(done);
            })
        });
        self.jobs.send(Job { access, run }).map_err(|_| {
            BackendError::new(operation, "the embedded database's thread has stopped")
        })?;
        answer.await.map_err(|_| {
            BackendError::new(
                operation,
                "the embedded database's thread stopped before answering",
            )
        })?
    }
}

/// Runs one call's `work`, a write inside a savepoint so that its failure
/// undoes it alone. A panic is an error for that call, not the thread's end.
/// If the savepoint cannot be closed, the whole transaction is rolled back,
/// so that nothing is committed that its caller was told failed.
fn run_once<T>(
    connection: &mut Connection,
    access: Access,
    work: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
) -> Result<T, String> {
    let writes = access == Access::Write;
    if writes {
        connection
            .execute_batch("SAVEPOINT call")
            .map_err(|error| error.to_string())?;
    }
    let done = catch_unwind(AssertUnwindSafe(|| work(connection)))
        .map_err(|_| "it panicked".to_owned())
        .and_then(|done| done.map_err(|error| error.to_string()));
    if writes && !connection.is_autocommit() {
        let end = if done.is_ok() {
            "RELEASE call"
        } else {
            "ROLLBACK TO call; RELEASE call"
        };
        if let Err(error) = connection.execute_batch(end) {
            let _ = connection.execute_batch("ROLLBACK");
            // The work's own error says more than the clean-up's.
            return done.and(Err(format!("its savepoint could not be closed: {error}")));
        }
    }
    done
}

/// Leaves any transaction the connection is still in (a failed COMMIT, or a
/// call that began one), so that the next group can begin its own.
fn leave_any_transaction(connection: &Connection) {
    if !connection.is_autocommit() {
        let _ = connection.execute_batch("ROLLBACK");
    }
    if !connection.is_autocommit() {
        tracing::error!(
            "the embedded database connection is stuck in a transaction; writes will fail until the process restarts"
        );
    }
}

/// Runs `writes` in as few `BEGIN IMMEDIATE` transactions as it can, and
/// answers each caller once its transaction is decided. If SQLite rolls a
/// transaction back under a failing write (a full disk, say), the writes
/// before it in that transaction are answered as failed, and the rest run in
/// a new one: no caller is told "done" of a write that is not committed, and
/// none is told "failed" of one that is.
fn run_writes(connection: &mut Connection, writes: Vec<Job>) {
    let mut pending: VecDeque<Job> = writes.into();
    while !pending.is_empty() {
        // IMMEDIATE: the write lock first (waiting for the other process up
        // to the busy timeout), so no write in the group can meet a lock.
        if let Err(error) = connection.execute_batch("BEGIN IMMEDIATE") {
            let why = format!("cannot begin a transaction: {error}");
            for write in pending.drain(..) {
                (write.run)(Err(&why))(None);
            }
            leave_any_transaction(connection);
            return;
        }
        let mut replies: Vec<Reply> = Vec::with_capacity(pending.len());
        let mut lost = false;
        while let Some(write) = pending.pop_front() {
            let reply = (write.run)(Ok(&mut *connection));
            if connection.is_autocommit() {
                // The transaction is gone, and the writes before this one with it.
                for earlier in replies.drain(..) {
                    earlier(Some(
                        "another write of the same transaction failed, and SQLite rolled the transaction back",
                    ));
                }
                reply(None);
                lost = true;
                break;
            }
            replies.push(reply);
        }
        if lost {
            continue;
        }
        let committed = connection.execute_batch("COMMIT");
        let why = committed.err().map(|error| error.to_string());
        if why.is_some() {
            leave_any_transaction(connection);
        }
        for reply in replies {
            reply(why.as_deref());
        }
    }
}

/// The thread: takes what is waiting, runs the reads, then the writes, and
/// answers each caller once its outcome is decided.
fn serve(mut connection: Connection, queue: &Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let (writes, reads): (Vec<Job>, Vec<Job>) = jobs
            .into_iter()
            .partition(|job| job.access == Access::Write);
        for read in reads {
            (read.run)(Ok(&mut connection))(None);
        }
        leave_any_transaction(&connection);
        run_writes(&mut connection, writes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> ConnectionThread {
        let connection = Connection::open_in_memory().expect("a database in memory");
        connection
            .execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .expect("a table");
        ConnectionThread::start(connection).expect("the thread")
    }

    async fn insert(writer: &ConnectionThread, n: i64) -> Result<usize, BackendError> {
        writer
            .call("inserting", Access::Write, move |connection| {
                connection.execute("INSERT INTO t (n) VALUES (?1)", [n])
            })
            .await
    }

    /// Keeps the thread busy for a moment, so that the calls sent meanwhile
    /// are all waiting when it is free, and run as one group.
    async fn hold_the_thread(writer: &ConnectionThread) -> tokio::task::JoinHandle<()> {
        let writer = writer.clone();
        let held = tokio::spawn(async move {
            writer
                .call("holding", Access::Read, |_connection| {
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    Ok(())
                })
                .await
                .expect("hold");
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        held
    }

    async fn count(writer: &ConnectionThread) -> i64 {
        writer
            .call("counting", Access::Read, |connection| {
                connection.query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))
            })
            .await
            .expect("count")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_write_in_a_group_undoes_itself_alone() {
        let writer = writer();
        insert(&writer, 7).await.expect("the first 7");
        let held = hold_the_thread(&writer).await;
        // One group: the second 7 must fail (the key exists) without taking
        // the others down with it.
        let calls: Vec<_> = (0..40)
            .map(|n| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    (n, insert(&writer, if n == 20 { 7 } else { 100 + n }).await)
                })
            })
            .collect();
        held.await.expect("held");
        for call in calls {
            let (n, done) = call.await.expect("a call");
            assert_eq!(done.is_err(), n == 20, "call {n}: {done:?}");
        }
        assert_eq!(count(&writer).await, 40, "the first 7 and the 39 others");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn when_sqlite_drops_a_groups_transaction_no_answer_lies() {
        let writer = writer();
        let held = hold_the_thread(&writer).await;
        let before = tokio::spawn({
            let writer = writer.clone();
            async move { insert(&writer, 1).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        // What SQLite does to a transaction under some failures (a full
        // disk): it rolls the whole transaction back.
        let failing = tokio::spawn({
            let writer = writer.clone();
            async move {
                writer
                    .call("failing", Access::Write, |connection| {
                        connection.execute_batch("ROLLBACK")?;
                        connection.execute("INSERT INTO t (n) VALUES ('not a number')", [])
                    })
                    .await
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let after = tokio::spawn({
            let writer = writer.clone();
            async move { insert(&writer, 2).await }
        });
        held.await.expect("held");
        let (before, failing, after) = (
            before.await.expect("a call"),
            failing.await.expect("a call"),
            after.await.expect("a call"),
        );
        assert!(
            before.is_err(),
            "rolled back with its transaction: {before:?}"
        );
        assert!(failing.is_err());
        assert!(after.is_ok(), "run in a transaction of its own: {after:?}");
        let rows: Vec<i64> = writer
            .call("reading", Access::Read, |connection| {
                let mut statement = connection.prepare("SELECT n FROM t ORDER BY n")?;
                let rows = statement.query_map([], |row| row.get(0))?;
                rows.collect()
            })
            .await
            .expect("read");
        assert_eq!(rows, vec![2], "only what was answered done is there");
    }

    #[tokio::test]
    async fn a_call_that_leaves_a_transaction_open_does_not_block_the_next() {
        let writer = writer();
        writer
            .call("beginning", Access::Read, |connection| {
                connection.execute_batch("BEGIN")
            })
            .await
            .expect("a read that begins a transaction");
        insert(&writer, 1).await.expect("the next write runs");
        assert_eq!(count(&writer).await, 1);
    }

    #[tokio::test]
    async fn a_panic_is_an_error_for_its_call_and_the_thread_carries_on() {
        let writer = writer();
        let panicked = writer
            .call(
                "panicking",
                Access::Write,
                |_connection| -> rusqlite::Result<()> { panic!("a bug in one call") },
            )
            .await;
        assert!(panicked.is_err());
        insert(&writer, 1).await.expect("the next call is served");
    }
}
