//! The count of each status, kept exact without a write per message: folded
//! from the table's stream (DynamoDB Streams, `NEW_AND_OLD_IMAGES`).
//!
//! Every change of a message's item is a record in the stream, with the item
//! before and after. A fold reads the records of a stream shard from where
//! the last fold stopped and adds, per status, the messages that entered it
//! minus those that left it. One item, [`COUNTS_ID`], holds the counts and,
//! for each stream shard, the sequence number of the last record folded:
//! both change in one conditional `UpdateItem` whose condition is that the
//! shard's checkpoint is still the one this fold started from. So a batch is
//! counted once even when two processes fold at the same moment (the second
//! is refused and reads again), a fold that stops between two batches loses
//! nothing (the next starts at the checkpoint), and any sequence of writes
//! (duplicates, races, retries, deletes) is counted as it happened, since the
//! records are what happened. No transaction and no lease.
//!
//! The cost: one write of a small item per batch of up to 1,000 records
//! that changes a count (a batch of none, such as the counts item's own
//! changes, is read past without a write), instead of two counters in a
//! transaction per change. Reading the stream
//! costs no write or read unit (DynamoDB Streams bills its own requests,
//! $0.02 per 100,000). Who folds: every process using the store, every
//! [`FOLD_EVERY`], and a count before it reads ([`DynamoStore::fold`]), so a
//! count reflects a change within that interval.
//!
//! A stream keeps records 24 hours. A shard gone from the stream before it
//! was folded to its end (every process stopped for a day) would lose its
//! changes: the fold logs it as an error (ARCHITECTURE.md, "Operating it").
//!
//! Shards split and close: a shard is folded only once its parent, if the
//! stream still lists it, has been folded to its end (marked [`DONE`]), so a
//! message's changes are counted in order. The checkpoints of shards the
//! stream no longer lists are dropped, keeping the item small.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, Record, ShardIteratorType};
use messages::{BackendError, MessageId, Status};

use super::item::s;
use super::layout::named_key;
use super::{DynamoStore, won};

/// The id of the item holding the counts and the stream's checkpoints.
pub const COUNTS_ID: &str = "status-counts";
/// The attribute of [`COUNTS_ID`] mapping each stream shard to its checkpoint.
const CHECKPOINTS: &str = "checkpoints";
/// The attribute of [`COUNTS_ID`] saying when counts that did not start at
/// zero were started (epoch seconds).
const STARTED: &str = "started_s";
/// A checkpoint's value once its shard is closed and folded to its end.
pub const DONE: &str = "done";
/// Records read per `GetRecords`, DynamoDB Streams' most.
const RECORDS_PER_READ: i32 = 1000;
/// `GetRecords` calls per shard in one pass, at most: a pass ends, and the
/// next goes on from the checkpoint.
const READS_PER_PASS: usize = 20;
/// Passes over one shard in one fold, at most, when another process's
/// write comes first each time.
const ATTEMPTS_PER_PASS: usize = 3;
/// Folds of one process run one at a time: two at once would only read the
/// same records twice. (It also keeps tests on moto, whose conditional writes
/// are not atomic under concurrent requests, from counting a batch twice.)
static ONE_FOLD_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// How often every process folds, whatever the counts' readers do.
pub const FOLD_EVERY: Duration = Duration::from_secs(5);

fn failed(operation: &'static str) -> impl FnOnce(String) -> BackendError {
    move |why| BackendError::new(operation, why)
}

/// The statuses a record moves one message between: the one it left (if
/// the item before was a message) and the one it entered.
fn moved(record: &Record) -> (Option<Status>, Option<Status>) {
    let image_status = |image: Option<&HashMap<String, StreamValue>>| {
        let image = image?;
        // Only messages count: their id is a message id (the table's other
        // items are keyed `idempotency-key#…`, `status-counts` and so on).
        let StreamValue::S(id) = image.get("id")? else {
            return None;
        };
        MessageId::parse(id).ok()?;
        let StreamValue::S(status) = image.get("status")? else {
            return None;
        };
        status.parse::<Status>().ok()
    };
    let change = record.dynamodb();
    (
        image_status(change.and_then(|change| change.old_image())),
        image_status(change.and_then(|change| change.new_image())),
    )
}

