//! The status store on Amazon DynamoDB.
//!
//! The table design (keys, shards, projections, and what each costs) is in
//! `layout.rs`; items are written and read in `item.rs`; lists that span the
//! shards are read in `fan_out.rs`, and many items at once in `batch_get.rs`. The same table holds idempotency keys
//! (`keys.rs`) and the operator's sessions (`sessions.rs`, [`DynamoSessions`]).
//!
//! Pages are cut with a key condition `id < :cursor` rather than
//! `ExclusiveStartKey`, which stays right when the cursor's message has since
//! changed status and left the index partition.

mod batch_get;
mod counters;
mod fan_out;
mod item;
mod keys;
mod layout;
mod sessions;

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, Select, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};

use counters::{Transacted, adjust, counter_shard, transact};
use fan_out::{Order, ReadOn, ids_of_every_shard};
use item::{Item, from_item, history, s, time, to_item};
pub use keys::EXPIRES_AT;
pub use layout::{
    GROUP_SHARD, INDEX_BY_GROUP, INDEX_BY_STATUS, INDEX_NEWEST, SHARD, STATUS_INDEX_COPIES,
    STATUS_SHARD,
};
use layout::{SHARDS, group_key, shard_key, shard_of, status_key};
use messages::{
    BackendError, Claimed, Event, IdempotencyKey, KeyClaim, KeyOutcome, ListQuery, MAX_HISTORY,
    Message, MessageId, Outcome, Page, Requeues, StaleQuery, Status, StatusStore, Transition,
};
pub use sessions::DynamoSessions;

/// A DynamoDB table of messages.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// Uses `client` for the table named `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

/// A row count as an index. Every target this builds for has a `usize` of
/// at least 32 bits.
fn to_usize(count: u32) -> usize {
    usize::try_from(count).expect("a u32 fits in usize on 32- and 64-bit targets")
}

type UpdateResult = Result<UpdateItemOutput, SdkError<UpdateItemError, HttpResponse>>;

/// Whether a conditional update was refused by its condition: an expected
/// outcome (a duplicate or a lost race), not an error.
fn condition_failed(error: &SdkError<UpdateItemError, HttpResponse>) -> bool {
    error
        .as_service_error()
        .is_some_and(UpdateItemError::is_conditional_check_failed_exception)
}

/// The SET clause that adds an event to the timeline; [`with_event`] gives
/// it its values.
const APPEND_HISTORY: &str = "history = list_append(if_not_exists(history, :no_events), :event)";

fn with_event(request: UpdateItemFluentBuilder, event: &Event) -> UpdateItemFluentBuilder {
    request
        .expression_attribute_values(":no_events", AttributeValue::L(Vec::new()))
        .expression_attribute_values(":event", history(std::slice::from_ref(event)))
}

