//! Sends under an `Idempotency-Key`: a retry with the same key and the same
//! request answers what the first send did (the same ids, the same status)
//! and creates nothing; the same key with another request is refused.
//!
//! The first send claims the key in the status store with the ids it is about
//! to create (`messages::KeyClaim`), then sends. A send that goes through
//! records nothing more, so a key costs one write: its claim stays in
//! progress. Any other ending is recorded on the claim (refused, unknown), or
//! the claim is released (nothing was recorded). A retry that finds:
//! - an answer: gives it again (a success from the records as they are now);
//! - a claim in progress with every record there: the send went through, or
//!   is enqueueing. The retry answers it as gone through, once it has recorded
//!   so on the claim (`confirm_key`); a send whose queue then refuses a job
//!   finds the claim answered and leaves its records `pending` for the
//!   sweeper, so both answers agree (`send::UnderKey`);
//! - a send still running (records missing, or it is refusing): `409` with
//!   `Retry-After`;
//! - a send that ended without knowing, or stopped (a crash) longer ago than a
//!   request may run: settles it from the ids. All recorded: the send went
//!   through. None: nothing happened, so it sends them now, with those ids.
//!
//! The whole sequence runs in a task of its own, so a request cut short still
//! records its answer.

use std::time::Duration;

use chrono::{DateTime, Utc};
use messages::{
    BackendError, Backends, Claimed, IdempotencyKey, KeyClaim, KeyOutcome, Message, MessageId,
};

use super::plan::{Keyed, SendPlan};
use super::send::{SendError, UnderKey, send_planned, uncancellable};
use super::sent::Sent;
use crate::edge::limits::REQUEST_TIMEOUT;

/// A claim with no answer older than this belongs to a send that stopped:
/// no request runs longer than [`REQUEST_TIMEOUT`].
const STOPPED_AFTER: Duration = REQUEST_TIMEOUT.saturating_add(Duration::from_secs(5));

/// Why a send did not answer with its messages, in the product's terms;
/// `error.rs` gives each its HTTP answer and its code.
#[derive(Debug, thiserror::Error)]
pub enum SendOnceError {
    /// A send without a key stopped short.
    #[error(transparent)]
    Send(#[from] SendError),
    /// A send under a key whose outcome is open (a write's answer lost, or
    /// the task stopped): sending again with the same key settles it.
    #[error(
        "{}. Sending it again with the same Idempotency-Key is safe: it answers what became of it and creates nothing twice",
        .0.to_string().trim_end_matches('.')
    )]
    Open(#[source] SendError),
    /// The key was first used for another request.
    #[error(
        "this Idempotency-Key was first used for a different request: make a new key for each new message, and send the same request with the same key only to retry it"
    )]
    KeyReused,
    /// The send that holds the key is still running.
    #[error(
        "a request with this Idempotency-Key is still being answered: try again in a few seconds"
    )]
    InProgress,
    /// The first send under the key was refused, with this sentence.
    #[error("{0}")]
    RefusedBefore(String),
    /// The key's messages went through once, but some records are gone now
    /// (an operator deleted them).
    #[error(
        "this Idempotency-Key's messages are no longer all recorded: send a new request with a new key"
    )]
    RecordsGone,
    /// The status store did not answer.
    #[error("{what}: the status store is unavailable. Try again in a moment")]
    StoreUnavailable {
        /// What could not be done.
        what: &'static str,
        /// Why.
        #[source]
        source: BackendError,
    },
}

impl SendOnceError {
    /// Whether a form refused with this should keep its key: the same send,
    /// still open (in progress, or its outcome unknown). After any other
    /// answer a new submit is a new message, with a new key.
    pub fn keeps_key(&self) -> bool {
        matches!(self, Self::InProgress | Self::Open(_))
    }
}

fn store_unavailable(what: &'static str) -> impl FnOnce(BackendError) -> SendOnceError {
    move |source| SendOnceError::StoreUnavailable { what, source }
}

