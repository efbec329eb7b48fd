//! What sqsd's leader does with `cron.yaml`, for running without Elastic
//! Beanstalk: at each scheduled time of each task, put one task message on the
//! worker queue (see [`crate::task`]). The poller that receives it delivers it
//! to the task's path, like sqsd. With several polling workers on one queue,
//! each run is claimed with a conditional write first, so exactly one of them
//! enqueues it (Elastic Beanstalk elects one leader instance through a
//! DynamoDB table for the same purpose).

use std::future::Future;

use chrono::{DateTime, Utc};
use messages::{BackendError, Backends};

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
    backends: Backends,
}

impl Scheduler {
    /// Runs `table`'s tasks on `backends`' queue, or refuses a FIFO queue as
    /// Elastic Beanstalk does.
    pub fn new(table: CronTable, backends: Backends) -> Result<Self, FifoRefusesTasks> {
        if !table.is_empty() && backends.queue.is_fifo() {
            return Err(FifoRefusesTasks {
                tasks: table.tasks.len(),
                queue: backends.queue.name(),
            });
        }
        Ok(Self { table, backends })
    }

    /// Enqueues the run of `task` scheduled at `at`, if this caller wins it.
    /// Returns whether it did. Safe to repeat and to race: a run already
    /// claimed (here or by another poller) is not enqueued again.
    pub async fn enqueue_run(
        &self,
        task: &CronTask,
        at: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        if !self
            .backends
            .store
            .claim_scheduled_run(&task.name, at)
            .await?
        {
            return Ok(false);
        }
        let run = PeriodicTask::run(&task.name, &task.url, at);
        self.backends
            .queue
            .send_with_attributes(TASK_BODY, &run.message_attributes())
            .await?;
        Ok(true)
    }

    /// Enqueues every run as its time comes, until `shutdown` completes. A run
    /// whose time passed while this process was not running is skipped, as
    /// sqsd skips it: the next one comes at its own time.
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
            let wait = (at - messages::now()).to_std().unwrap_or_default();
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(wait) => {}
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
            // Never before the run just handled, and never a run long past:
            // after a pause (a suspended laptop), carry on from now.
            after = at.max(messages::now() - chrono::Duration::seconds(1));
        }
    }
}
