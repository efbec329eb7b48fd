//! The SQS dead-letter queue of a work queue, found through the work queue's
//! redrive policy, and the way back from it.
//!
//! moto has no `StartMessageMoveTask`, and on AWS that task moves a whole
//! queue at a rate it chooses. The move here is the app's own, ten at a time:
//! receive from the dead-letter queue, send to the work queue, then delete
//! what was sent. A crash between the send and the delete leaves the message
//! in both; the visibility timeout brings it back here, and a second move
//! sends it again. A job delivered twice is safe (the worker's writes are
//! conditional); a job lost is not, so the order is never the other way.

use messages::QueueTraffic;
use std::time::Duration;

use async_trait::async_trait;

use messages::{
    BackendError, DeadLetter, DeadLetterQueue, MOVE_BATCH, MessageGroup, Outgoing, Queue,
};

use crate::SqsQueue;

/// How long a message being moved is hidden in the dead-letter queue: time
/// enough to send it and delete it.
const MOVE_VISIBILITY: Duration = Duration::from_secs(30);

/// Receives one peek makes at most (each returns up to ten).
const PEEK_RECEIVES: u32 = 5;

/// How long a receive from the dead-letter queue waits for messages. A short
/// poll (no wait) asks only some of SQS's servers and may answer nothing on
/// a small queue that holds messages; a long poll asks them all.
const WAIT: Duration = Duration::from_secs(1);

/// The dead-letter queue `dead_letters` of the work queue `source`.
#[derive(Debug, Clone)]
pub struct SqsDeadLetters {
    dead_letters: SqsQueue,
    source: SqsQueue,
}

impl SqsDeadLetters {
    /// Moves between `source` and its dead-letter queue `dead_letters`.
    pub fn new(source: SqsQueue, dead_letters: SqsQueue) -> Self {
        Self {
            dead_letters,
            source,
        }
    }
}

/// The queue name and account in a dead-letter target's ARN
/// (`arn:aws:sqs:<region>:<account>:<name>`).
pub fn queue_of_arn(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.rsplitn(3, ':');
    let name = parts.next().filter(|name| !name.is_empty())?;
    let account = parts.next().filter(|account| !account.is_empty())?;
    parts.next()?;
    Some((name, account))
}

#[async_trait]
impl DeadLetterQueue for SqsDeadLetters {
    async fn depth(&self) -> Result<u64, BackendError> {
        let depth = self.dead_letters.depth().await?;
        Ok(depth.waiting + depth.in_flight + depth.delayed)
    }

    /// Receives with a visibility timeout of zero, so the messages stay
    /// visible to a redrive; SQS may answer the same ones again, so they are
    /// told apart by id, and the look stops when one brings nothing new.
    async fn peek(&self, max: u32) -> Result<Vec<DeadLetter>, BackendError> {
        let mut seen: Vec<DeadLetter> = Vec::new();
        for _ in 0..PEEK_RECEIVES {
            if seen.len() >= max as usize {
                break;
            }
            let received = self.dead_letters.receive(10, WAIT, Duration::ZERO).await?;
            let before = seen.len();
            for message in received {
                if seen.len() < max as usize
                    && !seen
                        .iter()
                        .any(|dead| dead.message_id == message.message_id)
                {
                    seen.push(DeadLetter {
                        message_id: message.message_id,
                        body: message.body,
                        receive_count: message.receive_count,
                    });
                }
            }
            if seen.len() == before {
                break;
            }
        }
        Ok(seen)
    }

    async fn move_back(&self) -> Result<u32, BackendError> {
        let received = self
            .dead_letters
            .receive(MOVE_BATCH, WAIT, MOVE_VISIBILITY)
            .await?;
        if received.is_empty() {
            return Ok(0);
        }
        let outgoing: Vec<Outgoing> = received
            .iter()
            .map(|message| Outgoing {
                body: message.body.clone(),
                attributes: message.attributes.clone(),
                group: message
                    .group
                    .as_deref()
                    .and_then(|group| MessageGroup::parse(group).ok()),
                // On a FIFO queue a second move of the same message within
                // five minutes (after a crash) is then dropped as a repeat.
                deduplication_id: Some(format!("redrive-{}", message.message_id)),
            })
            .collect();
        let sent = self.source.send_batch(&outgoing).await?;
        let mut moved = 0;
        for (message, sent) in received.iter().zip(sent) {
            // Not sent: it stays here and comes back after MOVE_VISIBILITY.
            if sent {
                self.dead_letters.delete(&message.receipt_handle).await?;
                moved += 1;
            }
        }
        Ok(moved)
    }

    fn describe(&self) -> String {
        self.dead_letters.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arn_names_its_queue_and_account() {
        assert_eq!(
            queue_of_arn("arn:aws:sqs:us-east-1:123456789012:messages-dlq"),
            Some(("messages-dlq", "123456789012"))
        );
        assert_eq!(queue_of_arn("messages-dlq"), None);
        assert_eq!(queue_of_arn("arn:aws:sqs:us-east-1:123456789012:"), None);
    }
}
