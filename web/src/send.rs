//! Accepting messages: record them as `pending`, then enqueue their jobs.
//!
//! Why in this order: if the web dies between the two writes, a `pending`
//! record without a queue message remains, and the sweeper (a periodic task of
//! the worker) finds it and enqueues it again; a queue message without a
//! record could not be found by anyone. If the enqueue itself fails, the record
//! is moved to `fail` at once with the reason, so it never stays `pending`, and
//! the caller is told.

use messages::{Backends, FinalStatus, Message, MessageBody, Outcome, Simulate, Transition};

use crate::error::ApiError;

/// Records and enqueues one message (conditional create, single send).
pub async fn send_message(
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
    if bodies.len() == 1 {
        let body = bodies.into_iter().next().expect("one body");
        return Ok(vec![send_message(backends, body, simulate).await?]);
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
    let outcome = Outcome {
        status: FinalStatus::Fail,
        attempts: 0,
        error: Some(format!("could not be enqueued: {}", source.chain())),
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
