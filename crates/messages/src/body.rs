//! The text a person sends, validated once at the edge ("parse, don't
//! validate"): past this type, a body is known to fit SQS and DynamoDB.

use std::fmt;

/// The largest body accepted, in bytes of UTF-8.
///
/// Why this number: the body travels inside a JSON job on SQS (256 KiB per
/// message) and is stored in a DynamoDB item (400 KB). JSON may escape a byte
/// as `\u00XX`, six bytes, so 32 KiB of body is at most 192 KiB on the queue,
/// and the item stays far below DynamoDB's limit whatever the body holds.
pub const MAX_BODY_BYTES: usize = 32 * 1024;

/// A message body: not blank, at most [`MAX_BODY_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody(String);

/// Why a body was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidBody {
    /// Nothing but whitespace.
    #[error("the message body is empty: write some text to send")]
    Empty,
    /// Over the limit.
    #[error(
        "the message body is {0} bytes, over the limit of {MAX_BODY_BYTES} bytes: send a shorter text"
    )]
    TooLong(usize),
}

impl MessageBody {
    /// Accepts `text` as it is (no trimming: what was typed is what is stored).
    pub fn parse(text: impl Into<String>) -> Result<Self, InvalidBody> {
        let text = text.into();
        if text.trim().is_empty() {
            Err(InvalidBody::Empty)
        } else if text.len() > MAX_BODY_BYTES {
            Err(InvalidBody::TooLong(text.len()))
        } else {
            Ok(Self(text))
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MessageBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<MessageBody> for String {
    fn from(body: MessageBody) -> Self {
        body.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_body_is_refused() {
        assert_eq!(MessageBody::parse(""), Err(InvalidBody::Empty));
    }

    #[test]
    fn a_body_of_only_whitespace_is_refused() {
        assert_eq!(MessageBody::parse(" \n\t "), Err(InvalidBody::Empty));
    }

    #[test]
    fn a_body_at_the_limit_is_accepted() {
        assert!(MessageBody::parse("a".repeat(MAX_BODY_BYTES)).is_ok());
    }

    #[test]
    fn a_body_one_byte_over_the_limit_is_refused_with_both_sizes() {
        let error = MessageBody::parse("a".repeat(MAX_BODY_BYTES + 1)).expect_err("too long");
        let text = error.to_string();
        assert!(text.contains(&(MAX_BODY_BYTES + 1).to_string()), "{text}");
        assert!(text.contains(&MAX_BODY_BYTES.to_string()), "{text}");
    }

    #[test]
    fn the_limit_counts_bytes_not_characters() {
        // "é" is two bytes in UTF-8.
        let text = "é".repeat(MAX_BODY_BYTES / 2 + 1);
        assert!(matches!(
            MessageBody::parse(text),
            Err(InvalidBody::TooLong(_))
        ));
    }

    #[test]
    fn a_body_keeps_its_surrounding_whitespace() {
        let body = MessageBody::parse("  hi  ").expect("valid");
        assert_eq!(body.as_str(), "  hi  ");
    }
}
