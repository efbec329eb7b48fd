//! One snapshot of the pipeline per web instance, shared by every open page:
//! the counts of each status, the queue's depth, the dead-letter queue's
//! depth and how the worker is fed.
//!
//! Each live page
//! asks for the pipeline every few polls; were each request read anew, the
//! backend's cost would grow with the number of open tabs. Instead the web
//! keeps the last snapshot for [`COUNTS_MAX_AGE`] and serves it to every
//! request in that time; a request that finds it old reads again, and the
//! requests that arrive meanwhile wait for that one read instead of starting
//! their own. So one web instance reads at most once per [`COUNTS_MAX_AGE`],
//! however many tabs are open: three counts, two `GetQueueAttributes` and
//! one look at the worker's `/health`.
//!
//! A snapshot whose counts failed is not kept: the next request tries again.
//! A queue or dead-letter depth that cannot be read shows as unknown.
//!
//! The header's failures badge on every page reads the last snapshot taken
//! ([`PipelineSnapshot::last_failures`]) without reading anything itself.
//!
//! The failures page's look at the dead-letter queue is shared the same way
//! ([`PipelineSnapshot::dead_letters`]): on SQS a look is up to five
//! receives, so a page anyone can load must not make one per view.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::dashboard::shared_read::SharedRead;
use messages::{BackendError, Backends, DeadLetter, MessageId, Status};
use serde::Serialize;

use crate::dashboard::stall::StallWatch;
use crate::dashboard::worker_link::{WorkerLink, WorkerMode};

/// How old the shared snapshot may be when served.
pub const COUNTS_MAX_AGE: Duration = Duration::from_secs(3);

/// How old the shared look at the dead-letter queue may be when served.
pub const DEAD_LETTERS_MAX_AGE: Duration = Duration::from_secs(5);

/// How many dead letters a look takes, at most (the failures page's list).
pub const DEAD_LETTERS_SHOWN: u32 = 50;

/// How many messages have each status, exactly, by name.
pub type Counts = BTreeMap<&'static str, u64>;

/// Where the queue's messages are (SQS's approximate counts).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct QueueView {
    /// Visible, waiting for the worker.
    pub waiting: u64,
    /// Received by a worker and not yet deleted: jobs in flight.
    pub in_flight: u64,
    /// Sent with a delay that has not passed.
    pub delayed: u64,
}

/// The pipeline from the web to the dead-letter queue, as last read.
#[derive(Debug, Clone, Serialize)]
pub struct Pipeline {
    /// Per status; none when the store could not count.
    pub counts: Option<Counts>,
    /// The work queue; none when it could not be read.
    pub queue: Option<QueueView>,
    /// Messages in the dead-letter queue; none when it could not be read or
    /// the queue has no dead-letter queue (see `has_dead_letters`).
    pub dead_letters: Option<u64>,
    /// Whether the queue has a dead-letter queue (a redrive policy).
    pub has_dead_letters: bool,
    /// How jobs reach the worker.
    pub worker: WorkerMode,
    /// The queue's service (`Amazon SQS`, `Embedded queue`).
    pub queue_service: &'static str,
    /// The store's service (`Amazon DynamoDB`, `SQLite`).
    pub store_service: &'static str,
    /// When the oldest `pending` message was created (its id says it); none
    /// when none is pending or the store could not say.
    pub oldest_pending_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Since when this web instance has seen messages waiting on the queue
    /// and none in flight (`stall.rs`); none while the pipeline moves.
    pub stalled_since: Option<chrono::DateTime<chrono::Utc>>,
    /// The warning when they have waited so for [`crate::dashboard::stall::STUCK_AFTER`]:
    /// no worker is taking jobs.
    pub stuck: Option<String>,
}

/// What the header's failures badge counts: failed messages and dead
/// letters, each none when it could not be read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    /// Messages whose status is `fail`.
    pub failed: Option<u64>,
    /// Jobs in the dead-letter queue; none too when the queue has none.
    pub dead_letters: Option<u64>,
}

impl Pipeline {
    /// Its figures of what failed.
    pub fn failures(&self) -> Failures {
        Failures {
            failed: self
                .counts
                .as_ref()
                .and_then(|counts| counts.get(Status::Fail.as_str()).copied()),
            dead_letters: self.dead_letters,
        }
    }
}

/// The shared pipeline snapshot of one web instance.
pub struct PipelineSnapshot {
    backends: Backends,
    worker: Option<WorkerLink>,
    /// The pipeline, kept for [`COUNTS_MAX_AGE`] when its counts were read.
    last: SharedRead<Pipeline>,
    /// The last look at the dead-letter queue: none inside when the queue has none.
    dead_look: SharedRead<Option<Vec<DeadLetter>>>,
    /// Since when messages have waited with none taken.
    stall: StallWatch,
    /// The failures of the last snapshot kept, for pages that read nothing
    /// themselves (held only to copy, never across a read).
    failures: std::sync::Mutex<Option<Failures>>,
}

impl PipelineSnapshot {
    /// The pipeline of `backends` and `worker`, served for up to [`COUNTS_MAX_AGE`].
    pub fn new(backends: Backends, worker: Option<WorkerLink>) -> Self {
        Self {
            backends,
            worker,
            last: SharedRead::new(COUNTS_MAX_AGE),
            dead_look: SharedRead::new(DEAD_LETTERS_MAX_AGE),
            stall: StallWatch::default(),
            failures: std::sync::Mutex::new(None),
        }
    }

