//! The status store on Amazon DynamoDB.
//!
//! # Table design
//! The table's key is `id` alone: every read and write of one message is a
//! single-item operation. Lists must cost in proportion to the page, never a
//! Scan, so two global secondary indexes give them a Query each:
//!
//! - [`INDEX_NEWEST`]: partition key `listing` (the same value, `"all"`, on
//!   every item), sort key `id`. Ids are UUIDv7, so descending `id` is newest
//!   first. One partition takes all writes of this index, which bounds it to
//!   about 1,000 writes a second: plenty for this application; a busier one
//!   would spread `listing` over a few shards and merge their pages.
//! - [`INDEX_BY_STATUS`]: partition key `status`, sort key `id`: one status,
//!   newest first, and the sweeper's oldest `pending` first.
//!
//! Both project all attributes, so a page is one Query with no follow-up reads.
//!
//! The table also holds one item per periodic task of `cron.yaml`, keyed
//! `periodic-task#<name>`, with the time of the task's latest claimed run (the
//! scheduler's leader election, per run). It has neither `listing` nor
//! `status`, so neither index holds it: no list, count or sweep sees it.
//! Pages are cut with a key condition `id < :cursor` rather than
//! `ExclusiveStartKey`, which stays right when the cursor's message has since
//! changed status and left the index partition.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, PutRequest, ReturnValue, Select, WriteRequest,
};
use chrono::{DateTime, Utc};

use messages::{
    BackendError, FinalStatus, ListQuery, Message, MessageId, Outcome, Page, Requeues, StaleQuery,
    Status, StatusStore, Transition,
};

/// The index listing every message, newest first.
pub const INDEX_NEWEST: &str = "newest";
/// The index listing the messages of one status.
pub const INDEX_BY_STATUS: &str = "by_status";
/// The value of `listing` on every item: the single partition of [`INDEX_NEWEST`].
const LISTING_ALL: &str = "all";

type Item = HashMap<String, AttributeValue>;

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

fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

