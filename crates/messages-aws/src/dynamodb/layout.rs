//! The table's layout: which attribute keys the table and each index, what
//! each index copies, and how the lists are spread over shards.
//!
//! # Why shards
//! DynamoDB gives one partition key value about 1,000 write units a second,
//! and index entries whose sort key only grows (UUIDv7 ids) cannot be split
//! across partitions. One listing key for every message would cap the whole
//! application near that rate whatever the number of workers. So every list
//! key is spread over [`SHARDS`] values, chosen by the random last byte of the
//! id, and a list reads every shard at once and merges (`fan_out.rs`).
//!
//! # Keys
//! - The table: `id` alone. Every read and write of one message is a
//!   single-item operation, on a key no other message shares.
//! - [`INDEX_NEWEST`]: partition key [`SHARD`] (`"00"` to `"31"`), sort key
//!   `id`. Ids are UUIDv7, so descending `id` is newest first.
//! - [`INDEX_BY_STATUS`]: partition key [`STATUS_SHARD`] (`"pending#07"`),
//!   sort key `id`: one status, newest first, and the sweeper's oldest
//!   `pending` first.
//! - [`INDEX_BY_GROUP`]: partition key [`GROUP_SHARD`] (`"orders#07"`), sort
//!   key `id`: one message group, newest first. Only a message sent with a
//!   group has the attribute, so only those are in the index. A group is
//!   sharded too: on a standard queue nothing bounds one group's rate.
//!
//! # Projections
//! No index copies a message's body. [`INDEX_NEWEST`] and [`INDEX_BY_GROUP`]
//! hold keys only: their entry is written once, when the message is created,
//! and never again, since no key of it changes. [`INDEX_BY_STATUS`] also copies `updated_at`
//! and `requeues`, which the sweeper filters on. A list reads the ids of a
//! page from an index, then the messages themselves with one consistent
//! `BatchGetItem`: a page shows each message as it is now, and a message that
//! left the listed status since the index was written is left out.
//!
//! # Write units per message at 10,000 messages a second
//! Index entries are under 1 KB: one write unit each. Creating a message puts
//! one entry in its `newest` shard and one in its `pending` shard; finishing
//! it moves the `by_status` entry (a delete from the `pending` shard, a put in
//! the final one). The busiest key, a `pending` shard, so takes two writes per
//! message of its shard: 20,000 / 32 = 625 units a second, under the 1,000.
//! A message sent with a group costs one write unit more, once, for its
//! [`INDEX_BY_GROUP`] entry.
//! (`scripts/bench` measures it from the requests the binaries really make.)
//!
//! # Other items
//! The table also holds the status counts and the stream's checkpoints
//! (`stream_counts.rs`), keyed `status-counts` (and, from earlier versions,
//! the counters `old_counters.rs` reads once, keyed
//! `status-count#<status>#<shard>`), one item per periodic task of `cron.yaml`, keyed
//! `periodic-task#<name>`, with the time of the task's latest claimed run (the
//! scheduler's leader election, per run), the idempotency keys (`keys.rs`),
//! keyed `idempotency-key#<key>`, and the operator's sessions
//! (`sessions.rs`), keyed `operator-session#<digest of the secret>`. They
//! have neither [`SHARD`] nor [`STATUS_SHARD`] nor [`GROUP_SHARD`], so no
//! index holds them: no list, count or sweep sees them. Keys and sessions
//! carry `expires_at`, the table's time to live, so DynamoDB deletes them
//! once they are over.

use messages::{MessageGroup, MessageId, Status};

/// The index listing every message, newest first, over [`SHARDS`] keys.
pub const INDEX_NEWEST: &str = "newest_by_shard";
/// The index listing the messages of one status, over [`SHARDS`] keys per status.
pub const INDEX_BY_STATUS: &str = "status_by_shard";
/// The index listing the messages of one group, over [`SHARDS`] keys per group.
pub const INDEX_BY_GROUP: &str = "group_by_shard";
/// The partition key attribute of [`INDEX_BY_GROUP`].
pub const GROUP_SHARD: &str = "group_shard";
/// The attribute holding a message's group.
pub const GROUP: &str = "message_group";
/// The partition key attribute of [`INDEX_NEWEST`].
pub const SHARD: &str = "shard";
/// The partition key attribute of [`INDEX_BY_STATUS`].
pub const STATUS_SHARD: &str = "status_shard";
/// What [`INDEX_BY_STATUS`] copies besides its keys: what the sweeper's
/// filter reads.
pub const STATUS_INDEX_COPIES: [&str; 2] = ["updated_at", "requeues"];

/// How many keys each list is spread over. A divisor of 256, so the last byte
/// of an id picks each shard equally often.
pub const SHARDS: u8 = 32;

/// The shard of a message: fixed by its id, so every write of it names the same.
pub fn shard_of(id: MessageId) -> u8 {
    id.last_byte() % SHARDS
}

/// The value of [`SHARD`] for `shard`.
pub fn shard_key(shard: u8) -> String {
    format!("{shard:02}")
}

/// The value of [`STATUS_SHARD`] for a message of `status` in `shard`.
pub fn status_key(status: Status, shard: u8) -> String {
    format!("{}#{shard:02}", status.as_str())
}

/// The value of [`GROUP_SHARD`] for a message of `group` in `shard`.
pub fn group_key(group: &MessageGroup, shard: u8) -> String {
    format!("{group}#{shard:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_spread_evenly_over_the_shards() {
        let mut seen = [0_u32; SHARDS as usize];
        for _ in 0..32_000 {
            seen[usize::from(shard_of(MessageId::new()))] += 1;
        }
        // 1,000 expected per shard; a fair spread stays well within 20 % of it.
        assert!(
            seen.iter().all(|count| (800..1200).contains(count)),
            "uneven spread: {seen:?}"
        );
    }

    #[test]
    fn keys_name_the_shard_with_two_digits() {
        assert_eq!(shard_key(7), "07");
        assert_eq!(status_key(Status::Pending, 31), "pending#31");
    }
}
