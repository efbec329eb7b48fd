//! Accepting one message: record it as `pending`, then enqueue its job.
//!
//! Why in this order: if the web dies between the two writes, a `pending`
//! record without a queue message is visible and can be swept up and
//! re-enqueued; a queue message without a record could not be. If the enqueue
//! itself fails, the record is moved to `fail` at once with the reason, so it
//! never stays `pending` forever, and the caller is told.

use messages::{Backends, FinalStatus, Message, MessageBody, Outcome, Simulate, Transition};

use crate::error::ApiError;

/// Records and enqueues one message; returns it as recorded.
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
        .map_err(|source| ApiError::Unavailable {
            public:
                "the message was not sent: the status store is unavailable. Try again in a moment"
                    .to_owned(),
            source,
        })?;
    if let Err(source) = backends.queue.send(&message.job().to_json()).await {
        let outcome = Outcome {
            status: FinalStatus::Fail,
            attempts: 0,
            error: Some(format!("could not be enqueued: {}", source.chain())),
            at: messages::now(),
        };
        match backends.store.finish(message.id, &outcome).await {
            Ok(Transition::Applied(_) | Transition::AlreadyFinal(_)) => {}
            // Both backends failing at once: the record stays pending, and the
            // pending sweeper (cron.yaml) re-enqueues or fails it later.
            Ok(Transition::NotFound) | Err(_) => {
                tracing::error!(id = %message.id, "enqueue failed and the record could not be marked fail");
            }
        }
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
