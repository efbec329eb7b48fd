//! `simulate: slow`: the job takes a while (`SLOW_JOB_MS`), then succeeds, so
//! `pending` stays on screen long enough to be seen and shutdown has jobs in
//! flight to drain.

use crate::{Context, Job, JobError};

/// Waits, then succeeds.
#[derive(Debug)]
pub struct Slow;

impl Job for Slow {
    const NAME: &'static str = "slow";
    const EXPLANATION: &'static str = "the job takes a few seconds, then succeeds";
    type Input = String;

    async fn run(_body: String, context: &Context<'_>) -> Result<(), JobError> {
        tokio::time::sleep(context.settings.slow_job).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_slow_job_takes_the_configured_time() {
        let context = crate::first_delivery();
        let started = tokio::time::Instant::now();
        assert_eq!(Slow::run("x".to_owned(), &context).await, Ok(()));
        assert!(started.elapsed() >= context.settings.slow_job);
    }
}
