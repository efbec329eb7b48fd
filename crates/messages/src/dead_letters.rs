//! The dead-letter port: what the operator's page needs from the queue that
//! takes what the work queue gave up on (SQS's redrive policy moves a message
//! there after `maxReceiveCount` receives).

use async_trait::async_trait;

use crate::BackendError;

/// How many messages one [`DeadLetterQueue::move_back`] moves at most (SQS's
/// batch size).
pub const MOVE_BATCH: u32 = 10;

/// One message in the dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The queue's id for it.
    pub message_id: String,
    /// The body exactly as sent: for this app's jobs, a `JobPayload`.
    pub body: String,
    /// Receives so far (on SQS, looking at it counts as one).
    pub receive_count: u32,
}

/// A dead-letter queue, seen from the queue whose redrive policy feeds it.
#[async_trait]
pub trait DeadLetterQueue: Send + Sync + 'static {
    /// How many messages it holds (on SQS, approximately and up to a minute late).
    async fn depth(&self) -> Result<u64, BackendError>;

    /// Up to `max` of the messages it holds, left where they are. SQS gives a
    /// sample, not the oldest first, and counts the look as a receive.
    async fn peek(&self, max: u32) -> Result<Vec<DeadLetter>, BackendError>;

    /// Moves up to [`MOVE_BATCH`] messages back to the source queue: each is
    /// sent there before it is deleted here, so a crash in between may
    /// deliver one twice but never loses one. Returns how many moved: none
    /// means the dead-letter queue looked empty (on SQS, after a long poll).
    async fn move_back(&self) -> Result<u32, BackendError>;

    /// A short description for logs and the page.
    fn describe(&self) -> String;
}
