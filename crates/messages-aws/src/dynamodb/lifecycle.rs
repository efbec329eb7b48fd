//! The status store on DynamoDB: the `MessageLifecycle` role. A message's
//! life: created `pending`, read, its attempts noted, finished once.

use super::*;

#[async_trait]
impl MessageLifecycle for DynamoStore {
    async fn create(&self, message: &Message) -> Result<(), BackendError> {
        let items = vec![
            self.put_new(message)?,
            adjust(&self.table, message.status, counter_shard(message.id), 1)?,
        ];
        match transact(&self.client, items).await? {
            Transacted::Applied => Ok(()),
            // The SDK retries a transaction whose answer was lost; the retry
            // then finds the item its first try wrote. That one is ours.
            Transacted::Refused if self.get(message.id).await?.as_ref() == Some(message) => Ok(()),
            Transacted::Refused => Err(BackendError::new(
                "DynamoDB TransactWriteItems",
                format!("a message with id {} exists already", message.id),
            )),
        }
    }

    async fn get(&self, id: MessageId) -> Result<Option<Message>, BackendError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", s(id))
            // The worker decides "already done?" from this read: it must see the latest write.
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| BackendError::new("DynamoDB GetItem", error))?;
        output.item.as_ref().map(from_item).transpose()
    }

    async fn finish(&self, id: MessageId, outcome: &Outcome) -> Result<Transition, BackendError> {
        let status = Status::from(outcome.status);
        let mut set = "SET #status = :final, #status_shard = :final_shard, attempts = :attempts, updated_at = :at".to_owned();
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("id", s(id))
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#status_shard", STATUS_SHARD)
            .expression_attribute_names("#error", "error")
            .expression_attribute_values(":pending", s(Status::Pending.as_str()))
            .expression_attribute_values(":final", s(status.as_str()))
            // The entry moves to the final status's shard of the same number.
            .expression_attribute_values(":final_shard", s(status_key(status, shard_of(id))))
            .expression_attribute_values(
                ":attempts",
                AttributeValue::N(outcome.attempts.to_string()),
            )
            .expression_attribute_values(":at", time(outcome.at));
        if let Some(event) = &outcome.event {
            set = format!("{set}, {APPEND_HISTORY}");
            update = update
                .expression_attribute_values(":no_events", AttributeValue::L(Vec::new()))
                .expression_attribute_values(":event", history(std::slice::from_ref(event)));
        }
        update = match &outcome.error {
            Some(error) => update
                .update_expression(format!("{set}, #error = :error"))
                .expression_attribute_values(":error", s(error)),
            // A success clears the error of an earlier failed attempt.
            None => update.update_expression(format!("{set} REMOVE #error")),
        };
        let shard = counter_shard(id);
        let items = vec![
            transact_update(update)?,
            adjust(&self.table, Status::Pending, shard, -1)?,
            adjust(&self.table, status, shard, 1)?,
        ];
        self.transition_after_transaction(id, transact(&self.client, items).await?)
            .await
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
            .key("id", s(id))
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
            .key("id", s(id))
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
        // One transaction per 25 messages: their items and their counters
        // (one update per status and shard among them), at most 50 of the
        // 100 items a transaction takes.
        for chunk in messages.chunks(25) {
            let mut deltas: BTreeMap<(&'static str, u8), (Status, i64)> = BTreeMap::new();
            let mut items = Vec::with_capacity(chunk.len() * 2);
            for message in chunk {
                items.push(self.put_new(message)?);
                deltas
                    .entry((message.status.as_str(), counter_shard(message.id)))
                    .or_insert((message.status, 0))
                    .1 += 1;
            }
            for ((_, shard), (status, delta)) in deltas {
                items.push(adjust(&self.table, status, shard, delta)?);
            }
            if let Transacted::Refused = transact(&self.client, items).await? {
                // A retry of a transaction whose answer was lost finds its
                // own items: then it is done.
                let ids: Vec<MessageId> = chunk.iter().map(|message| message.id).collect();
                let found = self.get_many(&ids).await?;
                if found.len() != chunk.len()
                    || !chunk.iter().all(|message| found.contains(message))
                {
                    return Err(BackendError::new(
                        "DynamoDB TransactWriteItems",
                        "a message of the batch exists already",
                    ));
                }
            }
        }
        Ok(())
    }

    async fn get_many(&self, ids: &[MessageId]) -> Result<Vec<Message>, BackendError> {
        let keys: Vec<Item> = ids
            .iter()
            .take(messages::MAX_PAGE as usize)
            .map(|id| Item::from([("id".to_owned(), s(*id))]))
            .collect();
        batch_get::consistent(&self.client, &self.table, keys)
            .await?
            .iter()
            .map(from_item)
            .collect()
    }
}
