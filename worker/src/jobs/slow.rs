//! `simulate: slow`: the job takes a while (`SLOW_JOB_MS`), then succeeds, so
//! `pending` stays on screen long enough to be seen and shutdown has jobs in
//! flight to drain.

use std::time::Duration;

use async_trait::async_trait;
use messages::{JobKind, JobPayload};

use super::{Job, JobError};

/// Waits, then succeeds.
#[derive(Debug, Clone, Copy)]
pub struct Slow {
    duration: Duration,
}

impl Slow {
    /// A job that takes `duration`.
    pub fn new(duration: Duration) -> Self {
        Self { duration }
    }
}

#[async_trait]
impl Job for Slow {
    fn kind(&self) -> JobKind {
        JobKind::Slow
    }

    async fn run(&self, _payload: &JobPayload, _attempt: u32) -> Result<(), JobError> {
        tokio::time::sleep(self.duration).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_slow_job_takes_the_configured_time() {
        let payload = super::super::payload(JobKind::Slow);
        let started = tokio::time::Instant::now();
        let job = Slow::new(Duration::from_millis(30));
        assert_eq!(job.run(&payload, 1).await, Ok(()));
        assert!(started.elapsed() >= Duration::from_millis(30));
    }
}
