//! `simulate: ok`: the job succeeds at once. The smallest job there is: a
//! model for one of your own.

use crate::{Context, Job, JobError};

/// Succeeds on every delivery.
#[derive(Debug)]
pub struct Succeed;

impl Job for Succeed {
    const NAME: &'static str = "ok";
    const EXPLANATION: &'static str = "the job succeeds at once";
    type Input = String;

    async fn run(_body: String, _context: &Context<'_>) -> Result<(), JobError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_ok_job_succeeds() {
        let done = Succeed::run("x".to_owned(), &crate::first_delivery()).await;
        assert_eq!(done, Ok(()));
    }
}
