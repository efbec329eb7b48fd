//! Reading a list spread over shards (`layout.rs`): one Query per shard, all
//! at once, their ids merged in order; and counting across shards without
//! reading past the cap.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use tokio::task::JoinSet;

use super::item::Item;
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

/// Runs `query(shard)` on each of `shards` shards at once (`layout.rs`:
/// the table's or an index's), each sorted in `order`, and returns the first
/// `wanted` ids of them all, merged in `order`.
///
/// Unfiltered, the shards are read in rounds ([`merged_in_rounds`]): a few
/// ids from each, then more only from the shards that could still hold one
/// of the first `wanted`, so a page reads about as many items as it shows,
/// not `wanted` from each shard (a table shard's items are whole
/// messages, and DynamoDB charges a Query by the size of what it read).
/// Filtered, each shard reads up to `wanted` of its own.
pub async fn ids_of_every_shard(
    shards: u8,
    query: impl Fn(u8) -> QueryFluentBuilder,
    order: Order,
    wanted: usize,
    read_on: ReadOn,
) -> Result<Vec<MessageId>, BackendError> {
    let ReadOn::FilteredPages(most_pages) = read_on else {
        return Ok(merged_in_rounds(shards, query, order, wanted, None)
            .await?
            .ids);
    };
    let mut tasks = JoinSet::new();
    for shard in 0..shards {
        let request = query(shard).scan_index_forward(order == Order::OldestFirst);
        tasks.spawn(ids_of_one_shard(request, wanted, most_pages));
    }
    let mut ids = Vec::with_capacity(wanted.saturating_mul(2).min(4096));
    while let Some(joined) = tasks.join_next().await {
        ids.extend(joined.map_err(stopped)??);
    }
    sort(&mut ids, order);
    ids.truncate(wanted);
    Ok(ids)
}

/// The first ids of a list read in rounds ([`merged_in_rounds`]).
#[derive(Debug, PartialEq, Eq)]
pub struct Merged {
    /// The ids, in order: every one of the list up to [`Merged::read_to`],
    /// or the first `wanted`.
    pub ids: Vec<MessageId>,
    /// Set when the read stopped at its budget before it had `wanted` ids:
    /// every id of the list before this one, and this one, is in `ids`;
    /// the rest comes after it.
    pub read_to: Option<MessageId>,
}

/// The first `wanted` ids of a filtered list over `shards` table shards,
/// merged in `order`, reading at most about `budget` items: a filter reads
/// (and DynamoDB charges) every item it passes over, and a page of the few
/// messages that match among many that do not would otherwise read them
/// all. Past the budget it returns what it found, and [`Merged::read_to`]
/// says where the list goes on.
pub async fn ids_filtered_in_rounds(
    shards: u8,
    query: impl Fn(u8) -> QueryFluentBuilder,
    order: Order,
    wanted: usize,
    budget: usize,
) -> Result<Merged, BackendError> {
    merged_in_rounds(shards, query, order, wanted, Some(budget)).await
}

/// Where one shard's read stands between rounds.
struct ShardRead {
    shard: u8,
    /// Where the next Query goes on from; none before the first.
    start: Option<Item>,
    /// The shard has no more ids.
    done: bool,
    /// The last id read from it, matched by a filter or not: every id not
    /// yet read comes after it.
    last: Option<MessageId>,
}

