//! A message's state as the pages draw it: its status, or for a pending one
//! where it is ("running for 2.1 s", "retrying in 28 s"), from
//! [`messages::Progress`]. The live page keeps the figure current from the
//! time it carries (`app.js`).

use chrono::{DateTime, Utc};
use messages::{Message, Progress};

use crate::views::timeline::duration;

/// What a status cell shows.
pub struct RowState {
    /// The badge's word, and its style: `pending`, `running`, `retrying`,
    /// `complete` or `fail`.
    pub name: &'static str,
    /// The figure beside it: "for 2.1 s", "in 28 s", "due now".
    pub note: Option<String>,
    /// The time the figure counts from or to, RFC 3339, for the page to keep
    /// it current.
    pub at: Option<String>,
    /// What the figure is: `since` (counting up) or `until` (counting down).
    pub counts: &'static str,
}

fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn millis(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    u64::try_from((to - from).num_milliseconds()).unwrap_or_default()
}

/// A wait as a countdown reads it: whole seconds, rounded up, then minutes.
fn whole_seconds(ms: u64) -> String {
    let seconds = ms.div_ceil(1_000);
    if seconds < 60 {
        format!("{seconds} s")
    } else {
        format!("{} min {} s", seconds / 60, seconds % 60)
    }
}

/// How `message` is drawn at `now`.
pub fn of(message: &Message, now: DateTime<Utc>) -> RowState {
    let plain = |name| RowState {
        name,
        note: None,
        at: None,
        counts: "",
    };
    match message.progress() {
        Progress::Finished => plain(message.status.as_str()),
        Progress::Waiting => plain("pending"),
        Progress::Running { since, deadline } => RowState {
            name: "running",
            note: Some(if now > deadline {
                // sqsd has stopped waiting: it will hand the job out again.
                format!("no answer for {}", duration(millis(since, now)))
            } else {
                format!("for {}", duration(millis(since, now)))
            }),
            at: Some(iso(since)),
            counts: "since",
        },
        Progress::Retrying { at } => RowState {
            name: "retrying",
            note: Some(if at > now {
                format!("in {}", whole_seconds(millis(now, at)))
            } else {
                "due now".to_owned()
            }),
            at: Some(iso(at)),
            counts: "until",
        },
    }
}

/// How `message` is drawn now.
pub fn now(message: &Message) -> RowState {
    of(message, Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use messages::{Event, JobKind, MessageBody};

    #[test]
    fn a_pending_message_says_how_long_it_has_run_or_when_it_is_retried() {
        let mut message = Message::new(MessageBody::parse("x").expect("valid"), JobKind::Slow);
        let start = messages::now();
        assert_eq!(of(&message, start).name, "pending");
        message.history.push(Event::Started {
            receive_count: 1,
            at: start,
            deadline: start + Duration::seconds(299),
        });
        let running = of(&message, start + Duration::milliseconds(2_100));
        assert_eq!(
            (running.name, running.note.as_deref()),
            ("running", Some("for 2.1 s"))
        );
        let hung = of(&message, start + Duration::seconds(300));
        assert_eq!(hung.note.as_deref(), Some("no answer for 5 min 0 s"));
        message.history.push(
            Event::delivered(1, start, 429, Some("flaky"))
                .to_be_retried_at(start + Duration::seconds(30)),
        );
        let retrying = of(&message, start + Duration::seconds(2));
        assert_eq!(
            (retrying.name, retrying.note.as_deref()),
            ("retrying", Some("in 28 s"))
        );
        assert_eq!(
            of(&message, start + Duration::seconds(31)).note.as_deref(),
            Some("due now")
        );
    }
}
