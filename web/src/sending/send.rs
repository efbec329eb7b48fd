//! Accepting messages: record them as `pending`, then enqueue their jobs.
//!
//! Why in this order: if the web dies between the two writes, a `pending`
//! record without a queue message remains, and the sweeper (a periodic task of
//! the worker) finds it and enqueues it again; a queue message without a
//! record could not be found by anyone. If the enqueue itself fails, the record
//! is moved to `fail` at once with the reason, so it never stays `pending`, and
//! the caller is told.
//!
//! An answer tells only what is known. A write whose answer was lost may have
//! happened: a failed create is read back before the caller is told nothing
//! was recorded, and a message whose job the queue did not confirm, and that
//! could not be marked `fail` either, is reported as unknown, with its id (it
//! ends `complete` or `fail` all the same: its job may be on the queue, and the
//! sweeper enqueues it again if not).
//!
//! On a FIFO queue each job goes in its message's group, deduplicated by the
//! message's id (`Message::outgoing`): a send repeated under an
//! `Idempotency-Key` after a lost answer reuses the ids, so the queue drops
//! the second job. A burst is enqueued in its order, which a group keeps.
//!
//! Each send runs in one task of its own ([`uncancellable`], started once by
//! `idempotent::send_once`, around the key's claim and settle too): if the
//! request is cut short (the client leaves, the request timeout fires), the
//! writes still finish together, so a record is never left half handled by a
//! cancelled future.

use std::future::Future;

use chrono::{DateTime, Utc};
use messages::{
    BackendError, Backends, FinalStatus, IdempotencyKey, KeyOutcome, Message, MessageId, Outcome,
    Outgoing, Transition,
};
use tracing::Instrument;

/// Why a send did not go through whole. Each says what was done and what
/// was not, so the caller knows whether trying again can make a duplicate.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The status store refused the record: nothing was recorded or queued.
    #[error("the message was not sent: the status store is unavailable. Try again in a moment")]
    NotRecorded(#[source] BackendError),
    /// Recorded, but the queue refused every job, so each record was marked `fail`.
    #[error("{}", not_queued(ids))]
    NotQueued {
        /// The messages recorded and marked `fail`.
        ids: Vec<MessageId>,
        /// Why the queue refused.
        #[source]
        source: BackendError,
    },
    /// Part of a burst could not be queued; those records were marked `fail`.
    #[error(
        "{unsent} of {total} messages could not be queued and were marked fail; the others are on their way"
    )]
    PartlyQueued {
        /// How many were marked `fail`.
        unsent: usize,
        /// How many were recorded.
        total: usize,
        /// Why the queue refused.
        #[source]
        source: BackendError,
    },
    /// It is not known whether these messages went through: a write's answer
    /// was lost, and reading back could not settle it.
    #[error("{}", unknown(ids, why))]
    OutcomeUnknown {
        /// The messages concerned.
        ids: Vec<MessageId>,
        /// What did not answer, in a few words.
        why: &'static str,
        /// The failure that left it open.
        #[source]
        source: BackendError,
    },
    /// The task running the writes stopped before it answered (a panic).
    #[error("the message could not be sent: try again in a moment")]
    Interrupted,
}

fn not_queued(ids: &[MessageId]) -> String {
    match ids {
        [id] => format!(
            "the message was recorded but could not be queued, so it was marked fail (id {id}). Try again in a moment"
        ),
        _ => format!(
            "the {} messages were recorded but could not be queued, so they were marked fail. Try again in a moment",
            ids.len()
        ),
    }
}

/// Why a send's outcome is open, when its key's claim did not answer
/// whether its records may be marked `fail`.
pub const KEY_SILENT: &str =
    "the queue did not confirm the job, and the Idempotency-Key's claim could not be checked";
/// Why a send's outcome is open, when its record could not be confirmed.
pub const STORE_SILENT: &str = "the status store did not answer";
/// Why a send's outcome is open, when its job and its mark both went unconfirmed.
pub const QUEUE_SILENT: &str =
    "the queue did not confirm the job, and the record could not be marked fail";

