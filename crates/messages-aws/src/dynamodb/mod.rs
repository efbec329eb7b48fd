//! The status store on Amazon DynamoDB.
//!
//! The table design (keys, shards, projections, and what each costs) is in
//! `layout.rs`; items are written and read in `item.rs`; lists that span the
//! shards are read in `fan_out.rs`, and many items at once in `batch_get.rs`. The same table holds idempotency keys
//! (`keys.rs`) and the operator's sessions (`sessions.rs`, [`DynamoSessions`]).
//! The store's roles are one file each, as the ports split them
//! (`messages::StatusStore`): `lifecycle.rs`, `keys.rs`, `run_claims.rs`,
//! `sweeping.rs`, `operator_actions.rs` and `reads.rs`.
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
mod lifecycle;
mod operator_actions;
mod reads;
mod run_claims;
mod sessions;
mod sweeping;

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
    BackendError, DashboardReads, Event, ListQuery, MAX_HISTORY, Message, MessageId,
    MessageLifecycle, OperatorActions, Outcome, Page, Requeues, RunClaims, StaleQuery, Status,
    StatusStore, SweeperQueries, Transition,
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

impl StatusStore for DynamoStore {
    fn describe(&self) -> String {
        format!("DynamoDB table {}", self.table)
    }

    fn service(&self) -> &'static str {
        "Amazon DynamoDB"
    }
}