fn time(at: DateTime<Utc>) -> AttributeValue {
    s(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

fn to_item(message: &Message) -> Item {
    let mut item = Item::from([
        ("id".to_owned(), s(message.id)),
        ("listing".to_owned(), s(LISTING_ALL)),
        ("body".to_owned(), s(&message.body)),
        ("simulate".to_owned(), s(message.simulate.as_str())),
        ("status".to_owned(), s(message.status.as_str())),
        (
            "attempts".to_owned(),
            AttributeValue::N(message.attempts.to_string()),
        ),
        (
            "requeues".to_owned(),
            AttributeValue::N(message.requeues.to_string()),
        ),
        ("created_at".to_owned(), time(message.created_at)),
        ("updated_at".to_owned(), time(message.updated_at)),
    ]);
    if let Some(error) = &message.error {
        item.insert("error".to_owned(), s(error));
    }
    item
}

/// Reads an item back. An item this code did not write is reported, not guessed at.
fn from_item(item: &Item) -> Result<Message, BackendError> {
    let text = |name: &str| -> Result<&str, BackendError> {
        match item.get(name) {
            Some(AttributeValue::S(text)) => Ok(text),
            _ => Err(BackendError::new(
                "reading a DynamoDB item",
                format!("attribute {name:?} is missing or not a string"),
            )),
        }
    };
    let invalid = |name: &str, error: String| {
        BackendError::new(
            "reading a DynamoDB item",
            format!("attribute {name:?}: {error}"),
        )
    };
    let timestamp = |name: &str| -> Result<DateTime<Utc>, BackendError> {
        DateTime::parse_from_rfc3339(text(name)?)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|error| invalid(name, error.to_string()))
    };
    let count = |name: &str| -> Result<u32, BackendError> {
        match item.get(name) {
            Some(AttributeValue::N(number)) => number
                .parse()
                .map_err(|_| invalid(name, format!("{number:?} is not a count"))),
            _ => Ok(0),
        }
    };
    Ok(Message {
        id: MessageId::parse(text("id")?).map_err(|error| invalid("id", error.to_string()))?,
        body: text("body")?.to_owned(),
        simulate: text("simulate")?
            .parse()
            .map_err(|error: messages::UnknownSimulate| invalid("simulate", error.to_string()))?,
        status: text("status")?
            .parse()
            .map_err(|error: messages::UnknownStatus| invalid("status", error.to_string()))?,
        attempts: count("attempts")?,
        requeues: count("requeues")?,
        created_at: timestamp("created_at")?,
        updated_at: timestamp("updated_at")?,
        // No `error` attribute means no error; one of another type is not ours.
        error: match item.get("error") {
            None => None,
            Some(_) => Some(text("error")?.to_owned()),
        },
    })
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
                Some(item) => Ok(Transition::Applied(from_item(&item)?)),
                None => Err(BackendError::new(
                    "DynamoDB UpdateItem",
                    "the update was applied but DynamoDB returned no item",
                )),
            },
            Err(error) if condition_failed(&error) => self.explain_condition_failure(id).await,
            Err(error) => Err(BackendError::new("DynamoDB UpdateItem", error)),
        }
    }

    /// Runs `request` until it has `wanted` messages or the index has no more.
    /// One Query page stops at 1 MB of data, which large bodies can reach
    /// before the limit: this reads on from where a page stopped.
    async fn query_messages(
        &self,
        request: QueryFluentBuilder,
        wanted: usize,
        read_on: ReadOn,
    ) -> Result<Vec<Message>, BackendError> {
        let mut rows = Vec::with_capacity(wanted.min(1000));
        let mut start = None;
        for page in 1.. {
            let mut request = request.clone().set_exclusive_start_key(start);
            if read_on == ReadOn::UntilFull {
                request = request.limit(
                    i32::try_from(wanted - rows.len())
                        .expect("callers want at most a page or a sweep batch (1000) of rows"),
                );
            }
            let output = request
                .send()
                .await
                .map_err(|error| BackendError::new("DynamoDB Query", error))?;
            // No items on a page means none matched there.
            for item in output.items.unwrap_or_default() {
                rows.push(from_item(&item)?);
            }
            start = output.last_evaluated_key.filter(|key| !key.is_empty());
            let out_of_pages = matches!(read_on, ReadOn::FilteredPages(most) if page >= most);
            if start.is_none() || rows.len() >= wanted || out_of_pages {
                break;
            }
        }
        rows.truncate(wanted);
        Ok(rows)
    }

    /// After a conditional write lost, says why: gone, or already final.
    async fn explain_condition_failure(&self, id: MessageId) -> Result<Transition, BackendError> {
        Ok(Transition::refused(self.get(id).await?))
    }
}

