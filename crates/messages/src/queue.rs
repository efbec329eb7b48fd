//! The queue port: what the web and the poller need from SQS, and nothing more.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::{BackendError, DeadLetterQueue, MessageGroup};

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
    /// On a FIFO queue, the message's group (`MessageGroupId`): the poller
    /// runs the messages of one group one after another.
    pub group: Option<String>,
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

/// The two kinds of SQS queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueKind {
    /// At-least-once delivery, best-effort order.
    #[default]
    Standard,
    /// Ordered within a message group, one message of a group in flight at a
    /// time, and sends deduplicated for five minutes.
    Fifo,
}

impl QueueKind {
    /// The kind of the SQS queue named `name`: a FIFO queue's name ends in `.fifo`.
    pub fn of_queue_name(name: &str) -> Self {
        if name.ends_with(".fifo") {
            Self::Fifo
        } else {
            Self::Standard
        }
    }

    /// The kind's name, as `QUEUE_TYPE` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Fifo => "fifo",
        }
    }
}

impl std::str::FromStr for QueueKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "standard" => Ok(Self::Standard),
            "fifo" => Ok(Self::Fifo),
            other => Err(format!(
                "{other:?} is not a queue type: use standard or fifo"
            )),
        }
    }
}

/// One message to put on a queue.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outgoing {
    /// The body, sent exactly as given.
    pub body: String,
    /// String message attributes (what sqsd passes on as `X-Aws-Sqsd-Attr-*`,
    /// and how it marks its periodic tasks).
    pub attributes: BTreeMap<String, String>,
    /// On a FIFO queue, the group whose order it keeps (`MessageGroupId`);
    /// none makes it a group of its own. A standard queue ignores it.
    pub group: Option<MessageGroup>,
    /// On a FIFO queue, the id under which a second send within five minutes
    /// is accepted and dropped (`MessageDeduplicationId`); none means it is
    /// never a duplicate. A standard queue ignores it.
    pub deduplication_id: Option<String>,
}

impl Outgoing {
    /// A message of `body` alone.
    pub fn new(body: impl Into<String>) -> Self {
        Self {
            body: body.into(),
            ..Self::default()
        }
    }

    /// The same message with `attributes`.
    pub fn with_attributes(self, attributes: BTreeMap<String, String>) -> Self {
        Self { attributes, ..self }
    }

    /// The group and the deduplication id a FIFO queue gets for it, with
    /// SQS's meaning of none given: a group of its own, never a duplicate.
    /// `unique` makes an id no other message has.
    pub fn fifo_group_and_deduplication_id(
        &self,
        unique: impl FnOnce() -> String,
    ) -> (String, String) {
        let deduplication_id = self.deduplication_id.clone().unwrap_or_else(unique);
        let group = self
            .group
            .as_ref()
            .map_or_else(|| deduplication_id.clone(), ToString::to_string);
        (group, deduplication_id)
    }
}

/// A queue's traffic: messages sent, received, deleted, made visible again.
/// See [`Queue`].
#[async_trait]
pub trait QueueTraffic: Send + Sync + 'static {
    /// Enqueues one body.
    async fn send(&self, body: &str) -> Result<(), BackendError> {
        self.send_message(&Outgoing::new(body)).await
    }

    /// Enqueues one message. On a FIFO queue, a duplicate (see
    /// [`Outgoing::deduplication_id`]) is accepted and dropped, as SQS does.
    async fn send_message(&self, message: &Outgoing) -> Result<(), BackendError>;

    /// Enqueues several messages in as few calls as the backend allows, in
    /// order. Says for each whether it was enqueued: a batch can fail in part.
    async fn send_batch(&self, messages: &[Outgoing]) -> Result<Vec<bool>, BackendError> {
        let mut sent = Vec::with_capacity(messages.len());
        for message in messages {
            sent.push(self.send_message(message).await.is_ok());
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
}

/// A work queue with at-least-once delivery and visibility timeouts: a
/// standard queue, or a FIFO queue, which also delivers the messages of one
/// group one at a time, in order, and drops a send whose deduplication id it
/// has seen in the last five minutes (SQS's deduplication interval). Its
/// traffic is [`QueueTraffic`]; here is what it is and what it holds.
#[async_trait]
pub trait Queue: QueueTraffic {
    /// How many messages are waiting, in flight and delayed. (On SQS the
    /// counts are approximate and lag by up to a minute, which is fine for the
    /// sweeper, its only user.)
    async fn depth(&self) -> Result<QueueDepth, BackendError>;

    /// The queue's dead-letter queue, when it has one: on SQS the target of
    /// its redrive policy, found once and kept; the embedded queue always has
    /// one.
    async fn dead_letter_queue(&self) -> Result<Option<Arc<dyn DeadLetterQueue>>, BackendError>;

    /// Which kind of queue this is.
    fn kind(&self) -> QueueKind {
        if self.is_fifo() {
            QueueKind::Fifo
        } else {
            QueueKind::Standard
        }
    }

    /// Whether the queue is FIFO (SQS: its name ends in `.fifo`; the embedded
    /// queue: `QUEUE_TYPE=fifo`). Elastic Beanstalk refuses periodic tasks on
    /// a FIFO queue, and so does the poller.
    fn is_fifo(&self) -> bool {
        QueueKind::of_queue_name(&self.name()) == QueueKind::Fifo
    }

    /// The queue's name, as sqsd's `X-Aws-Sqsd-Queue` header gives it.
    fn name(&self) -> String;

    /// A short description for logs and the start-up banner.
    fn describe(&self) -> String;

    /// The service behind it, as the pipeline strip names the stage:
    /// `Amazon SQS`, or `Embedded queue` (SQLite) in a local run.
    fn service(&self) -> &'static str;
}
