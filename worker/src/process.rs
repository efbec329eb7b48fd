//! One delivery of a job, from sqsd's request to a recorded state: the
//! processing use case. Both `POST /process` (pushed by sqsd on Elastic
//! Beanstalk) and the local poller (which builds the same request) come
//! through [`process_delivery`], so there is one processing path. It knows
//! nothing of HTTP: `routes/process.rs` turns its answer into one.
//!
//! At-least-once delivery is handled here: a job whose message is already final
//! is not run again, and every state change is conditional in the store, so two
//! concurrent deliveries of one message end in one final state, written once.

use std::sync::Arc;
use std::time::Duration;

use messages::{
    BackendError, Event, FinalStatus, JobPayload, MessageId, Outcome, Status, StatusStore,
    Transition,
};
use serde::Serialize;
use sqsd::Delivery;

use jobs::{Context, JobError, JobSettings};

use crate::observed::{self, Ended, Running};

/// What processing needs; cheap to clone.
#[derive(Clone)]
pub struct WorkerState {
    /// Where message states are recorded.
    pub store: Arc<dyn StatusStore>,
    /// The delivery at which a retryable failure becomes `fail` (sqsd's `MaxRetries`).
    pub max_attempts: u32,
    /// What the jobs are tuned with.
    pub jobs: JobSettings,
    /// When the queue hands out again a job answered with a retry (sqsd's
    /// `ErrorVisibilityTimeout`), and how long it waits for an answer
    /// (`InactivityTimeout`): the timeline says both to the pages.
    pub queue_timing: QueueTiming,
}

/// What the queue does with a delivery's time, as sqsd (or the poller) is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueTiming {
    /// sqsd's `ErrorVisibilityTimeout`.
    pub retry_delay: Duration,
    /// sqsd's `InactivityTimeout`.
    pub job_timeout: Duration,
}

impl From<&sqsd::PollerConfig> for QueueTiming {
    /// The poller's settings, whose defaults are the worker bundle's sqsd settings.
    fn from(poller: &sqsd::PollerConfig) -> Self {
        Self {
            retry_delay: poller.error_visibility_timeout,
            job_timeout: poller.inactivity_timeout,
        }
    }
}

/// How long a job runs before the worker notes on its timeline that it is
/// running ([`messages::Event::Started`]). A job done sooner writes nothing
/// more than its outcome, so the note costs only slow jobs a write.
pub const NOTE_RUNNING_AFTER: Duration = Duration::from_secs(1);

/// The answer to a delivery that reached (or found) a final state: `200`, so
/// sqsd deletes the queue message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Processed {
    /// Our message id.
    pub id: MessageId,
    /// The final state.
    pub status: Status,
    /// Deliveries recorded.
    pub attempts: u32,
    /// True when this delivery changed nothing: the message was already final.
    pub duplicate: bool,
}

/// Why a delivery did not reach a final state. The route answers every
/// variant with a non-200 status, so sqsd makes the message visible again and
/// retries it (and after `MaxRetries`, moves it to the dead-letter queue).
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The body is not a job.
    #[error(
        "the body is not a job: {0}. A job is JSON like {{\"id\": \"<message id>\"}}, naming a message the web recorded"
    )]
    BadBody(String),
    /// No record has the job's id.
    #[error(
        "no message has id {0}: the web records every message before enqueuing it, so this job did not come from it"
    )]
    UnknownMessage(MessageId),
    /// The job failed and will be retried.
    #[error("attempt {attempt} of {max_attempts} failed: {reason}; it will be retried")]
    Retry {
        /// This delivery's number.
        attempt: u32,
        /// When it will be given up.
        max_attempts: u32,
        /// Why it failed.
        reason: String,
    },
    /// The status store is unavailable.
    #[error("the status store is unavailable; the delivery will be retried")]
    Backend(#[from] BackendError),
}

/// What sqsd is told when a job asks to be retried (`routes/process.rs`
/// answers it, and the timeline records it): `429`, a 4xx, because an
/// expected retry is no fault of the instance. Elastic Beanstalk's enhanced
/// health counts every 5xx against the instance and can be set to ignore
/// application 4xx, which both bundles do; sqsd retries any answer but
/// `200` alike. So a `flaky` job leaves health green, while a store that is
/// down (`503`) or a job that hangs past sqsd's timeout still turns it red.
/// (ARCHITECTURE.md, "Retries and the worker's health".)
pub const RETRY_ANSWER: u16 = 429;

fn processed(message: &messages::Message, duplicate: bool) -> Processed {
    Processed {
        id: message.id,
        status: message.status,
        attempts: message.attempts,
        duplicate,
    }
}

