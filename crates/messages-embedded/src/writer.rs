//! The thread that owns a process's connection to the SQLite file, and group
//! commit: the writes that arrive while one transaction commits are run
//! together in the next, each in a savepoint of its own, so many concurrent
//! sends cost one commit instead of one each. Every caller hears back only
//! after its transaction has committed, so an answer still means "durable".
//! Reads run on the same thread outside any transaction, so they never take
//! the write lock that the other process (web or worker) may be waiting for.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};

use rusqlite::Connection;

use messages::BackendError;

/// At most this many writes share one transaction.
const MAX_GROUP: usize = 64;

/// Hands the outcome to the caller once the transaction is decided: `Some`
/// with the reason when it did not commit.
type Reply = Box<dyn FnOnce(Option<&str>) + Send>;

/// One call: runs on the connection (or learns it cannot) and returns how to
/// answer its caller.
type Run = Box<dyn FnOnce(Result<&mut Connection, &str>) -> Reply + Send>;

/// What the thread is asked to do.
struct Job {
    writes: bool,
    run: Run,
}

/// The way to the connection's thread. Cheap to clone; the thread ends, and
/// the connection closes, when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Writer {
    jobs: Sender<Job>,
}

impl Writer {
    /// Starts the thread that owns `connection`.
    pub fn start(connection: Connection) -> std::io::Result<Self> {
        let (jobs, queue) = channel();
        std::thread::Builder::new()
            .name("embedded-database".to_owned())
            .spawn(move || serve(connection, &queue))?;
        Ok(Self { jobs })
    }

    /// Runs `work` on the connection: a write in the next group transaction,
    /// a read on its own. `operation` names it in errors.
    pub async fn call<T, F>(
        &self,
        operation: &'static str,
        writes: bool,
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
                Ok(connection) => run_once(connection, writes, work)
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
        self.jobs.send(Job { writes, run }).map_err(|_| {
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
fn run_once<T>(
    connection: &mut Connection,
    writes: bool,
    work: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
) -> Result<T, String> {
    if writes {
        connection
            .execute_batch("SAVEPOINT call")
            .map_err(|error| error.to_string())?;
    }
    let done = catch_unwind(AssertUnwindSafe(|| work(connection)))
        .map_err(|_| "it panicked".to_owned())
        .and_then(|done| done.map_err(|error| error.to_string()));
    if writes {
        let end = if done.is_ok() {
            "RELEASE call"
        } else {
            "ROLLBACK TO call; RELEASE call"
        };
        connection
            .execute_batch(end)
            .map_err(|error| error.to_string())?;
    }
    done
}

/// The thread: takes what is waiting, runs the reads, then the writes in one
/// transaction, and answers once it is decided.
fn serve(mut connection: Connection, queue: &Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let (writes, reads): (Vec<Job>, Vec<Job>) = jobs.into_iter().partition(|job| job.writes);
        for read in reads {
            (read.run)(Ok(&mut connection))(None);
        }
        if writes.is_empty() {
            continue;
        }
        // IMMEDIATE: the write lock first (waiting for the other process up
        // to the busy timeout), so no write in the group can meet a lock.
        match connection.execute_batch("BEGIN IMMEDIATE") {
            Err(error) => {
                let why = format!("cannot begin a transaction: {error}");
                for write in writes {
                    (write.run)(Err(&why))(None);
                }
            }
            Ok(()) => {
                let replies: Vec<Reply> = writes
                    .into_iter()
                    .map(|write| (write.run)(Ok(&mut connection)))
                    .collect();
                let committed = connection.execute_batch("COMMIT");
                if committed.is_err() {
                    let _ = connection.execute_batch("ROLLBACK");
                }
                let why = committed.err().map(|error| error.to_string());
                for reply in replies {
                    reply(why.as_deref());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> Writer {
        let connection = Connection::open_in_memory().expect("a database in memory");
        connection
            .execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .expect("a table");
        Writer::start(connection).expect("the thread")
    }

    async fn insert(writer: &Writer, n: i64) -> Result<usize, BackendError> {
        writer
            .call("inserting", true, move |connection| {
                connection.execute("INSERT INTO t (n) VALUES (?1)", [n])
            })
            .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_write_in_a_group_undoes_itself_alone() {
        let writer = writer();
        insert(&writer, 7).await.expect("the first 7");
        // Sent together, so they share transactions; the second 7 must fail
        // (the key exists) without taking the others down with it.
        let calls = (0..40).map(|n| {
            let writer = writer.clone();
            tokio::spawn(
                async move { (n, insert(&writer, if n == 20 { 7 } else { 100 + n }).await) },
            )
        });
        for call in calls {
            let (n, done) = call.await.expect("a call");
            assert_eq!(done.is_err(), n == 20, "call {n}: {done:?}");
        }
        let count: i64 = writer
            .call("counting", false, |connection| {
                connection.query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))
            })
            .await
            .expect("count");
        assert_eq!(count, 40, "the first 7 and the 39 others");
    }

    #[tokio::test]
    async fn a_panic_is_an_error_for_its_call_and_the_thread_carries_on() {
        let writer = writer();
        let panicked = writer
            .call("panicking", true, |_connection| -> rusqlite::Result<()> {
                panic!("a bug in one call")
            })
            .await;
        assert!(panicked.is_err());
        insert(&writer, 1).await.expect("the next call is served");
    }
}
