//! The operator's actions on failed messages, apart from HTTP: retry (a
//! `fail` message back to `pending`, with a new job) and delete. Who may call
//! them is decided by the routes (`operator.rs`); what is done is here.
//!
//! A retry writes the record first, then enqueues, like a send: if the
//! enqueue fails, the record is marked `fail` again with the reason, so a
//! retry never leaves a `pending` message with no job on its way.

use std::sync::Arc;

use messages::{
    BackendError, Backends, DeadLetterQueue, FinalStatus, Message, MessageId, Outcome, Status,
};
use tracing::Instrument;

/// What an operator can do to a failed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Back to `pending`, with a new job.
    Retry,
    /// Its record removed.
    Delete,
}

/// A word that names no [`Action`].
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an action: use retry or delete")]
pub struct UnknownAction(String);

impl std::str::FromStr for Action {
    type Err = UnknownAction;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "retry" => Ok(Self::Retry),
            "delete" => Ok(Self::Delete),
            other => Err(UnknownAction(other.to_owned())),
        }
    }
}

/// Why an operator's action did nothing, or did not finish. Each sentence
/// says what was changed; `error.rs` gives each its HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// No message has this id (deleted meanwhile, or never).
    #[error("no message has id {0}")]
    NotFound(MessageId),
    /// The message is not `fail`: only a failed message is acted on.
    #[error("message {id} is {status}: only a failed message can be {verb}; nothing was changed")]
    NotFailed {
        /// The message.
        id: MessageId,
        /// Its status now.
        status: Status,
        /// What was asked, as a past participle.
        verb: &'static str,
    },
    /// It failed again while this action ran: a race with another operator.
    #[error("message {id} changed while it was being {verb}: look at it again")]
    Changed {
        /// The message.
        id: MessageId,
        /// What was asked, as a past participle.
        verb: &'static str,
    },
    /// The status store did not answer.
    #[error("{what}: the status store is unavailable. Try again in a moment")]
    StoreUnavailable {
        /// What could not be done.
        what: &'static str,
        /// Why.
        #[source]
        source: BackendError,
    },
    /// The retry's job could not be enqueued; the message is `fail` again.
    #[error(
        "message {id} could not be retried: the queue is unavailable, and the message is marked failed again. Try again in a moment"
    )]
    NotQueued {
        /// The message.
        id: MessageId,
        /// Why the queue refused.
        #[source]
        source: BackendError,
    },
    /// The task running the retry stopped before it answered (a panic).
    #[error(
        "the retry of message {id} stopped unexpectedly: look at the message before you retry it again"
    )]
    Stopped {
        /// The message.
        id: MessageId,
        /// How the task ended.
        #[source]
        source: tokio::task::JoinError,
    },
    /// A redrive was asked of a queue that has no dead-letter queue.
    #[error("this queue has no dead-letter queue: there is nothing to redrive")]
    NoDeadLetterQueue,
    /// The dead-letter queue could not be found or read.
    #[error(
        "the dead-letter queue cannot be {what} right now: nothing was moved. Try again in a moment"
    )]
    DeadLettersUnavailable {
        /// `found` or `read`.
        what: &'static str,
        /// Why.
        #[source]
        source: BackendError,
    },
}

impl ActionError {
    /// Whether the message's state refused the action (gone, or not failed),
    /// rather than something failing: nothing is wrong, another operator or
    /// instance got there first.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::NotFound(_) | Self::NotFailed { .. } | Self::Changed { .. }
        )
    }
}

fn store_unavailable(what: &'static str) -> impl FnOnce(BackendError) -> ActionError {
    move |source| ActionError::StoreUnavailable { what, source }
}

/// Why an action changed nothing for one message: gone, or not `fail`.
async fn refusal(backends: &Backends, id: MessageId, verb: &'static str) -> ActionError {
    match backends.store.get(id).await {
        Ok(None) => ActionError::NotFound(id),
        Ok(Some(message)) if message.status != Status::Fail => ActionError::NotFailed {
            id,
            status: message.status,
            verb,
        },
        // Failed again meanwhile: a race with another operator; say so.
        Ok(Some(_)) => ActionError::Changed { id, verb },
        Err(source) => store_unavailable("the message cannot be read")(source),
    }
}

