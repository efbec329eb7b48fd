//! The embedded status store, with the DynamoDB store's semantics: creates
//! never overwrite, transitions happen only from `pending` (a conditional
//! `UPDATE ... WHERE status = 'pending'`), lists read one page through an index.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::database::Database;
use super::keys;
use messages::{
    BackendError, Claimed, Event, IdempotencyKey, KeyClaim, KeyOutcome, ListQuery, MAX_HISTORY,
    Message, MessageGroup, MessageId, Outcome, Page, Requeues, StaleQuery, Status, StatusStore,
    Transition,
};

/// The status store in the embedded database.
#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    database: Database,
}

impl EmbeddedStore {
    /// The store in `database`.
    pub fn new(database: Database) -> Self {
        Self { database }
    }
}

const COLUMNS: &str = "id, body, simulate, status, attempts, created_at, updated_at, error, requeues, message_group, retries, history";

/// `history` with the event in parameter `?{param}` (JSON) added at the end,
/// keeping the last [`MAX_HISTORY`] events; unchanged when it is NULL.
fn history_with(param: usize) -> String {
    format!(
        "history = CASE WHEN ?{param} IS NULL THEN history
           WHEN json_array_length(COALESCE(history, '[]')) >= {MAX_HISTORY}
           THEN json_insert(json_remove(history, '$[0]'), '$[#]', json(?{param}))
           ELSE json_insert(COALESCE(history, '[]'), '$[#]', json(?{param})) END"
    )
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A column that does not hold what this code wrote is reported, not guessed at.
fn invalid(
    column: usize,
    error: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(error))
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Message> {
    let timestamp = |column: usize| -> rusqlite::Result<DateTime<Utc>> {
        let text: String = row.get(column)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|error| invalid(column, error))
    };
    Ok(Message {
        id: MessageId::parse(&row.get::<_, String>(0)?).map_err(|error| invalid(0, error))?,
        body: row.get(1)?,
        simulate: row
            .get::<_, String>(2)?
            .parse()
            .map_err(|error| invalid(2, error))?,
        status: row
            .get::<_, String>(3)?
            .parse()
            .map_err(|error| invalid(3, error))?,
        attempts: row.get(4)?,
        created_at: timestamp(5)?,
        updated_at: timestamp(6)?,
        error: row.get(7)?,
        requeues: row.get(8)?,
        group: row
            .get::<_, Option<String>>(9)?
            .map(|group| MessageGroup::parse(&group).map_err(|error| invalid(9, error)))
            .transpose()?,
        retries: row.get(10)?,
        history: match row.get::<_, Option<String>>(11)? {
            None => Vec::new(),
            Some(json) => serde_json::from_str(&json).map_err(|error| invalid(11, error))?,
        },
    })
}

