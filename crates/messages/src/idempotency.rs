//! Idempotent sends: a key chosen by the client (the `Idempotency-Key`
//! header) under which a retried send answers what the first one did and
//! creates nothing new.
//!
//! The first send under a key claims it in the status store, with the ids of
//! the messages it is about to create, before it creates them; a retry finds
//! the claim, and with it those ids. So a send whose answer was lost, or that
//! was cut short, is settled by the retry from the ids (are the records there?)
//! instead of being made again. A key is remembered for [`KEY_WINDOW`].

use std::fmt;

use chrono::{DateTime, Utc};

use crate::MessageId;

/// How long a key is remembered after its first use.
pub const KEY_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// The longest key accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 255;

/// A client's idempotency key: 1 to [`MAX_KEY_BYTES`] visible ASCII
/// characters (a UUID is the usual choice).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// Text that cannot be an idempotency key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "the Idempotency-Key must be 1 to 255 visible ASCII characters, such as a UUID you make for each new message"
)]
pub struct InvalidIdempotencyKey;

impl IdempotencyKey {
    /// Checks `text` as a key.
    pub fn parse(text: &str) -> Result<Self, InvalidIdempotencyKey> {
        let visible = text.bytes().all(|byte| byte.is_ascii_graphic());
        if text.is_empty() || text.len() > MAX_KEY_BYTES || !visible {
            return Err(InvalidIdempotencyKey);
        }
        Ok(Self(text.to_owned()))
    }

    /// The key as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What became of the send that claimed a key. A send that goes through
/// records nothing: its claim stays [`KeyOutcome::InProgress`], and the
/// first retry that finds every record there answers it as
/// [`KeyOutcome::Sent`] (`IdempotencyKeys::confirm_key`), so a key costs
/// one write when nobody retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOutcome {
    /// Still running, or stopped before it could say (a crash).
    InProgress,
    /// It ended without knowing whether its messages went through: a retry
    /// settles it from the ids.
    Unknown,
    /// The queue refused a job of it, and it is marking its records `fail`:
    /// no retry may answer it from the records until it has said.
    Refusing,
    /// Its messages went through (as a retry found them all recorded, or
    /// settled an open outcome): a retry is answered from the records, as
    /// they are now.
    Sent,
    /// It was refused after its records were made (the queue refused their
    /// jobs, and they were marked `fail`): a retry gets the same refusal.
    Refused {
        /// What the first answer said.
        why: String,
    },
}

/// A key's claim: the send made under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyClaim {
    /// What was asked, reduced to a fingerprint: a retry must ask the same.
    pub fingerprint: String,
    /// The messages the send creates.
    pub ids: Vec<MessageId>,
    /// When it was claimed; also tells one claim of a key from a later one.
    pub claimed_at: DateTime<Utc>,
    /// What became of it.
    pub outcome: KeyOutcome,
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// The key was free (or its window had passed): this send owns it.
    New,
    /// The key is held by an earlier send, as recorded.
    Taken(KeyClaim),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_visible_ascii_of_bounded_length() {
        assert!(IdempotencyKey::parse("0192f0c1-7d2e-7c3a-9b1e-5f4d3c2b1a09").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", " ", "a b", "é", "tab\t", &"k".repeat(256)] {
            assert_eq!(
                IdempotencyKey::parse(bad),
                Err(InvalidIdempotencyKey),
                "{bad:?}"
            );
        }
    }
}
