//! Where an unfinished message is, read from its timeline alone: waiting for
//! the worker, running in it, or failed once and waiting to be handed out
//! again. The pages show it ("running for 2.1 s", "retrying in 28 s") at no
//! cost per row: the record already holds it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Event, Message};

/// What a message is doing, as its last event tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Progress {
    /// `pending`, waiting on the queue for the worker.
    Waiting,
    /// `pending`, its job in the worker since `since` (noted once it had run
    /// a second). Past `deadline` the queue no longer waits for its answer:
    /// the job hangs, or the worker stopped without saying.
    Running {
        /// When the job began.
        since: DateTime<Utc>,
        /// When sqsd stops waiting for it.
        deadline: DateTime<Utc>,
    },
    /// `pending`, failed at its last delivery; the queue hands it out again at `at`.
    Retrying {
        /// When the queue hands the job out again.
        at: DateTime<Utc>,
    },
    /// `complete` or `fail`.
    Finished,
}

impl Progress {
    /// The state's name, as the live page's `watch` items carry it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Running { .. } => "running",
            Self::Retrying { .. } => "retrying",
            Self::Finished => "finished",
        }
    }
}

impl Message {
    /// Where this message is: see [`Progress`].
    pub fn progress(&self) -> Progress {
        if self.status.is_final() {
            return Progress::Finished;
        }
        match self.history.last() {
            Some(Event::Started {
                receive_count: _,
                at,
                deadline,
            }) => Progress::Running {
                since: *at,
                deadline: *deadline,
            },
            Some(Event::Delivered {
                retry_at: Some(at), ..
            }) => Progress::Retrying { at: *at },
            _ => Progress::Waiting,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{JobKind, MessageBody, Status};

    fn message(history: Vec<Event>) -> Message {
        Message {
            history,
            ..Message::new(MessageBody::parse("x").expect("valid"), JobKind::Slow)
        }
    }

    #[test]
    fn the_last_event_says_where_a_pending_message_is() {
        let at = crate::now();
        let started = Event::Started {
            receive_count: 1,
            at,
            deadline: at + chrono::Duration::seconds(299),
        };
        let failed = Event::delivered(1, at, 429, Some("flaky"));
        assert_eq!(message(Vec::new()).progress(), Progress::Waiting);
        assert_eq!(
            message(vec![started.clone()]).progress(),
            Progress::Running {
                since: at,
                deadline: at + chrono::Duration::seconds(299)
            }
        );
        // Once the delivery answers, it no longer runs.
        assert_eq!(
            message(vec![started.clone(), failed.clone()]).progress(),
            Progress::Waiting
        );
        let retry = at + chrono::Duration::seconds(30);
        assert_eq!(
            message(vec![started, failed.to_be_retried_at(retry)]).progress(),
            Progress::Retrying { at: retry }
        );
        let mut done = message(vec![Event::delivered(1, at, 200, None)]);
        done.status = Status::Complete;
        assert_eq!(done.progress(), Progress::Finished);
    }

    #[test]
    fn an_event_from_an_older_version_reads_without_a_retry_time() {
        let json = r#"{"kind":"delivered","receive_count":2,"started_at":"2026-01-01T00:00:00Z","took_ms":5,"answer":500,"error":"e"}"#;
        let event = Event::from_json(json).expect("an older event reads");
        assert_eq!(message(vec![event]).progress(), Progress::Waiting);
    }
}