/// Sends `plan`, once per its key when it has one, in one task of its own
/// that finishes even if the request is cut short (`send.rs`).
pub async fn send_once(backends: &Backends, plan: SendPlan) -> Result<Sent, SendOnceError> {
    let sent = send_in_own_task(backends, plan).await?;
    // A plan is never empty, and neither is what a key's claim holds; were
    // the records read back none, they are gone.
    Sent::new(sent).ok_or(SendOnceError::RecordsGone)
}

async fn send_in_own_task(
    backends: &Backends,
    plan: SendPlan,
) -> Result<Vec<Message>, SendOnceError> {
    let backends = backends.clone();
    match plan.key {
        None => {
            let sent = uncancellable(
                async move { send_planned(&backends, plan.messages, None).await },
                SendError::Interrupted,
            );
            Ok(sent.await?)
        }
        Some(keyed) => {
            let messages = plan.messages;
            let sent = uncancellable(
                async move { send_under_key(&backends, keyed, messages).await },
                SendOnceError::Open(SendError::Interrupted),
            );
            sent.await
        }
    }
}

async fn send_under_key(
    backends: &Backends,
    keyed: Keyed,
    planned: Vec<Message>,
) -> Result<Vec<Message>, SendOnceError> {
    let Keyed { key, fingerprint } = keyed;
    let claim = KeyClaim {
        fingerprint,
        ids: planned.iter().map(|message| message.id).collect(),
        claimed_at: messages::now(),
        outcome: KeyOutcome::InProgress,
    };
    let claimed = backends
        .store
        .claim_key(&key, &claim)
        .await
        .map_err(store_unavailable("the Idempotency-Key cannot be checked"))?;
    let held = match claimed {
        Claimed::New => return send_and_settle(backends, &key, claim.claimed_at, planned).await,
        Claimed::Taken(held) => held,
    };
    if held.fingerprint != claim.fingerprint {
        return Err(SendOnceError::KeyReused);
    }
    match &held.outcome {
        KeyOutcome::Sent => answer_again(backends, &held).await,
        KeyOutcome::Refused { why } => Err(SendOnceError::RefusedBefore(why.clone())),
        KeyOutcome::InProgress if !stopped(&held) => {
            confirm_from_records(backends, &key, &held).await
        }
        KeyOutcome::Refusing if !stopped(&held) => Err(SendOnceError::InProgress),
        KeyOutcome::InProgress | KeyOutcome::Refusing | KeyOutcome::Unknown => {
            settle_from_records(backends, &key, &held, planned).await
        }
    }
}

/// Whether the send that holds `claim` can no longer be running.
fn stopped(claim: &KeyClaim) -> bool {
    let age = messages::now() - claim.claimed_at;
    age.to_std().is_ok_and(|age| age > STOPPED_AFTER)
}

/// Sends the planned messages under the claim of `key` made at
/// `claimed_at`. A send that goes through records nothing more (a retry
/// confirms it from the records); any other ending is recorded on the claim.
async fn send_and_settle(
    backends: &Backends,
    key: &IdempotencyKey,
    claimed_at: DateTime<Utc>,
    planned: Vec<Message>,
) -> Result<Vec<Message>, SendOnceError> {
    let under = UnderKey { key, claimed_at };
    let error = match send_planned(backends, planned, Some(under)).await {
        Ok(sent) => return Ok(sent),
        Err(error) => error,
    };
    let outcome = match &error {
        // Nothing was recorded: a retry may send it anew.
        SendError::NotRecorded(_) => None,
        SendError::NotQueued { .. } | SendError::PartlyQueued { .. } => Some(KeyOutcome::Refused {
            why: error.to_string(),
        }),
        SendError::OutcomeUnknown { .. } | SendError::Interrupted => Some(KeyOutcome::Unknown),
    };
    record_answer(backends, key, claimed_at, outcome.as_ref()).await;
    Err(match error {
        // An open outcome: the same key settles it.
        SendError::OutcomeUnknown { .. } | SendError::Interrupted => SendOnceError::Open(error),
        error => SendOnceError::Send(error),
    })
}

