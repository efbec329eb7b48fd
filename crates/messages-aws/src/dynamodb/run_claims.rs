//! The status store on DynamoDB: the `RunClaims` role. Periodic runs
//! claimed once, for the scheduler.

use super::*;

/// The key prefix of the items that record each periodic task's latest run.
const SCHEDULED_RUN_PREFIX: &str = "periodic-task#";

#[async_trait]
impl RunClaims for DynamoStore {
    async fn claim_scheduled_run(
        &self,
        task: &str,
        scheduled_at: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        // One item per task in the messages table, keyed so that no message id
        // can equal it (ids are UUIDs). It has no index key (`layout.rs`),
        // so no index holds it: lists and counts never see it.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(named_key(format!("{SCHEDULED_RUN_PREFIX}{task}"))))
            .update_expression("SET scheduled_at_ms = :at")
            .condition_expression("attribute_not_exists(scheduled_at_ms) OR scheduled_at_ms < :at")
            .expression_attribute_values(
                ":at",
                AttributeValue::N(scheduled_at.timestamp_millis().to_string()),
            )
            .send()
            .await;
        won(result)
    }
}
