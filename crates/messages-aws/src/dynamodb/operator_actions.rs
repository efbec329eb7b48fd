//! The status store on DynamoDB: the `OperatorActions` role. An operator's
//! retry and delete of a failed message.

use super::*;

#[async_trait]
impl OperatorActions for DynamoStore {
    async fn retry(
        &self,
        id: MessageId,
        at: DateTime<Utc>,
    ) -> Result<Option<Message>, BackendError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("id", s(id))
            // The entry moves back to the pending shard of the same number.
            .update_expression(format!(
                "SET #status = :pending, #status_shard = :pending_shard, updated_at = :at, retries = if_not_exists(retries, :zero) + :one, {APPEND_HISTORY} REMOVE #error"
            ))
            .condition_expression("#status = :fail")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#status_shard", STATUS_SHARD)
            .expression_attribute_names("#error", "error")
            .expression_attribute_values(":fail", s(Status::Fail.as_str()))
            .expression_attribute_values(":pending", s(Status::Pending.as_str()))
            .expression_attribute_values(
                ":pending_shard",
                s(status_key(Status::Pending, shard_of(id))),
            )
            .expression_attribute_values(":at", time(at))
            .expression_attribute_values(":zero", AttributeValue::N("0".to_owned()))
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .expression_attribute_values(":no_events", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":event", history(&[Event::Retried { at }]));
        let shard = counter_shard(id);
        let items = vec![
            transact_update(update)?,
            adjust(&self.table, Status::Fail, shard, -1)?,
            adjust(&self.table, Status::Pending, shard, 1)?,
        ];
        match transact(&self.client, items).await? {
            Transacted::Applied => match self
                .transition_after_transaction(id, Transacted::Applied)
                .await?
            {
                Transition::Applied(message) => Ok(Some(message)),
                _ => Ok(None),
            },
            Transacted::Refused => Ok(None),
        }
    }

    async fn delete_failed(&self, id: MessageId) -> Result<bool, BackendError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key("id", s(id))
            .condition_expression("#status = :fail")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":fail", s(Status::Fail.as_str()))
            .build()
            .map_err(|error| BackendError::new("building a DynamoDB delete", error))?;
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            adjust(&self.table, Status::Fail, counter_shard(id), -1)?,
        ];
        Ok(matches!(
            transact(&self.client, items).await?,
            Transacted::Applied
        ))
    }
}
