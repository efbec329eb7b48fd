//! `simulate: fail`: the job fails for good, so the message ends as `fail` on
//! its first delivery, with the reason.

use async_trait::async_trait;
use messages::{JobKind, JobPayload};

use super::{Job, JobError};

/// Fails permanently on every delivery.
#[derive(Debug, Clone, Copy)]
pub struct Fail;

#[async_trait]
impl Job for Fail {
    fn kind(&self) -> JobKind {
        JobKind::Fail
    }

    async fn run(&self, _payload: &JobPayload, _attempt: u32) -> Result<(), JobError> {
        Err(JobError::Permanent(
            "the job failed for good (simulate: fail)".to_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_fail_job_fails_for_good_on_every_delivery() {
        let payload = super::super::payload(JobKind::Fail);
        for attempt in [1, 2, 10] {
            let result = Fail.run(&payload, attempt).await;
            assert!(matches!(result, Err(JobError::Permanent(_))), "{attempt}");
        }
    }
}
