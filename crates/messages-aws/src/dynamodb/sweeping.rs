//! The status store on DynamoDB: the `SweeperQueries` role. What the
//! sweeper finds stuck in `pending`, and its claims to enqueue again.

use super::*;

/// Index pages one sweeper query reads at most per shard (each up to 1 MB of
/// entries of about 150 bytes: some 7,000 messages): a bounded read per run,
/// every few minutes, whatever the backlog.
const SWEEP_PAGES_PER_SHARD: usize = 1;

#[async_trait]
impl SweeperQueries for DynamoStore {
    async fn stale_pending(&self, query: StaleQuery) -> Result<Vec<Message>, BackendError> {
        // A message that never was re-enqueued may have no `requeues` yet. The
        // index copies both attributes the filter reads (`layout.rs`).
        let (filter, bound) = match query.requeues {
            Requeues::Fewer(bound) => (
                "updated_at < :idle AND (attribute_not_exists(requeues) OR requeues < :requeues)",
                bound,
            ),
            Requeues::AtLeast(bound) => ("updated_at < :idle AND requeues >= :requeues", bound),
        };
        let before = MessageId::floor(query.idle_since);
        let wanted = to_usize(query.limit.clamp(1, 1000));
        let ids = ids_of_every_shard(
            SHARDS,
            |shard| {
                self.pending_shard(shard, Some(("<", before)))
                    .filter_expression(filter)
                    .expression_attribute_values(":idle", time(query.idle_since))
                    .expression_attribute_values(":requeues", AttributeValue::N(bound.to_string()))
            },
            // Oldest first: the messages most likely to be stuck.
            Order::OldestFirst,
            wanted,
            ReadOn::FilteredPages(SWEEP_PAGES_PER_SHARD),
        )
        .await?;
        // Read again, consistently: the sweeper claims a message by the
        // `updated_at` it sees, which must be the latest.
        self.messages_in_order(&ids, |message| {
            message.status == Status::Pending
                && message.updated_at < query.idle_since
                && query.requeues.admits(message.requeues)
        })
        .await
    }

    async fn claim_requeue(
        &self,
        id: MessageId,
        seen: DateTime<Utc>,
        at: DateTime<Utc>,
        note: &str,
    ) -> Result<bool, BackendError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(message_key(id)))
            .update_expression(format!(
                "SET updated_at = :at, #error = :note, requeues = if_not_exists(requeues, :zero) + :one, {APPEND_HISTORY}"
            ))
            .condition_expression("#status = :pending AND updated_at = :seen")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#error", "error")
            .expression_attribute_values(":pending", s(Status::Pending.as_str()))
            .expression_attribute_values(":seen", time(seen))
            .expression_attribute_values(":at", time(at))
            .expression_attribute_values(":note", s(note))
            .expression_attribute_values(":zero", AttributeValue::N("0".to_owned()))
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .return_values(ReturnValue::AllNew);
        let result = with_event(request, &Event::Requeued { at }).send().await;
        if let Ok(output) = &result {
            self.trim_history(id, history_len(output.attributes.as_ref()))
                .await;
        }
        won(result)
    }
}
