//! `simulate: flaky`: the first delivery fails in a way worth retrying, and a
//! later one succeeds, so a retry by sqsd (or the poller) can be watched.

use crate::{Context, Job, JobError};

/// Fails on the first delivery, succeeds on the next.
#[derive(Debug)]
pub struct Flaky;

impl Job for Flaky {
    const NAME: &'static str = "flaky";
    const EXPLANATION: &'static str = "the first delivery fails, the retry succeeds";
    type Input = String;

    async fn run(_body: String, context: &Context<'_>) -> Result<(), JobError> {
        if context.attempt <= 1 {
            Err(JobError::Retryable(
                "the first delivery fails on purpose (simulate: flaky)".to_owned(),
            ))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_flaky_job_fails_first_then_succeeds() {
        let first = crate::first_delivery();
        let done = Flaky::run("x".to_owned(), &first).await;
        assert!(matches!(done, Err(JobError::Retryable(_))), "{done:?}");
        let second = Context {
            attempt: 2,
            ..first
        };
        assert_eq!(Flaky::run("x".to_owned(), &second).await, Ok(()));
    }
}
