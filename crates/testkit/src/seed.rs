//! Messages put in place as the web puts them: recorded as `pending`, then
//! their job enqueued. For tests of what comes after the web (the poller, the
//! worker) that should not depend on the web app itself.

use messages::{Backends, FinalStatus, Message, MessageBody, Outcome, Simulate};

/// Records a `pending` message with `body` and enqueues its job.
pub async fn sent(backends: &Backends, body: &str, simulate: Simulate) -> Message {
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
    let body = MessageBody::parse(body).expect("a test body is valid");
    let message = Message::new(body, Simulate::Fail);
    backends.store.create(&message).await.expect("record");
    let outcome = Outcome {
        status: FinalStatus::Fail,
        attempts,
        error: Some(format!("gave up after {attempts} attempts")),
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
