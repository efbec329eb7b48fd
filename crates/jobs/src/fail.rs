//! `simulate: fail`: the job fails for good, so the message ends as `fail` on
//! its first delivery, with the reason.

use crate::{Context, Job, JobError};

/// Fails permanently on every delivery.
#[derive(Debug)]
pub struct Fail;

impl Job for Fail {
    const NAME: &'static str = "fail";
    const EXPLANATION: &'static str = "the job fails for good and the message ends as fail";
    type Input = String;

    async fn run(_body: String, _context: &Context<'_>) -> Result<(), JobError> {
        Err(JobError::Permanent(
            "the job failed for good (simulate: fail)".to_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_fail_job_fails_for_good() {
        let done = Fail::run("x".to_owned(), &crate::first_delivery()).await;
        assert!(matches!(done, Err(JobError::Permanent(_))), "{done:?}");
    }
}
