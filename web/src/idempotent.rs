//! Sends under an `Idempotency-Key`: a retry with the same key and the same
//! request answers what the first send did (the same ids, the same status)
//! and creates nothing; the same key with another request is refused.
//!
//! The first send claims the key in the status store with the ids it is about
//! to create (`messages::KeyClaim`), then sends, then records its answer. A
//! retry that finds:
//! - an answer: gives it again (a success from the records as they are now);
//! - a send still running: `409` with `Retry-After`;
//! - a send that ended without knowing, or stopped (a crash) longer ago than a
//!   request may run: settles it from the ids. All recorded: the send went
//!   through. None: nothing happened, so it sends them now, with those ids.
//!
//! The whole sequence runs in a task of its own, so a request cut short still
//! records its answer.

use std::time::Duration;

use axum::http::StatusCode;
use messages::{
    Backends, Claimed, IdempotencyKey, KeyClaim, KeyOutcome, Message, MessageBody, MessageGroup,
    MessageId, Simulate,
};
use service::http::HttpError;
use sha2::{Digest, Sha256};

use crate::error::store_unavailable;
use crate::limits::REQUEST_TIMEOUT;
use crate::send::{SendError, plan, send_planned};

/// A claim with no answer older than this belongs to a send that stopped:
/// no request runs longer than [`REQUEST_TIMEOUT`].
const STOPPED_AFTER: Duration = REQUEST_TIMEOUT.saturating_add(Duration::from_secs(5));

/// The sentence an answer ends with when sending again under its key is safe
/// and is how to learn the outcome.
const SAFE_RETRY: &str = "Sending it again with the same Idempotency-Key is safe";

/// Whether a form refused with `error` should keep its key: the same send,
/// still open (in progress, or its outcome unknown). After any other answer a
/// new submit is a new message, with a new key.
pub fn retry_keeps_key(error: &HttpError) -> bool {
    error.status() == StatusCode::CONFLICT || error.public().contains(SAFE_RETRY)
}

/// What a client asked to send.
#[derive(Debug, Clone)]
pub struct SendRequest {
    /// The bodies, one per message.
    pub bodies: Vec<MessageBody>,
    /// What each job does.
    pub simulate: Simulate,
    /// The group every message goes in, if any.
    pub group: Option<MessageGroup>,
}

