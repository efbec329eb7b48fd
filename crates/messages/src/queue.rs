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

/// How many messages a queue holds, by where they are (SQS's approximate
/// counts: on SQS they lag by up to a minute).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Visible, waiting to be received (`ApproximateNumberOfMessages`).
    pub waiting: u64,
    /// Received and not yet deleted (`ApproximateNumberOfMessagesNotVisible`).
    pub in_flight: u64,
    /// Sent with a delay that has not passed (`ApproximateNumberOfMessagesDelayed`).
    pub delayed: u64,
}

impl QueueDepth {
    /// Whether the queue holds nothing but the `own` messages in flight: the
    /// caller's own, when it was itself delivered through the queue (a
    /// periodic task is a queue message, in flight while it runs).
    pub fn is_idle_but(&self, own: u64) -> bool {
        self.waiting == 0 && self.delayed == 0 && self.in_flight <= own
    }
}

/// A work queue with at-least-once delivery and visibility timeouts.
#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// Enqueues one body.
    async fn send(&self, body: &str) -> Result<(), BackendError> {
        self.send_with_attributes(body, &BTreeMap::new()).await
    }

    /// Enqueues one body with string message attributes (what sqsd passes on
    /// as `X-Aws-Sqsd-Attr-*`, and how it marks its periodic tasks).
    async fn send_with_attributes(
        &self,
        body: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<(), BackendError>;

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

    /// How many messages are waiting, in flight and delayed. (On SQS the
    /// counts are approximate and lag by up to a minute, which is fine for the
    /// sweeper, its only user.)
    async fn depth(&self) -> Result<QueueDepth, BackendError>;

    /// Whether the queue is FIFO (SQS: its name ends in `.fifo`). Elastic
    /// Beanstalk refuses periodic tasks on a FIFO queue, and so does the poller.
    fn is_fifo(&self) -> bool {
        self.name().ends_with(".fifo")
    }

    /// The queue's name, as sqsd's `X-Aws-Sqsd-Queue` header gives it.
    fn name(&self) -> String;

    /// A short description for logs and the start-up banner.
    fn describe(&self) -> String;
}
