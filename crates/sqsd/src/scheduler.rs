//! What sqsd's leader does with `cron.yaml`, for running without Elastic
//! Beanstalk: at each scheduled time of each task, put one task message on the
//! worker queue (see [`crate::task`]). The poller that receives it delivers it
//! to the task's path, like sqsd. With several polling workers on one queue,
//! each run is claimed with a conditional write first, so exactly one of them
//! enqueues it (Elastic Beanstalk elects one leader instance through a
//! DynamoDB table for the same purpose).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use backon::Retryable;
use chrono::{DateTime, Utc};
use messages::{BackendError, Outgoing, Queue, RunClaims};

use crate::PeriodicTask;
use crate::cron::{CronTable, CronTask};
use crate::task::TASK_BODY;

/// Why periodic tasks cannot run on this queue.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error(
    "cron.yaml has {tasks} periodic task(s), but the queue {queue} is a FIFO queue, and Elastic Beanstalk does not support periodic tasks on a FIFO queue: use a standard queue, or run without cron.yaml (CRON_FILE=none)"
)]
pub struct FifoRefusesTasks {
    /// How many tasks the file has.
    pub tasks: usize,
    /// The queue's name.
    pub queue: String,
}

/// Enqueues the runs of a `cron.yaml`'s tasks.
#[derive(Clone)]
pub struct Scheduler {
    table: CronTable,
    queue: Arc<dyn Queue>,
    /// The store's one role the scheduler needs: claiming a run.
    claims: Arc<dyn RunClaims>,
}

impl Scheduler {
    /// Runs `table`'s tasks on `queue`, each run claimed once in `claims`
    /// (the status store), or refuses a FIFO queue as Elastic Beanstalk does.
    pub fn new(
        table: CronTable,
        queue: Arc<dyn Queue>,
        claims: Arc<dyn RunClaims>,
    ) -> Result<Self, FifoRefusesTasks> {
        if !table.is_empty() && queue.is_fifo() {
            return Err(FifoRefusesTasks {
                tasks: table.tasks.len(),
                queue: queue.name(),
            });
        }
        Ok(Self {
            table,
            queue,
            claims,
        })
    }

    /// Enqueues the run of `task` scheduled at `at`, if this caller wins it.
    /// Returns whether it did. Safe to race and to repeat: a run already
    /// claimed (here or by another poller) is not enqueued again. So each run
    /// is enqueued at most once: if the send still fails after a few tries, or
    /// the process dies between the claim and the send, that run is lost and
    /// the next one comes at its own time (for the sweeper, a period later).
    pub async fn enqueue_run(
        &self,
        task: &CronTask,
        at: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        if !self.claims.claim_scheduled_run(&task.name, at).await? {
            return Ok(false);
        }
        let message = Outgoing::new(TASK_BODY)
            .with_attributes(PeriodicTask::run(&task.name, &task.url, at).message_attributes());
        let send = || self.queue.send_message(&message);
        send.retry(
            backon::ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(500))
                .with_max_times(SEND_TRIES - 1),
        )
        .notify(|error, pause| {
            tracing::warn!(task = %task.name, error = %error.chain(), retry_in = ?pause, "cannot enqueue a periodic task yet");
        })
        .await?;
        Ok(true)
    }

    /// Enqueues every run as its time comes, until `shutdown` completes. A run
    /// reached more than [`LATE`] after its time (the machine was suspended,
    /// the process stalled) is skipped: the next one comes at its own time.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        if self.table.is_empty() {
            return;
        }
        tokio::pin!(shutdown);
        let names: Vec<&str> = self
            .table
            .tasks
            .iter()
            .map(|task| task.name.as_str())
            .collect();
        tracing::info!(tasks = ?names, "periodic tasks scheduled (cron.yaml)");
        let mut after = messages::now();
        loop {
            let Some((at, due)) = self.table.next_runs(after) else {
                tracing::warn!("no task in cron.yaml will ever run again");
                return;
            };
            // A timer, not a wall-clock alarm: if the clock jumps, the lateness
            // check below catches it on waking.
            let wait = (at - messages::now()).to_std().unwrap_or_default();
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(wait) => {}
            }
            after = at;
            if is_late(at, messages::now()) {
                tracing::info!(scheduled_at = %at, "a periodic run's time passed long ago; skipped");
                continue;
            }
            for task in due {
                match self.enqueue_run(task, at).await {
                    Ok(true) => {
                        tracing::info!(task = %task.name, scheduled_at = %at, "periodic task enqueued")
                    }
                    Ok(false) => {
                        tracing::debug!(task = %task.name, scheduled_at = %at, "periodic task enqueued by another poller")
                    }
                    Err(error) => {
                        tracing::warn!(task = %task.name, scheduled_at = %at, error = %error.chain(), "cannot enqueue a periodic task; this run is missed")
                    }
                }
            }
        }
    }
}

/// How late a run may still be enqueued.
pub const LATE: Duration = Duration::from_secs(30);

/// Sends of one run's message before the run counts as missed.
const SEND_TRIES: usize = 3;

/// Whether the run scheduled at `at`, reached at `now`, is too late to enqueue.
fn is_late(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    (now - at).to_std().is_ok_and(|late| late > LATE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cron::tests::at;

    #[test]
    fn a_run_reached_on_time_or_a_little_late_is_enqueued() {
        let run = at("2026-12-01T08:05:00Z");
        assert!(!is_late(run, at("2026-12-01T08:05:00.300Z")));
        assert!(!is_late(run, at("2026-12-01T08:05:30Z")));
        // A clock that stepped back: not late.
        assert!(!is_late(run, at("2026-12-01T08:04:00Z")));
    }

    #[test]
    fn a_run_reached_long_after_its_time_is_skipped() {
        assert!(is_late(
            at("2026-12-01T08:05:00Z"),
            at("2026-12-01T08:05:31Z")
        ));
        assert!(is_late(
            at("2026-12-01T08:05:00Z"),
            at("2026-12-01T10:00:00Z")
        ));
    }
}