/// Applies `action` to the failed message `id`.
pub async fn act(backends: &Backends, action: Action, id: MessageId) -> Result<(), ActionError> {
    match action {
        Action::Retry => retry(backends, id).await.map(|_| ()),
        Action::Delete => delete(backends, id).await,
    }
}

/// Retries the failed message `id`: see the module's note. The write and
/// the enqueue run in a task of their own, so a request cancelled in between
/// (its client gone, its deadline passed) cannot leave the message `pending`
/// with no job.
pub async fn retry(backends: &Backends, id: MessageId) -> Result<Message, ActionError> {
    let backends = backends.clone();
    // In the caller's span, so a background run's retries are logged as its own.
    tokio::spawn(async move { retry_to_the_end(&backends, id).await }.in_current_span())
        .await
        .unwrap_or_else(|source| Err(ActionError::Stopped { id, source }))
}

async fn retry_to_the_end(backends: &Backends, id: MessageId) -> Result<Message, ActionError> {
    let retried = backends
        .store
        .retry(id, messages::now())
        .await
        .map_err(store_unavailable("the message cannot be retried"))?;
    let Some(message) = retried else {
        return Err(refusal(backends, id, "retried").await);
    };
    if let Err(source) = backends
        .queue
        .send_message(&message.outgoing_retried(message.retries))
        .await
    {
        let outcome = Outcome {
            status: FinalStatus::Fail,
            attempts: message.attempts,
            error: Some(
                "an operator's retry could not be enqueued (the queue was unavailable)".to_owned(),
            ),
            at: messages::now(),
            event: None,
        };
        // If this write fails too, the sweeper finds the message `pending`
        // with no activity, and enqueues it.
        if let Err(undo) = backends.store.finish(id, &outcome).await {
            tracing::error!(error = %undo.chain(), %id, "a retry whose enqueue failed stays pending for the sweeper");
        }
        return Err(ActionError::NotQueued { id, source });
    }
    tracing::info!(%id, retries = message.retries, "an operator retried a message");
    Ok(message)
}

/// Deletes the failed message `id`'s record.
pub async fn delete(backends: &Backends, id: MessageId) -> Result<(), ActionError> {
    let deleted = backends
        .store
        .delete_failed(id)
        .await
        .map_err(store_unavailable("the message cannot be deleted"))?;
    if deleted {
        tracing::info!(%id, "an operator deleted a message");
        Ok(())
    } else {
        Err(refusal(backends, id, "deleted").await)
    }
}

/// The dead-letter queue and how many it holds, for a redrive; the error
/// says why there is nothing to move, or that it cannot be read now.
pub async fn dead_letters_to_redrive(
    backends: &Backends,
) -> Result<(Arc<dyn DeadLetterQueue>, u64), ActionError> {
    let unavailable = |what| move |source| ActionError::DeadLettersUnavailable { what, source };
    let dead_letters = backends
        .queue
        .dead_letter_queue()
        .await
        .map_err(unavailable("found"))?
        .ok_or(ActionError::NoDeadLetterQueue)?;
    let depth = dead_letters.depth().await.map_err(unavailable("read"))?;
    Ok((dead_letters, depth))
}

/// What a bulk action did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct BulkReport {
    /// Messages the action was applied to.
    pub done: u32,
    /// Those it was not, each with why.
    pub refused: Vec<String>,
}

/// Applies `action` to each of `ids` in turn; one refused does not stop the others.
pub async fn bulk(backends: &Backends, action: Action, ids: &[MessageId]) -> BulkReport {
    let mut report = BulkReport::default();
    for id in ids {
        match act(backends, action, *id).await {
            Ok(()) => report.done += 1,
            Err(error) => report.refused.push(error.to_string()),
        }
    }
    report
}
