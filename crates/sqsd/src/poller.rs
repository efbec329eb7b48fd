//! A poller that does what sqsd does, for running without Elastic Beanstalk:
//! long-poll the queue in batches, hand each message to the worker's own
//! routes (in-process, with the same `X-Aws-Sqsd-*` headers sqsd would send:
//! a job to `/process`, a periodic task's message to the task's path, see
//! [`crate::task`]), delete it on `200`, otherwise make it visible again after
//! the error visibility timeout. At most `concurrency` messages are in flight.
//!
//! On a FIFO queue it receives one message per call: SQS then never hands
//! it a message of a group that already has one in flight, so each group has
//! one job at a time, in order, while different groups run in parallel. (A
//! receive of several may return several messages of one group; a failure of
//! the first would then have to return the others too, and every such
//! receive counts towards their redrive, so messages never run could be
//! dead-lettered. What sqsd does with such a batch is not documented; see
//! ARCHITECTURE.md, "FIFO queues".) While jobs of its own are in flight it
//! does not long-poll a FIFO queue: it asks, and if nothing is there, asks
//! again as soon as a job is done (its group may be free) or a second later.
//!
//! On shutdown it stops receiving, lets messages in flight finish for a grace
//! period, and then releases the rest to the queue (visible at once) without
//! deleting them: nothing unfinished is lost.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::IntoResponse;
use messages::{BackendError, Queue, Received};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::{Delivery, PeriodicTask};

/// On a FIFO queue with jobs in flight and nothing to receive, how long the
/// poller waits for one of them to be done before it looks again anyway (for
/// a new message of another group).
const FIFO_BUSY_PAUSE: Duration = Duration::from_secs(1);

/// The `User-Agent` the poller sends, in sqsd's form.
pub const USER_AGENT: &str = "aws-sqsd/local-poller";

/// How the poller behaves. The defaults are the worker bundle's sqsd settings
/// (`deploy/worker/.ebextensions/02-worker.config`), so a local run retries
/// as the deployed worker does: sqsd's documented defaults for the
/// `aws:elasticbeanstalk:sqsd` namespace, except `ErrorVisibilityTimeout`,
/// 30 s instead of 2 s (see [`PollerConfig::error_visibility_timeout`]).
#[derive(Debug, Clone)]
pub struct PollerConfig {
    /// Messages asked for per receive (SQS allows at most 10).
    pub batch_size: u32,
    /// Long-poll wait per receive (SQS allows at most 20 s).
    pub wait: Duration,
    /// How long a received message stays hidden while its job runs (sqsd: 300 s).
    pub visibility_timeout: Duration,
    /// How soon a failed message is retried. 30 s, the bundle's value
    /// (sqsd's own default is 2 s): with the queue's 10 receives, a job then
    /// rides out about 4.5 minutes of a backend outage before it is
    /// dead-lettered, where 2 s gave up after about 20 s (ARCHITECTURE.md,
    /// "Retries and the worker's health").
    pub error_visibility_timeout: Duration,
    /// Messages in flight at once (sqsd's `HttpConnections`: 50).
    pub concurrency: usize,
    /// How long one job may take before it counts as failed (sqsd: 299 s).
    pub inactivity_timeout: Duration,
    /// On shutdown, how long jobs in flight may finish before they are released.
    pub shutdown_grace: Duration,
}

