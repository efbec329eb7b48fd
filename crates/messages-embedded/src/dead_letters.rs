//! The embedded queue's dead-letter area as a [`DeadLetterQueue`]: what the
//! queue moved out after `max_receive_count` receives, and the way back.

use async_trait::async_trait;
use rusqlite::params;

use std::sync::Arc;

use super::database::{Database, now_ms};
use messages::{BackendError, DeadLetter, DeadLetterQueue, MOVE_BATCH};

/// The dead-letter area of one embedded queue (`EmbeddedQueue::dead_letter_queue`).
#[derive(Clone)]
pub struct EmbeddedDeadLetters {
    database: Database,
    /// Wakes the queue's long polls when messages come back to it.
    wake_receivers: Arc<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for EmbeddedDeadLetters {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("EmbeddedDeadLetters")
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

impl EmbeddedDeadLetters {
    /// The dead-letter area in `database`; `wake_receivers` wakes the queue's
    /// long polls.
    pub(crate) fn new(database: Database, wake_receivers: Arc<dyn Fn() + Send + Sync>) -> Self {
        Self {
            database,
            wake_receivers,
        }
    }
}

#[async_trait]
impl DeadLetterQueue for EmbeddedDeadLetters {
    async fn depth(&self) -> Result<u64, BackendError> {
        self.database
            .read("counting the embedded dead-letter area", |connection| {
                connection.query_row("SELECT COUNT(*) FROM dead_letters", [], |row| row.get(0))
            })
            .await
    }

    /// The oldest first; looking does not count as a receive here.
    async fn peek(&self, max: u32) -> Result<Vec<DeadLetter>, BackendError> {
        self.database
            .read("reading the embedded dead-letter area", move |connection| {
                let mut statement = connection.prepare(
                    "SELECT message_id, body, receive_count FROM dead_letters ORDER BY moved_at_ms, message_id LIMIT ?1",
                )?;
                let rows = statement.query_map(params![max], |row| {
                    Ok(DeadLetter {
                        message_id: row.get(0)?,
                        body: row.get(1)?,
                        receive_count: row.get(2)?,
                    })
                })?;
                rows.collect()
            })
            .await
    }

    /// One transaction moves them: here nothing can be duplicated or lost.
    /// Each goes back as sent (attributes and group kept), with its receive
    /// count reset, as SQS's redrive does.
    async fn move_back(&self) -> Result<u32, BackendError> {
        let moved = self
            .database
            .write("moving dead letters back to the embedded queue", |connection| {
                let now = now_ms();
                let oldest: Vec<String> = {
                    let mut statement = connection.prepare(
                        "SELECT message_id FROM dead_letters ORDER BY moved_at_ms, message_id LIMIT ?1",
                    )?;
                    let rows = statement.query_map(params![MOVE_BATCH], |row| row.get(0))?;
                    rows.collect::<rusqlite::Result<_>>()?
                };
                for message_id in &oldest {
                    connection.execute(
                        "INSERT INTO queue (message_id, body, sent_at_ms, visible_at_ms, attributes, message_group)
                         SELECT message_id, body, sent_at_ms, ?1, attributes, message_group
                         FROM dead_letters WHERE message_id = ?2",
                        params![now, message_id],
                    )?;
                    connection.execute(
                        "DELETE FROM dead_letters WHERE message_id = ?1",
                        params![message_id],
                    )?;
                }
                let moved = oldest.len();
                Ok(u32::try_from(moved).unwrap_or(MOVE_BATCH))
            })
            .await?;
        if moved > 0 {
            (self.wake_receivers)();
        }
        Ok(moved)
    }

    fn describe(&self) -> String {
        "the embedded dead-letter area".to_owned()
    }
}
