//! The queue on Amazon SQS.

use messages::QueueTraffic;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    Message as SqsMessage, MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};

use messages::{BackendError, DeadLetterQueue, MessageId, Outgoing, Queue, QueueDepth, Received};
use tokio::sync::OnceCell;

use crate::dead_letters::{SqsDeadLetters, queue_of_arn};

/// An SQS queue, named by its URL.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
    /// The URL of its dead-letter queue (none: it has no redrive policy),
    /// looked up once.
    dead_letter_url: Arc<OnceCell<Option<String>>>,
}

impl SqsQueue {
    /// Uses `client` for the queue at `queue_url`.
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            dead_letter_url: Arc::default(),
        }
    }

    /// The URL of the queue's redrive target: its `RedrivePolicy`'s
    /// `deadLetterTargetArn`, turned into a URL by `GetQueueUrl`.
    async fn find_dead_letter_url(&self) -> Result<Option<String>, BackendError> {
        let output = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .map_err(|error| BackendError::new("SQS GetQueueAttributes", error))?;
        let Some(policy) = output
            .attributes
            .unwrap_or_default()
            .remove(&QueueAttributeName::RedrivePolicy)
        else {
            return Ok(None);
        };
        let unreadable = |why: &str| {
            BackendError::new(
                "reading the queue's RedrivePolicy",
                format!("{why}: {policy}"),
            )
        };
        let policy_json: serde_json::Value =
            serde_json::from_str(&policy).map_err(|_| unreadable("not JSON"))?;
        let (name, account) = policy_json
            .get("deadLetterTargetArn")
            .and_then(serde_json::Value::as_str)
            .and_then(queue_of_arn)
            .ok_or_else(|| unreadable("no deadLetterTargetArn naming a queue"))?;
        let output = self
            .client
            .get_queue_url()
            .queue_name(name)
            .queue_owner_aws_account_id(account)
            .send()
            .await
            .map_err(|error| BackendError::new("SQS GetQueueUrl", error))?;
        Ok(output.queue_url)
    }
}

/// SQS takes whole seconds as `i32`. A longer duration than that holds is
/// longer than any SQS limit anyway, which SQS then refuses with its reason.
fn seconds(duration: Duration) -> i32 {
    i32::try_from(duration.as_secs()).unwrap_or(i32::MAX)
}

fn received(message: SqsMessage) -> Option<Received> {
    // We ask for every system and message attribute; none sent means none set.
    let system = message.attributes.unwrap_or_default();
    let count = system
        .get(&MessageSystemAttributeName::ApproximateReceiveCount)
        .and_then(|value| value.parse().ok());
    let millis =
        |name: MessageSystemAttributeName| system.get(&name).and_then(|value| value.parse().ok());
    let attributes: BTreeMap<String, String> = message
        .message_attributes
        .unwrap_or_default()
        .into_iter()
        // sqsd passes String and Number attributes as headers and drops Binary ones.
        .filter_map(|(name, value)| value.string_value.map(|text| (name, text)))
        .collect();
    Some(Received {
        message_id: message.message_id?,
        receipt_handle: message.receipt_handle?,
        // SQS bodies are never empty; were one missing, the worker would refuse
        // it as "not a job" and the redrive policy would dead-letter it.
        body: message.body.unwrap_or_default(),
        // Asked for with every receive; were it missing, counting this as the
        // first delivery only delays giving up, never skips a retry.
        receive_count: count.unwrap_or(1),
        first_received_at_ms: millis(MessageSystemAttributeName::ApproximateFirstReceiveTimestamp),
        sent_at_ms: millis(MessageSystemAttributeName::SentTimestamp),
        sender_id: system.get(&MessageSystemAttributeName::SenderId).cloned(),
        attributes,
        group: system
            .get(&MessageSystemAttributeName::MessageGroupId)
            .cloned(),
    })
}

/// A message's string attributes as SQS takes them.
fn sqs_attributes(
    attributes: &BTreeMap<String, String>,
) -> Result<Option<HashMap<String, MessageAttributeValue>>, BackendError> {
    let attributes = attributes
        .iter()
        .map(|(name, value)| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map(|value| (name.clone(), value))
                .map_err(|error| BackendError::new("building an SQS message attribute", error))
        })
        .collect::<Result<HashMap<_, _>, _>>()?;
    Ok((!attributes.is_empty()).then_some(attributes))
}

/// What a FIFO queue needs besides the body (`Outgoing`'s rule for none
/// given); a standard queue refuses both, so it gets neither.
fn fifo_fields(message: &Outgoing, fifo: bool) -> (Option<String>, Option<String>) {
    if !fifo {
        return (None, None);
    }
    let (group, deduplication_id) =
        message.fifo_group_and_deduplication_id(|| MessageId::new().to_string());
    (Some(group), Some(deduplication_id))
}

