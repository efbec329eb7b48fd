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
}

fn line(at: DateTime<Utc>, kind: &'static str, what: String, error: Option<String>) -> Line {
    Line {
        at: at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        at_text: at.format("%H:%M:%S%.3f").to_string(),
        kind,
        what,
        error,
    }
}

/// The lines of `message`'s timeline, oldest first.
pub fn lines(message: &Message) -> Vec<Line> {
    let mut lines = vec![line(
        message.created_at,
        "sent",
        "Sent: recorded pending and enqueued".to_owned(),
        None,
    )];
    for event in &message.history {
        lines.push(match event {
            Event::Delivered {
                receive_count,
                started_at,
                took_ms,
                answer,
                error,
            } => {
                let outcome = match (*answer, error.is_some()) {
                    (200, false) => "complete",
                    (200, true) => "failed for good",
                    _ => "failed, to be retried",
                };
                line(
                    *started_at,
                    if *answer == 200 && error.is_none() { "delivered" } else { "failed" },
                    format!(
                        "Delivery {receive_count}: {outcome} in {took_ms} ms, answered {answer} to sqsd"
                    ),
                    error.clone(),
                )
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
        });
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use messages::{MessageBody, Simulate};

    #[test]
    fn each_event_reads_as_a_line_after_the_send() {
        let mut message = Message::new(MessageBody::parse("x").expect("valid"), Simulate::Flaky);
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
            lines[1]
                .what
                .starts_with("Delivery 1: failed, to be retried"),
            "{}",
            lines[1].what
        );
        assert_eq!(lines[1].error.as_deref(), Some("flaky"));
        assert!(lines[2].what.contains("answered 200 to sqsd"));
    }
}