/// What `records` add to each status, leaving out those made in or before
/// the second `started` (epoch seconds), which the counts held when they
/// were started.
fn deltas(records: &[Record], started: Option<i64>) -> HashMap<Status, i64> {
    let mut deltas: HashMap<Status, i64> = Status::ALL.into_iter().map(|s| (s, 0)).collect();
    for record in records {
        let made = record
            .dynamodb()
            .and_then(|change| change.approximate_creation_date_time())
            .map(|at| at.secs());
        if let (Some(started), Some(made)) = (started, made)
            && made <= started
        {
            continue;
        }
        let (left, entered) = moved(record);
        if left == entered {
            continue;
        }
        if let Some(left) = left {
            *deltas.entry(left).or_default() -= 1;
        }
        if let Some(entered) = entered {
            *deltas.entry(entered).or_default() += 1;
        }
    }
    deltas
}

/// How long the stream's list of shards is kept before it is asked again:
/// DynamoDB Streams allows ten `DescribeStream` a second per account, and
/// shards change every few hours.
const SHARDS_KEPT: Duration = Duration::from_secs(10);

/// A count reads the counts as folded without folding again when the last
/// fold began less than this ago and this process has changed no status
/// since: the three counts of one snapshot cost one fold.
const FOLDED_RECENTLY: Duration = Duration::from_secs(1);

/// What a store remembers of its table's stream.
#[derive(Debug, Default)]
pub struct StreamCache {
    /// The stream's ARN, once read from the table.
    arn: OnceLock<String>,
    /// Its shards, and when they were listed.
    shards: Mutex<Option<(Instant, Vec<StreamShard>)>>,
    /// Changes of status this process has made, so far.
    changes: AtomicU64,
    /// When the last fold that went through began, and how many changes
    /// this process had made by then.
    last_fold: Mutex<Option<(Instant, u64)>>,
}

impl StreamCache {
    /// Notes a change of status made by this process: the next count folds.
    pub fn changed(&self) {
        self.changes.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether a count must fold first: this process changed a status since
    /// the last fold began, or that was [`FOLDED_RECENTLY`] or longer ago.
    fn stale(&self) -> bool {
        let changes = self.changes.load(Ordering::Relaxed);
        self.last_fold.lock().map_or(true, |last| {
            last.is_none_or(|(at, seen)| seen != changes || at.elapsed() >= FOLDED_RECENTLY)
        })
    }
}

/// A stream shard as the fold needs it.
#[derive(Debug, Clone)]
struct StreamShard {
    id: String,
    parent: Option<String>,
}

/// What one pass read of a shard.
#[derive(Default)]
struct ShardRead {
    /// What its records add to each status.
    deltas: HashMap<Status, i64>,
    /// The sequence number of the last record read, if any was.
    to: Option<String>,
    /// Whether the shard is closed and was read to its end.
    closed: bool,
    /// Whether the pass read all the batches it may and stopped short.
    full: bool,
}

/// Where each shard's fold stands, and the counts, as stored.
#[derive(Default)]
struct Folded {
    exists: bool,
    /// When counts of a table that held messages were started (epoch
    /// seconds): the records made before are in them already.
    started: Option<i64>,
    checkpoints: HashMap<String, String>,
    counts: HashMap<Status, i64>,
}

impl DynamoStore {
    /// The table's stream, from `DescribeTable` (remembered once found).
    async fn stream_arn(&self) -> Result<String, BackendError> {
        if let Some(arn) = self.stream.arn.get() {
            return Ok(arn.clone());
        }
        let table = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|error| BackendError::new("DynamoDB DescribeTable", error))?
            .table;
        let arn = table
            .and_then(|table| table.latest_stream_arn)
            .ok_or_else(|| {
                BackendError::new(
                    "reading the status counts",
                    format!(
                        "table {} has no stream, which the counts are folded from: run `web provision` to turn it on",
                        self.table
                    ),
                )
            })?;
        Ok(self.stream.arn.get_or_init(|| arn).clone())
    }

    /// Every shard the stream lists, as listed at most [`SHARDS_KEPT`] ago.
    async fn stream_shards(&self, arn: &str) -> Result<Vec<StreamShard>, BackendError> {
        if let Ok(kept) = self.stream.shards.lock()
            && let Some((at, shards)) = kept.as_ref()
            && at.elapsed() < SHARDS_KEPT
        {
            return Ok(shards.clone());
        }
        let shards = self.list_stream_shards(arn).await?;
        if let Ok(mut kept) = self.stream.shards.lock() {
            *kept = Some((Instant::now(), shards.clone()));
        }
        Ok(shards)
    }

