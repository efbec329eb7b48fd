//! The table's layout: which attribute keys the table and each index, what
//! each index copies, and how the lists are spread over shards.
//!
//! # Why shards
//! DynamoDB gives one partition key value about 1,000 write units a second,
//! and keys whose sort key only grows (UUIDv7 ids) cannot be split across
//! partitions. One key for every message would cap the whole application
//! near that rate whatever the number of workers. So the table and each
//! index are spread over [`SHARDS`] key values, chosen by the random last
//! byte of the id ([`shard_of`]: a message has the same shard in the table
//! and in each index), and a list reads every shard at once and merges
//! (`fan_out.rs`). It is the fewest shards that keep a key under the limit
//! at 10,000 messages a second with room for chance (below), since a list
//! reads them all.
//!
//! # Keys
//! - The table: partition key [`SHARD`] (`"00"` to `"63"`), sort key `id`.
//!   Ids are UUIDv7, so descending `id` in one shard is newest first: the
//!   list of every message, and of the `complete` ones, is read from the
//!   table itself, and costs no index entry ([`message_key`]). Every read
//!   and write of one message is still a single-item operation, on a key no
//!   other message shares. The table's other items are keyed by their name
//!   twice ([`named_key`]).
//! - [`INDEX_BY_STATUS`]: partition key [`STATUS_SHARD`] (`"pending#07"`),
//!   sort key `id`: the `pending` or the `fail` messages, newest first, and
//!   the sweeper's oldest `pending` first.
//! - [`INDEX_BY_GROUP`]: partition key [`GROUP_SHARD`] (`"orders#07"`), sort
//!   key `id`: one message group, newest first. Only a message sent with a
//!   group has the attribute, so only those are in the index. A group is
//!   sharded too: on a standard queue nothing bounds one group's rate.
//!
//! # Index entries
//! An index lists a message only while something must find it by the index
//! ([`status_is_indexed`]): a `pending` message (the sweeper, the oldest
//! waiting, the list of those waiting) and a `fail` one (the failures an
//! operator retries). A `complete` message, nearly every message, has no
//! [`STATUS_SHARD`], so its finish deletes its entry and puts none. Its list
//! is read from the table, passing over the messages of other statuses, up
//! to a bound per page (`reads.rs`): a page stops short, with a cursor, when
//! the newest messages are nearly all of other statuses.
//!
//! # Projections
//! No index copies a message's body. [`INDEX_BY_GROUP`] holds keys only: its
//! entry is written once, when the message is created, and never again, since
//! no key of it changes. [`INDEX_BY_STATUS`] also copies `updated_at`
//! and `requeues`, which the sweeper filters on. A list reads the ids of a
//! page from an index or the table, then the messages themselves with one
//! consistent `BatchGetItem`: a page shows each message as it is now, and a
//! message that left the listed status since the index was written is left
//! out.
//!
//! # Write units per message at 10,000 messages a second
//! A message's item is kept under 1 KB with a body of 1 KB (`item.rs`: the
//! body deflated, and nothing the item can do without), so its creation and
//! its finish take one write unit each, on its table shard: a table key
//! takes 20,000 / 64 = 312 units a second. Index entries are under 1 KB:
//! one write unit each. Creating a message puts one entry in its `pending`
//! shard and finishing it deletes it (and puts one in the `fail` shard, for
//! a failure): a `pending` key also takes 312 units a second. Chance puts
//! more messages on some shards than on others; a second's worth at 10,000
//! messages a second is 156 per shard on average, and the fullest of 64
//! rarely holds over 200 (400 units), far from the 1,000. A message sent
//! with a group costs one write unit more, once, for its [`INDEX_BY_GROUP`]
//! entry. A body that does not deflate under about 860 bytes, or a long
//! timeline, takes its item over 1 KB and each write to two units.
//! (`scripts/bench` measures it from the requests the binaries really make.)
//!
//! # Other items
//! The table also holds the status counts and the stream's checkpoints
//! (`stream_counts.rs`), keyed `status-counts`, one item per periodic task
//! of `cron.yaml`, keyed
//! `periodic-task#<name>`, with the time of the task's latest claimed run (the
//! scheduler's leader election, per run), the idempotency keys (`keys.rs`),
//! keyed `idempotency-key#<key>`, and the operator's sessions
//! (`sessions.rs`), keyed `operator-session#<digest of the secret>`. Their
//! [`SHARD`] is their name, never a message shard, and they have neither
//! [`STATUS_SHARD`] nor [`GROUP_SHARD`], so no list, count or sweep sees them. Keys and sessions
//! carry `expires_at`, the table's time to live, so DynamoDB deletes them
//! once they are over.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use messages::{MessageGroup, MessageId, Status};

