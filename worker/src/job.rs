//! The job the worker does for each message. Here it only simulates work, as
//! the sender asked; in an application copied from this one, this is the file
//! to replace. The contract it keeps: return `Ok` when done, a
//! [`JobError::Permanent`] when retrying cannot help, a [`JobError::Retryable`]
//! when a later attempt may succeed. It may run more than once for one message
//! (delivery is at least once), so what it does must be safe to repeat.

use std::time::Duration;

use messages::{Job, Simulate};

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

/// Does the job for one delivery. `receive_count` is 1 on the first delivery.
pub async fn run(job: &Job, receive_count: u32, slow: Duration) -> Result<(), JobError> {
    match job.simulate {
        Simulate::Ok => Ok(()),
        Simulate::Fail => Err(JobError::Permanent(
            "the job failed for good (simulate: fail)".to_owned(),
        )),
        Simulate::Flaky if receive_count <= 1 => Err(JobError::Retryable(
            "the first delivery fails on purpose (simulate: flaky)".to_owned(),
        )),
        Simulate::Flaky => Ok(()),
        Simulate::Slow => {
            tokio::time::sleep(slow).await;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use messages::MessageId;

    fn job(simulate: Simulate) -> Job {
        Job {
            id: MessageId::new(),
            body: "x".to_owned(),
            simulate,
        }
    }

    #[tokio::test]
    async fn an_ok_job_succeeds() {
        assert_eq!(run(&job(Simulate::Ok), 1, Duration::ZERO).await, Ok(()));
    }

    #[tokio::test]
    async fn a_fail_job_fails_for_good_on_every_delivery() {
        for count in [1, 2, 10] {
            let result = run(&job(Simulate::Fail), count, Duration::ZERO).await;
            assert!(matches!(result, Err(JobError::Permanent(_))));
        }
    }

    #[tokio::test]
    async fn a_flaky_job_fails_first_then_succeeds() {
        let job = job(Simulate::Flaky);
        assert!(matches!(
            run(&job, 1, Duration::ZERO).await,
            Err(JobError::Retryable(_))
        ));
        assert_eq!(run(&job, 2, Duration::ZERO).await, Ok(()));
    }

    #[tokio::test]
    async fn a_slow_job_takes_the_configured_time() {
        let started = tokio::time::Instant::now();
        assert_eq!(
            run(&job(Simulate::Slow), 1, Duration::from_millis(30)).await,
            Ok(())
        );
        assert!(started.elapsed() >= Duration::from_millis(30));
    }
}
