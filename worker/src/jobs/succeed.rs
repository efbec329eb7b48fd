//! `simulate: ok`: the job succeeds at once. The smallest job there is: a
//! model for one of your own.

use async_trait::async_trait;
use messages::{JobPayload, Simulate};

use super::{Job, JobError};

/// Succeeds on every delivery.
#[derive(Debug, Clone, Copy)]
pub struct Succeed;

#[async_trait]
impl Job for Succeed {
    fn kind(&self) -> Simulate {
        Simulate::Ok
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
        let payload = super::super::payload(Simulate::Ok);
        assert_eq!(Succeed.run(&payload, 1).await, Ok(()));
    }
}