/// Records what became of the claim of `key` made at `claimed_at`, or, with
/// no outcome (nothing was recorded), forgets it so a retry sends anew. A
/// failure is only logged: a claim left without its answer is settled by a
/// retry, from the ids.
async fn record_answer(
    backends: &Backends,
    key: &IdempotencyKey,
    claimed_at: DateTime<Utc>,
    outcome: Option<&KeyOutcome>,
) {
    let recorded = match outcome {
        Some(outcome) => backends
            .store
            .settle_key(key, claimed_at, outcome)
            .await
            .map(|_| ()),
        None => backends.store.release_key(key, claimed_at).await,
    };
    if let Err(error) = recorded {
        tracing::warn!(%key, error = %error.chain(), "the answer to an idempotent send could not be recorded");
    }
}

/// A send that went through, answered again from its records as they are now.
async fn answer_again(backends: &Backends, held: &KeyClaim) -> Result<Vec<Message>, SendOnceError> {
    let found = records(backends, &held.ids).await?;
    if found.len() == held.ids.len() {
        Ok(found)
    } else {
        Err(SendOnceError::RecordsGone)
    }
}

/// A retry of a send still in progress: answered as gone through if every
/// record is there and the claim is still in progress when the retry records
/// so; otherwise the send is still running, or has just said (the next retry
/// reads what).
async fn confirm_from_records(
    backends: &Backends,
    key: &IdempotencyKey,
    held: &KeyClaim,
) -> Result<Vec<Message>, SendOnceError> {
    let found = records(backends, &held.ids).await?;
    if found.len() < held.ids.len() {
        return Err(SendOnceError::InProgress);
    }
    let confirmed = backends
        .store
        .confirm_key(key, held.claimed_at)
        .await
        .map_err(store_unavailable("the Idempotency-Key cannot be checked"))?;
    if confirmed {
        Ok(found)
    } else {
        Err(SendOnceError::InProgress)
    }
}

/// Settles a send that ended without knowing, or stopped, from its records.
async fn settle_from_records(
    backends: &Backends,
    key: &IdempotencyKey,
    held: &KeyClaim,
    planned: Vec<Message>,
) -> Result<Vec<Message>, SendOnceError> {
    let found = records(backends, &held.ids).await?;
    if found.len() == held.ids.len() {
        // Every record is there: the send went through (a record whose job
        // was lost is enqueued again by the sweeper).
        record_answer(backends, key, held.claimed_at, Some(&KeyOutcome::Sent)).await;
        return Ok(found);
    }
    if found.is_empty() {
        // Nothing was recorded: send now, with the ids the claim holds (the
        // same request, so the same bodies, kind and group, as the
        // fingerprint proved).
        let planned: Vec<Message> = held
            .ids
            .iter()
            .zip(planned)
            .map(|(id, message)| Message { id: *id, ..message })
            .collect();
        return send_and_settle(backends, key, held.claimed_at, planned).await;
    }
    // Some records and not others: sending again cannot settle it either.
    Err(SendOnceError::Send(SendError::OutcomeUnknown {
        ids: held.ids.clone(),
        why: "only some of its records are there",
        source: messages::BackendError::new(
            "settling an idempotent send",
            format!("{} of {} records are there", found.len(), held.ids.len()),
        ),
    }))
}

/// The records of `ids` that exist, in that order.
async fn records(backends: &Backends, ids: &[MessageId]) -> Result<Vec<Message>, SendOnceError> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(messages::MAX_PAGE as usize) {
        found.extend(
            backends
                .store
                .get_many(chunk)
                .await
                .map_err(store_unavailable(
                    "the Idempotency-Key's messages cannot be read",
                ))?,
        );
    }
    found.sort_by_key(|message| ids.iter().position(|id| *id == message.id));
    Ok(found)
}