    /// Every shard the stream lists, asked now.
    async fn list_stream_shards(&self, arn: &str) -> Result<Vec<StreamShard>, BackendError> {
        let mut shards = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let output = self
                .streams
                .describe_stream()
                .stream_arn(arn)
                .set_exclusive_start_shard_id(after)
                .send()
                .await
                .map_err(|error| BackendError::new("DynamoDB Streams DescribeStream", error))?;
            let Some(description) = output.stream_description else {
                return Ok(shards);
            };
            for shard in description.shards.unwrap_or_default() {
                if let Some(id) = shard.shard_id {
                    shards.push(StreamShard {
                        id,
                        parent: shard.parent_shard_id,
                    });
                }
            }
            after = description.last_evaluated_shard_id;
            if after.is_none() {
                return Ok(shards);
            }
        }
    }

    /// The counts item as it stands, read consistently.
    async fn folded(&self) -> Result<Folded, BackendError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(named_key(COUNTS_ID)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| BackendError::new("DynamoDB GetItem", error))?
            .item;
        let Some(item) = item else {
            return Ok(Folded::default());
        };
        let mut folded = Folded {
            exists: true,
            ..Folded::default()
        };
        if let Some(AttributeValue::N(started)) = item.get(STARTED) {
            folded.started = started.parse().ok();
        }
        if let Some(AttributeValue::M(checkpoints)) = item.get(CHECKPOINTS) {
            for (shard, at) in checkpoints {
                if let AttributeValue::S(at) = at {
                    folded.checkpoints.insert(shard.clone(), at.clone());
                }
            }
        }
        for status in Status::ALL {
            let count = match item.get(status.as_str()) {
                Some(AttributeValue::N(count)) => count.parse::<i64>().map_err(|_| {
                    failed("reading the status counts")(format!("{count:?} is not a count"))
                })?,
                _ => 0,
            };
            folded.counts.insert(status, count);
        }
        Ok(folded)
    }

    /// Whether the counts item exists.
    pub(super) async fn counts_started(&self) -> Result<bool, BackendError> {
        Ok(self.folded().await?.exists)
    }

    /// Makes the counts item, with `counts` and no checkpoint, unless it
    /// exists. Counts that are not all zero were read from the table as it
    /// was at `started` (epoch seconds): records made in or before that
    /// second are in them, and are not folded.
    pub(super) async fn start_counts(
        &self,
        counts: &HashMap<Status, u64>,
        started: Option<i64>,
    ) -> Result<bool, BackendError> {
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .condition_expression("attribute_not_exists(id)");
        let mut item = named_key(COUNTS_ID);
        item.insert(CHECKPOINTS.to_owned(), AttributeValue::M(HashMap::new()));
        if let Some(started) = started {
            item.insert(STARTED.to_owned(), AttributeValue::N(started.to_string()));
        }
        for status in Status::ALL {
            let count = counts.get(&status).copied().unwrap_or(0);
            item.insert(
                status.as_str().to_owned(),
                AttributeValue::N(count.to_string()),
            );
        }
        request = request.set_item(Some(item));
        match request.send().await {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(BackendError::new("DynamoDB PutItem", error)),
        }
    }

    /// Folds what the stream holds past each shard's checkpoint into the
    /// counts: one pass over every shard that is ready (its parent folded to
    /// its end, or gone). Safe to run in any number of processes at once;
    /// within one, passes run one after another ([`ONE_FOLD_AT_A_TIME`]).
    pub async fn fold(&self) -> Result<(), BackendError> {
        let _alone = ONE_FOLD_AT_A_TIME.lock().await;
        let began = (Instant::now(), self.stream.changes.load(Ordering::Relaxed));
        self.fold_pass().await?;
        if let Ok(mut last) = self.stream.last_fold.lock() {
            *last = Some(began);
        }
        Ok(())
    }

    /// Folds before a count, unless that would add nothing this process
    /// does not already know ([`StreamCache::stale`]).
    pub(super) async fn fold_for_a_count(&self) -> Result<(), BackendError> {
        if self.stream.stale() {
            self.fold().await?;
        }
        Ok(())
    }

    async fn fold_pass(&self) -> Result<(), BackendError> {
        let arn = self.stream_arn().await?;
        let shards = self.stream_shards(&arn).await?;
        let mut folded = self.folded().await?;
        if !folded.exists {
            // The first fold on a table starts the counts with what it holds
            // (`web provision` does it earlier when it is run).
            self.start_stream_counts().await?;
            folded = self.folded().await?;
        }
        let listed: Vec<&str> = shards.iter().map(|shard| shard.id.as_str()).collect();
        for (shard, at) in &folded.checkpoints {
            if at != DONE && !listed.contains(&shard.as_str()) {
                tracing::error!(
                    shard,
                    "a stream shard left the stream before it was folded to its end: the status counts miss its changes (was every process stopped for a day?)"
                );
            }
        }
        let mut checkpoints = folded.checkpoints;
        let done = |checkpoints: &HashMap<String, String>, id: &str| {
            checkpoints.get(id).is_some_and(|at| at == DONE)
        };
        // The stream lists a parent before its children, so a child whose
        // parent this pass finishes is folded in the same pass.
        for shard in &shards {
            let parent_pending = shard
                .parent
                .as_deref()
                .is_some_and(|parent| listed.contains(&parent) && !done(&checkpoints, parent));
            if done(&checkpoints, &shard.id) || parent_pending {
                continue;
            }
            let checkpoint = checkpoints.get(&shard.id).cloned();
            if self
                .fold_shard(&arn, &shard.id, checkpoint, folded.started)
                .await?
            {
                checkpoints.insert(shard.id.clone(), DONE.to_owned());
            }
        }
        self.forget_gone_shards(&checkpoints, &listed).await
    }

    /// Folds one shard from `checkpoint` (its start when `None`): reads up
    /// to [`READS_PER_PASS`] batches, to where the shard ends for now, and
    /// adds what they hold in one write. Returns whether the shard is closed
    /// and folded to its end.
    ///
    /// One write per pass, not per batch read: a pass that wrote after each
    /// read would chase a busy stream's tail, a write for every few changes.
    /// A pass that finds no change of status writes nothing (the counts
    /// item's own changes are records too: a write for them would make a
    /// record for the next pass to find), unless it read all its batches, so
    /// a long run of such records cannot hold the checkpoint back.
    async fn fold_shard(
        &self,
        arn: &str,
        shard: &str,
        mut checkpoint: Option<String>,
        started: Option<i64>,
    ) -> Result<bool, BackendError> {
        // Another process folding from the same checkpoint refuses this
        // pass's write: it goes on from where that one stopped, so that a
        // count that folds before it reads sees every change made before it
        // began.
        for _ in 0..ATTEMPTS_PER_PASS {
            let read = self
                .read_shard(arn, shard, checkpoint.as_deref(), started)
                .await?;
            let Some(to) = read.to.as_deref() else {
                if read.closed {
                    return self.mark_done(shard, checkpoint.as_deref()).await;
                }
                return Ok(false);
            };
            let nothing = read.deltas.values().all(|delta| *delta == 0);
            if nothing && !read.full && !read.closed {
                return Ok(false);
            }
            if self
                .add_batch(shard, checkpoint.as_deref(), to, &read.deltas, started)
                .await?
            {
                if read.closed {
                    return self.mark_done(shard, Some(to)).await;
                }
                return Ok(false);
            }
            checkpoint = self.folded().await?.checkpoints.remove(shard);
            if checkpoint.as_deref() == Some(DONE) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Reads `shard` after `checkpoint`, at most [`READS_PER_PASS`] batches.
    async fn read_shard(
        &self,
        arn: &str,
        shard: &str,
        checkpoint: Option<&str>,
        started: Option<i64>,
    ) -> Result<ShardRead, BackendError> {
        let mut read = ShardRead::default();
        let mut iterator = self.iterator_after(arn, shard, checkpoint).await?;
        for _ in 0..READS_PER_PASS {
            let Some(at) = iterator else {
                // A closed shard read to its end.
                read.closed = true;
                return Ok(read);
            };
            let output = self
                .streams
                .get_records()
                .shard_iterator(at)
                .limit(RECORDS_PER_READ)
                .send()
                .await
                .map_err(|error| BackendError::new("DynamoDB Streams GetRecords", error))?;
            let records = output.records();
            let last = records
                .iter()
                .rev()
                .find_map(|record| record.dynamodb()?.sequence_number());
            let Some(last) = last else {
                read.closed = output.next_shard_iterator().is_none();
                // Caught up with an open shard, or read a closed one to its end.
                return Ok(read);
            };
            for (status, delta) in deltas(records, started) {
                *read.deltas.entry(status).or_default() += delta;
            }
            read.to = Some(last.to_owned());
            if records.len() < RECORDS_PER_READ as usize {
                // Short of a full batch: the shard's end as of this read.
                // What came since is the next pass's: reading on would
                // chase a busy stream's tail, a call for every few changes.
                read.closed = output.next_shard_iterator().is_none();
                return Ok(read);
            }
            iterator = output.next_shard_iterator.clone();
        }
        read.full = true;
        Ok(read)
    }

    /// An iterator on `shard` just after `checkpoint`, or at its start.
    async fn iterator_after(
        &self,
        arn: &str,
        shard: &str,
        checkpoint: Option<&str>,
    ) -> Result<Option<String>, BackendError> {
        let request = self
            .streams
            .get_shard_iterator()
            .stream_arn(arn)
            .shard_id(shard);
        let request = match checkpoint {
            Some(at) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(at),
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        Ok(request
            .send()
            .await
            .map_err(|error| BackendError::new("DynamoDB Streams GetShardIterator", error))?
            .shard_iterator)
    }

    /// Adds `deltas` and moves `shard`'s checkpoint from `from` to `to`, if
    /// it is still at `from`. Returns whether it did.
    async fn add_batch(
        &self,
        shard: &str,
        from: Option<&str>,
        to: &str,
        deltas: &HashMap<Status, i64>,
        started: Option<i64>,
    ) -> Result<bool, BackendError> {
        let mut add = Vec::new();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(named_key(COUNTS_ID)))
            .expression_attribute_names("#checkpoints", CHECKPOINTS)
            .expression_attribute_names("#shard", shard)
            .expression_attribute_values(":to", s(to));
        for status in Status::ALL {
            let delta = deltas.get(&status).copied().unwrap_or(0);
            let name = format!("#{}", status.as_str());
            let value = format!(":{}", status.as_str());
            add.push(format!("{name} {value}"));
            request = request
                .expression_attribute_names(name, status.as_str())
                .expression_attribute_values(value, AttributeValue::N(delta.to_string()));
        }
        let at = match from {
            Some(from) => {
                request = request.expression_attribute_values(":from", s(from));
                "#checkpoints.#shard = :from"
            }
            None => "attribute_exists(#checkpoints) AND attribute_not_exists(#checkpoints.#shard)",
        };
        // The same counts item as the one this fold read: one started anew
        // meanwhile (`start_stream_counts`) holds other records already.
        let same_start = match started {
            Some(started) => {
                request = request.expression_attribute_values(
                    ":started",
                    AttributeValue::N(started.to_string()),
                );
                "#started = :started"
            }
            None => "attribute_not_exists(#started)",
        };
        request = request
            .expression_attribute_names("#started", STARTED)
            .condition_expression(format!("{at} AND {same_start}"));
        let result = request
            .update_expression(format!(
                "SET #checkpoints.#shard = :to ADD {}",
                add.join(", ")
            ))
            .send()
            .await;
        won(result)
    }

    /// Marks a closed shard folded to its end. Returns whether it is now.
    async fn mark_done(&self, shard: &str, at: Option<&str>) -> Result<bool, BackendError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(named_key(COUNTS_ID)))
            .update_expression("SET #checkpoints.#shard = :done")
            .expression_attribute_names("#checkpoints", CHECKPOINTS)
            .expression_attribute_names("#shard", shard)
            .expression_attribute_values(":done", s(DONE));
        let request = match at {
            Some(at) => request
                .condition_expression("#checkpoints.#shard = :at")
                .expression_attribute_values(":at", s(at)),
            None => request.condition_expression(
                "attribute_exists(#checkpoints) AND attribute_not_exists(#checkpoints.#shard)",
            ),
        };
        won(request.send().await)
    }

    /// Drops the checkpoints of folded shards the stream no longer lists.
    async fn forget_gone_shards(
        &self,
        checkpoints: &HashMap<String, String>,
        listed: &[&str],
    ) -> Result<(), BackendError> {
        let gone: Vec<&String> = checkpoints
            .iter()
            .filter(|(shard, at)| *at == DONE && !listed.contains(&shard.as_str()))
            .map(|(shard, _)| shard)
            .collect();
        if gone.is_empty() {
            return Ok(());
        }
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(named_key(COUNTS_ID)))
            .expression_attribute_names("#checkpoints", CHECKPOINTS);
        let mut paths = Vec::new();
        for (n, shard) in gone.iter().enumerate() {
            request = request.expression_attribute_names(format!("#gone{n}"), shard.as_str());
            paths.push(format!("#checkpoints.#gone{n}"));
        }
        request
            .update_expression(format!("REMOVE {}", paths.join(", ")))
            .send()
            .await
            .map_err(|error| BackendError::new("DynamoDB UpdateItem", error))?;
        Ok(())
    }

    /// The count of `status` as folded.
    pub(super) async fn folded_count(&self, status: Status) -> Result<u64, BackendError> {
        let counts = self.folded_counts().await?;
        Ok(counts
            .into_iter()
            .find_map(|(counted, count)| (counted == status).then_some(count))
            .unwrap_or(0))
    }

    /// The count of every status as folded, in [`Status::ALL`]'s order.
    pub(super) async fn folded_counts(&self) -> Result<Vec<(Status, u64)>, BackendError> {
        let mut folded = self.folded().await?;
        if !folded.exists {
            // Not started yet, or removed since this process last folded:
            // a fold starts them with what the table holds.
            self.fold().await?;
            folded = self.folded().await?;
        }
        Ok(Status::ALL
            .into_iter()
            .map(|status| {
                let count = folded.counts.get(&status).copied().unwrap_or(0);
                // Never below zero: a message is counted when it is created.
                (status, u64::try_from(count).unwrap_or(0))
            })
            .collect())
    }
}

