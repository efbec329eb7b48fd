//! What the processing path records for the metrics (`service::metrics`;
//! ARCHITECTURE.md, "Metrics"): deliveries consumed, each job's outcome by
//! kind, how long it ran and how long it waited on the queue, and the jobs
//! running now. Nothing here changes what is processed.

use std::time::Instant;

use chrono::{DateTime, Utc};
use messages::JobKind;

/// How a delivery ended, as `jobs_total`'s `outcome` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The job succeeded and the message is `complete`.
    Complete,
    /// The job failed for good (or on its last delivery): `fail`.
    Fail,
    /// The job asked to be retried: the queue delivers it again.
    Retry,
    /// The message was already final: nothing ran, or its result was not kept.
    Duplicate,
}

impl Ended {
    fn label(self) -> &'static str {
        match self {
            Self::Complete => "complete",
            Self::Fail => "fail",
            Self::Retry => "retry",
            Self::Duplicate => "duplicate",
        }
    }
}

/// A delivery arrived (`messages_consumed_total`).
pub fn consumed() {
    metrics::counter!("messages_consumed_total").increment(1);
}

/// A delivery of a `kind` job ended so (`jobs_total`).
pub fn ended(kind: JobKind, ended: Ended) {
    metrics::counter!("jobs_total", "kind" => kind.as_str(), "outcome" => ended.label())
        .increment(1);
}

/// A job starting at `started_at` waited since `created_at`: the time from
/// the send to this delivery, retries and outages included.
pub fn waited(created_at: DateTime<Utc>, started_at: DateTime<Utc>) {
    let waited = (started_at - created_at).to_std().unwrap_or_default();
    metrics::histogram!(service::metrics::QUEUE_WAIT).record(waited.as_secs_f64());
}

/// A job running: counted in `jobs_in_flight` while it lives, and its run
/// time recorded in `job_duration_seconds` when it is dropped.
pub struct Running {
    kind: JobKind,
    started: Instant,
}

impl Running {
    /// A `kind` job starts.
    pub fn start(kind: JobKind) -> Self {
        metrics::gauge!("jobs_in_flight").increment(1.0);
        Self {
            kind,
            started: Instant::now(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        metrics::gauge!("jobs_in_flight").decrement(1.0);
        metrics::histogram!("job_duration_seconds", "kind" => self.kind.as_str())
            .record(self.started.elapsed().as_secs_f64());
    }
}
