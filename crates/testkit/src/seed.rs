//! Messages put in place as the web puts them: recorded as `pending`, then
//! their job enqueued. For tests of what comes after the web (the poller, the
//! worker) that should not depend on the web app itself.

use messages::{Backends, Message, MessageBody, Simulate};

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
