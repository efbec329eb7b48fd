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

use messages::{Backends, FinalStatus, Message, MessageBody, Outcome, Simulate, Transition};

use crate::error::ApiError;

/// Runs `sequence` to the end even if the caller stops waiting for it.
async fn uncancellable<T: Send + 'static>(
    sequence: impl Future<Output = Result<T, ApiError>> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::spawn(sequence).await.unwrap_or_else(|error| {
        Err(ApiError::Unavailable {
            public: "the message could not be sent: try again in a moment".to_owned(),
            source: messages::BackendError::new("sending a message", error),
        })
    })
}

/// Records and enqueues one message (conditional create, single send).
pub async fn send_message(
    backends: &Backends,
    body: MessageBody,
    simulate: Simulate,
) -> Result<Message, ApiError> {
    let backends = backends.clone();
    uncancellable(async move { send_one(&backends, body, simulate).await }).await
}

async fn send_one(
    backends: &Backends,
    body: MessageBody,
    simulate: Simulate,
) -> Result<Message, ApiError> {
    let message = Message::new(body, simulate);
    backends
        .store
        .create(&message)
        .await
        .map_err(store_unavailable)?;
    if let Err(source) = backends.queue.send(&message.job().to_json()).await {
        mark_unqueued(backends, &message, &source).await;
        return Err(ApiError::Unavailable {
            public: format!(
                "the message was recorded but could not be queued, so it was marked fail (id {}). Try again in a moment",
                message.id
            ),
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
) -> Result<Vec<Message>, ApiError> {
    let backends = backends.clone();
    uncancellable(async move { send_burst(&backends, bodies, simulate).await }).await
}

async fn send_burst(
    backends: &Backends,
    bodies: Vec<MessageBody>,
    simulate: Simulate,
) -> Result<Vec<Message>, ApiError> {
    if let [_] = bodies.as_slice() {
        let body = bodies
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::Invalid("nothing to send".to_owned()))?;
        return Ok(vec![send_one(backends, body, simulate).await?]);
    }
    let messages: Vec<Message> = bodies
        .into_iter()
        .map(|body| Message::new(body, simulate))
        .collect();
    backends
        .store
        .create_batch(&messages)
        .await
        .map_err(store_unavailable)?;
    let jobs: Vec<String> = messages
        .iter()
        .map(|message| message.job().to_json())
        .collect();
    let sent = match backends.queue.send_batch(&jobs).await {
        Ok(sent) => sent,
        Err(source) => {
            for message in &messages {
                mark_unqueued(backends, message, &source).await;
            }
            return Err(ApiError::Unavailable {
                public: format!(
                    "the {} messages were recorded but could not be queued, so they were marked fail. Try again in a moment",
                    messages.len()
                ),
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
        let source = messages::BackendError::new(
            "SQS SendMessageBatch",
            "some entries of the batch were refused",
        );
        for message in &unsent {
            mark_unqueued(backends, message, &source).await;
        }
        return Err(ApiError::Unavailable {
            public: format!(
                "{} of {} messages could not be queued and were marked fail; the others are on their way",
                unsent.len(),
                messages.len()
            ),
            source,
        });
    }
    tracing::info!(count = messages.len(), %simulate, "burst accepted");
    Ok(messages)
}

fn store_unavailable(source: messages::BackendError) -> ApiError {
    ApiError::Unavailable {
        public: "the message was not sent: the status store is unavailable. Try again in a moment"
            .to_owned(),
        source,
    }
}

/// Marks a recorded message whose job never reached the queue as `fail`.
async fn mark_unqueued(backends: &Backends, message: &Message, source: &messages::BackendError) {
    // The record is shown to anyone: the reason is a plain sentence, and the
    // backend's own words (account ids, ARNs) go to the log only.
    tracing::error!(id = %message.id, error = %source.chain(), "enqueue failed; marking the message fail");
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
        Ok(Transition::NotFound) | Err(_) => {
            tracing::error!(id = %message.id, "enqueue failed and the record could not be marked fail");
        }
    }
}
