//! The pipeline strip as a page shows it: each stage named for the service
//! that does it (Amazon SQS or the embedded queue, sqsd or the poller,
//! DynamoDB or SQLite), the dead-letter queue off the queue, each stage's
//! figures as text ("?" for what could not be read), how long the oldest
//! unfinished message has waited (red past [`OLDEST_LATE_AFTER`]), and a
//! warning when messages wait and no worker takes them.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::dashboard::snapshot::Pipeline;
use crate::dashboard::worker_link::WorkerMode;

/// Past this, the oldest pending message is shown in red: longer than sqsd's
/// default visibility timeout (300 s), so a delivery of it has gone
/// unanswered, or the backlog is longer than the workers drain in that time.
/// The page's script keeps the same figure (`OLDEST_LATE_MS` in `app.js`).
pub const OLDEST_LATE_AFTER: Duration = Duration::from_secs(300);

/// How long the oldest pending message has waited, as the strip says it.
pub struct Oldest {
    /// "4 min 2 s".
    pub shown: String,
    /// Past [`OLDEST_LATE_AFTER`].
    pub late: bool,
    /// When it was created, for the script to count on.
    pub since: String,
}

/// A wait as the strip says it, to the second: "42 s", "4 min 2 s",
/// "2 h 3 min" (the page's script says it alike: `waitedText`).
fn waited_text(waited: Duration) -> String {
    let seconds = waited.as_secs().max(1);
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3_600 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {} min", seconds / 3_600, seconds % 3_600 / 60),
    }
}

impl Oldest {
    /// The oldest pending message created at `since`, seen at `now`.
    pub fn at(since: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        let waited = (now - since).to_std().unwrap_or_default();
        Self {
            shown: waited_text(waited),
            late: waited >= OLDEST_LATE_AFTER,
            since: since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }
}

/// One figure of the strip.
pub struct Figure {
    /// The element id the script updates.
    pub id: &'static str,
    /// What it counts.
    pub label: &'static str,
    /// The figure as shown.
    pub shown: String,
}

/// The strip's stages, ready for `dashboard/strip.html`.
pub struct Strip {
    /// Waiting, in flight, delayed.
    pub queue: Vec<Figure>,
    /// How jobs reach the worker, as a phrase.
    pub worker: &'static str,
    /// The worker mode's name (`sqsd`, `polling`, `manual`, `unreachable`).
    pub worker_mode: String,
    /// The worker waits for "Process" (polling off, `WORKER_URL` set): the
    /// strip offers the buttons, beside the number waiting.
    pub manual: bool,
    /// Pending, complete, fail.
    pub store: Vec<Figure>,
    /// The dead-letter queue's depth as shown ("none configured" without one).
    pub dead_letters: String,
    /// The queue stage's name: its service.
    pub queue_name: &'static str,
    /// The store stage's name: its service.
    pub store_name: &'static str,
    /// How long the oldest pending message has waited; none when none is
    /// pending (or the store could not say).
    pub oldest: Option<Oldest>,
    /// The warning, when messages have waited too long with none taken.
    pub stuck: Option<String>,
}
/// A figure as shown: "?" when it could not be read.
fn shown(count: Option<u64>) -> String {
    count.map_or_else(|| "?".to_owned(), |count| count.to_string())
}

/// The strip drawn on its own, for a page that shows it.
#[derive(askama::Template)]
#[template(path = "dashboard/strip.html")]
pub struct StripPart {
    pub strip: Strip,
}

impl From<&Pipeline> for Strip {
    fn from(pipeline: &Pipeline) -> Self {
        let queue = pipeline.queue;
        let queue = [
            ("pipe-waiting", "waiting", queue.map(|queue| queue.waiting)),
            (
                "pipe-in-flight",
                "in flight",
                queue.map(|queue| queue.in_flight),
            ),
            ("pipe-delayed", "delayed", queue.map(|queue| queue.delayed)),
        ];
        let count = |status: &str| {
            pipeline
                .counts
                .as_ref()
                .and_then(|counts| counts.get(status).copied())
        };
        Self {
            queue: queue
                .into_iter()
                .map(|(id, label, count)| Figure {
                    id,
                    label,
                    shown: shown(count),
                })
                .collect(),
            worker: pipeline.worker.describe(),
            manual: pipeline.worker == WorkerMode::Manual,
            worker_mode: serde_json::to_value(pipeline.worker)
                .ok()
                .and_then(|value| value.as_str().map(str::to_owned))
                .unwrap_or_default(),
            store: [
                ("pipe-pending", "pending"),
                ("pipe-complete", "complete"),
                ("pipe-fail", "fail"),
            ]
            .into_iter()
            .map(|(id, label)| Figure {
                id,
                label,
                shown: shown(count(label)),
            })
            .collect(),
            dead_letters: match (pipeline.has_dead_letters, pipeline.dead_letters) {
                (false, _) => "none configured".to_owned(),
                (true, depth) => shown(depth),
            },
            queue_name: pipeline.queue_service,
            store_name: pipeline.store_service,
            oldest: pipeline
                .oldest_pending_at
                .map(|since| Oldest::at(since, Utc::now())),
            stuck: pipeline.stuck.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_wait_reads_in_seconds_minutes_or_hours_and_is_late_past_five_minutes() {
        let now = Utc::now();
        let at = |seconds: i64| Oldest::at(now - chrono::Duration::seconds(seconds), now);
        assert_eq!(at(0).shown, "1 s");
        assert_eq!(at(42).shown, "42 s");
        assert_eq!(at(242).shown, "4 min 2 s");
        assert_eq!(at(7_380).shown, "2 h 3 min");
        assert!(!at(299).late);
        assert!(at(300).late);
    }
}
