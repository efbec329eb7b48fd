//! The status store on DynamoDB: the `DashboardReads` role. What the pages
//! and the dashboard read: lists, counts, the newest and the oldest
//! waiting.

use super::*;

/// How many items a page of a status listed from the table may pass over
/// per id it shows before it stops short with a cursor: a page of 100
/// `complete` messages under a backlog of a million `pending` ones reads
/// about 2,000 to 4,000 items (a round may overshoot; some 300 to 600 read
/// units), not the million.
const MOST_PASSED_OVER_PER_ID: usize = 20;

/// The least a page may pass over for each shard, whatever its size: a page
/// that stops short goes on only as far as the shard it read least far, so
/// a page of one reads a few items from each, not one.
const LEAST_PASSED_OVER_PER_SHARD: usize = 4;

#[async_trait]
impl DashboardReads for DynamoStore {
    async fn list(&self, query: ListQuery) -> Result<Page, BackendError> {
        let limit = to_usize(query.limit.clamp(1, messages::MAX_PAGE));
        let range = query.cursor.map(|cursor| ("<", cursor));
        // Where a filtered read stopped short of a full page, if it did.
        let mut read_to = None;
        // One id more than the page tells whether there is a next page.
        let mut ids = match (&query.group, query.status) {
            (Some(group), _) => {
                ids_of_every_shard(
                    SHARDS,
                    |shard| {
                        self.query_index(
                            INDEX_BY_GROUP,
                            GROUP_SHARD,
                            group_key(group, shard),
                            range,
                        )
                    },
                    Order::NewestFirst,
                    limit + 1,
                    ReadOn::UntilFull,
                )
                .await?
            }
            (None, Some(status)) if !status_is_indexed(status) => {
                // Read from the table, passing over the messages of other
                // statuses, at most [`MOST_PASSED_OVER_PER_ID`] per id of
                // the page (`layout.rs`, "Index entries").
                let listed = ids_filtered_in_rounds(
                    SHARDS,
                    |shard| of_status(self.table_shard(shard, range), status),
                    Order::NewestFirst,
                    limit + 1,
                    ((limit + 1) * MOST_PASSED_OVER_PER_ID)
                        .max(usize::from(SHARDS) * LEAST_PASSED_OVER_PER_SHARD),
                )
                .await?;
                read_to = listed.read_to;
                listed.ids
            }
            (None, Some(status)) => {
                ids_of_every_shard(
                    SHARDS,
                    |shard| {
                        self.query_index(
                            INDEX_BY_STATUS,
                            STATUS_SHARD,
                            status_key(status, shard),
                            range,
                        )
                    },
                    Order::NewestFirst,
                    limit + 1,
                    ReadOn::UntilFull,
                )
                .await?
            }
            (None, None) => {
                ids_of_every_shard(
                    SHARDS,
                    |shard| self.table_shard(shard, range),
                    Order::NewestFirst,
                    limit + 1,
                    ReadOn::UntilFull,
                )
                .await?
            }
        };
        // The cursor is the page's last id in the index, whether or not that
        // message is still in the listed status.
        // A read that stopped short goes on after the last id it read.
        let next_cursor = if ids.len() > limit {
            Some(ids[limit - 1])
        } else {
            read_to
        };
        ids.truncate(limit);
        let items = self
            .messages_in_order(&ids, |message| {
                query.status.is_none_or(|status| message.status == status)
            })
            .await?;
        Ok(Page { items, next_cursor })
    }

    async fn newer_than(&self, after: MessageId, limit: u32) -> Result<Vec<Message>, BackendError> {
        let wanted = to_usize(limit.clamp(1, messages::MAX_PAGE));
        let ids = ids_of_every_shard(
            SHARDS,
            |shard| self.table_shard(shard, Some((">", after))),
            Order::OldestFirst,
            wanted,
            ReadOn::UntilFull,
        )
        .await?;
        self.messages_in_order(&ids, |_| true).await
    }

    async fn count(&self, status: Status) -> Result<u64, BackendError> {
        // Folded from the table's stream (`stream_counts.rs`): the changes
        // not yet folded first, then one GetItem.
        self.fold_for_a_count().await?;
        self.folded_count(status).await
    }

    async fn counts(&self) -> Result<Vec<(Status, u64)>, BackendError> {
        // One fold and one GetItem for the three: they are one item.
        self.fold_for_a_count().await?;
        self.folded_counts().await
    }

    async fn oldest_pending(&self) -> Result<Option<MessageId>, BackendError> {
        // The first key of each pending shard: one item per shard read
        // (`Limit` 1), whatever the backlog.
        let ids = ids_of_every_shard(
            SHARDS,
            |shard| self.pending_shard(shard, None),
            Order::OldestFirst,
            1,
            ReadOn::UntilFull,
        )
        .await?;
        Ok(ids.into_iter().next())
    }
}