#[async_trait]
impl QueueTraffic for SqsQueue {
    async fn send_message(&self, message: &Outgoing) -> Result<(), BackendError> {
        let (group, deduplication_id) = fifo_fields(message, self.is_fifo());
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(&message.body)
            .set_message_attributes(sqs_attributes(&message.attributes)?)
            .set_message_group_id(group)
            .set_message_deduplication_id(deduplication_id)
            .send()
            .await
            .map_err(|error| BackendError::new("SQS SendMessage", error))?;
        Ok(())
    }

    async fn send_batch(&self, messages: &[Outgoing]) -> Result<Vec<bool>, BackendError> {
        let mut sent = vec![false; messages.len()];
        let fifo = self.is_fifo();
        // SQS takes at most ten messages per SendMessageBatch. On a FIFO
        // queue it keeps a batch's order within each group, and the chunks
        // go one after another, so a burst keeps its order.
        for (chunk_index, chunk) in messages.chunks(10).enumerate() {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(index, message)| {
                    let (group, deduplication_id) = fifo_fields(message, fifo);
                    SendMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .message_body(&message.body)
                        .set_message_attributes(sqs_attributes(&message.attributes)?)
                        .set_message_group_id(group)
                        .set_message_deduplication_id(deduplication_id)
                        .build()
                        .map_err(|error| BackendError::new("building an SQS batch", error))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let result = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await;
            let output = match result {
                Ok(output) => output,
                // The first chunk failing means nothing was sent: an error. A
                // later one: say exactly which were sent, so that only the
                // others are marked as failed.
                Err(error) if chunk_index == 0 => {
                    return Err(BackendError::new("SQS SendMessageBatch", error));
                }
                Err(error) => {
                    let error = BackendError::new("SQS SendMessageBatch", error);
                    tracing::warn!(error = %error.chain(), chunk_index, "part of a batch was not sent");
                    continue;
                }
            };
            // SQS echoes the ids we gave (each entry's index in its chunk); an id
            // it did not get from us cannot be matched to a body, so it marks none.
            for entry in output.successful {
                let slot = entry
                    .id
                    .parse::<usize>()
                    .ok()
                    .and_then(|index| sent.get_mut(chunk_index * 10 + index));
                if let Some(flag) = slot {
                    *flag = true;
                }
            }
        }
        Ok(sent)
    }

    async fn receive(
        &self,
        max: u32,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Received>, BackendError> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(i32::try_from(max.clamp(1, 10)).expect("1 to 10 fits in i32"))
            .wait_time_seconds(seconds(wait).min(20))
            .visibility_timeout(seconds(visibility))
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|error| BackendError::new("SQS ReceiveMessage", error))?;
        Ok(output
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(received)
            .collect())
    }

    async fn delete(&self, receipt_handle: &str) -> Result<(), BackendError> {
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map_err(|error| BackendError::new("SQS DeleteMessage", error))?;
        Ok(())
    }

    async fn change_visibility(
        &self,
        receipt_handle: &str,
        timeout: Duration,
    ) -> Result<(), BackendError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds(timeout))
            .send()
            .await
            .map_err(|error| BackendError::new("SQS ChangeMessageVisibility", error))?;
        Ok(())
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn depth(&self) -> Result<QueueDepth, BackendError> {
        let counts = [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        ];
        let output = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .set_attribute_names(Some(counts.to_vec()))
            .send()
            .await
            .map_err(|error| BackendError::new("SQS GetQueueAttributes", error))?;
        // Every count asked for must be there: a missing one must not read
        // as zero, or the sweeper would take a busy queue for an idle one.
        let attributes = output.attributes.unwrap_or_default();
        let count = |name: &QueueAttributeName| {
            attributes
                .get(name)
                .and_then(|count| count.parse::<u64>().ok())
                .ok_or_else(|| {
                    BackendError::new(
                        "SQS GetQueueAttributes",
                        format!("no readable {} in the answer", name.as_str()),
                    )
                })
        };
        Ok(QueueDepth {
            waiting: count(&counts[0])?,
            in_flight: count(&counts[1])?,
            delayed: count(&counts[2])?,
        })
    }

    async fn dead_letter_queue(&self) -> Result<Option<Arc<dyn DeadLetterQueue>>, BackendError> {
        // A failed look is not kept: the next call looks again.
        let url = self
            .dead_letter_url
            .get_or_try_init(|| self.find_dead_letter_url())
            .await?;
        Ok(url.as_ref().map(|url| {
            let dead_letters = Self::new(self.client.clone(), url);
            Arc::new(SqsDeadLetters::new(self.clone(), dead_letters)) as Arc<dyn DeadLetterQueue>
        }))
    }

    fn name(&self) -> String {
        // QUEUE_URL is checked to end in a name at start-up (backend-config);
        // a URL made otherwise names the queue in full.
        super::queue_name_from_url(&self.queue_url)
            .unwrap_or(&self.queue_url)
            .to_owned()
    }

    fn describe(&self) -> String {
        format!("SQS queue {}", self.queue_url)
    }

    fn service(&self) -> &'static str {
        "Amazon SQS"
    }
}
