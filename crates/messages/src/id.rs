//! The message id: a UUIDv7, so ids sort by creation time. Both backends use
//! that order for "newest first" lists, without a separate timestamp key.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The id of one message, the same in the table, on the queue and in URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MessageId(Uuid);

/// Text that is not a message id.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a message id: ids look like 0192f0c1-7d2e-7c3a-9b1e-5f4d3c2b1a09")]
pub struct InvalidMessageId(String);

impl MessageId {
    /// A new id, later than every id made before it by this process.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// An id for a message created at `at` (tests and imports; new messages use [`MessageId::new`]).
    /// A UUIDv7 cannot hold a time before 1970: such a time counts as 1970.
    pub fn created_at(at: DateTime<Utc>) -> Self {
        let seconds = u64::try_from(at.timestamp()).unwrap_or_default();
        Self(Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            seconds,
            at.timestamp_subsec_nanos(),
        )))
    }

    /// When the message was created, to the millisecond (the id's UUIDv7
    /// time); 1970 for an id with no time.
    pub fn time(self) -> DateTime<Utc> {
        let millis = self.0.get_timestamp().map_or(0, |stamp| {
            let (seconds, nanos) = stamp.to_unix();
            seconds.saturating_mul(1000) + u64::from(nanos / 1_000_000)
        });
        DateTime::from_timestamp_millis(i64::try_from(millis).unwrap_or(i64::MAX))
            .unwrap_or_default()
    }

    /// The smallest id a message created at or after `at` can have: ids below
    /// it belong to messages created before `at`. Lets a store find "created
    /// before" with a key condition on `id`, which it is sorted by. A time
    /// before 1970 counts as 1970, as in [`MessageId::created_at`].
    pub fn floor(at: DateTime<Utc>) -> Self {
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or_default();
        let mut bytes = [0_u8; 16];
        bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
        bytes[6] = 0x70; // version 7
        bytes[8] = 0x80; // RFC 4122 variant
        Self(Uuid::from_bytes(bytes))
    }

    /// The id's last byte: random in every id [`MessageId::new`] makes, so
    /// ids spread evenly over any number of buckets that divides 256. A store
    /// may use it to spread writes over shards (the DynamoDB layout does).
    pub fn last_byte(self) -> u8 {
        self.0.as_bytes()[15]
    }

    /// Parses the hyphenated form, the only one the product writes.
    pub fn parse(text: &str) -> Result<Self, InvalidMessageId> {
        // Only the canonical lowercase form: ids are used verbatim as keys, so
        // two spellings of one UUID must not name two records.
        match Uuid::try_parse(text) {
            Ok(uuid) if uuid.hyphenated().to_string() == text => Ok(Self(uuid)),
            _ => Err(InvalidMessageId(text.chars().take(64).collect())),
        }
    }
}

impl MessageId {
    /// Parses an id as a person may type or paste it: upper-case, without
    /// hyphens, in braces or as a `urn:uuid:`. For finding a message only;
    /// whatever the spelling, the id found is the canonical one (`parse`
    /// stays strict for everything that names a stored record).
    pub fn parse_typed(text: &str) -> Result<Self, InvalidMessageId> {
        Uuid::try_parse(text.trim())
            .map(Self)
            .map_err(|_| InvalidMessageId(text.chars().take(64).collect()))
    }
}

impl Default for MessageId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl TryFrom<String> for MessageId {
    type Error = InvalidMessageId;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<MessageId> for String {
    fn from(id: MessageId) -> Self {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_says_when_its_message_was_created_to_the_millisecond() {
        let at = DateTime::from_timestamp_millis(1_780_000_000_123).expect("a time");
        assert_eq!(MessageId::created_at(at).time(), at);
        assert_eq!(MessageId::floor(at).time(), at);
        let now = crate::now();
        assert!((MessageId::new().time() - now).num_milliseconds().abs() < 1000);
    }

    #[test]
    fn a_typed_id_may_be_spelled_any_way_a_uuid_is_and_finds_the_canonical_one() {
        let id = MessageId::new();
        let canonical = id.to_string();
        for typed in [
            canonical.to_uppercase(),
            canonical.replace('-', ""),
            format!("{{{canonical}}}"),
            format!("urn:uuid:{canonical}"),
            format!("  {canonical} "),
        ] {
            assert_eq!(MessageId::parse_typed(&typed).ok(), Some(id), "{typed}");
            assert!(
                MessageId::parse(&typed).is_err() || typed == canonical,
                "{typed}"
            );
        }
        assert!(MessageId::parse_typed("not an id").is_err());
    }

    #[test]
    fn ids_made_later_sort_later() {
        let first = MessageId::new();
        let second = MessageId::new();
        assert!(first < second);
        assert!(first.to_string() < second.to_string());
    }

    #[test]
    fn an_id_survives_a_round_trip_through_text() {
        let id = MessageId::new();
        assert_eq!(MessageId::parse(&id.to_string()), Ok(id));
    }

    #[test]
    fn text_that_is_not_an_id_is_refused_with_an_example() {
        let error = MessageId::parse("nope").expect_err("not a uuid");
        assert!(error.to_string().contains("is not a message id"));
    }

    #[test]
    fn the_floor_of_a_time_sorts_between_ids_made_before_and_after_it() {
        let at = Utc::now();
        let before = MessageId::created_at(at - chrono::Duration::milliseconds(1));
        let after = MessageId::created_at(at + chrono::Duration::milliseconds(1));
        let floor = MessageId::floor(at);
        assert!(before < floor && floor < after);
        assert!(before.to_string() < floor.to_string() && floor.to_string() < after.to_string());
        assert_eq!(
            MessageId::parse(&floor.to_string()),
            Ok(floor),
            "a valid id"
        );
    }

    #[test]
    fn an_uppercase_spelling_is_refused() {
        let id = MessageId::new().to_string().to_uppercase();
        assert!(MessageId::parse(&id).is_err());
    }

    proptest::proptest! {
        /// Any id, made at any time, reads back as itself from its text, and
        /// its text sorts as the ids do (lists and cursors depend on both).
        #[test]
        fn every_id_round_trips_and_sorts_as_its_text(
            first in 0_i64..4_000_000_000_000,
            second in 0_i64..4_000_000_000_000,
        ) {
            let at = |millis| DateTime::from_timestamp_millis(millis).expect("in range");
            let (a, b) = (MessageId::created_at(at(first)), MessageId::created_at(at(second)));
            proptest::prop_assert_eq!(MessageId::parse(&a.to_string()), Ok(a));
            proptest::prop_assert_eq!(a.cmp(&b), a.to_string().cmp(&b.to_string()));
            let floor = MessageId::floor(at(first));
            proptest::prop_assert_eq!(MessageId::parse(&floor.to_string()), Ok(floor));
        }

        /// Any text at all is an id or a refusal that quotes it (cut short),
        /// never a panic.
        #[test]
        fn any_text_is_an_id_or_a_sentence(text in "\\PC{0,80}") {
            match MessageId::parse(&text) {
                Ok(id) => proptest::prop_assert_eq!(id.to_string(), text),
                Err(error) => proptest::prop_assert!(error.to_string().contains("is not a message id")),
            }
        }
    }
}
