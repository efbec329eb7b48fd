//! The count of each status, kept exact at any size: one counter item per
//! status and shard (`status-count#pending#07`), changed in the same
//! `TransactWriteItems` as the message whose status changes. A transaction
//! is all or nothing, so a refused duplicate, a race or a crash between two
//! writes cannot leave a counter off by one. A count reads the status's
//! [`COUNTER_SHARDS`] counter items in one `BatchGetItem`, whatever the number of messages.
//!
//! Why per shard: one item takes at most 1,000 write units a second, a
//! transaction charges two per item, and every message changes its pending
//! counter twice (+1 created, -1 finished). A message's counters are those of
//! its shard among [`COUNTER_SHARDS`], chosen by its id, so at 10,000
//! messages a second a pending counter takes 20,000 / 64 = 312 updates a
//! second: 625 write units, under the 1,000. Only the sum of a status's
//! counters means anything, so a shard's own counter may go below zero.
//! Two transactions that change the same counter at the same moment
//! conflict, and DynamoDB cancels one (`TransactionConflict`) having applied
//! nothing of it; it is tried again, up to [`CONFLICT_RETRIES`] times.
//!
//! The cost: a transaction consumes two write units per item it writes. A
//! message's creation writes its item and one counter, and each change of
//! status its item and two counters: about 10 write units over a message's
//! life, against 2 without the counters (`BENCHMARKS.md`).
//!
//! Counter items have no index key, so no list, count or sweep sees them.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use backon::Retryable;
use messages::{BackendError, Status};

use super::item::{Item, s};
use messages::MessageId;

/// Counters per status. A divisor of 256, so the last byte of an id picks
/// each equally often; a count reads all of them in one `BatchGetItem`
/// (at most 100 keys).
pub const COUNTER_SHARDS: u8 = 64;

/// The counter shard of message `id`: fixed by its id, so its +1 and its -1
/// go to the same counter.
pub fn counter_shard(id: MessageId) -> u8 {
    id.last_byte() % COUNTER_SHARDS
}

/// How often a transaction cancelled by a conflict is tried again.
const CONFLICT_RETRIES: u32 = 8;

/// The key of the counter of `status` in `shard`.
pub fn counter_key(status: Status, shard: u8) -> String {
    format!("status-count#{}#{shard:02}", status.as_str())
}

/// The transaction item that adds `delta` to the counter of `status` in `shard`.
pub fn adjust(
    table: &str,
    status: Status,
    shard: u8,
    delta: i64,
) -> Result<TransactWriteItem, BackendError> {
    let update = Update::builder()
        .table_name(table)
        .key("id", s(counter_key(status, shard)))
        .update_expression("ADD #count :delta")
        .expression_attribute_names("#count", "count")
        .expression_attribute_values(":delta", AttributeValue::N(delta.to_string()))
        .build()
        .map_err(|error| BackendError::new("building a counter update", error))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// How a transaction ended.
pub enum Transacted {
    /// Applied, whole.
    Applied,
    /// Refused by a condition: nothing was applied.
    Refused,
}

/// Why one try of a transaction did not apply.
enum TryFailed {
    /// Cancelled by a conflict with another transaction, nothing applied:
    /// worth trying again.
    Conflict(BackendError),
    /// Anything else: the answer.
    Final(BackendError),
}

/// Runs `items` as one transaction, trying again while it is cancelled by a
/// conflict with another transaction: up to [`CONFLICT_RETRIES`] times more,
/// after a growing, jittered wait, so that two that conflicted do not meet
/// again.
pub async fn transact(
    client: &Client,
    items: Vec<TransactWriteItem>,
) -> Result<Transacted, BackendError> {
    let backoff = backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(10))
        .with_max_delay(Duration::from_millis(640))
        .with_max_times(CONFLICT_RETRIES as usize)
        .with_jitter();
    let once = || transact_once(client, items.clone());
    once.retry(backoff)
        .when(|failed| matches!(failed, TryFailed::Conflict(_)))
        .await
        .map_err(|(TryFailed::Conflict(error) | TryFailed::Final(error))| error)
}

/// One try of the transaction of `items`.
async fn transact_once(
    client: &Client,
    items: Vec<TransactWriteItem>,
) -> Result<Transacted, TryFailed> {
    let error = match client
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await
    {
        Ok(_) => return Ok(Transacted::Applied),
        Err(error) => error,
    };
    let failed = |error| BackendError::new("DynamoDB TransactWriteItems", error);
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        error.as_service_error()
    else {
        return Err(TryFailed::Final(failed(error)));
    };
    let codes: Vec<&str> = cancelled
        .cancellation_reasons()
        .iter()
        .filter_map(|reason| reason.code())
        .collect();
    let refused = codes.contains(&"ConditionalCheckFailed");
    let conflict = codes.contains(&"TransactionConflict");
    if !refused && conflict {
        // Cancelled by another transaction, nothing applied: again.
        Err(TryFailed::Conflict(failed(error)))
    } else if codes
        .iter()
        .all(|code| *code == "ConditionalCheckFailed" || *code == "None")
    {
        // A condition failed (with no reasons given, only a condition
        // can have cancelled it): the write's answer, not an error.
        Ok(Transacted::Refused)
    } else {
        Err(TryFailed::Final(failed(error)))
    }
}

/// The keys of `status`'s counters.
fn keys_of(status: Status) -> Vec<Item> {
    (0..COUNTER_SHARDS)
        .map(|shard| Item::from([("id".to_owned(), s(counter_key(status, shard)))]))
        .collect()
}

/// Which of `status`'s counters exist in `table`, by shard.
pub async fn present(
    client: &Client,
    table: &str,
    status: Status,
) -> Result<Vec<u8>, BackendError> {
    Ok(counter_items(client, table, status)
        .await?
        .iter()
        .filter_map(|item| match item.get("id") {
            Some(AttributeValue::S(id)) => {
                (0..COUNTER_SHARDS).find(|shard| *id == counter_key(status, *shard))
            }
            _ => None,
        })
        .collect())
}

/// Sets the counter of `status` in `shard` to `count`, unless it exists
/// (then live writes keep it, and it is left alone).
pub async fn set_missing(
    client: &Client,
    table: &str,
    status: Status,
    shard: u8,
    count: u64,
) -> Result<(), BackendError> {
    let result = client
        .put_item()
        .table_name(table)
        .item("id", s(counter_key(status, shard)))
        .item("count", AttributeValue::N(count.to_string()))
        .condition_expression("attribute_not_exists(id)")
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|error| error.is_conditional_check_failed_exception()) =>
        {
            Ok(())
        }
        Err(error) => Err(BackendError::new("DynamoDB PutItem", error)),
    }
}

/// The count of `status`: the sum of its counters, read consistently.
pub async fn read(client: &Client, table: &str, status: Status) -> Result<u64, BackendError> {
    let mut total: i64 = 0;
    for item in counter_items(client, table, status).await? {
        if let Some(AttributeValue::N(count)) = item.get("count") {
            total += count.parse::<i64>().map_err(|_| {
                BackendError::new("reading a counter", format!("{count:?} is not a count"))
            })?;
        }
    }
    // Only the sum means anything; it is never below zero, since a message
    // is counted in the transaction that creates it.
    Ok(u64::try_from(total).unwrap_or(0))
}

/// The counter items of `status` that exist, read consistently in one
/// `BatchGetItem`.
async fn counter_items(
    client: &Client,
    table: &str,
    status: Status,
) -> Result<Vec<Item>, BackendError> {
    super::batch_get::consistent(client, table, keys_of(status)).await
}
