//! Reading a list spread over shards (`layout.rs`): one Query per shard, all
//! at once, their ids merged in order; and counting across shards without
//! reading past the cap.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use tokio::task::JoinSet;

use super::item::Item;
use super::layout::SHARDS;
use messages::{BackendError, MessageId};

/// Which end of each shard a list starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Highest id first: newest first.
    NewestFirst,
    /// Lowest id first.
    OldestFirst,
}

/// How a query reads on past its first page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOn {
    /// Ask each page for exactly the rows still wanted, until there are
    /// enough: with no filter, every row read is a row returned.
    UntilFull,
    /// A filter drops rows after a page is read, so a page may return few:
    /// read whole pages, but at most this many per shard, so a huge backlog
    /// bounds the cost.
    FilteredPages(usize),
}

/// Runs `query(shard)` on every shard at once, each sorted in `order`, and
/// returns the first `wanted` ids of them all, merged in `order`. Taking up to
/// `wanted` from each shard makes the merge exact: no shard can hide an id
/// that belongs in the first `wanted`.
pub async fn ids_of_every_shard(
    query: impl Fn(u8) -> QueryFluentBuilder,
    order: Order,
    wanted: usize,
    read_on: ReadOn,
) -> Result<Vec<MessageId>, BackendError> {
    let mut tasks = JoinSet::new();
    for shard in 0..SHARDS {
        let request = query(shard).scan_index_forward(order == Order::OldestFirst);
        tasks.spawn(ids_of_one_shard(request, wanted, read_on));
    }
    let mut ids = Vec::with_capacity(wanted.saturating_mul(2).min(4096));
    while let Some(joined) = tasks.join_next().await {
        ids.extend(joined.map_err(stopped)??);
    }
    match order {
        Order::NewestFirst => ids.sort_unstable_by(|a, b| b.cmp(a)),
        Order::OldestFirst => ids.sort_unstable(),
    }
    ids.truncate(wanted);
    Ok(ids)
}

/// One shard's ids, in the query's order, at most `wanted`. One Query page
/// stops at 1 MB: this reads on from where a page stopped.
async fn ids_of_one_shard(
    request: QueryFluentBuilder,
    wanted: usize,
    read_on: ReadOn,
) -> Result<Vec<MessageId>, BackendError> {
    let mut ids = Vec::new();
    let mut start = None;
    for page in 1.. {
        let mut request = request.clone().set_exclusive_start_key(start);
        if read_on == ReadOn::UntilFull {
            request = request.limit(i32::try_from(wanted - ids.len()).unwrap_or(i32::MAX));
        }
        let output = request
            .send()
            .await
            .map_err(|error| BackendError::new("DynamoDB Query", error))?;
        // No items on a page means none matched there.
        for item in output.items.unwrap_or_default() {
            ids.push(id_of(&item)?);
        }
        start = output.last_evaluated_key.filter(|key| !key.is_empty());
        let out_of_pages = matches!(read_on, ReadOn::FilteredPages(most) if page >= most);
        if start.is_none() || ids.len() >= wanted || out_of_pages {
            break;
        }
    }
    ids.truncate(wanted);
    Ok(ids)
}

fn stopped(error: tokio::task::JoinError) -> BackendError {
    BackendError::new(
        "DynamoDB Query",
        format!("a shard's query stopped: {error}"),
    )
}

/// The `id` of an index entry.
fn id_of(item: &Item) -> Result<MessageId, BackendError> {
    match item.get("id") {
        Some(AttributeValue::S(text)) => MessageId::parse(text)
            .map_err(|error| BackendError::new("reading a DynamoDB index", error.to_string())),
        _ => Err(BackendError::new(
            "reading a DynamoDB index",
            "an entry has no string `id`",
        )),
    }
}