/// The first `wanted` ids of every shard, merged, exactly: each round reads
/// a few more ids from each shard whose unread ids could still be among the
/// first `wanted` of those read so far (its last id read comes before the
/// `wanted`-th, in `order`), and stops when no shard could. With a filter,
/// a shard's last id read is the last it passed over (its
/// `LastEvaluatedKey`), and the rounds stop too once `budget` items were
/// passed over.
async fn merged_in_rounds(
    shards: u8,
    query: impl Fn(u8) -> QueryFluentBuilder,
    order: Order,
    wanted: usize,
    budget: Option<usize>,
) -> Result<Merged, BackendError> {
    if wanted == 0 {
        return Ok(Merged {
            ids: Vec::new(),
            read_to: None,
        });
    }
    let mut reads: Vec<ShardRead> = (0..shards)
        .map(|shard| ShardRead {
            shard,
            start: None,
            done: false,
            last: None,
        })
        .collect();
    let mut ids: Vec<MessageId> = Vec::new();
    let mut passed_over = 0_usize;
    // Twice an even share each, at first; doubled each round after, up to
    // the page (unfiltered, every item read is an id) or DynamoDB's most.
    let mut per_shard = (wanted * 2).div_ceil(usize::from(shards));
    let most_per_shard = if budget.is_some() { 1000 } else { wanted };
    let comes_before = |a: MessageId, b: MessageId| match order {
        Order::NewestFirst => a > b,
        Order::OldestFirst => a < b,
    };
    loop {
        // `wanted` is at least 1 here: none returned early.
        let cutoff = ids.get(wanted - 1).copied();
        let could_hold_more = |read: &ShardRead| {
            !read.done
                && match (read.last, cutoff) {
                    (Some(last), Some(cutoff)) => comes_before(last, cutoff),
                    _ => true,
                }
        };
        if budget.is_some_and(|budget| passed_over >= budget) && reads.iter().any(could_hold_more) {
            // Every shard still open has been read to its `last`, and not
            // past it: the merged list is known only as far as the first
            // of those, in `order` (the newest, newest first). Any further
            // and a shard that stopped sooner could hide an id.
            let read_to = reads
                .iter()
                .filter(|read| could_hold_more(read))
                .filter_map(|read| read.last)
                .reduce(|a, b| if comes_before(a, b) { a } else { b });
            if let Some(read_to) = read_to {
                ids.retain(|id| !comes_before(read_to, *id));
            }
            return Ok(Merged { ids, read_to });
        }
        let mut tasks = JoinSet::new();
        for read in reads.iter().filter(|read| could_hold_more(read)) {
            let request = query(read.shard)
                .scan_index_forward(order == Order::OldestFirst)
                .set_exclusive_start_key(read.start.clone())
                .limit(i32::try_from(per_shard).unwrap_or(i32::MAX));
            let shard = read.shard;
            tasks.spawn(async move { (shard, request.send().await) });
        }
        if tasks.is_empty() {
            break;
        }
        while let Some(joined) = tasks.join_next().await {
            let (shard, output) = joined.map_err(stopped)?;
            let output = output.map_err(|error| BackendError::new("DynamoDB Query", error))?;
            let read = &mut reads[usize::from(shard)];
            passed_over += usize::try_from(output.scanned_count).unwrap_or(0);
            for item in output.items.unwrap_or_default() {
                let id = id_of(&item)?;
                read.last = Some(id);
                ids.push(id);
            }
            read.start = output.last_evaluated_key.filter(|key| !key.is_empty());
            read.done = read.start.is_none();
            // A filter may have passed over items after the last it kept.
            if let Some(start) = &read.start {
                read.last = Some(id_of(start)?);
            }
        }
        sort(&mut ids, order);
        ids.truncate(wanted);
        per_shard = per_shard.saturating_mul(2).min(most_per_shard);
    }
    Ok(Merged { ids, read_to: None })
}

fn sort(ids: &mut [MessageId], order: Order) {
    match order {
        Order::NewestFirst => ids.sort_unstable_by(|a, b| b.cmp(a)),
        Order::OldestFirst => ids.sort_unstable(),
    }
}

/// One shard's ids, in the query's order, at most `wanted`, from at most
/// `most_pages` pages of a filtered Query. One Query page stops at 1 MB:
/// this reads on from where a page stopped.
async fn ids_of_one_shard(
    request: QueryFluentBuilder,
    wanted: usize,
    most_pages: usize,
) -> Result<Vec<MessageId>, BackendError> {
    let mut ids = Vec::new();
    let mut start = None;
    for page in 1.. {
        let output = request
            .clone()
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|error| BackendError::new("DynamoDB Query", error))?;
        // No items on a page means none matched there.
        for item in output.items.unwrap_or_default() {
            ids.push(id_of(&item)?);
        }
        start = output.last_evaluated_key.filter(|key| !key.is_empty());
        if start.is_none() || ids.len() >= wanted || page >= most_pages {
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
