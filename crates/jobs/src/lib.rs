//! The jobs this application runs: one file per kind, and the one list below
//! that registers them.
//!
//! A job is a type that implements [`Job`]: its name on the wire, a line for
//! the person choosing it, the input it takes (parsed from the stored
//! message's body, see [`input`]) and what it does with it. The list makes
//! [`JobKind`] from it, so the web offers, checks and records every kind
//! listed, and the worker runs it; neither changes when a job is added.
//!
//! To add a job: write its file beside these and add one line to the list.
//! README, "Write your own job", walks through it with `greet`.
//!
//! The contract every job keeps: return `Ok` when done, a
//! [`JobError::Permanent`] when retrying cannot help, a
//! [`JobError::Retryable`] when a later attempt may succeed. Delivery is at
//! least once, so a job may run more than once for one message: what it does
//! must be safe to repeat.

pub mod input;
mod kind;
mod registry;

use std::future::Future;
use std::time::Duration;

pub use input::{BadInput, Input, Json};
pub use kind::UnknownJobKind;

// Every job, one line each. The first is the kind a sender gets who names
// none. The order is the order the form offers them.
registry::register! {
    succeed::Succeed,
    fail::Fail,
    flaky::Flaky,
    slow::Slow,
    greet::Greet,
}

/// One kind of job.
pub trait Job {
    /// The kind's name in JSON, forms and the stores: the message's
    /// `simulate` field. Never rename one while messages of it may exist.
    const NAME: &'static str;
    /// One line for a person choosing it.
    const EXPLANATION: &'static str;
    /// What the job takes, parsed from the message's body: by the web
    /// before it records the message (a body that does not parse is refused
    /// there), and by the worker from the stored record.
    type Input: Input;

    /// Does the job for one delivery.
    fn run(
        input: Self::Input,
        context: &Context<'_>,
    ) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// What a job knows of its delivery and its settings.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// 1 on the first delivery (sqsd's receive count), more on a retry.
    pub attempt: u32,
    /// What the jobs are tuned with.
    pub settings: &'a JobSettings,
}

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

/// What the jobs may be tuned with, from the worker's settings.
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

/// Test support for the job files: a first delivery, with default settings.
#[cfg(test)]
fn first_delivery() -> Context<'static> {
    static SETTINGS: JobSettings = JobSettings {
        slow_job: Duration::from_millis(30),
    };
    Context {
        attempt: 1,
        settings: &SETTINGS,
    }
}
