//! The embedded queue, with SQS's semantics: a received message is hidden for
//! its visibility timeout and comes back unless deleted; every receive counts;
//! a message already received `max_receive_count` times is moved to the
//! dead-letter area instead of being delivered again (SQS's redrive policy).
//!
//! Made as a FIFO queue (`QUEUE_TYPE=fifo`), it also keeps SQS FIFO's rules:
//! - no message of a group is delivered while another of the group is in
//!   flight ("no more messages for the same message group ID are returned
//!   unless you delete the message or it becomes visible");
//! - within a group, messages come in the order they were sent, and one made
//!   visible again (a retry) is still the group's first;
//! - one receive may return several messages of a group, in order, as SQS does;
//! - a send whose deduplication id was sent in the last five minutes is
//!   accepted and dropped (the deduplication interval);
//! - other groups proceed in parallel.

use messages::QueueTraffic;
use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::params;
use std::sync::Arc;
use tokio::sync::Notify;

use super::database::{Database, now_ms};
use super::wake::Wake;
use messages::{
    BackendError, DeadLetterQueue, MessageId, Outgoing, Queue, QueueDepth, QueueKind, Received,
};

use super::dead_letters::EmbeddedDeadLetters;

/// How often a long poll looks again for messages anyway. Sends wake it at
/// once: from this process through its `Notify`, from another one through a
/// socket (`wake.rs`). This look is what finds a message whose visibility
/// timeout ran out, and a send from a process whose socket could not be made.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// SQS FIFO's deduplication interval.
const DEDUPLICATION_WINDOW_MS: i64 = 5 * 60 * 1000;

/// The queue in the embedded database.
#[derive(Debug, Clone)]
pub struct EmbeddedQueue {
    database: Database,
    max_receive_count: u32,
    sent: Arc<Notify>,
    wake: Option<Arc<Wake>>,
    poll_interval: Duration,
}

impl EmbeddedQueue {
    /// The queue in `database`, dead-lettering after `max_receive_count` receives.
    pub fn new(database: Database, max_receive_count: u32) -> Self {
        Self::with_poll_interval(database, max_receive_count, POLL_INTERVAL)
    }

    /// As [`EmbeddedQueue::new`], with long polls that look again on their own
    /// every `poll_interval` (tests: a long one shows that sends wake them).
    pub fn with_poll_interval(
        database: Database,
        max_receive_count: u32,
        poll_interval: Duration,
    ) -> Self {
        let sent = Arc::new(Notify::new());
        let wake = database
            .path()
            .parent()
            .and_then(|data_dir| Wake::bind(data_dir, &sent));
        Self {
            database,
            max_receive_count,
            sent,
            wake,
            poll_interval,
        }
    }

    /// Wakes the long polls waiting on this queue, here at once and in other
    /// processes through their sockets. Called once a change is committed.
    fn wake_receivers(&self) {
        self.sent.notify_waiters();
        if let Some(wake) = &self.wake {
            wake.poke_others();
        }
    }