impl Default for PollerConfig {
    fn default() -> Self {
        Self {
            batch_size: 10,
            wait: Duration::from_secs(20),
            visibility_timeout: Duration::from_secs(300),
            error_visibility_timeout: Duration::from_secs(30),
            concurrency: 50,
            inactivity_timeout: Duration::from_secs(299),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatched {
    /// The handler answered 200; the message was deleted.
    Done,
    /// The handler answered otherwise (or too late); the message will be retried.
    Retried,
    /// Shutdown came first; the message was released to the queue, untouched.
    Released,
}

/// The poller. Cheap to clone: clones share the queue and the handler.
#[derive(Clone)]
pub struct Poller {
    queue: Arc<dyn Queue>,
    handler: Router,
    config: PollerConfig,
}

impl Poller {
    /// Polls `queue` and dispatches to `handler`, which must serve `POST
    /// /process` and the path of each periodic task.
    pub fn new(queue: Arc<dyn Queue>, handler: Router, config: PollerConfig) -> Self {
        Self {
            queue,
            handler,
            config,
        }
    }

    /// Receives up to `want` messages, waiting at most `wait` for the first.
    /// On a FIFO queue, one per call (see the module's doc): each is then
    /// the only one of its group in flight.
    async fn receive(&self, want: u32, wait: Duration) -> Result<Vec<Received>, BackendError> {
        let visibility = self.config.visibility_timeout;
        if !self.queue.is_fifo() {
            return self.queue.receive(want, wait, visibility).await;
        }
        let mut received = self.queue.receive(1, wait, visibility).await?;
        while !received.is_empty() && received.len() < want as usize {
            // Only what is there now: the first receive did the waiting. A
            // failure after the first keeps what was received; the next
            // receive meets the failure again.
            match self.queue.receive(1, Duration::ZERO, visibility).await {
                Ok(more) if !more.is_empty() => received.extend(more),
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(error = %error.chain(), "cannot receive more of a FIFO batch");
                    break;
                }
            }
        }
        Ok(received)
    }

    /// Receives one batch (waiting at most `wait`), processes all of it, and
    /// reports what became of each message: the "process messages" button.
    pub async fn poll_once(&self, wait: Duration) -> Result<Vec<Dispatched>, BackendError> {
        let received = self.receive(self.config.batch_size, wait).await?;
        let (_never, cancel) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for message in received {
            let (poller, cancel) = (self.clone(), cancel.clone());
            tasks.spawn(async move { poller.dispatch(message, cancel).await });
        }
        let mut outcomes = Vec::new();
        while let Some(outcome) = tasks.join_next().await {
            // A dispatch that panicked neither deleted nor released its
            // message: it comes back after its visibility timeout, a retry.
            outcomes.push(outcome.unwrap_or(Dispatched::Retried));
        }
        Ok(outcomes)
    }

    /// Polls until `shutdown` completes, then drains as described above.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        tokio::pin!(shutdown);
        let slots = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let (cancel_sender, cancel) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let mut backoff = receive_backoff();
        let fifo = self.queue.is_fifo();
        // Told whenever a job is done (FIFO: its group may be free now).
        let done = Arc::new(Notify::new());
        tracing::info!(queue = %self.queue.describe(), concurrency = self.config.concurrency, "poller started");
        loop {
            // Wait for a free slot, so no more is received than can be worked on.
            let first = tokio::select! {
                () = &mut shutdown => break,
                slot = Arc::clone(&slots).acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_closed) => break,
                },
            };
            // More free slots than a batch holds just means a full batch.
            let want = u32::try_from(1 + slots.available_permits())
                .map_or(self.config.batch_size, |free| {
                    free.min(self.config.batch_size)
                });
            // On a FIFO queue with jobs of ours in flight, the next message
            // may be one of their groups', free only once they are done: ask
            // without waiting, and if nothing is there, look again when a job
            // is done, or after FIFO_BUSY_PAUSE. A long poll begun while its
            // group was in flight need not return when the group frees up
            // (moto's does not), which would hold a group up for the whole wait.
            let busy_fifo = fifo && !tasks.is_empty();
            let wait = if busy_fifo {
                Duration::ZERO
            } else {
                self.config.wait
            };
            let received = tokio::select! {
                // A receive cut short may have hidden messages on the server;
                // they come back after their visibility timeout, like sqsd's.
                () = &mut shutdown => break,
                received = self.receive(want, wait) => received,
            };
            if busy_fifo && received.as_ref().is_ok_and(Vec::is_empty) {
                drop(first);
                tokio::select! {
                    () = &mut shutdown => break,
                    () = done.notified() => {}
                    () = tokio::time::sleep(FIFO_BUSY_PAUSE) => {}
                }
                while tasks.try_join_next().is_some() {}
                continue;
            }
            let messages = match received {
                Ok(messages) => {
                    backoff = receive_backoff();
                    messages
                }
                Err(error) => {
                    let delay = backoff.next().unwrap_or(RECEIVE_BACKOFF_MAX);
                    tracing::warn!(error = %error.chain(), retry_in = ?delay, "cannot receive from the queue");
                    drop(first);
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(delay) => {}
                    }
                    continue;
                }
            };
            let mut first = Some(first);
            for message in messages {
                let slot = match first.take() {
                    Some(slot) => slot,
                    // Finished tasks only ever free slots, so these are there.
                    None => match Arc::clone(&slots).try_acquire_owned() {
                        Ok(slot) => slot,
                        Err(_) => {
                            self.release(&message).await;
                            continue;
                        }
                    },
                };
                let (poller, cancel, done) = (self.clone(), cancel.clone(), Arc::clone(&done));
                tasks.spawn(async move {
                    let outcome = poller.dispatch(message, cancel).await;
                    drop(slot);
                    done.notify_one();
                    outcome
                });
            }
            while tasks.try_join_next().is_some() {}
        }

        while tasks.try_join_next().is_some() {}
        tracing::info!(in_flight = tasks.len(), "poller stopping");
        let drained = tokio::time::timeout(self.config.shutdown_grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                in_flight = tasks.len(),
                "releasing unfinished messages to the queue"
            );
            let _ignored = cancel_sender.send(true);
            while tasks.join_next().await.is_some() {}
        }
        tracing::info!("poller stopped");
    }

    /// Makes a message visible again at once, for another worker to take.
    async fn release(&self, message: &Received) {
        if let Err(error) = self
            .queue
            .change_visibility(&message.receipt_handle, Duration::ZERO)
            .await
        {
            tracing::warn!(error = %error.chain(), "cannot release a message; it returns after its visibility timeout");
        }
    }

    /// The request sqsd would make of a message: a job is POSTed to
    /// `/process` with its body; a periodic task's message to the task's path
    /// with an empty body and the task's headers. `None` if the task's path
    /// cannot be a request's path (it then fails like a job that answers 404).
    fn request_for(&self, message: &Received) -> Option<Request<Body>> {
        let task = PeriodicTask::from_received(message);
        let (path, body) = match &task {
            Some(task) => (task.path.clone()?, Body::empty()),
            None => ("/process".to_owned(), Body::from(message.body.clone())),
        };
        let mut request = Request::post(path).body(body).ok()?;
        let headers = request.headers_mut();
        *headers = Delivery::from_received(message, &self.queue.name()).to_headers();
        if let Some(task) = &task {
            task.add_headers(headers);
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
        Some(request)
    }

    /// Sends one message to the handler as sqsd would, then deletes or retries it.
    async fn dispatch(&self, message: Received, mut cancel: watch::Receiver<bool>) -> Dispatched {
        let answer = match self.request_for(&message) {
            None => {
                tracing::warn!(msgid = %message.message_id, "a periodic task's message has no usable path; it will be retried, then dead-lettered");
                Ok(Ok(StatusCode::NOT_FOUND.into_response()))
            }
            Some(request) => tokio::select! {
                answer = tokio::time::timeout(self.config.inactivity_timeout, self.handler.clone().oneshot(request)) => answer,
                () = async { drop(cancel.wait_for(|cancelled| *cancelled).await) } => {
                    self.release(&message).await;
                    return Dispatched::Released;
                }
            },
        };
        let status = match answer {
            Ok(Ok(response)) => response.status(),
            Ok(Err(infallible)) => match infallible {},
            Err(_elapsed) => StatusCode::GATEWAY_TIMEOUT,
        };
        if status == StatusCode::OK {
            if let Err(error) = self.queue.delete(&message.receipt_handle).await {
                // It will be delivered again and answered as a duplicate.
                tracing::warn!(error = %error.chain(), "cannot delete a processed message");
            }
            Dispatched::Done
        } else {
            tracing::debug!(%status, msgid = %message.message_id, "job not finished; it will be retried");
            if let Err(error) = self
                .queue
                .change_visibility(
                    &message.receipt_handle,
                    self.config.error_visibility_timeout,
                )
                .await
            {
                tracing::warn!(error = %error.chain(), "cannot schedule a retry; it returns after its visibility timeout");
            }
            Dispatched::Retried
        }
    }
}

