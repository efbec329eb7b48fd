//! The status store on DynamoDB: the `MessageLifecycle` role. A message's
//! life: created `pending`, read, its attempts noted, finished once.

use super::*;

/// Creates of one burst in flight at once.
const CREATES_AT_ONCE: usize = 25;

/// Keeps the first error of a burst's creates.
fn note_error(
    first: &mut Option<BackendError>,
    done: Result<Result<(), BackendError>, tokio::task::JoinError>,
) {
    let error = match done {
        Ok(Ok(())) => return,
        Ok(Err(error)) => error,
        Err(stopped) => BackendError::new("creating a burst's messages", stopped),
    };
    first.get_or_insert(error);
}

/// What a conditional create found.
pub(super) enum Put {
    /// The message is in the table as given: written now, or by an earlier
    /// try of the same write.
    Made,
    /// Another item holds its key.
    Other,
}

impl DynamoStore {
    /// Puts `message` unless its key is taken: a put never overwrites a
    /// message that exists, so a final status never flips back to `pending`.
    pub(super) async fn put_new(&self, message: &Message) -> Result<Put, BackendError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(message)))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await;
        // After the write: a count that follows folds it in.
        self.stream.changed();
        match put {
            Ok(_) => Ok(Put::Made),
            // The SDK retries a write whose answer was lost; the retry then
            // finds the item its first try wrote. That one is ours.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_conditional_check_failed_exception()) =>
            {
                if self.get(message.id).await?.as_ref() == Some(message) {
                    Ok(Put::Made)
                } else {
                    Ok(Put::Other)
                }
            }
            Err(error) => Err(BackendError::new("DynamoDB PutItem", error)),
        }
    }
}

#[async_trait]
impl MessageLifecycle for DynamoStore {
    async fn create(&self, message: &Message) -> Result<(), BackendError> {
        match self.put_new(message).await? {
            Put::Made => Ok(()),
            Put::Other => Err(BackendError::new(
                "DynamoDB PutItem",
                format!("a message with id {} exists already", message.id),
            )),
        }
    }

    async fn get(&self, id: MessageId) -> Result<Option<Message>, BackendError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(message_key(id)))
            // The worker decides "already done?" from this read: it must see the latest write.
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| BackendError::new("DynamoDB GetItem", error))?;
        output.item.as_ref().map(from_item).transpose()
    }

    async fn finish(&self, id: MessageId, outcome: &Outcome) -> Result<Transition, BackendError> {
        let status = Status::from(outcome.status);
        let mut set = vec![
            "#status = :final",
            "attempts = :attempts",
            "updated_at = :at",
        ];
        let mut remove = Vec::new();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(message_key(id)))
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#status_shard", STATUS_SHARD)
            .expression_attribute_values(":pending", s(Status::Pending.as_str()))
            .expression_attribute_values(":final", s(status.as_str()))
            .expression_attribute_values(
                ":attempts",
                AttributeValue::N(outcome.attempts.to_string()),
            )
            .expression_attribute_values(":at", time(outcome.at));
        // The index entry moves to the final status's shard of the same
        // number, or leaves the index for a status it does not list.
        match indexed_status_key(status, shard_of(id)) {
            Some(key) => {
                set.push("#status_shard = :final_shard");
                update = update.expression_attribute_values(":final_shard", s(key));
            }
            None => remove.push("#status_shard"),
        }
        if let Some(event) = &outcome.event {
            set.push(APPEND_HISTORY);
            update = with_event(update, event);
        }
        update = update.expression_attribute_names("#error", "error");
        match &outcome.error {
            Some(error) => {
                set.push("#error = :error");
                update = update.expression_attribute_values(":error", s(error));
            }
            // A success clears the error of an earlier failed attempt.
            None => remove.push("#error"),
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression = format!("{expression} REMOVE {}", remove.join(", "));
        }
        update = update.update_expression(expression);
        // One write, which answers with the item as it is now: the count
        // follows from the table's stream (`stream_counts.rs`).
        let result = update.return_values(ReturnValue::AllNew).send().await;
        self.stream.changed();
        self.transition_after(id, result).await
    }

    async fn record_attempt(
        &self,
        id: MessageId,
        attempts: u32,
        error: &str,
        at: DateTime<Utc>,
        event: &Event,
    ) -> Result<Transition, BackendError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(message_key(id)))
            .update_expression(format!(
                "SET attempts = :attempts, updated_at = :at, #error = :error, {APPEND_HISTORY}"
            ))
            // Only on a pending message, and never backwards: a slow duplicate
            // of attempt 2 must not overwrite what attempt 3 recorded.
            .condition_expression("#status = :pending AND attempts < :attempts")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#error", "error")
            .expression_attribute_values(":pending", s(Status::Pending.as_str()))
            .expression_attribute_values(":attempts", AttributeValue::N(attempts.to_string()))
            .expression_attribute_values(":at", time(at))
            .expression_attribute_values(":error", s(error))
            .return_values(ReturnValue::AllNew);
        let result = with_event(request, event).send().await;
        self.transition_after(id, result).await
    }

    async fn note_started(&self, id: MessageId, event: &Event) -> Result<bool, BackendError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(message_key(id)))
            .update_expression(format!("SET {APPEND_HISTORY}"))
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s(Status::Pending.as_str()))
            .return_values(ReturnValue::AllNew);
        match with_event(request, event).send().await {
            Ok(output) => {
                if let Some(item) = output.attributes {
                    self.keep_history_bounded(&mut from_item(&item)?).await;
                }
                Ok(true)
            }
            // Final or gone: the delivery's answer is what counts now.
            Err(error) if condition_failed(&error) => Ok(false),
            Err(error) => Err(BackendError::new("DynamoDB UpdateItem", error)),
        }
    }

    async fn create_batch(&self, messages: &[Message]) -> Result<(), BackendError> {
        // Each message with its own conditional put, [`CREATES_AT_ONCE`] in
        // flight: the same write units as a `BatchWriteItem` (one per
        // message), and, unlike it, a put never overwrites a message that
        // exists, so a final status never flips back to `pending`.
        let mut creates = tokio::task::JoinSet::new();
        let mut first_error = None;
        for message in messages {
            if creates.len() >= CREATES_AT_ONCE
                && let Some(done) = creates.join_next().await
            {
                note_error(&mut first_error, done);
            }
            let (store, message) = (self.clone(), message.clone());
            creates.spawn(async move { store.create(&message).await });
        }
        while let Some(done) = creates.join_next().await {
            note_error(&mut first_error, done);
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn get_many(&self, ids: &[MessageId]) -> Result<Vec<Message>, BackendError> {
        let keys: Vec<Item> = ids
            .iter()
            .take(messages::MAX_PAGE as usize)
            .map(|id| message_key(*id))
            .collect();
        batch_get::consistent(&self.client, &self.table, keys)
            .await?
            .iter()
            .map(from_item)
            .collect()
    }
}
