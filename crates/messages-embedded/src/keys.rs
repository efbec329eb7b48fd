//! Idempotency keys in the embedded store: one row per key in
//! `idempotency_keys`, the counterpart of the DynamoDB item
//! `idempotency-key#<key>`. Each call is one statement under the write lock,
//! so two processes racing with one key cannot both claim it.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::database::Database;
use messages::{
    BackendError, Claimed, IdempotencyKey, KEY_WINDOW, KeyClaim, KeyOutcome, MessageId,
};

/// Expired keys deleted by each claim, at most: a bounded clean-up as it goes.
const PURGE_PER_CLAIM: i64 = 16;

const IN_PROGRESS: &str = "in_progress";
const UNKNOWN: &str = "unknown";
const REFUSING: &str = "refusing";
const ANSWERED: &str = "answered";
/// What `answer_status` holds for an answered claim. It was the HTTP status
/// of the first answer; it is still written (202 sent, 503 refused) because
/// an older build on the same `DATA_DIR` reads it.
const SENT_STATUS: u16 = 202;
const REFUSED_STATUS: u16 = 503;

fn ids_text(ids: &[MessageId]) -> String {
    ids.iter()
        .map(MessageId::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn conversion(error: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(error))
}

/// Claims `key`, or reads the claim that holds it.
pub(crate) async fn claim(
    database: &Database,
    key: &IdempotencyKey,
    claim: &KeyClaim,
) -> Result<Claimed, BackendError> {
    let key = key.as_str().to_owned();
    let fingerprint = claim.fingerprint.clone();
    let ids = ids_text(&claim.ids);
    let at = claim.claimed_at.timestamp_millis();
    let expired_before = (claim.claimed_at - KEY_WINDOW).timestamp_millis();
    database
        .write(
            "claiming an idempotency key in the embedded store",
            move |connection| {
                connection.execute(
                    "DELETE FROM idempotency_keys WHERE key IN
                 (SELECT key FROM idempotency_keys WHERE claimed_at_ms < ?1 LIMIT ?2)",
                    params![expired_before, PURGE_PER_CLAIM],
                )?;
                let changed = connection.execute(
                    "INSERT INTO idempotency_keys
                     (key, fingerprint, ids, claimed_at_ms, outcome, answer_status, answer_error)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL, NULL)
                 ON CONFLICT (key) DO UPDATE SET
                     fingerprint = excluded.fingerprint, ids = excluded.ids,
                     claimed_at_ms = excluded.claimed_at_ms, outcome = excluded.outcome,
                     answer_status = NULL, answer_error = NULL
                 WHERE idempotency_keys.claimed_at_ms < ?6",
                    params![key, fingerprint, ids, at, IN_PROGRESS, expired_before],
                )?;
                if changed == 1 {
                    return Ok(Claimed::New);
                }
                let held = connection
                    .query_row(
                        "SELECT fingerprint, ids, claimed_at_ms, outcome, answer_error
                     FROM idempotency_keys WHERE key = ?1",
                        params![key],
                        |row| {
                            Ok((
                                row.get::<_, String>(0)?,
                                row.get::<_, String>(1)?,
                                row.get::<_, i64>(2)?,
                                row.get::<_, String>(3)?,
                                row.get::<_, Option<String>>(4)?,
                            ))
                        },
                    )
                    .optional()?;
                let Some((fingerprint, ids, claimed_at_ms, outcome, error)) = held else {
                    // Not inserted, yet absent: only a broken file does this.
                    return Err(rusqlite::Error::QueryReturnedNoRows);
                };
                let ids = ids
                    .split(',')
                    .filter(|id| !id.is_empty())
                    .map(MessageId::parse)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(conversion)?;
                let claimed_at = DateTime::<Utc>::from_timestamp_millis(claimed_at_ms)
                    .ok_or(rusqlite::Error::IntegralValueOutOfRange(2, claimed_at_ms))?;
                let outcome = match (outcome.as_str(), error) {
                    (ANSWERED, Some(why)) => KeyOutcome::Refused { why },
                    (ANSWERED, None) => KeyOutcome::Sent,
                    (UNKNOWN, _) => KeyOutcome::Unknown,
                    (REFUSING, _) => KeyOutcome::Refusing,
                    _ => KeyOutcome::InProgress,
                };
                Ok(Claimed::Taken(KeyClaim {
                    fingerprint,
                    ids,
                    claimed_at,
                    outcome,
                }))
            },
        )
        .await
}

/// Records what became of a claim, unless it has an answer already.
pub(crate) async fn settle(
    database: &Database,
    key: &IdempotencyKey,
    claimed_at: DateTime<Utc>,
    outcome: &KeyOutcome,
) -> Result<bool, BackendError> {
    let key = key.as_str().to_owned();
    let at = claimed_at.timestamp_millis();
    let (state, status, error) = match outcome {
        KeyOutcome::InProgress => (IN_PROGRESS, None, None),
        KeyOutcome::Unknown => (UNKNOWN, None, None),
        KeyOutcome::Refusing => (REFUSING, None, None),
        KeyOutcome::Sent => (ANSWERED, Some(SENT_STATUS), None),
        KeyOutcome::Refused { why } => (ANSWERED, Some(REFUSED_STATUS), Some(why.clone())),
    };
    database
        .write(
            "settling an idempotency key in the embedded store",
            move |connection| {
                let changed = connection.execute(
                "UPDATE idempotency_keys SET outcome = ?3, answer_status = ?4, answer_error = ?5
                 WHERE key = ?1 AND claimed_at_ms = ?2 AND outcome != ?6",
                params![key, at, state, status, error, ANSWERED],
            )?;
                Ok(changed == 1)
            },
        )
        .await
}

/// Answers a claim still in progress as sent.
pub(crate) async fn confirm(
    database: &Database,
    key: &IdempotencyKey,
    claimed_at: DateTime<Utc>,
) -> Result<bool, BackendError> {
    let key = key.as_str().to_owned();
    let at = claimed_at.timestamp_millis();
    database
        .write(
            "confirming an idempotency key in the embedded store",
            move |connection| {
                let changed = connection.execute(
                    "UPDATE idempotency_keys SET outcome = ?3, answer_status = ?4, answer_error = NULL
                     WHERE key = ?1 AND claimed_at_ms = ?2 AND outcome = ?5",
                    params![key, at, ANSWERED, SENT_STATUS, IN_PROGRESS],
                )?;
                Ok(changed == 1)
            },
        )
        .await
}

/// Forgets a claim that has no answer.
pub(crate) async fn release(
    database: &Database,
    key: &IdempotencyKey,
    claimed_at: DateTime<Utc>,
) -> Result<(), BackendError> {
    let key = key.as_str().to_owned();
    let at = claimed_at.timestamp_millis();
    database
        .write("releasing an idempotency key in the embedded store", move |connection| {
            connection.execute(
                "DELETE FROM idempotency_keys WHERE key = ?1 AND claimed_at_ms = ?2 AND outcome != ?3",
                params![key, at, ANSWERED],
            )?;
            Ok(())
        })
        .await
}