fn unknown(ids: &[MessageId], why: &str) -> String {
    match ids {
        [id] => format!(
            "it is not known whether the message went through: {why}. If it was recorded (id {id}), it will still end complete or fail: look it up at /api/messages/{id} before you send it again"
        ),
        _ => format!(
            "it is not known whether {} of the messages went through: {why}. Each one recorded will still end complete or fail: look them up at /api/messages/{{id}} before you send them again (ids {})",
            ids.len(),
            ids.iter()
                .map(MessageId::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Runs `sequence` to the end even if the caller stops waiting for it. A
/// failure is logged where the caller answers it (`service::http::log_errors`); one that
/// nobody waits for any more (the client left, the request timed out) is
/// logged here instead, so it is logged once either way.
pub async fn uncancellable<T, E>(
    sequence: impl Future<Output = Result<T, E>> + Send + 'static,
    interrupted: E,
) -> Result<T, E>
where
    T: Send + 'static,
    E: std::error::Error + Send + 'static,
{
    let (answer, answered) = tokio::sync::oneshot::channel();
    // In the request's span, so that the send stays in its trace.
    let span = tracing::Span::current();
    tokio::spawn(
        async move {
            if let Err(Err(error)) = answer.send(sequence.await) {
                let error = service::telemetry::chain(&error);
                tracing::error!(error, "a send failed after its request had gone");
            }
        }
        .instrument(span),
    );
    // The sender is dropped without an answer only if the task panicked.
    answered.await.unwrap_or(Err(interrupted))
}

/// The claim of the `Idempotency-Key` a send runs under (`idempotent.rs`).
/// A send that goes through records nothing on it: a retry that finds every
/// record answers the send as gone through (`confirm_key`). So before this
/// send marks a record `fail` for a job the queue refused, it must win the
/// claim ([`KeyOutcome::Refusing`]); if a retry answered first, the records
/// stay `pending` and the sweeper enqueues their jobs, as the retry was told.
#[derive(Debug, Clone, Copy)]
pub struct UnderKey<'a> {
    /// The key.
    pub key: &'a IdempotencyKey,
    /// When this send claimed it.
    pub claimed_at: DateTime<Utc>,
}

/// Whether the records of jobs the queue refused may be marked `fail`.
enum MayRefuse {
    /// Yes: no key, or this send won its key's claim.
    Yes,
    /// No: a retry has answered the send as gone through.
    AnsweredSent,
    /// The key's claim did not answer (logged here).
    Unknown,
}

async fn may_refuse(backends: &Backends, under: Option<UnderKey<'_>>) -> MayRefuse {
    let Some(under) = under else {
        return MayRefuse::Yes;
    };
    match backends
        .store
        .settle_key(under.key, under.claimed_at, &KeyOutcome::Refusing)
        .await
    {
        Ok(true) => MayRefuse::Yes,
        Ok(false) => {
            tracing::info!(key = %under.key, "the queue refused a job, but a retry had already answered the send as gone through: its records stay pending for the sweeper");
            MayRefuse::AnsweredSent
        }
        Err(error) => {
            tracing::warn!(key = %under.key, error = %error.chain(), "the queue refused a job, and the Idempotency-Key's claim did not answer: the records stay pending for the sweeper");
            MayRefuse::Unknown
        }
    }
}

/// Records and enqueues `messages` (a [`super::plan::SendPlan`]'s): one with
/// a conditional create and a single send, several with the backends' batch
/// calls (a conditional DynamoDB PutItem each, SQS SendMessageBatch). The one place that tells one from several. It runs in
/// the task its caller started ([`uncancellable`]), never in one of its own.
pub async fn send_planned(
    backends: &Backends,
    messages: Vec<Message>,
    under: Option<UnderKey<'_>>,
) -> Result<Vec<Message>, SendError> {
    let sent = match <[Message; 1]>::try_from(messages) {
        Ok([message]) => vec![send_one(backends, message, under).await?],
        Err(messages) => send_burst(backends, messages, under).await?,
    };
    metrics::counter!("messages_sent_total").increment(sent.len() as u64);
    Ok(sent)
}

async fn send_one(
    backends: &Backends,
    message: Message,
    under: Option<UnderKey<'_>>,
) -> Result<Message, SendError> {
    let simulate = message.simulate;
    let created = backends.store.create(&message).await;
    confirm_recorded(backends, &[message.id], created).await?;
    if let Err(source) = backends.queue.send_message(&message.outgoing()).await {
        let ids = vec![message.id];
        match may_refuse(backends, under).await {
            MayRefuse::Yes => {}
            MayRefuse::AnsweredSent => return Ok(message),
            MayRefuse::Unknown => {
                return Err(SendError::OutcomeUnknown {
                    ids,
                    why: KEY_SILENT,
                    source,
                });
            }
        }
        return match mark_unqueued(backends, &message).await {
            Unqueued::MarkedFail => Err(SendError::NotQueued { ids, source }),
            // The job did reach the queue, and the worker has finished it.
            Unqueued::AlreadyFinal(current) => Ok(current),
            Unqueued::Unknown => Err(SendError::OutcomeUnknown {
                ids,
                why: QUEUE_SILENT,
                source,
            }),
        };
    }
    tracing::info!(id = %message.id, %simulate, "message accepted");
    Ok(message)
}

/// What the create of `ids` as `pending` (`written`) did. A failed write is
/// read back first: its answer may have been lost after it was applied (a
/// reset connection), and then the messages are recorded after all.
async fn confirm_recorded(
    backends: &Backends,
    ids: &[MessageId],
    written: Result<(), BackendError>,
) -> Result<(), SendError> {
    let Err(source) = written else {
        return Ok(());
    };
    match backends.store.get_many(ids).await {
        Ok(found) if found.len() == ids.len() => {
            tracing::info!(count = ids.len(), error = %source.chain(), "a create failed but its records are there: going on");
            Ok(())
        }
        Ok(found) if found.is_empty() => Err(SendError::NotRecorded(source)),
        // Some recorded, or no way to tell: a record without its job is
        // enqueued again by the sweeper, so each one still ends final.
        _ => Err(SendError::OutcomeUnknown {
            ids: ids.to_vec(),
            why: STORE_SILENT,
            source,
        }),
    }
}

async fn send_burst(
    backends: &Backends,
    messages: Vec<Message>,
    under: Option<UnderKey<'_>>,
) -> Result<Vec<Message>, SendError> {
    let Some(simulate) = messages.first().map(|message| message.simulate) else {
        return Ok(messages);
    };
    let ids: Vec<MessageId> = messages.iter().map(|message| message.id).collect();
    let created = backends.store.create_batch(&messages).await;
    confirm_recorded(backends, &ids, created).await?;
    // In the order planned: on a FIFO queue, the order of the group.
    let jobs: Vec<Outgoing> = messages.iter().map(Message::outgoing).collect();
    let (sent, source) = match backends.queue.send_batch(&jobs).await {
        Ok(sent) => (
            sent,
            BackendError::new(
                "SQS SendMessageBatch",
                "some entries of the batch were refused",
            ),
        ),
        Err(source) => (vec![false; messages.len()], source),
    };
    let unsent: Vec<&Message> = messages
        .iter()
        .zip(sent.iter().chain(std::iter::repeat(&false)))
        .filter(|(_, sent)| !**sent)
        .map(|(message, _)| message)
        .collect();
    if !unsent.is_empty() {
        match may_refuse(backends, under).await {
            MayRefuse::Yes => {}
            MayRefuse::AnsweredSent => return Ok(messages),
            MayRefuse::Unknown => {
                return Err(SendError::OutcomeUnknown {
                    ids: unsent.iter().map(|message| message.id).collect(),
                    why: KEY_SILENT,
                    source,
                });
            }
        }
        let mut marked = Vec::new();
        let mut unknown = Vec::new();
        for message in &unsent {
            match mark_unqueued(backends, message).await {
                Unqueued::MarkedFail => marked.push(message.id),
                Unqueued::AlreadyFinal(_) => {}
                Unqueued::Unknown => unknown.push(message.id),
            }
        }
        return Err(if !unknown.is_empty() {
            SendError::OutcomeUnknown {
                ids: unknown,
                why: QUEUE_SILENT,
                source,
            }
        } else if marked.len() == messages.len() {
            SendError::NotQueued {
                ids: marked,
                source,
            }
        } else if marked.is_empty() {
            // Every refused job had reached the queue after all.
            tracing::info!(count = messages.len(), %simulate, "burst accepted");
            return Ok(messages);
        } else {
            SendError::PartlyQueued {
                unsent: marked.len(),
                total: messages.len(),
                source,
            }
        });
    }
    tracing::info!(count = messages.len(), %simulate, "burst accepted");
    Ok(messages)
}

/// What became of a message whose job the queue did not confirm.
enum Unqueued {
    /// Marked `fail`: its job will not run (if it reached the queue after all,
    /// the worker finds the record final and leaves it).
    MarkedFail,
    /// Already final: the job did reach the queue, and the worker finished it.
    AlreadyFinal(Message),
    /// Could not be marked: it stays `pending`, and ends `complete` (its job
    /// was on the queue) or is enqueued again or failed by the sweeper.
    Unknown,
}

/// Marks a recorded message whose job the queue did not confirm as `fail`.
async fn mark_unqueued(backends: &Backends, message: &Message) -> Unqueued {
    // The record is shown to anyone: the reason is a plain sentence, and the
    // backend's own words (account ids, ARNs) go to the log only, once, with
    // the request that failed (`service::http::log_errors`).
    tracing::info!(id = %message.id, "enqueue failed; marking the message fail");
    let outcome = Outcome {
        status: FinalStatus::Fail,
        attempts: 0,
        error: Some("could not be enqueued: the queue was unavailable when it was sent".to_owned()),
        at: messages::now(),
        event: None,
    };
    match backends.store.finish(message.id, &outcome).await {
        Ok(Transition::Applied(_)) => Unqueued::MarkedFail,
        Ok(Transition::AlreadyFinal(current)) => Unqueued::AlreadyFinal(current),
        Ok(Transition::NotFound) => {
            tracing::error!(id = %message.id, "enqueue failed and the record is gone, so it could not be marked fail");
            Unqueued::Unknown
        }
        Err(error) => {
            tracing::error!(id = %message.id, error = %error.chain(), "enqueue failed and the record could not be marked fail");
            Unqueued::Unknown
        }
    }
}