    /// Up to [`DEAD_LETTERS_SHOWN`] messages of the dead-letter queue, taking
    /// none (none at all when the queue has no dead-letter queue), from the
    /// shared look if it is at most [`DEAD_LETTERS_MAX_AGE`] old. A failed
    /// look is not kept.
    pub async fn dead_letters(&self) -> Result<Option<Vec<DeadLetter>>, BackendError> {
        self.dead_look
            .try_get(|| async {
                Ok(match self.backends.queue.dead_letter_queue().await? {
                    Some(dead_letters) => Some(dead_letters.peek(DEAD_LETTERS_SHOWN).await?),
                    None => None,
                })
            })
            .await
    }

    /// The pipeline, from the snapshot if it is young enough, else read now.
    pub async fn pipeline(&self) -> Pipeline {
        self.last
            .get(
                || self.read_pipeline(),
                |pipeline| pipeline.counts.is_some(),
            )
            .await
    }

    /// The pipeline read now; the failures kept for [`Self::last_failures`].
    async fn read_pipeline(&self) -> Pipeline {
        let (counts, queue, dead_letters, worker, oldest) = tokio::join!(
            self.count(),
            self.backends.queue.depth(),
            self.dead_letter_depth(),
            self.worker_mode(),
            self.backends.store.oldest_pending(),
        );
        let oldest_pending_at = oldest
            .inspect_err(|error| {
                tracing::warn!(error = %error.chain(), "cannot find the oldest pending message")
            })
            .ok()
            .flatten()
            .map(MessageId::time);
        let counts = counts
            .inspect_err(
                |error| tracing::warn!(error = %error.chain(), "cannot count messages for the page"),
            )
            .ok();
        let queue = queue
            .inspect_err(
                |error| tracing::warn!(error = %error.chain(), "cannot read the queue's depth"),
            )
            .ok()
            .map(|depth| QueueView {
                waiting: depth.waiting,
                in_flight: depth.in_flight,
                delayed: depth.delayed,
            });
        let (has_dead_letters, dead_letters) = match dead_letters {
            Ok(depth) => (depth.is_some(), depth),
            Err(error) => {
                tracing::warn!(error = %error.chain(), "cannot read the dead-letter queue's depth");
                (true, None)
            }
        };
        record_depths(queue.as_ref(), dead_letters);
        let now = chrono::Utc::now();
        let stalled_since = self
            .stall
            .observe(queue.map(|queue| (queue.waiting, queue.in_flight)), now);
        let pipeline = Pipeline {
            counts,
            queue,
            dead_letters,
            has_dead_letters,
            worker,
            queue_service: self.backends.queue.service(),
            store_service: self.backends.store.service(),
            oldest_pending_at,
            stalled_since,
            stuck: crate::dashboard::stall::warning(stalled_since, now, worker),
        };
        if pipeline.counts.is_some() {
            *self
                .failures
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(pipeline.failures());
        }
        pipeline
    }

    /// The failures of the last snapshot kept, however old, reading nothing;
    /// none before the first.
    pub fn last_failures(&self) -> Option<Failures> {
        *self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The counts alone; an error when the store could not count.
    pub async fn counts(&self) -> Result<Counts, BackendError> {
        self.pipeline().await.counts.ok_or_else(|| {
            BackendError::new(
                "counting messages",
                "the status store could not count (logged)",
            )
        })
    }

    async fn count(&self) -> Result<Counts, BackendError> {
        let mut counts = Counts::new();
        for (status, count) in self.backends.store.counts().await? {
            counts.insert(status.as_str(), count);
        }
        Ok(counts)
    }

    async fn dead_letter_depth(&self) -> Result<Option<u64>, BackendError> {
        match self.backends.queue.dead_letter_queue().await? {
            Some(dead_letters) => dead_letters.depth().await.map(Some),
            None => Ok(None),
        }
    }

    async fn worker_mode(&self) -> WorkerMode {
        match &self.worker {
            Some(worker) => worker.mode().await,
            None => WorkerMode::Sqsd,
        }
    }
}

impl std::fmt::Debug for PipelineSnapshot {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PipelineSnapshot")
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

/// The queue's and the dead-letter queue's depth as gauges, from the read the
/// page made anyway: no AWS call of their own, so they are as fresh as the
/// last snapshot (at most a few seconds while a page is open).
fn record_depths(queue: Option<&QueueView>, dead_letters: Option<u64>) {
    // Gauges are floats; depths are far below 2^53.
    #[allow(clippy::cast_precision_loss)]
    let gauge = |depth: u64| depth as f64;
    if let Some(queue) = queue {
        metrics::gauge!("queue_depth", "state" => "waiting").set(gauge(queue.waiting));
        metrics::gauge!("queue_depth", "state" => "in_flight").set(gauge(queue.in_flight));
        metrics::gauge!("queue_depth", "state" => "delayed").set(gauge(queue.delayed));
    }
    if let Some(depth) = dead_letters {
        metrics::gauge!("dead_letter_depth").set(gauge(depth));
    }
}
