//! The embedded status store, with the DynamoDB store's semantics: creates
//! never overwrite, transitions happen only from `pending` (a conditional
//! `UPDATE ... WHERE status = 'pending'`), lists read one page through an index.

mod idempotency;
mod lifecycle;
mod operator_actions;
mod reads;
mod run_claims;
mod sweeping;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::database::Database;
use super::keys;
use messages::{
    BackendError, Claimed, DashboardReads, Event, IdempotencyKey, IdempotencyKeys, KeyClaim,
    KeyOutcome, ListQuery, MAX_HISTORY, Message, MessageGroup, MessageId, MessageLifecycle,
    OperatorActions, Outcome, Page, Requeues, RunClaims, StaleQuery, Status, StatusStore,
    SweeperQueries, Transition,
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

const COLUMNS: &str = "id, body, simulate, status, attempts, created_at, updated_at, error, requeues, message_group, retries, history, trace_id";

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
        trace_id: row.get(12)?,
    })
}

/// Inserts a new message; an existing id is refused by the primary key.
fn insert(connection: &rusqlite::Connection, message: &Message) -> rusqlite::Result<()> {
    connection.execute(
        &format!(
            "INSERT INTO messages ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
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
            message.trace_id,
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

impl StatusStore for EmbeddedStore {
    fn describe(&self) -> String {
        format!("embedded store in {}", self.database.path().display())
    }

    fn service(&self) -> &'static str {
        "SQLite"
    }
}
