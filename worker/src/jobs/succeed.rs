//! `simulate: ok`: the job succeeds at once. The smallest job there is: a
//! model for one of your own.

use async_trait::async_trait;
use messages::{JobKind, JobPayload};

use super::{Job, JobError};

/// Succeeds on every delivery.
#[derive(Debug, Clone, Copy)]
pub struct Succeed;

#[async_trait]
impl Job for Succeed {
    fn kind(&self) -> JobKind {
        JobKind::Ok
    }

    async fn run(&self, _payload: &JobPayload, _attempt: u32) -> Result<(), JobError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_ok_job_succeeds() {
        let payload = super::super::payload(JobKind::Ok);
        assert_eq!(Succeed.run(&payload, 1).await, Ok(()));
    }
}