    /// One attempt to receive: hides and returns up to `max` visible messages.
    async fn receive_now(
        &self,
        max: u32,
        visibility: Duration,
    ) -> Result<Vec<Received>, BackendError> {
        let max_receive_count = self.max_receive_count;
        let fifo = self.is_fifo();
        // Saturates: a visibility beyond i64 milliseconds means "never", as it would.
        let visibility_ms = i64::try_from(visibility.as_millis()).unwrap_or(i64::MAX);
        self.database
            .write("receiving from the embedded queue", move |connection| {
                // A write runs under the write lock (the group transaction is
                // IMMEDIATE), so two pollers, even in two processes, cannot
                // pick the same message; its savepoint (`writer.rs`) makes it
                // all or nothing.
                let now = now_ms();
                // Redrive: what was received too often leaves for the dead-letter area.
                connection.execute(
                    "INSERT OR REPLACE INTO dead_letters (message_id, body, sent_at_ms, receive_count, moved_at_ms, attributes, message_group)
                     SELECT message_id, body, sent_at_ms, receive_count, ?1, attributes, message_group
                     FROM queue INDEXED BY queue_by_receive_count
                     WHERE receive_count >= ?2 AND visible_at_ms <= ?1",
                    params![now, max_receive_count],
                )?;
                connection.execute(
                    "DELETE FROM queue INDEXED BY queue_by_receive_count
                     WHERE receive_count >= ?2 AND visible_at_ms <= ?1",
                    params![now, max_receive_count],
                )?;
                type Row = (i64, String, String, i64, u32, Option<i64>, Option<String>, Option<String>);
                let picked: Vec<Row> = {
                    let mut statement = connection.prepare(if fifo {
                        // Every message of a group with none in flight is
                        // visible (nothing is sent with a delay), so taking
                        // them in the order sent takes each group in order.
                        "SELECT seq, message_id, body, sent_at_ms, receive_count, first_received_at_ms, attributes, message_group
                         FROM queue AS candidate WHERE visible_at_ms <= ?1
                         AND NOT EXISTS (SELECT 1 FROM queue AS busy INDEXED BY queue_by_group
                                         WHERE busy.message_group = candidate.message_group AND busy.visible_at_ms > ?1)
                         ORDER BY seq LIMIT ?2"
                    } else {
                        "SELECT seq, message_id, body, sent_at_ms, receive_count, first_received_at_ms, attributes, message_group
                         FROM queue WHERE visible_at_ms <= ?1 ORDER BY visible_at_ms, seq LIMIT ?2"
                    })?;
                    let rows = statement.query_map(params![now, max], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?, row.get(7)?))
                    })?;
                    rows.collect::<rusqlite::Result<_>>()?
                };
                let mut received = Vec::with_capacity(picked.len());
                for (seq, message_id, body, sent_at_ms, count, first, attributes, group) in picked {
                    // A new handle per receive: a stale one cannot delete or
                    // extend a message someone else has received since.
                    let receipt = format!("{seq}-{}", MessageId::new());
                    // Never received before: this receive is the first.
                    let first = first.unwrap_or(now);
                    connection.execute(
                        "UPDATE queue SET receive_count = receive_count + 1, visible_at_ms = ?1,
                         receipt = ?2, first_received_at_ms = ?3 WHERE seq = ?4",
                        params![now.saturating_add(visibility_ms), receipt, first, seq],
                    )?;
                    received.push(Received {
                        message_id,
                        receipt_handle: receipt,
                        body,
                        receive_count: count + 1,
                        first_received_at_ms: Some(first),
                        sent_at_ms: Some(sent_at_ms),
                        sender_id: None,
                        attributes: attributes_from_column(attributes.as_deref()),
                        group,
                    });
                }
                Ok(received)
            })
            .await
    }
}

#[async_trait]
impl QueueTraffic for EmbeddedQueue {
    async fn send_message(&self, message: &Outgoing) -> Result<(), BackendError> {
        let body = message.body.clone();
        let attributes = attributes_to_column(&message.attributes);
        let message_id = MessageId::new().to_string();
        // As SQS does: a group and a deduplication id on a FIFO queue only.
        let (group, deduplication_id) = if self.is_fifo() {
            let (group, deduplication_id) =
                message.fifo_group_and_deduplication_id(|| message_id.clone());
            (Some(group), Some(deduplication_id))
        } else {
            (None, None)
        };
        let sent = self
            .database
            .write("sending to the embedded queue", move |connection| {
                let now = now_ms();
                if let Some(deduplication_id) = &deduplication_id {
                    connection.execute(
                        "DELETE FROM deduplication WHERE sent_at_ms <= ?1",
                        params![now - DEDUPLICATION_WINDOW_MS],
                    )?;
                    let first = connection.execute(
                        "INSERT OR IGNORE INTO deduplication (id, sent_at_ms) VALUES (?1, ?2)",
                        params![deduplication_id, now],
                    )?;
                    if first == 0 {
                        // Seen within the interval: accepted, and dropped.
                        return Ok(false);
                    }
                }
                connection.execute(
                    "INSERT INTO queue (message_id, body, sent_at_ms, visible_at_ms, attributes, message_group) VALUES (?1, ?2, ?3, ?3, ?4, ?5)",
                    params![message_id, body, now, attributes, group],
                )?;
                Ok(true)
            })
            .await?;
        if sent {
            self.wake_receivers();
        }
        Ok(())
    }

