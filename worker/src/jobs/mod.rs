//! The jobs the worker runs: one file per kind, each implementing [`Job`],
//! and [`Jobs`], the list the processing path looks a job up in.
//!
//! To add a kind of your own, write a file beside these, implement [`Job`]
//! for it, and add it to [`Jobs::standard`]: the processing path
//! (`process.rs`) does not change. README, "Write your own job", walks
//! through it.
//!
//! The contract every job keeps: return `Ok` when done, a
//! [`JobError::Permanent`] when retrying cannot help, a
//! [`JobError::Retryable`] when a later attempt may succeed. Delivery is at
//! least once, so a job may run more than once for one message: what it does
//! must be safe to repeat.

mod fail;
mod flaky;
mod slow;
mod succeed;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use messages::{JobKind, JobPayload};

pub use fail::Fail;
pub use flaky::Flaky;
pub use slow::Slow;
pub use succeed::Succeed;

/// Why a job did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Retrying cannot help: the message ends as `fail` now.
    #[error("{0}")]
    Permanent(String),
    /// A later attempt may succeed: sqsd delivers it again.
    #[error("{0}")]
    Retryable(String),
}

/// One kind of job.
#[async_trait]
pub trait Job: Send + Sync + 'static {
    /// The kind this job does: the message's `simulate` choice.
    fn kind(&self) -> JobKind;

    /// Does the job for one delivery of `payload`. `attempt` is 1 on the
    /// first delivery (sqsd's receive count).
    async fn run(&self, payload: &JobPayload, attempt: u32) -> Result<(), JobError>;
}

/// What the jobs may be tuned with, from the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobSettings {
    /// `SLOW_JOB_MS`: how long a `slow` job takes.
    pub slow_job: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            slow_job: Duration::from_secs(3),
        }
    }
}

/// The jobs this worker runs, by kind; cheap to clone.
#[derive(Clone)]
pub struct Jobs {
    by_kind: HashMap<JobKind, Arc<dyn Job>>,
}

impl Jobs {
    /// The jobs in `list`; a later job of the same kind replaces an earlier one.
    pub fn new(list: impl IntoIterator<Item = Arc<dyn Job>>) -> Self {
        Self {
            by_kind: list.into_iter().map(|job| (job.kind(), job)).collect(),
        }
    }

    /// Every job of this application. Add yours here.
    pub fn standard(settings: JobSettings) -> Self {
        Self::new([
            Arc::new(Succeed) as Arc<dyn Job>,
            Arc::new(Fail),
            Arc::new(Flaky),
            Arc::new(Slow::new(settings.slow_job)),
        ])
    }

    /// The job for `kind`, if this worker has one.
    pub fn get(&self, kind: JobKind) -> Option<&dyn Job> {
        self.by_kind.get(&kind).map(|job| &**job)
    }
}

/// Test support for the job files: a payload of one kind.
#[cfg(test)]
fn payload(simulate: JobKind) -> JobPayload {
    JobPayload {
        id: messages::MessageId::new(),
        body: "x".to_owned(),
        simulate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_a_sender_can_choose_has_a_job() {
        let jobs = Jobs::standard(JobSettings::default());
        for kind in JobKind::ALL {
            assert_eq!(jobs.get(kind).map(Job::kind), Some(kind), "{kind}");
        }
    }

    #[test]
    fn a_kind_without_a_job_is_not_found() {
        let jobs = Jobs::new([Arc::new(Succeed) as Arc<dyn Job>]);
        assert!(jobs.get(JobKind::Slow).is_none());
    }
}
