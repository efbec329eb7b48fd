//! The operator's actions on failed messages, apart from HTTP: retry (a
//! `fail` message back to `pending`, with a new job) and delete. Who may call
//! them is decided by the routes (`operator.rs`); what is done is here.
//!
//! A retry writes the record first, then enqueues, like a send: if the
//! enqueue fails, the record is marked `fail` again with the reason, so a
//! retry never leaves a `pending` message with no job on its way.

use std::sync::Arc;

use messages::{Backends, DeadLetterQueue, FinalStatus, Message, MessageId, Outcome, Status};
use service::http::HttpError;
use tracing::Instrument;

use crate::error::store_unavailable;

/// The most messages one bulk action takes.
pub const MAX_BULK: usize = 100;

/// What an operator can do to a failed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Back to `pending`, with a new job.
    Retry,
    /// Its record removed.
    Delete,
}

impl std::str::FromStr for Action {
    type Err = HttpError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "retry" => Ok(Self::Retry),
            "delete" => Ok(Self::Delete),
            other => Err(HttpError::bad_request(format!(
                "{other:?} is not an action: use retry or delete"
            ))),
        }
    }
}

/// Why an action changed nothing for one message: gone, or not `fail`.
async fn refusal(backends: &Backends, id: MessageId, verb: &str) -> HttpError {
    match backends.store.get(id).await {
        Ok(None) => HttpError::not_found(format!("no message has id {id}")),
        Ok(Some(message)) if message.status != Status::Fail => HttpError::conflict(format!(
            "message {id} is {}: only a failed message can be {verb}; nothing was changed",
            message.status
        )),
        // Failed again meanwhile: a race with another operator; say so.
        Ok(Some(_)) => HttpError::conflict(format!(
            "message {id} changed while it was being {verb}: look at it again"
        )),
        Err(source) => store_unavailable("the message cannot be read", source),
    }
}

/// Retries the failed message `id`: see the module's note. The write and
/// the enqueue run in a task of their own, so a request cancelled in between
/// (its client gone, its deadline passed) cannot leave the message `pending`
/// with no job.
pub async fn retry(backends: &Backends, id: MessageId) -> Result<Message, HttpError> {
    let backends = backends.clone();
    // In the caller's span, so a background run's retries are logged as its own.
    tokio::spawn(async move { retry_to_the_end(&backends, id).await }.in_current_span())
        .await
        .unwrap_or_else(|error| {
            Err(HttpError::internal(format!(
                "the retry of message {id} stopped unexpectedly: look at the message before you retry it again"
            ))
            .caused_by(error))
        })
}

async fn retry_to_the_end(backends: &Backends, id: MessageId) -> Result<Message, HttpError> {
    let retried = backends
        .store
        .retry(id, messages::now())
        .await
        .map_err(|source| store_unavailable("the message cannot be retried", source))?;
    let Some(message) = retried else {
        return Err(refusal(backends, id, "retried").await);
    };
    if let Err(error) = backends
        .queue
        .send_message(&message.enqueue_retry(message.retries))
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
        return Err(HttpError::service_unavailable(
            format!(
                "message {id} could not be retried: the queue is unavailable, and the message is marked failed again. Try again in a moment"
            ),
            error,
        ));
    }
    tracing::info!(%id, retries = message.retries, "an operator retried a message");
    Ok(message)
}

/// Deletes the failed message `id`'s record.
pub async fn delete(backends: &Backends, id: MessageId) -> Result<(), HttpError> {
    let deleted = backends
        .store
        .delete_failed(id)
        .await
        .map_err(|source| store_unavailable("the message cannot be deleted", source))?;
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
) -> Result<(Arc<dyn DeadLetterQueue>, u64), HttpError> {
    let dead_letters = backends
        .queue
        .dead_letter_queue()
        .await
        .map_err(|source| {
            HttpError::service_unavailable(
                "the dead-letter queue cannot be found right now: nothing was moved. Try again in a moment",
                source,
            )
        })?
        .ok_or_else(|| {
            HttpError::conflict("this queue has no dead-letter queue: there is nothing to redrive")
        })?;
    let depth = dead_letters.depth().await.map_err(|source| {
        HttpError::service_unavailable(
            "the dead-letter queue cannot be read right now: nothing was moved. Try again in a moment",
            source,
        )
    })?;
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
        let result = match action {
            Action::Retry => retry(backends, *id).await.map(|_| ()),
            Action::Delete => delete(backends, *id).await,
        };
        match result {
            Ok(()) => report.done += 1,
            Err(error) => report.refused.push(error.public().to_owned()),
        }
    }
    report
}

/// Reads the ids of a bulk action: 1 to [`MAX_BULK`] message ids.
pub fn parse_ids<'a>(
    texts: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<MessageId>, HttpError> {
    let mut ids = Vec::new();
    for text in texts {
        let id = MessageId::parse(text.trim()).map_err(|_| {
            HttpError::bad_request(format!("{text:?} is not a message id; nothing was changed"))
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    match ids.len() {
        0 => Err(HttpError::bad_request(
            "no message was chosen: tick the messages to act on",
        )),
        count if count > MAX_BULK => Err(HttpError::bad_request(format!(
            "{count} messages were chosen: act on at most {MAX_BULK} at a time; nothing was changed"
        ))),
        _ => Ok(ids),
    }
}