/// `update` as an item of a transaction.
fn transact_update(
    update: aws_sdk_dynamodb::types::builders::UpdateBuilder,
) -> Result<TransactWriteItem, BackendError> {
    let update = update
        .build()
        .map_err(|error| BackendError::new("building a DynamoDB update", error))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// How many events the item `attributes` holds in its timeline.
fn history_len(attributes: Option<&Item>) -> usize {
    match attributes.and_then(|item| item.get("history")) {
        Some(AttributeValue::L(events)) => events.len(),
        _ => 0,
    }
}

/// Whether a conditional update that claims something won it: refused by its
/// condition means someone else holds the claim, not an error.
fn won(result: UpdateResult) -> Result<bool, BackendError> {
    match result {
        Ok(_) => Ok(true),
        Err(error) if condition_failed(&error) => Ok(false),
        Err(error) => Err(BackendError::new("DynamoDB UpdateItem", error)),
    }
}

impl DynamoStore {
    /// The transition a conditional update made: the record as written, or,
    /// when its condition failed, why.
    async fn transition_after(
        &self,
        id: MessageId,
        result: UpdateResult,
    ) -> Result<Transition, BackendError> {
        match result {
            // Every update asks for ALL_NEW, so an applied one returns the item.
            Ok(output) => match output.attributes {
                Some(item) => {
                    let mut message = from_item(&item)?;
                    self.keep_history_bounded(&mut message).await;
                    Ok(Transition::Applied(message))
                }
                None => Err(BackendError::new(
                    "DynamoDB UpdateItem",
                    "the update was applied but DynamoDB returned no item",
                )),
            },
            Err(error) if condition_failed(&error) => self.explain_condition_failure(id).await,
            Err(error) => Err(BackendError::new("DynamoDB UpdateItem", error)),
        }
    }

    /// A Query on `index` whose partition key `attribute` equals `value`,
    /// with `range` (a condition on `id`, or none) added to the key condition.
    /// A Query of one shard of the pending messages, oldest or newest first.
    fn pending_shard(&self, shard: u8, range: Option<(&str, MessageId)>) -> QueryFluentBuilder {
        self.query_index(
            INDEX_BY_STATUS,
            STATUS_SHARD,
            status_key(Status::Pending, shard),
            range,
        )
    }

    fn query_index(
        &self,
        index: &str,
        attribute: &str,
        value: String,
        range: Option<(&str, MessageId)>,
    ) -> QueryFluentBuilder {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .expression_attribute_names("#partition", attribute)
            .expression_attribute_values(":partition", s(value));
        match range {
            Some((operator, id)) => request
                .key_condition_expression(format!("#partition = :partition AND id {operator} :id"))
                .expression_attribute_values(":id", s(id)),
            None => request.key_condition_expression("#partition = :partition"),
        }
    }

    /// The messages of `ids`, in that order, read consistently, keeping those
    /// `keep` accepts: an index is read eventually, so a message may have left
    /// the listed status since its entry was written.
    async fn messages_in_order(
        &self,
        ids: &[MessageId],
        keep: impl Fn(&Message) -> bool,
    ) -> Result<Vec<Message>, BackendError> {
        let mut found: HashMap<MessageId, Message> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(messages::MAX_PAGE as usize) {
            for message in self.get_many(chunk).await? {
                found.insert(message.id, message);
            }
        }
        Ok(ids
            .iter()
            .filter_map(|id| found.remove(id))
            .filter(|message| keep(message))
            .collect())
    }

    /// Drops the oldest events of `message`'s timeline past [`MAX_HISTORY`],
    /// in the table and, when that applied, in `message`.
    async fn keep_history_bounded(&self, message: &mut Message) {
        let len = message.history.len();
        if self.trim_history(message.id, len).await {
            message.history.drain(..len - MAX_HISTORY);
        }
    }

    /// Removes the oldest events past [`MAX_HISTORY`] of a timeline seen with
    /// `len` events, only if it still has that many (a concurrent append
    /// leaves the trim to the next write). The append and the trim are two
    /// writes: between them the timeline is a few events longer, never lost.
    /// Best effort: the change it follows has applied, so a failed trim is
    /// logged and left to the next write, never reported as the change
    /// failing. Returns whether it trimmed.
    async fn trim_history(&self, id: MessageId, len: usize) -> bool {
        if len <= MAX_HISTORY {
            return false;
        }
        let oldest: Vec<String> = (0..len - MAX_HISTORY)
            .map(|index| format!("history[{index}]"))
            .collect();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id))
            .update_expression(format!("REMOVE {}", oldest.join(", ")))
            .condition_expression("size(history) = :len")
            .expression_attribute_values(":len", AttributeValue::N(len.to_string()))
            .send()
            .await;
        won(result).unwrap_or_else(|error| {
            tracing::warn!(error = %error.chain(), %id, "a timeline could not be trimmed; the next write tries again");
            false
        })
    }

    /// Sets the counters of a table made before them, from its status index:
    /// for each status with no counter at all, the messages of each index
    /// shard go to the counter of the same number (only a status's sum
    /// means anything). A status with any counter has been counted by
    /// live writes already and is left alone. `web provision` runs it; run
    /// that before the version with counters takes traffic. Returns how
    /// many counters it set.
    pub async fn fill_missing_counters(&self) -> Result<usize, BackendError> {
        let mut set = 0;
        for status in Status::ALL {
            if !counters::present(&self.client, &self.table, status)
                .await?
                .is_empty()
            {
                continue;
            }
            for shard in 0..SHARDS {
                let mut count = 0u64;
                let mut start = None;
                loop {
                    let output = self
                        .query_index(
                            INDEX_BY_STATUS,
                            STATUS_SHARD,
                            status_key(status, shard),
                            None,
                        )
                        .select(Select::Count)
                        .set_exclusive_start_key(start)
                        .send()
                        .await
                        .map_err(|error| BackendError::new("DynamoDB Query", error))?;
                    count += u64::try_from(output.count).unwrap_or(0);
                    start = output.last_evaluated_key.filter(|key| !key.is_empty());
                    if start.is_none() {
                        break;
                    }
                }
                // No counter is a count of zero: nothing to write.
                if count > 0 {
                    counters::set_missing(&self.client, &self.table, status, shard, count).await?;
                    set += 1;
                }
            }
        }
        Ok(set)
    }

    /// A message's item as a conditional put of a new item, for a transaction.
    fn put_new(&self, message: &Message) -> Result<TransactWriteItem, BackendError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(message)))
            .condition_expression("attribute_not_exists(id)")
            .build()
            .map_err(|error| BackendError::new("building a DynamoDB put", error))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// What a transaction that changed message `id` did: applied (the
    /// message as it is now, read consistently, since a transaction returns
    /// no item), or refused by its condition (why, from the record).
    async fn transition_after_transaction(
        &self,
        id: MessageId,
        transacted: Transacted,
    ) -> Result<Transition, BackendError> {
        match transacted {
            Transacted::Applied => match self.get(id).await? {
                Some(mut message) => {
                    self.keep_history_bounded(&mut message).await;
                    Ok(Transition::Applied(message))
                }
                None => Ok(Transition::NotFound),
            },
            Transacted::Refused => self.explain_condition_failure(id).await,
        }
    }

    /// After a conditional write lost, says why: gone, or already final.
    async fn explain_condition_failure(&self, id: MessageId) -> Result<Transition, BackendError> {
        Ok(Transition::from_current(self.get(id).await?))
    }
}

