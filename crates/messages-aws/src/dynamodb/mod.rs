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
mod copy_from;
mod fan_out;
mod item;
mod keys;
mod layout;
mod lifecycle;
mod operator_actions;
mod reads;
mod run_claims;
mod sessions;
mod stored_body;
mod stored_event;
mod stream_counts;
mod sweeping;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, Select};
use chrono::{DateTime, Utc};

pub use copy_from::Copied;
use fan_out::{Order, ReadOn, ids_filtered_in_rounds, ids_of_every_shard};
use item::{Item, from_item, history, s, time, to_item};
pub use keys::EXPIRES_AT;
pub use layout::{
    GROUP_SHARD, INDEX_BY_GROUP, INDEX_BY_STATUS, SHARD, STATUS_INDEX_COPIES, STATUS_SHARD,
};
use layout::{
    SHARDS, group_key, indexed_status_key, message_key, named_key, shard_key, shard_of,
    status_is_indexed, status_key,
};
use messages::{
    BackendError, DashboardReads, Event, ListQuery, MAX_HISTORY, Message, MessageId,
    MessageLifecycle, OperatorActions, Outcome, Page, Requeues, RunClaims, StaleQuery, Status,
    StatusStore, SweeperQueries, Transition,
};
pub use sessions::DynamoSessions;
pub use stream_counts::fold_in_background;

/// A DynamoDB table of messages.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    /// The table's stream, which the status counts are folded from.
    streams: aws_sdk_dynamodbstreams::Client,
    table: String,
    /// What the store remembers of the table's stream.
    stream: Arc<stream_counts::StreamCache>,
}

impl DynamoStore {
    /// The table named `table`, through clients made from `config`.
    pub fn new(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self {
            client: Client::new(config),
            streams: aws_sdk_dynamodbstreams::Client::new(config),
            table: table.into(),
            stream: Arc::default(),
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

/// `request` keeping only the messages of `status`: a filter, for a status
/// the status index does not list (`layout.rs`, "Index entries").
fn of_status(request: QueryFluentBuilder, status: Status) -> QueryFluentBuilder {
    request
        .filter_expression("#status = :status")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":status", s(status.as_str()))
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
            Ok(output) => Ok(Transition::Applied(self.written(output).await?)),
            Err(error) if condition_failed(&error) => self.explain_condition_failure(id).await,
            Err(error) => Err(BackendError::new("DynamoDB UpdateItem", error)),
        }
    }

    /// The message an applied update wrote: every update of a message asks
    /// for ALL_NEW, so DynamoDB returns it, and no read follows.
    async fn written(&self, output: UpdateItemOutput) -> Result<Message, BackendError> {
        let Some(item) = output.attributes else {
            return Err(BackendError::new(
                "DynamoDB UpdateItem",
                "the update was applied but DynamoDB returned no item",
            ));
        };
        let mut message = from_item(&item)?;
        self.keep_history_bounded(&mut message).await;
        Ok(message)
    }

    /// A Query of one shard of the pending messages, oldest or newest first.
    fn pending_shard(&self, shard: u8, range: Option<(&str, MessageId)>) -> QueryFluentBuilder {
        self.query_index(
            INDEX_BY_STATUS,
            STATUS_SHARD,
            status_key(Status::Pending, shard),
            range,
        )
    }

    /// A Query of one shard of the table itself: every message of the shard,
    /// by id, with `range` (a condition on `id`, or none). It reads only the
    /// ids: the page's messages are read after, consistently.
    fn table_shard(&self, shard: u8, range: Option<(&str, MessageId)>) -> QueryFluentBuilder {
        self.query_partition(None, SHARD, shard_key(shard), range)
            .projection_expression("id")
    }

    /// A Query on `index` whose partition key `attribute` equals `value`,
    /// with `range` (a condition on `id`, or none) added to the key condition.
    fn query_index(
        &self,
        index: &str,
        attribute: &str,
        value: String,
        range: Option<(&str, MessageId)>,
    ) -> QueryFluentBuilder {
        self.query_partition(Some(index), attribute, value, range)
    }

    /// A Query on `index`, or the table when none, whose partition key
    /// `attribute` equals `value`, with `range` added to the key condition.
    fn query_partition(
        &self,
        index: Option<&str>,
        attribute: &str,
        value: String,
        range: Option<(&str, MessageId)>,
    ) -> QueryFluentBuilder {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(str::to_owned))
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
            .set_key(Some(message_key(id)))
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

    /// Starts the status counts the table's stream is folded into
    /// (`stream_counts.rs`), unless they are started: with the counts the
    /// table holds now, the sizes of its status index's shards. A new table
    /// starts at zero, and then every record of the stream is folded. Counts
    /// that are not zero are dated, and the records made in or before that
    /// second are not folded. The first fold runs it, and `web provision`; a
    /// change made later in the second it runs is missed.
    /// Returns the counts it started with, if it did.
    pub async fn start_stream_counts(&self) -> Result<Option<HashMap<Status, u64>>, BackendError> {
        if self.counts_started().await? {
            return Ok(None);
        }
        let started = Utc::now().timestamp();
        let mut counts = HashMap::new();
        for status in Status::ALL {
            counts.insert(status, self.count_in_table(status).await?);
        }
        let dated = counts.values().any(|count| *count > 0).then_some(started);
        Ok(self.start_counts(&counts, dated).await?.then_some(counts))
    }

    /// How many messages of `status` the table holds: shard by shard of the
    /// status index, or of the table for a status the index does not list.
    async fn count_in_table(&self, status: Status) -> Result<u64, BackendError> {
        let query = |shard| {
            if status_is_indexed(status) {
                self.query_index(
                    INDEX_BY_STATUS,
                    STATUS_SHARD,
                    status_key(status, shard),
                    None,
                )
            } else {
                of_status(
                    self.query_partition(None, SHARD, shard_key(shard), None),
                    status,
                )
            }
        };
        let mut count = 0u64;
        for shard in 0..SHARDS {
            let mut start = None;
            loop {
                let output = query(shard)
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
        }
        Ok(count)
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
