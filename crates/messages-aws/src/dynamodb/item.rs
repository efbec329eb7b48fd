//! A message as a DynamoDB item, and back.
//!
//! An item holds only what cannot be had otherwise, since each of its bytes
//! is paid on every write (`layout.rs`, "Write units per message"): the body
//! deflated (`stored_body.rs`), each event as a short array
//! (`stored_event.rs`), no `created_at` when it is the time in the id (a
//! UUIDv7's, to the millisecond: always, for a message this version
//! created), no `requeues` or `retries` while they are zero, and the status
//! index's key only while the status is listed from that index
//! ([`indexed_status_key`]).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::layout::{
    GROUP, GROUP_SHARD, SHARD, STATUS_SHARD, group_key, indexed_status_key, shard_key, shard_of,
};
use super::{stored_body, stored_event};
use messages::{BackendError, Event, Message, MessageGroup, MessageId};

/// One item's attributes.
pub type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

/// A time attribute: RFC 3339 in UTC, to the millisecond, so it sorts as text.
pub fn time(at: DateTime<Utc>) -> AttributeValue {
    s(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// A timeline as DynamoDB keeps it: a list of events, each one short JSON
/// array (`stored_event.rs`).
pub fn history(events: &[Event]) -> AttributeValue {
    AttributeValue::L(
        events
            .iter()
            .map(|event| s(stored_event::to_stored(event)))
            .collect(),
    )
}

/// The trace of the request that sent the message, when traces were on.
const TRACE_ID: &str = "trace_id";

/// A message as the item that records it, with its index keys.
pub fn to_item(message: &Message) -> Item {
    let shard = shard_of(message.id);
    let mut item = Item::from([
        ("id".to_owned(), s(message.id)),
        (SHARD.to_owned(), s(shard_key(shard))),
        ("body".to_owned(), stored_body::to_stored(&message.body)),
        ("simulate".to_owned(), s(message.simulate.as_str())),
        ("status".to_owned(), s(message.status.as_str())),
        (
            "attempts".to_owned(),
            AttributeValue::N(message.attempts.to_string()),
        ),
        ("updated_at".to_owned(), time(message.updated_at)),
    ]);
    if let Some(key) = indexed_status_key(message.status, shard) {
        item.insert(STATUS_SHARD.to_owned(), s(key));
    }
    if message.created_at != message.id.time() {
        item.insert("created_at".to_owned(), time(message.created_at));
    }
    for (name, count) in [("requeues", message.requeues), ("retries", message.retries)] {
        if count > 0 {
            item.insert(name.to_owned(), AttributeValue::N(count.to_string()));
        }
    }
    if let Some(error) = &message.error {
        item.insert("error".to_owned(), s(error));
    }
    if !message.history.is_empty() {
        item.insert("history".to_owned(), history(&message.history));
    }
    if let Some(group) = &message.group {
        item.insert(GROUP.to_owned(), s(group.as_str()));
        item.insert(GROUP_SHARD.to_owned(), s(group_key(group, shard)));
    }
    if let Some(trace_id) = &message.trace_id {
        item.insert(TRACE_ID.to_owned(), s(trace_id));
    }
    item
}

/// Reads an item back. An item this code did not write is reported, not guessed at.
pub fn from_item(item: &Item) -> Result<Message, BackendError> {
    let text = |name: &str| -> Result<&str, BackendError> {
        match item.get(name) {
            Some(AttributeValue::S(text)) => Ok(text),
            _ => Err(BackendError::new(
                "reading a DynamoDB item",
                format!("attribute {name:?} is missing or not a string"),
            )),
        }
    };
    let invalid = |name: &str, error: String| {
        BackendError::new(
            "reading a DynamoDB item",
            format!("attribute {name:?}: {error}"),
        )
    };
    let timestamp = |name: &str| -> Result<DateTime<Utc>, BackendError> {
        DateTime::parse_from_rfc3339(text(name)?)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|error| invalid(name, error.to_string()))
    };
    let count = |name: &str| -> Result<u32, BackendError> {
        match item.get(name) {
            Some(AttributeValue::N(number)) => number
                .parse()
                .map_err(|_| invalid(name, format!("{number:?} is not a count"))),
            _ => Ok(0),
        }
    };
    let id = MessageId::parse(text("id")?).map_err(|error| invalid("id", error.to_string()))?;
    Ok(Message {
        id,
        body: match item.get("body") {
            Some(body) => stored_body::from_stored(body).map_err(|error| invalid("body", error))?,
            None => return Err(invalid("body", "missing".to_owned())),
        },
        simulate: text("simulate")?
            .parse()
            .map_err(|error: messages::UnknownJobKind| invalid("simulate", error.to_string()))?,
        status: text("status")?
            .parse()
            .map_err(|error: messages::UnknownStatus| invalid("status", error.to_string()))?,
        attempts: count("attempts")?,
        requeues: count("requeues")?,
        retries: count("retries")?,
        // Left out when it is the id's time.
        created_at: match item.get("created_at") {
            None => id.time(),
            Some(_) => timestamp("created_at")?,
        },
        updated_at: timestamp("updated_at")?,
        // No `error` attribute means no error; one of another type is not ours.
        error: match item.get("error") {
            None => None,
            Some(_) => Some(text("error")?.to_owned()),
        },
        history: match item.get("history") {
            None => Vec::new(),
            Some(AttributeValue::L(events)) => events
                .iter()
                .map(|event| match event {
                    AttributeValue::S(text) => {
                        stored_event::from_stored(text).map_err(|error| invalid("history", error))
                    }
                    _ => Err(invalid("history", "an event is not a string".to_owned())),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(invalid("history", "not a list".to_owned())),
        },
        group: match item.get(GROUP) {
            None => None,
            Some(_) => Some(
                MessageGroup::parse(text(GROUP)?)
                    .map_err(|error| invalid(GROUP, error.to_string()))?,
            ),
        },
        trace_id: match item.get(TRACE_ID) {
            None => None,
            Some(_) => Some(text(TRACE_ID)?.to_owned()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use messages::{JobKind, MessageBody, Status};

    #[test]
    fn an_item_reads_back_as_the_message_written() {
        let mut message = Message::new(MessageBody::parse("hi <b>").expect("valid"), JobKind::Slow)
            .in_trace(Some("4bf92f3577b34da6a3ce929d0e0e4736".to_owned()));
        message.error = Some("boom".to_owned());
        message.attempts = 3;
        assert_eq!(from_item(&to_item(&message)).ok(), Some(message.clone()));
        message.history = vec![Event::Retried {
            at: messages::now(),
        }];
        assert_eq!(from_item(&to_item(&message)).ok(), Some(message.clone()));
        let grouped = message.in_group(MessageGroup::parse("orders").ok());
        assert_eq!(from_item(&to_item(&grouped)).ok(), Some(grouped));
    }

    #[test]
    fn an_item_carries_the_index_keys_of_its_shard_and_status() {
        let message = Message::new(MessageBody::parse("x").expect("valid"), JobKind::Succeed);
        let item = to_item(&message);
        let shard = format!("{:02}", message.id.last_byte() % 64);
        assert_eq!(item.get("shard"), Some(&s(&shard)));
        let index_shard = format!("{:02}", message.id.last_byte() % 64);
        assert_eq!(
            item.get("status_shard"),
            Some(&s(format!("pending#{index_shard}")))
        );
    }

    #[test]
    fn only_a_message_the_status_index_lists_has_its_key() {
        let mut message = Message::new(MessageBody::parse("x").expect("valid"), JobKind::Succeed);
        let index_shard = message.id.last_byte() % 64;
        for (status, key) in [
            (Status::Pending, Some(format!("pending#{index_shard:02}"))),
            (Status::Fail, Some(format!("fail#{index_shard:02}"))),
            (Status::Complete, None),
        ] {
            message.status = status;
            let item = to_item(&message);
            assert_eq!(item.get("status_shard"), key.map(s).as_ref(), "{status:?}");
            assert_eq!(from_item(&item).ok().as_ref(), Some(&message));
        }
    }

    #[test]
    fn what_can_be_had_otherwise_is_left_out_and_read_back() {
        let mut message = Message::new(MessageBody::parse("x").expect("valid"), JobKind::Succeed);
        assert_eq!(message.created_at, message.id.time());
        let item = to_item(&message);
        for left_out in ["created_at", "requeues", "retries"] {
            assert!(!item.contains_key(left_out), "{left_out}");
        }
        assert_eq!(from_item(&item).ok().as_ref(), Some(&message));
        // Kept where it says more than nothing.
        message.created_at -= chrono::Duration::seconds(1);
        message.requeues = 2;
        message.retries = 1;
        let item = to_item(&message);
        for kept in ["created_at", "requeues", "retries"] {
            assert!(item.contains_key(kept), "{kept}");
        }
        assert_eq!(from_item(&item).ok(), Some(message));
    }

    #[test]
    fn an_item_an_earlier_version_wrote_is_still_read() {
        let mut message = Message::new(
            MessageBody::parse("hello").expect("valid"),
            JobKind::Succeed,
        );
        message.history = vec![Event::delivered(1, messages::now(), 200, None)];
        let mut item = to_item(&message);
        item.insert("body".to_owned(), s("hello"));
        item.insert("created_at".to_owned(), time(message.created_at));
        item.insert("requeues".to_owned(), AttributeValue::N("0".to_owned()));
        item.insert(
            "history".to_owned(),
            AttributeValue::L(vec![s(message.history[0].to_json())]),
        );
        assert_eq!(from_item(&item).ok(), Some(message));
    }

    #[test]
    fn an_item_with_an_unknown_status_is_an_error_not_a_guess() {
        let message = Message::new(MessageBody::parse("x").expect("valid"), JobKind::Succeed);
        let mut item = to_item(&message);
        item.insert("status".to_owned(), s("done"));
        assert!(from_item(&item).is_err());
    }
}
