//! The queue port: what the web and the poller need from SQS, and nothing more.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use crate::BackendError;

/// One message as received from the queue, with what sqsd passes on as headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The queue's id for this message (sqsd's `X-Aws-Sqsd-Msgid`).
    pub message_id: String,
    /// Needed to delete it or change its visibility; new on every receive.
    pub receipt_handle: String,
    /// The body exactly as sent.
    pub body: String,
    /// How many times it has been received, this time included.
    pub receive_count: u32,
    /// Milliseconds since the epoch of the first receive.
    pub first_received_at_ms: Option<i64>,
    /// Milliseconds since the epoch of the send.
    pub sent_at_ms: Option<i64>,
    /// Who sent it.
    pub sender_id: Option<String>,
    /// String and number message attributes (sqsd drops binary ones).
    pub attributes: BTreeMap<String, String>,
}

/// A work queue with at-least-once delivery and visibility timeouts.
#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// Enqueues one body.
    async fn send(&self, body: &str) -> Result<(), BackendError>;

    /// Enqueues several bodies in as few calls as the backend allows. Says for
    /// each body whether it was enqueued: a batch can fail in part.
    async fn send_batch(&self, bodies: &[String]) -> Result<Vec<bool>, BackendError> {
        let mut sent = Vec::with_capacity(bodies.len());
        for body in bodies {
            sent.push(self.send(body).await.is_ok());
        }
        Ok(sent)
    }

    /// Waits up to `wait` for messages (long polling) and returns at most
    /// `max` of them, each hidden from other receivers for `visibility`.
    async fn receive(
        &self,
        max: u32,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Received>, BackendError>;

    /// Deletes a message for good, once its job reached a final state.
    async fn delete(&self, receipt_handle: &str) -> Result<(), BackendError>;

    /// Makes a received message visible again after `timeout` (zero: now).
    async fn change_visibility(
        &self,
        receipt_handle: &str,
        timeout: Duration,
    ) -> Result<(), BackendError>;

    /// Whether the queue holds no message at all: none waiting, none in
    /// flight, none delayed. (On SQS the counts are approximate and lag by up
    /// to a minute, which is fine for the sweeper, its only user.)
    async fn is_idle(&self) -> Result<bool, BackendError>;

    /// The queue's name, as sqsd's `X-Aws-Sqsd-Queue` header gives it.
    fn name(&self) -> String;

    /// A short description for logs and the start-up banner.
    fn describe(&self) -> String;
}
