//! A message's body as the table keeps it: deflated when that makes it
//! smaller.
//!
//! The body is most of an item, and a write costs a unit per 1 KB of the
//! item (`layout.rs`, "Write units per message"): a 1 KB body as text takes
//! its item over 1 KB, so each of the message's writes would cost two units.
//! Deflated (raw DEFLATE, RFC 1951), a 1 KB body of text usually takes well
//! under 800 bytes, and the whole item one unit. The attribute is `body`
//! either way: a binary value is deflated, a string is the text as sent (a
//! body that deflating would not shrink, or one an earlier version wrote).

use std::io::{Read, Write};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;

use messages::MAX_BODY_BYTES;

/// The `body` attribute for `text`: deflated if that is shorter.
pub fn to_stored(text: &str) -> AttributeValue {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    let deflated = encoder
        .write_all(text.as_bytes())
        .and_then(|()| encoder.finish());
    match deflated {
        Ok(bytes) if bytes.len() < text.len() => AttributeValue::B(Blob::new(bytes)),
        // Writing to memory cannot fail; were it to, the text is kept as it is.
        _ => AttributeValue::S(text.to_owned()),
    }
}

/// The text of a `body` attribute, or why it is not one this code wrote.
/// Inflating stops past [`MAX_BODY_BYTES`], the most a body can be, so an
/// item forged to inflate without end costs no more than that.
pub fn from_stored(value: &AttributeValue) -> Result<String, String> {
    match value {
        AttributeValue::S(text) => Ok(text.clone()),
        AttributeValue::B(blob) => {
            let limit = u64::try_from(MAX_BODY_BYTES).unwrap_or(u64::MAX) + 1;
            let mut bytes = Vec::new();
            DeflateDecoder::new(blob.as_ref())
                .take(limit)
                .read_to_end(&mut bytes)
                .map_err(|error| format!("not DEFLATE data: {error}"))?;
            if bytes.len() > MAX_BODY_BYTES {
                return Err(format!("inflates past {MAX_BODY_BYTES} bytes"));
            }
            String::from_utf8(bytes).map_err(|_| "inflates to text that is not UTF-8".to_owned())
        }
        _ => Err("neither text nor binary".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_of_words_is_kept_deflated_and_reads_back() {
        let text = "the quick brown fox jumps over the lazy dog; ".repeat(23);
        let stored = to_stored(&text);
        let AttributeValue::B(blob) = &stored else {
            panic!("deflated: {stored:?}")
        };
        assert!(blob.as_ref().len() < text.len() / 4);
        assert_eq!(from_stored(&stored), Ok(text));
    }

    #[test]
    fn a_body_deflating_would_not_shrink_is_kept_as_text() {
        for text in ["hi", "é"] {
            assert_eq!(to_stored(text), AttributeValue::S(text.to_owned()));
            assert_eq!(from_stored(&to_stored(text)).as_deref(), Ok(text));
        }
    }

    #[test]
    fn a_value_that_is_no_body_is_an_error_not_a_guess() {
        let not_deflate = AttributeValue::B(Blob::new(vec![0xff; 8]));
        assert!(from_stored(&not_deflate).is_err());
        assert!(from_stored(&AttributeValue::N("1".to_owned())).is_err());
        // A bomb: far more than the largest body, deflated small.
        let huge = "a".repeat(MAX_BODY_BYTES * 4);
        let AttributeValue::B(bomb) = to_stored(&huge) else {
            panic!("deflated")
        };
        let error = from_stored(&AttributeValue::B(bomb)).expect_err("too big");
        assert!(error.contains("inflates past"), "{error}");
    }
}