/// The longest wait between two failed receives.
const RECEIVE_BACKOFF_MAX: Duration = Duration::from_secs(30);

/// The waits after failed receives, one after another: from 250 ms,
/// doubling, at most [`RECEIVE_BACKOFF_MAX`], for as long as receiving
/// fails. A receive that works starts it again.
fn receive_backoff() -> backon::ExponentialBackoff {
    use backon::BackoffBuilder;
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(RECEIVE_BACKOFF_MAX)
        .without_max_times()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worker bundle's value of one `aws:elasticbeanstalk:sqsd` option.
    fn bundle_option(name: &str) -> u64 {
        let config = include_str!("../../../deploy/worker/.ebextensions/02-worker.config");
        let line = config
            .lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .unwrap_or_else(|| panic!("02-worker.config sets {name}"));
        line.trim()
            .trim_matches('"')
            .parse()
            .unwrap_or_else(|_| panic!("{name} is a number: {line}"))
    }

    /// A local run retries, times out and holds messages as the deployed
    /// worker's sqsd does: each default is the bundle's setting.
    #[test]
    fn the_defaults_are_the_worker_bundles_sqsd_settings() {
        let defaults = PollerConfig::default();
        assert_eq!(
            defaults.error_visibility_timeout.as_secs(),
            bundle_option("ErrorVisibilityTimeout")
        );
        assert_eq!(
            defaults.visibility_timeout.as_secs(),
            bundle_option("VisibilityTimeout")
        );
        assert_eq!(
            defaults.inactivity_timeout.as_secs(),
            bundle_option("InactivityTimeout")
        );
        assert_eq!(
            defaults.concurrency as u64,
            bundle_option("HttpConnections")
        );
    }
}