/// Inserts a new message; an existing id is refused by the primary key.
fn insert(connection: &rusqlite::Connection, message: &Message) -> rusqlite::Result<()> {
    connection.execute(
        &format!(
            "INSERT INTO messages ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        ),
        params![
            message.id.to_string(),
            message.body,
            message.simulate.as_str(),
            message.status.as_str(),
            message.attempts,
            time(message.created_at),
            time(message.updated_at),
            message.error,
            message.requeues,
            message.group.as_ref().map(MessageGroup::as_str),
            message.retries,
            (!message.history.is_empty()).then(|| {
                serde_json::to_string(&message.history)
                    .expect("a list of events always serialises")
            }),
        ],
    )?;
    Ok(())
}

fn read(connection: &rusqlite::Connection, id: &str) -> rusqlite::Result<Option<Message>> {
    connection
        .query_row(
            &format!("SELECT {COLUMNS} FROM messages WHERE id = ?1"),
            params![id],
            from_row,
        )
        .optional()
}

/// The result of a conditional update that changed `changed` rows: the
/// record as written, or, when the condition kept it unchanged, why.
fn after_update(
    connection: &rusqlite::Connection,
    id: &str,
    changed: usize,
) -> rusqlite::Result<Transition> {
    let current = read(connection, id)?;
    Ok(if changed == 1 {
        current.map_or(Transition::NotFound, Transition::Applied)
    } else {
        Transition::from_current(current)
    })
}

#[async_trait]
impl StatusStore for EmbeddedStore {
    async fn create(&self, message: &Message) -> Result<(), BackendError> {
        let message = message.clone();
        self.database
            .write(
                "recording a message in the embedded store",
                move |connection| insert(connection, &message),
            )
            .await
    }

    async fn get(&self, id: MessageId) -> Result<Option<Message>, BackendError> {
        self.database
            .read(
                "reading a message from the embedded store",
                move |connection| read(connection, &id.to_string()),
            )
            .await
    }

    async fn finish(&self, id: MessageId, outcome: &Outcome) -> Result<Transition, BackendError> {
        let outcome = outcome.clone();
        self.database
            .write(
                "finishing a message in the embedded store",
                move |connection| {
                    let id = id.to_string();
                    let event = outcome.event.as_ref().map(Event::to_json);
                    let changed = connection.execute(
                    &format!("UPDATE messages SET status = ?1, attempts = ?2, updated_at = ?3, error = ?4, {}
                     WHERE id = ?5 AND status = 'pending'", history_with(6)),
                    params![
                        Status::from(outcome.status).as_str(),
                        outcome.attempts,
                        time(outcome.at),
                        outcome.error,
                        id,
                        event,
                    ],
                )?;
                    after_update(connection, &id, changed)
                },
            )
            .await
    }

    async fn retry(
        &self,
        id: MessageId,
        at: DateTime<Utc>,
    ) -> Result<Option<Message>, BackendError> {
        self.database
            .write("retrying a message in the embedded store", move |connection| {
                let id = id.to_string();
                let changed = connection.execute(
                    &format!("UPDATE messages SET status = 'pending', retries = retries + 1, error = NULL, updated_at = ?1, {}
                     WHERE id = ?2 AND status = 'fail'", history_with(3)),
                    params![time(at), id, Event::Retried { at }.to_json()],
                )?;
                if changed == 1 { read(connection, &id) } else { Ok(None) }
            })
            .await
    }

    async fn delete_failed(&self, id: MessageId) -> Result<bool, BackendError> {
        self.database
            .write(
                "deleting a message from the embedded store",
                move |connection| {
                    let changed = connection.execute(
                        "DELETE FROM messages WHERE id = ?1 AND status = 'fail'",
                        params![id.to_string()],
                    )?;
                    Ok(changed == 1)
                },
            )
            .await
    }

    async fn record_attempt(
        &self,
        id: MessageId,
        attempts: u32,
        error: &str,
        at: DateTime<Utc>,
        event: &Event,
    ) -> Result<Transition, BackendError> {
        let error = error.to_owned();
        let event = event.to_json();
        self.database
            .write(
                "recording an attempt in the embedded store",
                move |connection| {
                    let id = id.to_string();
                    let changed = connection.execute(
                        &format!(
                            "UPDATE messages SET attempts = ?1, updated_at = ?2, error = ?3, {}
                     WHERE id = ?4 AND status = 'pending' AND attempts < ?1",
                            history_with(5)
                        ),
                        params![attempts, time(at), error, id, event],
                    )?;
                    after_update(connection, &id, changed)
                },
            )
            .await
    }

    async fn note_started(&self, id: MessageId, event: &Event) -> Result<bool, BackendError> {
        let event = event.to_json();
        self.database
            .write(
                "noting a running job in the embedded store",
                move |connection| {
                    let changed = connection.execute(
                        &format!(
                            "UPDATE messages SET {} WHERE id = ?1 AND status = 'pending'",
                            history_with(2)
                        ),
                        params![id.to_string(), event],
                    )?;
                    Ok(changed == 1)
                },
            )
            .await
    }

    async fn list(&self, query: ListQuery) -> Result<Page, BackendError> {
        let limit = query.limit.clamp(1, messages::MAX_PAGE);
        self.database
            .read(
                "listing messages in the embedded store",
                move |connection| {
                    // Each shape walks an index (the primary key, status + id,
                    // or group + id) from the cursor downwards and stops after
                    // one page; with both a status and a group, the group's.
                    let status = query.status.map(Status::as_str);
                    let cursor = query.cursor.map(|id| id.to_string());
                    let group = query.group.as_ref().map(|group| group.as_str().to_owned());
                    // A filter left out still names its parameter (as NULL),
                    // so every statement takes the same four; one given is an
                    // equality the planner can walk an index by.
                    let by_status = if status.is_some() {
                        "status = ?1"
                    } else {
                        "?1 IS NULL"
                    };
                    let by_group = if group.is_some() {
                        "message_group = ?4"
                    } else {
                        "?4 IS NULL"
                    };
                    let sql = format!(
                        "SELECT {COLUMNS} FROM messages
                         WHERE {by_status} AND {by_group} AND (?2 IS NULL OR id < ?2)
                         ORDER BY id DESC LIMIT ?3"
                    );
                    let mut statement = connection.prepare(&sql)?;
                    let rows = statement
                        .query_map(params![status, cursor, limit + 1, group], from_row)?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    Ok(Page::from_rows(rows, limit))
                },
            )
            .await
    }

    async fn create_batch(&self, messages: &[Message]) -> Result<(), BackendError> {
        let messages = messages.to_vec();
        self.database
            .write(
                "recording messages in the embedded store",
                move |connection| {
                    // All or nothing: the writer runs it in a savepoint of its own.
                    for message in &messages {
                        insert(connection, message)?;
                    }
                    Ok(())
                },
            )
            .await
    }

    async fn get_many(&self, ids: &[MessageId]) -> Result<Vec<Message>, BackendError> {
        let ids: Vec<String> = ids
            .iter()
            .take(messages::MAX_PAGE as usize)
            .map(MessageId::to_string)
            .collect();
        self.database
            .read(
                "reading messages from the embedded store",
                move |connection| {
                    let mut found = Vec::with_capacity(ids.len());
                    for id in &ids {
                        found.extend(read(connection, id)?);
                    }
                    Ok(found)
                },
            )
            .await
    }

    async fn newer_than(&self, after: MessageId, limit: u32) -> Result<Vec<Message>, BackendError> {
        self.database
            .read(
                "listing new messages in the embedded store",
                move |connection| {
                    let mut statement = connection.prepare(&format!(
                        "SELECT {COLUMNS} FROM messages WHERE id > ?1 ORDER BY id LIMIT ?2"
                    ))?;
                    let rows = statement.query_map(
                        params![after.to_string(), limit.clamp(1, messages::MAX_PAGE)],
                        from_row,
                    )?;
                    rows.collect()
                },
            )
            .await
    }

    /// One row of `status_counts`, which triggers keep (`database.rs`).
    async fn count(&self, status: Status) -> Result<u64, BackendError> {
        self.database
            .read(
                "counting messages in the embedded store",
                move |connection| {
                    connection
                        .query_row(
                            "SELECT count FROM status_counts WHERE status = ?1",
                            params![status.as_str()],
                            |row| row.get::<_, i64>(0),
                        )
                        .optional()
                },
            )
            .await
            // No row: no message has ever had the status.
            .map(|count| u64::try_from(count.unwrap_or(0)).unwrap_or(0))
    }

    /// The first entry of `messages_by_status` for `pending`.
    async fn oldest_pending(&self) -> Result<Option<MessageId>, BackendError> {
        let id = self
            .database
            .read("finding the oldest pending message", |connection| {
                connection
                    .query_row(
                        "SELECT id FROM messages WHERE status = 'pending' ORDER BY id LIMIT 1",
                        [],
                        |row| row.get::<_, String>(0),
                    )
                    .optional()
            })
            .await?;
        id.map(|id| {
            MessageId::parse(&id).map_err(|error| {
                BackendError::new("reading the oldest pending message's id", error)
            })
        })
        .transpose()
    }

    async fn stale_pending(&self, query: StaleQuery) -> Result<Vec<Message>, BackendError> {
        let (comparison, bound) = match query.requeues {
            Requeues::Fewer(bound) => ("<", bound),
            Requeues::AtLeast(bound) => (">=", bound),
        };
        let created_before = MessageId::floor(query.idle_since).to_string();
        let idle_since = time(query.idle_since);
        let limit = query.limit.clamp(1, 1000);
        self.database
            .read(
                "listing stale pending messages in the embedded store",
                move |connection| {
                    // Times are written in one fixed RFC 3339 form (`time`), so
                    // they compare as text.
                    let mut statement = connection.prepare(&format!(
                        "SELECT {COLUMNS} FROM messages WHERE status = 'pending' AND id < ?1
                         AND updated_at < ?2 AND requeues {comparison} ?3
                         ORDER BY id LIMIT ?4"
                    ))?;
                    let rows = statement
                        .query_map(params![created_before, idle_since, bound, limit], from_row)?;
                    rows.collect()
                },
            )
            .await
    }

    async fn claim_requeue(
        &self,
        id: MessageId,
        seen: DateTime<Utc>,
        at: DateTime<Utc>,
        note: &str,
    ) -> Result<bool, BackendError> {
        let note = note.to_owned();
        self.database
            .write(
                "claiming a stuck message in the embedded store",
                move |connection| {
                    let changed = connection.execute(
                        &format!("UPDATE messages SET updated_at = ?1, error = ?2, requeues = requeues + 1, {}
                     WHERE id = ?3 AND status = 'pending' AND updated_at = ?4", history_with(5)),
                        params![time(at), note, id.to_string(), time(seen), Event::Requeued { at }.to_json()],
                    )?;
                    Ok(changed == 1)
                },
            )
            .await
    }

    async fn claim_scheduled_run(
        &self,
        task: &str,
        scheduled_at: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        let task = task.to_owned();
        let at = scheduled_at.timestamp_millis();
        self.database
            .write(
                "claiming a periodic task's run in the embedded store",
                move |connection| {
                    // One statement, so two processes cannot both win: SQLite
                    // runs it under its write lock.
                    let changed = connection.execute(
                        "INSERT INTO scheduled_runs (task, scheduled_at_ms) VALUES (?1, ?2)
                         ON CONFLICT (task) DO UPDATE SET scheduled_at_ms = excluded.scheduled_at_ms
                         WHERE excluded.scheduled_at_ms > scheduled_runs.scheduled_at_ms",
                        params![task, at],
                    )?;
                    Ok(changed == 1)
                },
            )
            .await
    }

    async fn claim_key(
        &self,
        key: &IdempotencyKey,
        claim: &KeyClaim,
    ) -> Result<Claimed, BackendError> {
        keys::claim(&self.database, key, claim).await
    }

    async fn settle_key(
        &self,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
        outcome: &KeyOutcome,
    ) -> Result<bool, BackendError> {
        keys::settle(&self.database, key, claimed_at, outcome).await
    }

    async fn release_key(
        &self,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
    ) -> Result<(), BackendError> {
        keys::release(&self.database, key, claimed_at).await
    }

    fn describe(&self) -> String {
        format!("embedded store in {}", self.database.path().display())
    }

    fn service(&self) -> &'static str {
        "SQLite"
    }
}