#[async_trait]
impl StatusStore for DynamoStore {
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

    async fn list(&self, query: ListQuery) -> Result<Page, BackendError> {
        let limit = to_usize(query.limit.clamp(1, messages::MAX_PAGE));
        let range = query.cursor.map(|cursor| ("<", cursor));
        // One id more than the page tells whether there is a next page.
        let mut ids = match (&query.group, query.status) {
            (Some(group), _) => {
                ids_of_every_shard(
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
            (None, Some(status)) => {
                ids_of_every_shard(
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
                    |shard| self.query_index(INDEX_NEWEST, SHARD, shard_key(shard), range),
                    Order::NewestFirst,
                    limit + 1,
                    ReadOn::UntilFull,
                )
                .await?
            }
        };
        // The cursor is the page's last id in the index, whether or not that
        // message is still in the listed status.
        let next_cursor = (ids.len() > limit).then(|| ids[limit - 1]);
        ids.truncate(limit);
        let items = self
            .messages_in_order(&ids, |message| {
                query.status.is_none_or(|status| message.status == status)
            })
            .await?;
        Ok(Page { items, next_cursor })
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

    async fn newer_than(&self, after: MessageId, limit: u32) -> Result<Vec<Message>, BackendError> {
        let wanted = to_usize(limit.clamp(1, messages::MAX_PAGE));
        let ids = ids_of_every_shard(
            |shard| self.query_index(INDEX_NEWEST, SHARD, shard_key(shard), Some((">", after))),
            Order::OldestFirst,
            wanted,
            ReadOn::UntilFull,
        )
        .await?;
        self.messages_in_order(&ids, |_| true).await
    }

    async fn count(&self, status: Status) -> Result<u64, BackendError> {
        // The status's counters (`counters.rs`): one BatchGetItem.
        counters::read(&self.client, &self.table, status).await
    }

    async fn oldest_pending(&self) -> Result<Option<MessageId>, BackendError> {
        // The first key of each pending shard: one item per shard read
        // (`Limit` 1), whatever the backlog.
        let ids = ids_of_every_shard(
            |shard| self.pending_shard(shard, None),
            Order::OldestFirst,
            1,
            ReadOn::UntilFull,
        )
        .await?;
        Ok(ids.into_iter().next())
    }

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
            .key("id", s(id))
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
            .key("id", s(format!("{SCHEDULED_RUN_PREFIX}{task}")))
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

    async fn claim_key(
        &self,
        key: &IdempotencyKey,
        claim: &KeyClaim,
    ) -> Result<Claimed, BackendError> {
        keys::claim(&self.client, &self.table, key, claim).await
    }

    async fn settle_key(
        &self,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
        outcome: &KeyOutcome,
    ) -> Result<bool, BackendError> {
        keys::settle(&self.client, &self.table, key, claimed_at, outcome).await
    }

    async fn release_key(
        &self,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
    ) -> Result<(), BackendError> {
        keys::release(&self.client, &self.table, key, claimed_at).await
    }

    fn describe(&self) -> String {
        format!("DynamoDB table {}", self.table)
    }

    fn service(&self) -> &'static str {
        "Amazon DynamoDB"
    }
}

/// Index pages one sweeper query reads at most per shard (each up to 1 MB of
/// entries of about 150 bytes: some 7,000 messages): a bounded read per run,
/// every few minutes, whatever the backlog.
const SWEEP_PAGES_PER_SHARD: usize = 1;

/// The key prefix of the items that record each periodic task's latest run.
const SCHEDULED_RUN_PREFIX: &str = "periodic-task#";
