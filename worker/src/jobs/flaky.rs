//! `simulate: flaky`: the first delivery fails in a way worth retrying, and a
//! later one succeeds, so a retry by sqsd (or the poller) can be watched.

use async_trait::async_trait;
use messages::{JobKind, JobPayload};

use super::{Job, JobError};

/// Fails on the first delivery, succeeds on the next.
#[derive(Debug, Clone, Copy)]
pub struct Flaky;

#[async_trait]
impl Job for Flaky {
    fn kind(&self) -> JobKind {
        JobKind::Flaky
    }

    async fn run(&self, _payload: &JobPayload, attempt: u32) -> Result<(), JobError> {
        if attempt <= 1 {
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
        let payload = super::super::payload(JobKind::Flaky);
        assert!(matches!(
            Flaky.run(&payload, 1).await,
            Err(JobError::Retryable(_))
        ));
        assert_eq!(Flaky.run(&payload, 2).await, Ok(()));
    }
}
