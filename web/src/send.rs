//! Accepting messages: record them as `pending`, then enqueue their jobs.
//!
//! Why in this order: if the web dies between the two writes, a `pending`
//! record without a queue message remains, and the sweeper (a periodic task of
//! the worker) finds it and enqueues it again; a queue message without a
//! record could not be found by anyone. If the enqueue itself fails, the record
//! is moved to `fail` at once with the reason, so it never stays `pending`, and
//! the caller is told.
//!
//! Each sequence runs in a task of its own: if the request is cut short (the
//! client leaves, the request timeout fires), the writes still finish together,
//! so a record is never left half handled by a cancelled future.

use std::future::Future;

use messages::{
    BackendError, Backends, FinalStatus, Message, MessageBody, MessageId, Outcome, Simulate,
    Transition,
};

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

/// Runs `sequence` to the end even if the caller stops waiting for it. A
/// failure is logged where the caller answers it (`service::http`); one that
/// nobody waits for any more (the client left, the request timed out) is
/// logged here instead, so it is logged once either way.
async fn uncancellable<T: Send + 'static>(
    sequence: impl Future<Output = Result<T, SendError>> + Send + 'static,
) -> Result<T, SendError> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        if let Err(Err(error)) = answer.send(sequence.await) {
            let error = service::http::chain(&error);
            tracing::error!(error, "a send failed after its request had gone");
        }
    });
    // The sender is dropped without an answer only if the task panicked.
    answered.await.unwrap_or(Err(SendError::Interrupted))
}

/// Records and enqueues one message (conditional create, single send).
pub async fn send_message(
    backends: &Backends,
    body: MessageBody,
    simulate: Simulate,
) -> Result<Message, SendError> {
    let backends = backends.clone();
    uncancellable(async move { send_one(&backends, body, simulate).await }).await
}

async fn send_one(
    backends: &Backends,
    body: MessageBody,
    simulate: Simulate,
) -> Result<Message, SendError> {
    let message = Message::new(body, simulate);
    backends
        .store
        .create(&message)
        .await
        .map_err(SendError::NotRecorded)?;
    if let Err(source) = backends.queue.send(&message.job().to_json()).await {
        mark_unqueued(backends, &message).await;
        return Err(SendError::NotQueued {
            ids: vec![message.id],
            source,
        });
    }
    tracing::info!(id = %message.id, %simulate, "message accepted");
    Ok(message)
}

/// Records and enqueues a burst with the backends' batch calls (DynamoDB
/// BatchWriteItem, SQS SendMessageBatch). A single message takes the single path.
pub async fn send_messages(
    backends: &Backends,
    bodies: Vec<MessageBody>,
    simulate: Simulate,
) -> Result<Vec<Message>, SendError> {
    let backends = backends.clone();
    uncancellable(async move { send_burst(&backends, bodies, simulate).await }).await
}

async fn send_burst(
    backends: &Backends,
    bodies: Vec<MessageBody>,
    simulate: Simulate,
) -> Result<Vec<Message>, SendError> {
    if let [body] = bodies.as_slice() {
        return Ok(vec![send_one(backends, body.clone(), simulate).await?]);
    }
    let messages: Vec<Message> = bodies
        .into_iter()
        .map(|body| Message::new(body, simulate))
        .collect();
    backends
        .store
        .create_batch(&messages)
        .await
        .map_err(SendError::NotRecorded)?;
    let jobs: Vec<String> = messages
        .iter()
        .map(|message| message.job().to_json())
        .collect();
    let sent = match backends.queue.send_batch(&jobs).await {
        Ok(sent) => sent,
        Err(source) => {
            for message in &messages {
                mark_unqueued(backends, message).await;
            }
            return Err(SendError::NotQueued {
                ids: messages.iter().map(|message| message.id).collect(),
                source,
            });
        }
    };
    let unsent: Vec<&Message> = messages
        .iter()
        .zip(&sent)
        .filter(|(_, sent)| !**sent)
        .map(|(message, _)| message)
        .collect();
    if !unsent.is_empty() {
        let source = BackendError::new(
            "SQS SendMessageBatch",
            "some entries of the batch were refused",
        );
        for message in &unsent {
            mark_unqueued(backends, message).await;
        }
        return Err(SendError::PartlyQueued {
            unsent: unsent.len(),
            total: messages.len(),
            source,
        });
    }
    tracing::info!(count = messages.len(), %simulate, "burst accepted");
    Ok(messages)
}

/// Marks a recorded message whose job never reached the queue as `fail`.
async fn mark_unqueued(backends: &Backends, message: &Message) {
    // The record is shown to anyone: the reason is a plain sentence, and the
    // backend's own words (account ids, ARNs) go to the log only, once, with
    // the request that failed (`service::http::log_errors`).
    tracing::info!(id = %message.id, "enqueue failed; marking the message fail");
    let outcome = Outcome {
        status: FinalStatus::Fail,
        attempts: 0,
        error: Some("could not be enqueued: the queue was unavailable when it was sent".to_owned()),
        at: messages::now(),
    };
    match backends.store.finish(message.id, &outcome).await {
        Ok(Transition::Applied(_) | Transition::AlreadyFinal(_)) => {}
        // Both backends failing at once: the record stays pending, and the
        // sweeper re-enqueues or fails it later.
        Ok(Transition::NotFound) => {
            tracing::error!(id = %message.id, "enqueue failed and the record is gone, so it could not be marked fail");
        }
        Err(error) => {
            tracing::error!(id = %message.id, error = %error.chain(), "enqueue failed and the record could not be marked fail");
        }
    }
}