/// Folds the counts of `store`'s table every [`FOLD_EVERY`] in a task of its
/// own, while anything else holds the store (a clone of it). A failure is
/// logged and the next pass tries again.
pub fn fold_in_background(store: &DynamoStore) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let store = store.clone();
    runtime.spawn(async move {
        let mut ticks = tokio::time::interval(FOLD_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            // This task's clone is the last one: the store is gone.
            if Arc::strong_count(&store.stream) == 1 {
                return;
            }
            if let Err(error) = store.fold().await {
                tracing::warn!(error = %error.chain(), "the status counts could not be folded from the table's stream; trying again");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodbstreams::types::StreamRecord;

    use super::*;

    fn image(id: &str, status: &str) -> HashMap<String, StreamValue> {
        HashMap::from([
            ("id".to_owned(), StreamValue::S(id.to_owned())),
            ("status".to_owned(), StreamValue::S(status.to_owned())),
        ])
    }

    fn record(
        old: Option<HashMap<String, StreamValue>>,
        new: Option<HashMap<String, StreamValue>>,
    ) -> Record {
        made_at(old, new, 1_800_000_000)
    }

    fn made_at(
        old: Option<HashMap<String, StreamValue>>,
        new: Option<HashMap<String, StreamValue>>,
        secs: i64,
    ) -> Record {
        Record::builder()
            .dynamodb(
                StreamRecord::builder()
                    .set_old_image(old)
                    .set_new_image(new)
                    .sequence_number("1")
                    .approximate_creation_date_time(
                        aws_sdk_dynamodbstreams::primitives::DateTime::from_secs(secs),
                    )
                    .build(),
            )
            .build()
    }

    #[test]
    fn each_change_moves_one_message_between_statuses() {
        let id = MessageId::new().to_string();
        let records = [
            record(None, Some(image(&id, "pending"))),
            record(Some(image(&id, "pending")), Some(image(&id, "pending"))),
            record(Some(image(&id, "pending")), Some(image(&id, "fail"))),
            record(Some(image(&id, "fail")), Some(image(&id, "pending"))),
            record(Some(image(&id, "pending")), Some(image(&id, "complete"))),
        ];
        let counted = deltas(&records, None);
        assert_eq!(counted[&Status::Pending], 0);
        assert_eq!(counted[&Status::Complete], 1);
        assert_eq!(counted[&Status::Fail], 0);
        let deleted = deltas(&[record(Some(image(&id, "fail")), None)], None);
        assert_eq!(deleted[&Status::Fail], -1);
    }

    #[test]
    fn records_made_before_counts_were_started_are_in_them_already() {
        let id = MessageId::new().to_string();
        let records = [
            made_at(None, Some(image(&id, "pending")), 100),
            made_at(
                Some(image(&id, "pending")),
                Some(image(&id, "complete")),
                101,
            ),
        ];
        let counted = deltas(&records, Some(100));
        assert_eq!(counted[&Status::Pending], -1, "only the finish is new");
        assert_eq!(counted[&Status::Complete], 1);
    }

    #[test]
    fn only_messages_are_counted() {
        let records = [
            record(None, Some(image("idempotency-key#k", "pending"))),
            record(None, Some(image(COUNTS_ID, "pending"))),
            record(
                None,
                Some(image(&MessageId::new().to_string(), "not-a-status")),
            ),
        ];
        assert!(deltas(&records, None).values().all(|delta| *delta == 0));
    }
}