#[async_trait]
impl StatusStore for DynamoStore {
    async fn create(&self, message: &Message) -> Result<(), BackendError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(message)))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // The SDK retries a put whose answer was lost; the retry then finds
            // the item its first try wrote. That one is ours: not an error.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception())
                    && self.get(message.id).await?.as_ref() == Some(message) =>
            {
                Ok(())
            }
            Err(error) => Err(BackendError::new("DynamoDB PutItem", error)),
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
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id))
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s(Status::Pending.as_str()))
            .expression_attribute_values(":final", s(status.as_str()))
            .expression_attribute_values(
                ":attempts",
                AttributeValue::N(outcome.attempts.to_string()),
            )
            .expression_attribute_values(":at", time(outcome.at))
            .return_values(ReturnValue::AllNew);
        request = match (&outcome.error, outcome.status) {
            (Some(error), _) => request
                .update_expression(
                    "SET #status = :final, attempts = :attempts, updated_at = :at, #error = :error",
                )
                .expression_attribute_names("#error", "error")
                .expression_attribute_values(":error", s(error)),
            // A success clears the error of an earlier failed attempt.
            (None, FinalStatus::Complete | FinalStatus::Fail) => request
                .update_expression(
                    "SET #status = :final, attempts = :attempts, updated_at = :at REMOVE #error",
                )
                .expression_attribute_names("#error", "error"),
        };
        self.transition_after(id, request.send().await).await
    }

    async fn record_attempt(
        &self,
        id: MessageId,
        attempts: u32,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<Transition, BackendError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id))
            .update_expression("SET attempts = :attempts, updated_at = :at, #error = :error")
            // Only on a pending message, and never backwards: a slow duplicate
            // of attempt 2 must not overwrite what attempt 3 recorded.
            .condition_expression("#status = :pending AND attempts < :attempts")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#error", "error")
            .expression_attribute_values(":pending", s(Status::Pending.as_str()))
            .expression_attribute_values(":attempts", AttributeValue::N(attempts.to_string()))
            .expression_attribute_values(":at", time(at))
            .expression_attribute_values(":error", s(error))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        self.transition_after(id, result).await
    }

    async fn list(&self, query: ListQuery) -> Result<Page, BackendError> {
        let limit = query.limit.clamp(1, messages::MAX_PAGE);
        let (index, partition, value) = match query.status {
            Some(status) => (INDEX_BY_STATUS, "status", status.as_str()),
            None => (INDEX_NEWEST, "listing", LISTING_ALL),
        };
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .expression_attribute_names("#partition", partition)
            .expression_attribute_values(":partition", s(value))
            // Newest first; one row more than the page (below) tells whether
            // there is a next page.
            .scan_index_forward(false);
        request = match query.cursor {
            Some(cursor) => request
                .key_condition_expression("#partition = :partition AND id < :cursor")
                .expression_attribute_values(":cursor", s(cursor)),
            None => request.key_condition_expression("#partition = :partition"),
        };
        let rows = self
            .query_messages(request, to_usize(limit + 1), ReadOn::UntilFull)
            .await?;
        Ok(Page::from_rows(rows, limit))
    }

    async fn create_batch(&self, messages: &[Message]) -> Result<(), BackendError> {
        // BatchWriteItem takes at most 25 puts; ids are fresh UUIDv7s, so the
        // unconditional puts of a batch cannot overwrite an existing message.
        for chunk in messages.chunks(25) {
            let mut requests = chunk
                .iter()
                .map(|message| {
                    PutRequest::builder()
                        .set_item(Some(to_item(message)))
                        .build()
                        .map(|put| WriteRequest::builder().put_request(put).build())
                        .map_err(|error| BackendError::new("building a DynamoDB batch", error))
                })
                .collect::<Result<Vec<_>, _>>()?;
            // DynamoDB may leave part of a batch unprocessed under load: retry that part.
            for attempt in 0..6 {
                if requests.is_empty() {
                    break;
                }
                if attempt > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|error| BackendError::new("DynamoDB BatchWriteItem", error))?;
                requests = output
                    .unprocessed_items
                    .and_then(|mut unprocessed| unprocessed.remove(&self.table))
                    .unwrap_or_default();
            }
            if !requests.is_empty() {
                return Err(BackendError::new(
                    "DynamoDB BatchWriteItem",
                    "part of the batch stayed unprocessed after retries",
                ));
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
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pending = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(|error| BackendError::new("building a DynamoDB batch", error))?,
        );
        let mut found = Vec::new();
        for attempt in 0..6 {
            let Some(request) = pending.take() else { break };
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
            let mut output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|error| BackendError::new("DynamoDB BatchGetItem", error))?;
            for item in output
                .responses
                .as_mut()
                .and_then(|responses| responses.remove(&self.table))
                .unwrap_or_default()
            {
                found.push(from_item(&item)?);
            }
            pending = output
                .unprocessed_keys
                .and_then(|mut unprocessed| unprocessed.remove(&self.table))
                .filter(|keys| !keys.keys.is_empty());
        }
        Ok(found)
    }

    async fn newer_than(&self, after: MessageId, limit: u32) -> Result<Vec<Message>, BackendError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(INDEX_NEWEST)
            .key_condition_expression("listing = :all AND id > :after")
            .expression_attribute_values(":all", s(LISTING_ALL))
            .expression_attribute_values(":after", s(after))
            .scan_index_forward(true);
        let wanted = to_usize(limit.clamp(1, messages::MAX_PAGE));
        self.query_messages(request, wanted, ReadOn::UntilFull)
            .await
    }

    async fn count(&self, status: Status, cap: u64) -> Result<u64, BackendError> {
        // A COUNT Query reads the index partition of one status, page by page,
        // and stops at `cap`: never a Scan, and bounded.
        let mut total: u64 = 0;
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(INDEX_BY_STATUS)
                .key_condition_expression("#status = :status")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(status.as_str()))
                .select(Select::Count)
                // Never read more than is still needed to reach the cap; a cap
                // beyond DynamoDB's largest Limit reads as much as one call may.
                .limit(i32::try_from(cap.saturating_sub(total).max(1)).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|error| BackendError::new("DynamoDB Query", error))?;
            total += u64::try_from(output.count).map_err(|_| {
                BackendError::new(
                    "DynamoDB Query",
                    format!("a negative count ({})", output.count),
                )
            })?;
            start = output.last_evaluated_key.filter(|key| !key.is_empty());
            if start.is_none() || total >= cap {
                return Ok(total.min(cap));
            }
        }
    }

    async fn stale_pending(&self, query: StaleQuery) -> Result<Vec<Message>, BackendError> {
        // A message that never was re-enqueued may have no `requeues` yet.
        let (filter, bound) = match query.requeues {
            Requeues::Fewer(bound) => (
                "updated_at < :idle AND (attribute_not_exists(requeues) OR requeues < :requeues)",
                bound,
            ),
            Requeues::AtLeast(bound) => ("updated_at < :idle AND requeues >= :requeues", bound),
        };
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(INDEX_BY_STATUS)
            .key_condition_expression("#status = :pending AND id < :before")
            .filter_expression(filter)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s(Status::Pending.as_str()))
            .expression_attribute_values(":before", s(MessageId::floor(query.idle_since)))
            .expression_attribute_values(":idle", time(query.idle_since))
            .expression_attribute_values(":requeues", AttributeValue::N(bound.to_string()))
            // Oldest first: the messages most likely to be stuck.
            .scan_index_forward(true);
        let wanted = to_usize(query.limit.clamp(1, 1000));
        self.query_messages(request, wanted, ReadOn::FilteredPages(SWEEP_PAGES))
            .await
    }

    async fn claim_requeue(
        &self,
        id: MessageId,
        seen: DateTime<Utc>,
        at: DateTime<Utc>,
        note: &str,
    ) -> Result<bool, BackendError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id))
            .update_expression(
                "SET updated_at = :at, #error = :note, requeues = if_not_exists(requeues, :zero) + :one",
            )
            .condition_expression("#status = :pending AND updated_at = :seen")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#error", "error")
            .expression_attribute_values(":pending", s(Status::Pending.as_str()))
            .expression_attribute_values(":seen", time(seen))
            .expression_attribute_values(":at", time(at))
            .expression_attribute_values(":note", s(note))
            .expression_attribute_values(":zero", AttributeValue::N("0".to_owned()))
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .send()
            .await;
        won(result)
    }

    async fn claim_scheduled_run(
        &self,
        task: &str,
        scheduled_at: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        // One item per task in the messages table, keyed so that no message id
        // can equal it (ids are UUIDs). It has neither `listing` nor `status`,
        // so neither index holds it: lists and counts never see it.
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

    fn describe(&self) -> String {
        format!("DynamoDB table {}", self.table)
    }
}

