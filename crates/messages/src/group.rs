//! Message groups: a name that a message may carry so that, on a FIFO queue,
//! the messages of one group are delivered one at a time and in the order
//! they were sent, while different groups proceed in parallel.
//!
//! On a standard queue a group is only a label on the record: the queue
//! keeps no order. ARCHITECTURE.md, "FIFO queues", says what each backend does.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest group accepted, in characters (SQS's limit on `MessageGroupId`).
pub const MAX_GROUP_CHARS: usize = 128;

/// A message group: 1 to [`MAX_GROUP_CHARS`] letters, digits and ASCII
/// punctuation, what SQS accepts as a `MessageGroupId`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MessageGroup(String);

/// Text that cannot be a message group.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "a group must be 1 to 128 letters, digits or punctuation marks (no spaces), such as \"customer-42\""
)]
pub struct InvalidGroup;

impl MessageGroup {
    /// Checks `text` as a group.
    pub fn parse(text: &str) -> Result<Self, InvalidGroup> {
        // ASCII graphic characters are exactly SQS's "alphanumeric characters
        // and punctuation"; one byte each, so bytes are characters here.
        let allowed = text.bytes().all(|byte| byte.is_ascii_graphic());
        if text.is_empty() || text.len() > MAX_GROUP_CHARS || !allowed {
            return Err(InvalidGroup);
        }
        Ok(Self(text.to_owned()))
    }

    /// The group as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MessageGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for MessageGroup {
    type Error = InvalidGroup;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<MessageGroup> for String {
    fn from(group: MessageGroup) -> Self {
        group.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_digits_and_punctuation_make_a_group() {
        for text in [
            "a",
            "customer-42",
            "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
            &"g".repeat(128),
        ] {
            assert_eq!(
                MessageGroup::parse(text).map(|group| group.to_string()),
                Ok(text.to_owned())
            );
        }
    }

    #[test]
    fn empty_long_spaced_or_non_ascii_text_is_refused() {
        for text in ["", " ", "a b", "ä", "tab\t", &"g".repeat(129)] {
            assert_eq!(MessageGroup::parse(text), Err(InvalidGroup), "{text:?}");
        }
    }

    #[test]
    fn a_group_reads_back_from_json_only_when_valid() {
        let group: MessageGroup = serde_json::from_str("\"orders\"").expect("valid");
        assert_eq!(group.as_str(), "orders");
        assert!(serde_json::from_str::<MessageGroup>("\"two words\"").is_err());
    }
}
