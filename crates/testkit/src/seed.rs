//! Messages put in place as the web puts them: recorded as `pending`, then
//! their job enqueued. For tests of what comes after the web (the poller, the
//! worker) that should not depend on the web app itself.

use messages::{Backends, FinalStatus, JobKind, Message, MessageBody, Outcome};

/// Records a `pending` message with `body` and enqueues its job.
pub async fn sent(backends: &Backends, body: &str, simulate: JobKind) -> Message {
    let body = MessageBody::parse(body).expect("a test body is valid");
    let message = Message::new(body, simulate);
    backends.store.create(&message).await.expect("record");
    backends
        .queue
        .send(&message.job().to_json())
        .await
        .expect("enqueue");
    message
}

/// Records a message with `body` that failed after `attempts` attempts, with
/// no job left on the queue: what an operator may retry or delete.
pub async fn failed(backends: &Backends, body: &str, attempts: u32) -> Message {
    let error = format!("gave up after {attempts} attempts");
    finished(
        backends,
        body,
        JobKind::Fail,
        FinalStatus::Fail,
        attempts,
        Some(error),
    )
    .await
}

/// Records a message with `body` that completed on its first attempt, with
/// no job left on the queue.
pub async fn completed(backends: &Backends, body: &str) -> Message {
    finished(
        backends,
        body,
        JobKind::Succeed,
        FinalStatus::Complete,
        1,
        None,
    )
    .await
}

/// Records a message that ended `status` after `attempts` attempts, and reads
/// it back as the store has it.
async fn finished(
    backends: &Backends,
    body: &str,
    simulate: JobKind,
    status: FinalStatus,
    attempts: u32,
    error: Option<String>,
) -> Message {
    let body = MessageBody::parse(body).expect("a test body is valid");
    let message = Message::new(body, simulate);
    backends.store.create(&message).await.expect("record");
    let outcome = Outcome {
        status,
        attempts,
        error,
        at: messages::now(),
        event: None,
    };
    backends
        .store
        .finish(message.id, &outcome)
        .await
        .expect("finish");
    backends
        .store
        .get(message.id)
        .await
        .expect("read back")
        .expect("recorded")
}