/// Pages one sweeper query reads at most (each up to 1 MB): 10 MB of the
/// oldest pending messages per run, every few minutes, whatever the backlog.
const SWEEP_PAGES: usize = 10;

/// How a query reads on past its first page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadOn {
    /// Ask each page for exactly the rows still wanted, until there are
    /// enough: with no filter, every row read is a row returned.
    UntilFull,
    /// A filter drops rows after a page is read, so a page may return few:
    /// read whole pages, but at most this many, so a huge backlog bounds the cost.
    FilteredPages(usize),
}

/// The key prefix of the items that record each periodic task's latest run.
const SCHEDULED_RUN_PREFIX: &str = "periodic-task#";

#[cfg(test)]
mod tests {
    use super::*;
    use messages::{MessageBody, Simulate};

    #[test]
    fn an_item_reads_back_as_the_message_written() {
        let mut message =
            Message::new(MessageBody::parse("hi <b>").expect("valid"), Simulate::Slow);
        message.error = Some("boom".to_owned());
        message.attempts = 3;
        assert_eq!(from_item(&to_item(&message)).ok(), Some(message));
    }

    #[test]
    fn an_item_with_an_unknown_status_is_an_error_not_a_guess() {
        let message = Message::new(MessageBody::parse("x").expect("valid"), Simulate::Ok);
        let mut item = to_item(&message);
        item.insert("status".to_owned(), s("done"));
        assert!(from_item(&item).is_err());
    }
}