/// The index listing the `pending` and the `fail` messages, over [`SHARDS`] keys per status.
pub const INDEX_BY_STATUS: &str = "status_by_shard";
/// The index listing the messages of one group, over [`SHARDS`] keys per group.
pub const INDEX_BY_GROUP: &str = "group_by_shard";
/// The partition key attribute of [`INDEX_BY_GROUP`].
pub const GROUP_SHARD: &str = "group_shard";
/// The attribute holding a message's group.
pub const GROUP: &str = "message_group";
/// The table's partition key attribute; its sort key is `id`.
pub const SHARD: &str = "shard";
/// The partition key attribute of [`INDEX_BY_STATUS`].
pub const STATUS_SHARD: &str = "status_shard";
/// What [`INDEX_BY_STATUS`] copies besides its keys: what the sweeper's
/// filter reads.
pub const STATUS_INDEX_COPIES: [&str; 2] = ["updated_at", "requeues"];

/// How many [`SHARD`] values the table's messages are spread over, and the
/// partition key values of each index for one status or group. A divisor of
/// 256, so the last byte of an id picks each shard equally often.
pub const SHARDS: u8 = 64;

/// The shard of a message, in the table and in each index: fixed by its id,
/// so every write of it names the same.
pub fn shard_of(id: MessageId) -> u8 {
    id.last_byte() % SHARDS
}

/// The value of [`SHARD`] for `shard`.
pub fn shard_key(shard: u8) -> String {
    format!("{shard:02}")
}

/// A primary key: [`SHARD`] and `id`. (`item.rs` calls the same type `Item`.)
pub type Key = HashMap<String, AttributeValue>;

/// The key of the message `id`: its shard and its id.
pub fn message_key(id: MessageId) -> Key {
    Key::from([
        (SHARD.to_owned(), AttributeValue::S(shard_key(shard_of(id)))),
        ("id".to_owned(), AttributeValue::S(id.to_string())),
    ])
}

/// The key of the item named `name` that is not a message (the counts, an
/// idempotency key, a session, a periodic task): the name in both parts, so
/// it shares its partition with nothing.
pub fn named_key(name: impl Into<String>) -> Key {
    let name = name.into();
    Key::from([
        (SHARD.to_owned(), AttributeValue::S(name.clone())),
        ("id".to_owned(), AttributeValue::S(name)),
    ])
}

/// The value of [`STATUS_SHARD`] for a message of `status` in `shard`.
pub fn status_key(status: Status, shard: u8) -> String {
    format!("{}#{shard:02}", status.as_str())
}

/// Whether [`INDEX_BY_STATUS`] lists the messages of `status`: those that
/// must be found by it, `pending` (the sweeper, the oldest waiting) and
/// `fail` (the failures an operator retries). `complete`, the status of
/// nearly every message, is listed from the table ([`LISTED_FROM_TABLE`]).
pub fn status_is_indexed(status: Status) -> bool {
    status != LISTED_FROM_TABLE
}

/// The status whose list is read from the table with a filter, not from
/// [`INDEX_BY_STATUS`].
pub const LISTED_FROM_TABLE: Status = Status::Complete;

/// The value of [`STATUS_SHARD`] a message of `status` in `shard` has: none
/// for a status the index does not list, so its message has no entry.
pub fn indexed_status_key(status: Status, shard: u8) -> Option<String> {
    status_is_indexed(status).then(|| status_key(status, shard))
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
        // 500 expected per shard; a fair spread stays well within 25 % of it.
        assert!(
            seen.iter().all(|count| (375..625).contains(count)),
            "uneven spread: {seen:?}"
        );
    }

    #[test]
    fn keys_name_the_shard_with_two_digits() {
        assert_eq!(shard_key(7), "07");
        assert_eq!(status_key(Status::Pending, 31), "pending#31");
    }

    #[test]
    fn a_message_is_keyed_by_its_shard_and_id_and_a_named_item_by_its_name() {
        let id = MessageId::new();
        let key = message_key(id);
        assert_eq!(
            key.get(SHARD),
            Some(&AttributeValue::S(shard_key(shard_of(id))))
        );
        assert_eq!(key.get("id"), Some(&AttributeValue::S(id.to_string())));
        let named = named_key("status-counts");
        assert_eq!(named.get(SHARD), named.get("id"));
    }
}
