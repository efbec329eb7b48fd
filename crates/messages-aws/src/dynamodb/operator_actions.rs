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
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(message_key(id)))
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
            .expression_attribute_values(":event", history(&[Event::Retried { at }]))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        self.stream.changed();
        match result {
            Ok(output) => Ok(Some(self.written(output).await?)),
            // Not failed (or gone): nothing to retry.
            Err(error) if condition_failed(&error) => Ok(None),
            Err(error) => Err(BackendError::new("DynamoDB UpdateItem", error)),
        }
    }

    async fn delete_failed(&self, id: MessageId) -> Result<bool, BackendError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(message_key(id)))
            .condition_expression("#status = :fail")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":fail", s(Status::Fail.as_str()))
            .send()
            .await;
        self.stream.changed();
        match deleted {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(BackendError::new("DynamoDB DeleteItem", error)),
        }
    }
}