/// Processes one delivery of `body` (a [`JobPayload`] as JSON, of which only
/// the id is read).
///
/// The worker trusts the store, not the request: whoever can reach
/// `/process` can write any body, so the job run, and the outcome recorded,
/// are those of the stored record (a consistent read), and a delivery can
/// only name a message. A job queued with a kind and a body (every version
/// of the web sends them) is processed the same way, its kind and body unread.
pub async fn process_delivery(
    state: &WorkerState,
    delivery: &Delivery,
    body: &[u8],
) -> Result<Processed, ProcessError> {
    let id =
        JobPayload::id_from_json(body).map_err(|error| ProcessError::BadBody(error.to_string()))?;
    observed::consumed();
    // sqsd's count, never past the last delivery SQS makes before the
    // dead-letter queue (MAX_ATTEMPTS is the redrive's maxReceiveCount): a
    // forged count can at most make this the last attempt, not record more.
    let attempt = delivery.receive_count.min(state.max_attempts.max(1));

    // A duplicate delivery of a finished message: answer 200 so sqsd deletes
    // it, and do not run the job again.
    let message = state
        .store
        .get(id)
        .await?
        .ok_or(ProcessError::UnknownMessage(id))?;
    // On the delivery's span (`service::traces::consumer_span`): the trace
    // names the message it ran, as the store has it.
    let span = tracing::Span::current();
    span.record("message.id", tracing::field::display(id));
    span.record("job.kind", message.simulate.as_str());
    if message.status.is_final() {
        tracing::info!(%id, status = %message.status, "duplicate delivery of a finished message");
        observed::ended(message.simulate, Ended::Duplicate);
        return Ok(processed(&message, true));
    }
    let job = message.job();

    // Deliveries so far. sqsd's receive count starts again at 1 when the
    // sweeper enqueues a job anew, so never record fewer than were seen.
    let attempts = attempt.max(message.attempts.saturating_add(1));

    // The timeline's record of this delivery, written with its outcome.
    let started_at = messages::now();
    observed::waited(message.created_at, started_at);
    let context = Context {
        attempt,
        settings: &state.jobs,
    };
    let running = Running::start(job.simulate);
    let run = job.simulate.run(&job.body, &context);
    let outcome = run_noting_start(state, &job, attempt, started_at, run).await;
    drop(running);
    let (status, error) = match outcome {
        Ok(()) => (FinalStatus::Complete, None),
        Err(JobError::Permanent(reason)) => (FinalStatus::Fail, Some(reason)),
        // The last delivery sqsd will make: record the failure as final now,
        // before SQS moves the message to the dead-letter queue.
        Err(JobError::Retryable(reason)) if attempt >= state.max_attempts => (
            FinalStatus::Fail,
            Some(format!("gave up after {attempt} attempts: {reason}")),
        ),
        Err(JobError::Retryable(reason)) => {
            let event = Event::delivered(attempt, started_at, RETRY_ANSWER, Some(&reason))
                .to_be_retried_at(messages::now() + state.queue_timing.retry_delay)
                .in_trace(service::traces::current_trace_id());
            return match state
                .store
                .record_attempt(job.id, attempts, &reason, messages::now(), &event)
                .await?
            {
                Transition::AlreadyFinal(message) => {
                    observed::ended(job.simulate, Ended::Duplicate);
                    Ok(processed(&message, true))
                }
                Transition::NotFound => Err(ProcessError::UnknownMessage(job.id)),
                Transition::Applied(_) => {
                    observed::ended(job.simulate, Ended::Retry);
                    Err(ProcessError::Retry {
                        attempt,
                        max_attempts: state.max_attempts,
                        reason,
                    })
                }
            };
        }
    };
    let event = Event::delivered(attempt, started_at, 200, error.as_deref())
        .in_trace(service::traces::current_trace_id());
    let outcome = Outcome {
        status,
        attempts,
        error,
        at: messages::now(),
        event: Some(event),
    };
    match state.store.finish(job.id, &outcome).await? {
        Transition::Applied(message) => {
            tracing::info!(id = %job.id, status = %message.status, attempt, "message finished");
            let ended = match status {
                FinalStatus::Complete => Ended::Complete,
                FinalStatus::Fail => Ended::Fail,
            };
            observed::ended(job.simulate, ended);
            Ok(processed(&message, false))
        }
        Transition::AlreadyFinal(message) => {
            observed::ended(job.simulate, Ended::Duplicate);
            Ok(processed(&message, true))
        }
        Transition::NotFound => Err(ProcessError::UnknownMessage(job.id)),
    }
}

/// Runs `job`; if it has not answered after [`NOTE_RUNNING_AFTER`], notes
/// its start on the timeline while it goes on running. A failed note is
/// logged and changes nothing: the job's outcome is what counts.
async fn run_noting_start<F>(
    state: &WorkerState,
    job: &JobPayload,
    attempt: u32,
    started_at: chrono::DateTime<chrono::Utc>,
    run: F,
) -> F::Output
where
    F: std::future::Future,
{
    tokio::pin!(run);
    tokio::select! {
        output = &mut run => output,
        () = tokio::time::sleep(NOTE_RUNNING_AFTER) => {
            let started = Event::Started {
                receive_count: attempt,
                at: started_at,
                deadline: started_at + state.queue_timing.job_timeout,
            };
            let note = async {
                if let Err(error) = state.store.note_started(job.id, &started).await {
                    tracing::warn!(id = %job.id, error = %error.chain(), "cannot note that a job is running");
                }
            };
            // The job goes on while the note is written.
            let (output, ()) = tokio::join!(run, note);
            output
        }
    }
}
