//! A message's timeline: each delivery to the worker, each re-enqueue by the
//! sweeper and each retry by an operator, kept on the record itself.
//!
//! A delivery whose job runs longer than a second is also noted when it has
//! run that second ([`Event::Started`], `StatusStore::note_started`), so the
//! pages can say a message is running and for how long: the one write this
//! costs is paid by slow jobs only (ARCHITECTURE.md, "Running").
//!
//! Every event is written by the same conditional write as the change it
//! records (`StatusStore::finish`, `record_attempt`, `claim_requeue`,
//! `retry`), so a duplicate or late delivery, whose write is refused, adds
//! nothing: each event is recorded once. The timeline keeps the last
//! [`MAX_HISTORY`] events, each error cut to [`MAX_EVENT_ERROR_CHARS`], so a
//! record stays below DynamoDB's 400 KB item limit (50 events of at most
//! about 2 KB each, escaped: under 100 KB).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The most events a timeline keeps: the oldest go first.
pub const MAX_HISTORY: usize = 50;

/// The most characters of an error an event keeps.
pub const MAX_EVENT_ERROR_CHARS: usize = 300;

/// One event in a message's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A delivery to the worker, and what it answered sqsd.
    Delivered {
        /// sqsd's `X-Aws-Sqsd-Receive-Count` for it.
        receive_count: u32,
        /// When the worker began the job.
        started_at: DateTime<Utc>,
        /// How long the job ran, in milliseconds.
        took_ms: u64,
        /// The HTTP status answered: `200` final, `500` to be retried.
        answer: u16,
        /// Why it failed, if it did.
        error: Option<String>,
        /// For a delivery to be retried: when the queue hands the job out
        /// again (sqsd's `ErrorVisibilityTimeout` after the answer).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_at: Option<DateTime<Utc>>,
        /// The trace the delivery ran in, when traces are on: where an
        /// operator finds what it did (ARCHITECTURE.md, "Traces").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trace_id: Option<String>,
    },
    /// A delivery's job has been running for a while and has not answered yet.
    Started {
        /// sqsd's `X-Aws-Sqsd-Receive-Count` for it.
        receive_count: u32,
        /// When the worker began the job.
        at: DateTime<Utc>,
        /// When the queue stops waiting for its answer and counts it as
        /// failed (sqsd's `InactivityTimeout` after the start).
        deadline: DateTime<Utc>,
    },
    /// The sweeper found it stuck and enqueued its job again.
    Requeued {
        /// When.
        at: DateTime<Utc>,
    },
    /// An operator sent it back to `pending` with a new job.
    Retried {
        /// When.
        at: DateTime<Utc>,
    },
}

impl Event {
    /// A delivery that began at `started_at` and ends now, its error cut to
    /// [`MAX_EVENT_ERROR_CHARS`].
    pub fn delivered(
        receive_count: u32,
        started_at: DateTime<Utc>,
        answer: u16,
        error: Option<&str>,
    ) -> Self {
        let took_ms = (crate::now() - started_at)
            .num_milliseconds()
            .try_into()
            .unwrap_or_default();
        Self::Delivered {
            receive_count,
            started_at,
            took_ms,
            answer,
            error: error.map(
                |error| match error.char_indices().nth(MAX_EVENT_ERROR_CHARS) {
                    Some((end, _)) => format!("{}…", &error[..end]),
                    None => error.to_owned(),
                },
            ),
            retry_at: None,
            trace_id: None,
        }
    }

    /// The same delivery, run in the trace `trace_id` (other events are
    /// returned unchanged).
    #[must_use]
    pub fn in_trace(mut self, trace_id: Option<String>) -> Self {
        if let Self::Delivered { trace_id: kept, .. } = &mut self {
            *kept = trace_id;
        }
        self
    }

    /// The same delivery, to be handed out again at `at` (other events are
    /// returned unchanged).
    #[must_use]
    pub fn to_be_retried_at(mut self, at: DateTime<Utc>) -> Self {
        if let Self::Delivered { retry_at, .. } = &mut self {
            *retry_at = Some(at);
        }
        self
    }

    /// The event as the stores keep it: one JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self)
            .expect("an enum of numbers, strings and times always serialises")
    }

    /// An event read back from a store.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_survives_a_round_trip_and_a_long_error_is_cut() {
        let long = "e".repeat(1_000);
        let event = Event::delivered(3, crate::now(), 500, Some(&long));
        let Event::Delivered { error, .. } = &event else {
            panic!("a delivery")
        };
        assert_eq!(
            error.as_ref().map(|error| error.chars().count()),
            Some(MAX_EVENT_ERROR_CHARS + 1)
        );
        assert_eq!(Event::from_json(&event.to_json()).ok(), Some(event));
        let json = Event::Retried { at: crate::now() }.to_json();
        assert!(json.contains(r#""kind":"retried""#), "{json}");
    }
}