    async fn receive(
        &self,
        max: u32,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Received>, BackendError> {
        let max = max.clamp(1, 10);
        let deadline = tokio::time::Instant::now() + wait.min(Duration::from_secs(20));
        loop {
            // Register interest before looking, so a send between the look and
            // the wait still wakes us.
            let notified = self.sent.notified();
            let received = self.receive_now(max, visibility).await?;
            let now = tokio::time::Instant::now();
            if !received.is_empty() || now >= deadline {
                return Ok(received);
            }
            let pause = self.poll_interval.min(deadline - now);
            let _woken = tokio::time::timeout(pause, notified).await;
        }
    }

    async fn delete(&self, receipt_handle: &str) -> Result<(), BackendError> {
        let receipt = receipt_handle.to_owned();
        self.database
            .write("deleting from the embedded queue", move |connection| {
                connection.execute("DELETE FROM queue WHERE receipt = ?1", params![receipt])
            })
            .await?;
        // On a FIFO queue a delete can free a group whose next message a
        // long poll is waiting for: as good as a send to it.
        if self.is_fifo() {
            self.wake_receivers();
        }
        Ok(())
    }

    async fn change_visibility(
        &self,
        receipt_handle: &str,
        timeout: Duration,
    ) -> Result<(), BackendError> {
        let receipt = receipt_handle.to_owned();
        // Saturates, as for a receive's visibility.
        let timeout_ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        self.database
            .write(
                "changing visibility in the embedded queue",
                move |connection| {
                    connection.execute(
                        "UPDATE queue SET visible_at_ms = ?1 WHERE receipt = ?2",
                        params![now_ms().saturating_add(timeout_ms), receipt],
                    )
                },
            )
            .await?;
        // Visible again at once: as good as a send to a waiting receive.
        if timeout.is_zero() {
            self.wake_receivers();
        }
        Ok(())
    }
}

#[async_trait]
impl Queue for EmbeddedQueue {
    /// `delayed` is always 0 here: nothing is sent with a delay, and a
    /// message made invisible again has been received, so it is in flight. A
    /// message due for redrive counts as waiting until the next receive moves
    /// it, as on SQS until the redrive happens.
    async fn depth(&self) -> Result<QueueDepth, BackendError> {
        self.database
            .read("counting the embedded queue", |connection| {
                connection.query_row(
                    "SELECT
                       COUNT(*) FILTER (WHERE visible_at_ms <= ?1),
                       COUNT(*) FILTER (WHERE visible_at_ms > ?1 AND receive_count > 0),
                       COUNT(*) FILTER (WHERE visible_at_ms > ?1 AND receive_count = 0)
                     FROM queue",
                    params![now_ms()],
                    |row| {
                        Ok(QueueDepth {
                            waiting: row.get(0)?,
                            in_flight: row.get(1)?,
                            delayed: row.get(2)?,
                        })
                    },
                )
            })
            .await
    }

    async fn dead_letter_queue(&self) -> Result<Option<Arc<dyn DeadLetterQueue>>, BackendError> {
        let queue = self.clone();
        Ok(Some(Arc::new(EmbeddedDeadLetters::new(
            self.database.clone(),
            Arc::new(move || queue.wake_receivers()),
        ))))
    }

    fn name(&self) -> String {
        match self.database.queue_kind() {
            QueueKind::Standard => "embedded".to_owned(),
            QueueKind::Fifo => "embedded.fifo".to_owned(),
        }
    }

    fn describe(&self) -> String {
        let kind = match self.database.queue_kind() {
            QueueKind::Standard => "",
            QueueKind::Fifo => "FIFO ",
        };
        format!("embedded {kind}queue in {}", self.database.path().display())
    }

    fn service(&self) -> &'static str {
        "Embedded queue"
    }
}

/// Message attributes as the `attributes` column keeps them: a JSON object,
/// or NULL for none.
fn attributes_to_column(attributes: &BTreeMap<String, String>) -> Option<String> {
    (!attributes.is_empty())
        .then(|| serde_json::to_string(attributes).expect("a map of strings always serialises"))
}

/// The inverse of [`attributes_to_column`]. Only this module writes the
/// column; a value it cannot read (a hand-edited file) reads as no attributes.
fn attributes_from_column(column: Option<&str>) -> BTreeMap<String, String> {
    column
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_send_through_another_connection_wakes_a_waiting_receive() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let open = || Database::open(dir.path()).expect("open");
        // Two connections to one file, as a web and a worker process have.
        // The receiving one would not look again on its own before its wait
        // ends, so only the wake-up can hand it the message in time.
        let sender = EmbeddedQueue::new(open(), 10);
        let receiver = EmbeddedQueue::with_poll_interval(open(), 10, Duration::from_secs(3600));
        let wait = Duration::from_secs(5);
        let waiting = tokio::spawn(async move {
            let received = receiver.receive(1, wait, Duration::from_secs(30)).await;
            (received, tokio::time::Instant::now())
        });
        // Long enough for the receive to have looked once and begun to wait.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let sent_at = tokio::time::Instant::now();
        sender.send("wake up").await.expect("send");
        let (received, returned_at) = waiting.await.expect("the receive");
        let received = received.expect("receive");
        // Unwoken, it would find the message only at its last look, when the
        // wait ends: returning long before that is the wake-up's doing.
        assert!(
            returned_at - sent_at < wait / 2,
            "the receive returned {:?} after the send: it was not woken",
            returned_at - sent_at
        );
        assert_eq!(
            received
                .iter()
                .map(|message| message.body.as_str())
                .collect::<Vec<_>>(),
            vec!["wake up"]
        );
    }
}
