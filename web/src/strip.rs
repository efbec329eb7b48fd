//! The pipeline strip as a page shows it: each stage named for the service
//! that does it (Amazon SQS or the embedded queue, sqsd or the poller,
//! DynamoDB or SQLite), the dead-letter queue off the queue, each stage's
//! figures as text ("?" for what could not be read), and a warning when
//! messages wait and no worker takes them.

use crate::snapshot::Pipeline;
use crate::worker_link::WorkerMode;

/// One figure of the strip.
pub struct Figure {
    /// The element id the script updates.
    pub id: &'static str,
    /// What it counts.
    pub label: &'static str,
    /// The figure as shown.
    pub shown: String,
}

/// The strip's stages, ready for `partials/pipeline.html`.
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
    /// The warning, when messages have waited too long with none taken.
    pub stuck: Option<String>,
}
/// A figure as shown: "?" when it could not be read.
fn shown(count: Option<u64>) -> String {
    count.map_or_else(|| "?".to_owned(), |count| count.to_string())
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
            stuck: pipeline.stuck.clone(),
        }
    }
}
