//! A timeline event as the table keeps it: a short JSON array, not the
//! tagged object the API shows.
//!
//! Every byte of an item is paid on each of its writes, a write unit per
//! 1 KB (`layout.rs`, "Write units per message"). A message's first delivery
//! as a tagged object (`{"kind":"delivered","receive_count":1,...}`) takes
//! about 100 bytes, which with a 1 KB body takes the item over 1 KB; as an
//! array of its values, with times as milliseconds since 1970, it takes 30:
//!
//! - `["d", receive_count, started_at, took_ms, answer, error, retry_at, trace_id]`:
//!   a delivery, the last three left off when they are all empty and
//!   `null` where one is empty before one that is not;
//! - `["s", receive_count, at, deadline]`: a delivery that has run a while;
//! - `["q", at]`: re-enqueued by the sweeper;
//! - `["r", at]`: retried by an operator.
//!
//! An event written as a tagged object (by an earlier version) is still
//! read.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use messages::Event;

/// The event as one JSON array.
pub fn to_stored(event: &Event) -> String {
    let values = match event {
        Event::Delivered {
            receive_count,
            started_at,
            took_ms,
            answer,
            error,
            retry_at,
            trace_id,
        } => {
            let mut values = vec![
                json!("d"),
                json!(receive_count),
                json!(started_at.timestamp_millis()),
                json!(took_ms),
                json!(answer),
                json!(error),
                json!(retry_at.map(|at| at.timestamp_millis())),
                json!(trace_id),
            ];
            while values.last().is_some_and(Value::is_null) {
                values.pop();
            }
            values
        }
        Event::Started {
            receive_count,
            at,
            deadline,
        } => vec![
            json!("s"),
            json!(receive_count),
            json!(at.timestamp_millis()),
            json!(deadline.timestamp_millis()),
        ],
        Event::Requeued { at } => vec![json!("q"), json!(at.timestamp_millis())],
        Event::Retried { at } => vec![json!("r"), json!(at.timestamp_millis())],
    };
    Value::Array(values).to_string()
}

/// An event read back: an array as [`to_stored`] writes it, or a tagged
/// object as an earlier version did.
pub fn from_stored(text: &str) -> Result<Event, String> {
    let value: Value = serde_json::from_str(text).map_err(|error| error.to_string())?;
    let Value::Array(values) = value else {
        // Parsed once: the tagged object is read from the value.
        return serde_json::from_value(value).map_err(|error| error.to_string());
    };
    let at = |index: usize| values.get(index).unwrap_or(&Value::Null);
    let number = |index: usize| -> Result<u64, String> {
        at(index)
            .as_u64()
            .ok_or_else(|| format!("value {index} of {text:?} is not a number"))
    };
    let small = |index: usize| -> Result<u32, String> {
        u32::try_from(number(index)?).map_err(|_| format!("value {index} of {text:?} is too big"))
    };
    let time = |index: usize| -> Result<DateTime<Utc>, String> {
        i64::try_from(number(index)?)
            .ok()
            .and_then(DateTime::from_timestamp_millis)
            .ok_or_else(|| format!("value {index} of {text:?} is not a time"))
    };
    let text_at = |index: usize| -> Result<Option<String>, String> {
        match at(index) {
            Value::Null => Ok(None),
            Value::String(text) => Ok(Some(text.clone())),
            _ => Err(format!("value {index} of {text:?} is not text")),
        }
    };
    match values.first().and_then(Value::as_str) {
        Some("d") => Ok(Event::Delivered {
            receive_count: small(1)?,
            started_at: time(2)?,
            took_ms: number(3)?,
            answer: u16::try_from(number(4)?)
                .map_err(|_| format!("value 4 of {text:?} is not an HTTP status"))?,
            error: text_at(5)?,
            retry_at: match at(6) {
                Value::Null => None,
                _ => Some(time(6)?),
            },
            trace_id: text_at(7)?,
        }),
        Some("s") => Ok(Event::Started {
            receive_count: small(1)?,
            at: time(2)?,
            deadline: time(3)?,
        }),
        Some("q") => Ok(Event::Requeued { at: time(1)? }),
        Some("r") => Ok(Event::Retried { at: time(1)? }),
        _ => Err(format!("{text:?} is no event this version knows")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<Event> {
        let at = messages::now();
        vec![
            Event::delivered(1, at, 200, None),
            Event::delivered(2, at, 500, Some("boom, \"quoted\""))
                .to_be_retried_at(at)
                .in_trace(Some("4bf92f3577b34da6a3ce929d0e0e4736".to_owned())),
            Event::delivered(3, at, 500, None).in_trace(Some("trace".to_owned())),
            Event::Started {
                receive_count: 4,
                at,
                deadline: at,
            },
            Event::Requeued { at },
            Event::Retried { at },
        ]
    }

    #[test]
    fn every_kind_of_event_reads_back_as_written() {
        for event in every_kind() {
            assert_eq!(from_stored(&to_stored(&event)), Ok(event));
        }
    }

    #[test]
    fn a_first_delivery_takes_a_third_of_its_tagged_object() {
        let event = Event::delivered(1, messages::now(), 200, None);
        let stored = to_stored(&event);
        assert!(stored.starts_with("[\"d\",1,"), "{stored}");
        assert!(stored.len() <= 32, "{stored}: {} bytes", stored.len());
        assert!(event.to_json().len() > 3 * stored.len());
    }

    #[test]
    fn an_event_an_earlier_version_wrote_is_still_read() {
        for event in every_kind() {
            assert_eq!(from_stored(&event.to_json()), Ok(event));
        }
    }

    #[test]
    fn what_is_not_an_event_is_an_error() {
        for text in [
            "[]",
            "[\"x\",1]",
            "[\"q\",\"soon\"]",
            "[\"d\",1]",
            "{}",
            "nope",
        ] {
            assert!(from_stored(text).is_err(), "{text}");
        }
    }
}
