//! A message's timeline as its page shows it: when it was sent, then each
//! event of its history (`messages::Event`), oldest first, in words.

use chrono::{DateTime, Utc};
use messages::{Event, Message};

/// One line of the timeline.
pub struct Line {
    /// When, as RFC 3339 for `<time datetime>`.
    pub at: String,
    /// When, as people read it.
    pub at_text: String,
    /// What happened, for the styling: `sent`, `delivered`, `failed`,
    /// `requeued`, `retried`.
    pub kind: &'static str,
    /// What happened, in words.
    pub what: String,
    /// Why a delivery failed, if it did.
    pub error: Option<String>,
    /// How long after the line before it, as people read it ("+2.1 s").
    pub after: Option<String>,
    /// The trace a delivery ran in, when traces were on: what to search
    /// the tracing backend for.
    pub trace_id: Option<String>,
}

fn line(at: DateTime<Utc>, kind: &'static str, what: String, error: Option<String>) -> Line {
    Line {
        at: at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        at_text: at.format("%H:%M:%S%.3f").to_string(),
        kind,
        what,
        error,
        after: None,
        trace_id: None,
    }
}

/// A time of day as the timeline says it: UTC, to the second.
fn clock(at: DateTime<Utc>) -> String {
    at.format("%H:%M:%S").to_string()
}

/// A run time as people read it: milliseconds under a second, then seconds
/// with a tenth, then minutes and seconds.
pub fn duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1_000.0),
        _ => format!("{} min {} s", ms / 60_000, ms % 60_000 / 1_000),
    }
}

/// The lines of `message`'s timeline, oldest first. Deliveries are numbered
/// in order on the message; sqsd's receive count, which starts again at 1
/// for the job of an operator's retry or a sweeper's re-enqueue, is said
/// beside it when it differs.
pub fn lines(message: &Message) -> Vec<Line> {
    let mut delivery = 0;
    let mut lines = vec![line(
        message.created_at,
        "sent",
        "Sent: recorded pending and enqueued".to_owned(),
        None,
    )];
    let mut previous = message.created_at;
    let last = message.history.len().checked_sub(1);
    for (index, event) in message.history.iter().enumerate() {
        let mut next = match event {
            Event::Delivered {
                receive_count,
                started_at,
                took_ms,
                answer,
                error,
                retry_at,
                trace_id,
            } => {
                delivery += 1;
                let ran = duration(*took_ms);
                let outcome = match (*answer, error.is_some(), retry_at) {
                    (200, false, _) => format!("complete after {ran}"),
                    (200, true, _) => format!("failed for good after {ran}"),
                    (_, _, Some(retry_at)) => {
                        format!("failed after {ran}, to be retried at {}", clock(*retry_at))
                    }
                    _ => format!("failed after {ran}, to be retried"),
                };
                let receive = if *receive_count == delivery {
                    String::new()
                } else {
                    format!(" (receive {receive_count} of its job)")
                };
                Line {
                    trace_id: trace_id.clone(),
                    ..line(
                        *started_at,
                        if *answer == 200 && error.is_none() {
                            "delivered"
                        } else {
                            "failed"
                        },
                        format!(
                            "Delivery {delivery}{receive}: {outcome}; answered {answer} to sqsd"
                        ),
                        error.clone(),
                    )
                }
            }
            Event::Requeued { at } => line(
                *at,
                "requeued",
                "The sweeper found it stuck and enqueued its job again".to_owned(),
                None,
            ),
            Event::Retried { at } => line(
                *at,
                "retried",
                "An operator retried it: pending again, with a new job".to_owned(),
                None,
            ),
            // A delivery's start is noted only for a job still running after
            // a second; once it answers, its outcome says it all.
            Event::Started {
                receive_count: _,
                at,
                deadline,
            } if Some(index) == last => line(
                *at,
                "running",
                format!(
                    "Delivery {}: running; sqsd waits for its answer until {}",
                    delivery + 1,
                    clock(*deadline)
                ),
                None,
            ),
            Event::Started { .. } => continue,
        };
        let at = match event {
            Event::Delivered { started_at, .. } => *started_at,
            Event::Started { at, .. } | Event::Requeued { at } | Event::Retried { at } => *at,
        };
        next.after = Some(after(at, previous));
        previous = at;
        lines.push(next);
    }
    lines
}

/// How long after `previous` `at` came, as people read it.
fn after(at: DateTime<Utc>, previous: DateTime<Utc>) -> String {
    let ms = (at - previous).num_milliseconds();
    format!("+{}", duration(u64::try_from(ms).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use messages::{JobKind, MessageBody};

    #[test]
    fn each_event_reads_as_a_line_after_the_send() {
        let mut message = Message::new(MessageBody::parse("x").expect("valid"), JobKind::Flaky);
        message.history = vec![
            Event::delivered(1, messages::now(), 500, Some("flaky")),
            Event::delivered(2, messages::now(), 200, None),
            Event::Retried {
                at: messages::now(),
            },
        ];
        let lines = lines(&message);
        let kinds: Vec<&str> = lines.iter().map(|line| line.kind).collect();
        assert_eq!(kinds, ["sent", "failed", "delivered", "retried"]);
        assert!(
            lines[1].what.starts_with("Delivery 1: failed after ")
                && lines[1].what.contains(", to be retried"),
            "{}",
            lines[1].what
        );
        assert_eq!(lines[1].error.as_deref(), Some("flaky"));
        assert!(lines[2].what.contains("answered 200 to sqsd"));
    }

    #[test]
    fn a_retried_messages_deliveries_keep_counting_and_say_their_receive() {
        let mut message = Message::new(MessageBody::parse("x").expect("valid"), JobKind::Fail);
        message.history = vec![
            Event::delivered(1, messages::now(), 200, Some("no")),
            Event::Retried {
                at: messages::now(),
            },
            Event::delivered(1, messages::now(), 200, None),
        ];
        let lines = lines(&message);
        assert!(
            lines[1].what.starts_with("Delivery 1: failed for good"),
            "{}",
            lines[1].what
        );
        assert!(
            lines[3]
                .what
                .starts_with("Delivery 2 (receive 1 of its job): complete"),
            "{}",
            lines[3].what
        );
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(0), "0 ms");
        assert_eq!(duration(999), "999 ms");
        assert_eq!(duration(12_703), "12.7 s");
        assert_eq!(duration(61_000), "1 min 1 s");
    }
}
