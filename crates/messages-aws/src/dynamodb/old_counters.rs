//! The status counters of the versions that kept them in transactions: one
//! item per status and shard (`status-count#pending#07`), changed in the
//! same `TransactWriteItems` as each message. The counts are now folded from
//! the table's stream (`stream_counts.rs`); these items are read once, by
//! `web provision`, to start those counts with what the table held, and are
//! written no more. A version that writes them may still run beside this one
//! during a deployment: nothing reads them after the start.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use messages::{BackendError, Status};

use super::item::{Item, s};

/// Counters per status that those versions kept. A count read all of them
/// in one `BatchGetItem` (at most 100 keys).
const COUNTER_SHARDS: u8 = 64;

/// The key of the counter of `status` in `shard`.
fn counter_key(status: Status, shard: u8) -> String {
    format!("status-count#{}#{shard:02}", status.as_str())
}

/// The keys of `status`'s counters.
fn keys_of(status: Status) -> Vec<Item> {
    (0..COUNTER_SHARDS)
        .map(|shard| Item::from([("id".to_owned(), s(counter_key(status, shard)))]))
        .collect()
}

/// Whether any counter of `status` exists in `table`.
pub async fn present(client: &Client, table: &str, status: Status) -> Result<bool, BackendError> {
    Ok(!counter_items(client, table, status).await?.is_empty())
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
    // was counted in the transaction that created it.
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