impl SendRequest {
    /// What a retry must ask again, as a digest: the bodies, the job kind
    /// and the group.
    fn fingerprint(&self) -> String {
        let mut digest = Sha256::new();
        digest.update(self.simulate.as_str());
        // A group's absence and each group read apart: `|` is no job kind's.
        if let Some(group) = &self.group {
            digest.update("|group:");
            digest.update(group.as_str());
            digest.update("|");
        }
        for body in &self.bodies {
            let body = body.as_str();
            // Each body's length first, so no two lists of bodies read alike.
            digest.update(body.len().to_be_bytes());
            digest.update(body);
        }
        digest
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

/// Sends `request`, once per `key` when there is one.
pub async fn send_once(
    backends: &Backends,
    key: Option<IdempotencyKey>,
    request: SendRequest,
) -> Result<Vec<Message>, HttpError> {
    let Some(key) = key else {
        let planned = plan(request.bodies, request.simulate, request.group.as_ref());
        return send_planned(backends, planned)
            .await
            .map_err(HttpError::from);
    };
    let backends = backends.clone();
    tokio::spawn(async move { send_under_key(&backends, &key, request).await })
        .await
        .unwrap_or_else(|_| Err(HttpError::from(SendError::Interrupted)))
}

async fn send_under_key(
    backends: &Backends,
    key: &IdempotencyKey,
    request: SendRequest,
) -> Result<Vec<Message>, HttpError> {
    let fingerprint = request.fingerprint();
    let planned = plan(
        request.bodies.clone(),
        request.simulate,
        request.group.as_ref(),
    );
    let claim = KeyClaim {
        fingerprint: fingerprint.clone(),
        ids: planned.iter().map(|message| message.id).collect(),
        claimed_at: messages::now(),
        outcome: KeyOutcome::InProgress,
    };
    let claimed = backends
        .store
        .claim_key(key, &claim)
        .await
        .map_err(|source| store_unavailable("the Idempotency-Key cannot be checked", source))?;
    let held = match claimed {
        Claimed::New => return send_and_settle(backends, key, &claim, planned).await,
        Claimed::Taken(held) => held,
    };
    if held.fingerprint != fingerprint {
        return Err(HttpError::unprocessable(
            "this Idempotency-Key was first used for a different request: make a new key for each new message, and send the same request with the same key only to retry it",
        ));
    }
    match &held.outcome {
        KeyOutcome::Answered { status, error } => {
            answer_again(backends, &held, *status, error).await
        }
        KeyOutcome::InProgress if !stopped(&held) => Err(HttpError::conflict(
            "a request with this Idempotency-Key is still being answered: try again in a few seconds",
        )
        .retry_after(2)),
        KeyOutcome::InProgress | KeyOutcome::Unknown => {
            settle_from_records(backends, key, &held, request).await
        }
    }
}

/// Whether the send that holds `claim` can no longer be running.
fn stopped(claim: &KeyClaim) -> bool {
    let age = messages::now() - claim.claimed_at;
    age.to_std().is_ok_and(|age| age > STOPPED_AFTER)
}

/// Sends the planned messages and records the answer under the key.
async fn send_and_settle(
    backends: &Backends,
    key: &IdempotencyKey,
    claim: &KeyClaim,
    planned: Vec<Message>,
) -> Result<Vec<Message>, HttpError> {
    let result = send_planned(backends, planned).await;
    let outcome = match &result {
        Ok(_) => Some(KeyOutcome::Answered {
            status: StatusCode::ACCEPTED.as_u16(),
            error: None,
        }),
        // Nothing was recorded: a retry may send it anew.
        Err(SendError::NotRecorded(_)) => None,
        Err(error @ (SendError::NotQueued { .. } | SendError::PartlyQueued { .. })) => {
            Some(KeyOutcome::Answered {
                status: StatusCode::SERVICE_UNAVAILABLE.as_u16(),
                error: Some(error.to_string()),
            })
        }
        Err(SendError::OutcomeUnknown { .. } | SendError::Interrupted) => Some(KeyOutcome::Unknown),
    };
    let recorded = match &outcome {
        Some(outcome) => backends
            .store
            .settle_key(key, claim.claimed_at, outcome)
            .await
            .map(|_| ()),
        None => backends.store.release_key(key, claim.claimed_at).await,
    };
    // A claim left without its answer is settled by a retry, from the ids.
    if let Err(error) = recorded {
        tracing::warn!(%key, error = %error.chain(), "the answer to an idempotent send could not be recorded");
    }
    result.map_err(|error| match error {
        // An open outcome: the same key settles it. The sentence says so; the
        // cause stays with the answer for the log.
        SendError::OutcomeUnknown { .. } | SendError::Interrupted => {
            let sentence = format!(
                "{}. {SAFE_RETRY}: it answers what became of it and creates nothing twice",
                error.to_string().trim_end_matches('.')
            );
            HttpError::service_unavailable(sentence, error)
        }
        error => HttpError::from(error),
    })
}

/// The answer recorded under the key, given again.
async fn answer_again(
    backends: &Backends,
    held: &KeyClaim,
    status: u16,
    error: &Option<String>,
) -> Result<Vec<Message>, HttpError> {
    if let Some(error) = error {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return Err(HttpError::with_status(status, error.clone()));
    }
    let found = records(backends, &held.ids).await?;
    if found.len() == held.ids.len() {
        Ok(found)
    } else {
        Err(HttpError::internal(
            "this Idempotency-Key's messages are no longer all recorded: send a new request with a new key",
        ))
    }
}

/// Settles a send that ended without knowing, or stopped, from its records.
async fn settle_from_records(
    backends: &Backends,
    key: &IdempotencyKey,
    held: &KeyClaim,
    request: SendRequest,
) -> Result<Vec<Message>, HttpError> {
    let found = records(backends, &held.ids).await?;
    if found.len() == held.ids.len() {
        // Every record is there: the send went through (a record whose job
        // was lost is enqueued again by the sweeper).
        let answered = KeyOutcome::Answered {
            status: StatusCode::ACCEPTED.as_u16(),
            error: None,
        };
        if let Err(error) = backends
            .store
            .settle_key(key, held.claimed_at, &answered)
            .await
        {
            tracing::warn!(%key, error = %error.chain(), "the answer to an idempotent send could not be recorded");
        }
        return Ok(found);
    }
    if found.is_empty() {
        // Nothing was recorded: send now, with the ids the claim holds.
        let planned: Vec<Message> = held
            .ids
            .iter()
            .zip(request.bodies)
            .map(|(id, body)| {
                Message::with_id(*id, body, request.simulate).in_group(request.group.clone())
            })
            .collect();
        return send_and_settle(backends, key, held, planned).await;
    }
    Err(HttpError::from(SendError::OutcomeUnknown {
        ids: held.ids.clone(),
        why: "only some of its records are there",
        source: messages::BackendError::new(
            "settling an idempotent send",
            format!("{} of {} records are there", found.len(), held.ids.len()),
        ),
    }))
}

/// The records of `ids` that exist, in that order.
async fn records(backends: &Backends, ids: &[MessageId]) -> Result<Vec<Message>, HttpError> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(messages::MAX_PAGE as usize) {
        found.extend(backends.store.get_many(chunk).await.map_err(|source| {
            store_unavailable("the Idempotency-Key's messages cannot be read", source)
        })?);
    }
    found.sort_by_key(|message| ids.iter().position(|id| *id == message.id));
    Ok(found)
}
