//! The operator's sessions in the embedded file: one row per session in
//! `operator_sessions`, the counterpart of the DynamoDB item
//! `operator-session#<key>`. Each call is one statement under the write lock,
//! so a web and a worker process (or two webs) on one file agree on every
//! session; a use is a conditional `UPDATE` that checks both expiries and
//! the credential in the same statement that extends it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;

use super::database::Database;
use messages::{BackendError, NewSession, SessionKey, SessionStore};

/// Sessions past their idle expiry deleted by each sign-in, at most: a
/// bounded clean-up as it goes (DynamoDB's time to live does it there).
const PURGE_PER_START: i64 = 16;

/// The operator's sessions in the embedded database.
#[derive(Debug, Clone)]
pub struct EmbeddedSessions {
    database: Database,
}

impl EmbeddedSessions {
    /// The sessions in `database`.
    pub fn new(database: Database) -> Self {
        Self { database }
    }
}

#[async_trait]
impl SessionStore for EmbeddedSessions {
    async fn start(&self, session: &NewSession) -> Result<(), BackendError> {
        let key = session.key.as_str().to_owned();
        let credential = session.credential.clone();
        let started = session.started_at.timestamp_millis();
        let ends = session.ends_at.timestamp_millis();
        let idle = session.idle_until.timestamp_millis();
        self.database
            .write(
                "starting an operator session in the embedded store",
                move |connection| {
                    // A session is over once either expiry has passed.
                    connection.execute(
                        "DELETE FROM operator_sessions WHERE key IN
                         (SELECT key FROM operator_sessions
                          WHERE idle_until_ms < ?1 OR ends_at_ms < ?1 LIMIT ?2)",
                        params![started, PURGE_PER_START],
                    )?;
                    // A plain INSERT: a key that exists already (two equal
                    // 256-bit secrets) is an error, never a shared session.
                    connection.execute(
                        "INSERT INTO operator_sessions
                         (key, credential, started_at_ms, ends_at_ms, idle_until_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![key, credential, started, ends, idle],
                    )?;
                    Ok(())
                },
            )
            .await
    }

    async fn touch(
        &self,
        key: &SessionKey,
        credential: &str,
        now: DateTime<Utc>,
        idle_until: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        let key = key.as_str().to_owned();
        let credential = credential.to_owned();
        let now = now.timestamp_millis();
        let idle = idle_until.timestamp_millis();
        self.database
            .write(
                "using an operator session in the embedded store",
                move |connection| {
                    let changed = connection.execute(
                        "UPDATE operator_sessions SET idle_until_ms = ?4
                         WHERE key = ?1 AND credential = ?2
                           AND ends_at_ms > ?3 AND idle_until_ms > ?3",
                        params![key, credential, now, idle],
                    )?;
                    Ok(changed == 1)
                },
            )
            .await
    }

    async fn end(&self, key: &SessionKey) -> Result<(), BackendError> {
        let key = key.as_str().to_owned();
        self.database
            .write(
                "ending an operator session in the embedded store",
                move |connection| {
                    connection
                        .execute("DELETE FROM operator_sessions WHERE key = ?1", params![key])?;
                    Ok(())
                },
            )
            .await
    }
}
