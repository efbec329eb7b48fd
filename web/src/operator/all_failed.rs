//! "Retry all failed" and "Delete all failed": one of the operator's actions
//! on every failed message, in the background, at a bounded rate, one run at
//! a time per web instance (modelled on `redrive.rs`).
//!
//! A run acts on at most what was failed when it started:
//! - it counts the failed messages at its start (`StatusStore::count`, exact)
//!   and acts on no more than that many;
//! - it walks the failed list once, newest to oldest, never going back, so a
//!   message it retried that fails again is behind it and is not retried
//!   twice by the same run;
//! - it leaves a message whose failure is newer than its start
//!   ([`failed_before`]): another operator retried it meanwhile, or it was
//!   still pending at the start.
//!
//! Each message is acted on by the operator's own conditional action
//! (`actions::retry`, `actions::delete`): only a `fail` message is retried or
//! deleted, so a run is safe to repeat, and to race with another operator or
//! with a run on another instance: of two, one wins each message and the
//! other counts it as skipped. A backend that fails stops the run with the
//! reason shown; starting it again carries on from what is still failed.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use messages::{Backends, ListQuery, Message, MessageId, Status};
use serde::Serialize;
use service::http::HttpError;
use tokio::time::Instant;
use tracing::Instrument;

use crate::operator::actions::{self, Action};

/// The most messages a run acts on per second: each retry is a write and an
/// enqueue, and a thousand jobs at once must not swamp the worker or the store.
pub const ALL_FAILED_PER_SECOND: u32 = 20;

/// How many failed messages a run reads per page of the list.
const PAGE: u32 = 25;

/// Where the last run of this web instance is.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AllFailedProgress {
    /// `retry` or `delete`.
    pub action: &'static str,
    /// Still going.
    pub running: bool,
    /// Messages acted on so far.
    pub done: u64,
    /// Messages that were no longer failed when the run reached them.
    pub skipped: u64,
    /// How many were failed when it started: the most it acts on.
    pub target: u64,
    /// Why it stopped early, if it did.
    pub error: Option<String>,
    /// What the page says of it, in one sentence (the page's script shows
    /// this text, so the page and its live updates say the same).
    pub sentence: String,
}

impl AllFailedProgress {
    fn new(action: Action, target: u64) -> Self {
        let mut progress = Self {
            action: action_name(action),
            running: true,
            done: 0,
            skipped: 0,
            target,
            error: None,
            sentence: String::new(),
        };
        progress.sentence = progress.describe();
        progress
    }

    /// The sentence for where the run is.
    fn describe(&self) -> String {
        let (doing, did) = match self.action {
            "delete" => ("Deleting", "Deleted"),
            _ => ("Retrying", "Retried"),
        };
        let target = self.target;
        let of = if target == 1 {
            "the 1 failed message".to_owned()
        } else {
            format!("the {target} failed messages")
        };
        let skipped = match self.skipped {
            0 => String::new(),
            1 => " 1 skipped: it was no longer failed when reached.".to_owned(),
            count => format!(" {count} skipped: they were no longer failed when reached."),
        };
        let done = self.done;
        match (&self.error, self.running) {
            (Some(error), _) => format!("Stopped after {done} of {of}: {error}.{skipped}"),
            (None, true) => format!(
                "{doing} {of} in the background, at most {ALL_FAILED_PER_SECOND} a second: {done} so far.{skipped}"
            ),
            (None, false) => format!("{did} {done} of {of}.{skipped}"),
        }
    }
}

/// The name of `action` in forms and in the progress.
pub fn action_name(action: Action) -> &'static str {
    match action {
        Action::Retry => "retry",
        Action::Delete => "delete",
    }
}

/// Whether `message` was already failed at `started`: its last change (the
/// change to `fail`) is not after it.
pub fn failed_before(message: &Message, started: DateTime<Utc>) -> bool {
    message.status == Status::Fail && message.updated_at <= started
}

/// When the `nth` message of a run (from 0) may be acted on, after the run's
/// start: evenly spaced, so no second holds more than `per_second`.
pub fn slot(nth: u64, per_second: u32) -> Duration {
    // Rounded up, in nanoseconds: a spacing rounded down would let one more
    // than `per_second` into a second.
    let nanos = u128::from(nth) * 1_000_000_000;
    let at = nanos.div_ceil(u128::from(per_second.max(1)));
    Duration::from_nanos(u64::try_from(at).unwrap_or(u64::MAX))
}

/// The refusal of a second run while `running` runs on this instance.
pub fn busy(running: &AllFailedProgress) -> HttpError {
    HttpError::conflict(format!(
        "{} Wait for it to finish: nothing new was started.",
        running.sentence
    ))
}

/// The run over every failed message of one web instance.
#[derive(Debug, Clone, Default)]
pub struct AllFailed {
    progress: Arc<Mutex<Option<AllFailedProgress>>>,
}

impl AllFailed {
    /// Where the last run is, if there was one.
    pub fn progress(&self) -> Option<AllFailedProgress> {
        self.progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Starts `action` on each of the `target` messages failed now, at most
    /// [`ALL_FAILED_PER_SECOND`] a second; refused (with the run's sentence)
    /// while one runs on this instance.
    pub fn start(
        &self,
        backends: &Backends,
        action: Action,
        target: u64,
    ) -> Result<AllFailedProgress, HttpError> {
        self.start_at(backends, action, target, ALL_FAILED_PER_SECOND)
    }

    fn start_at(
        &self,
        backends: &Backends,
        action: Action,
        target: u64,
        per_second: u32,
    ) -> Result<AllFailedProgress, HttpError> {
        let started = {
            let mut progress = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(running) = progress.as_ref().filter(|progress| progress.running) {
                return Err(busy(running));
            }
            let started = AllFailedProgress::new(action, target);
            *progress = Some(started.clone());
            started
        };
        let span = tracing::info_span!("all_failed", action = started.action, target);
        span.in_scope(|| tracing::info!("a run over every failed message started"));
        // Taken before the task starts, so what fails after this call is not the run's.
        let started_at = messages::now();
        let progress = Progress(Arc::clone(&self.progress));
        let backends = backends.clone();
        tokio::spawn(
            async move {
                let outcome = run(
                    &backends,
                    action,
                    (started_at, target),
                    per_second,
                    &progress,
                )
                .await;
                match outcome {
                    Ok((done, skipped)) => {
                        tracing::info!(done, skipped, "a run over every failed message finished");
                    }
                    Err(error) => {
                        tracing::error!(error = %error, "a run over every failed message stopped");
                        progress.update(|progress| progress.error = Some(error));
                    }
                }
                progress.update(|progress| progress.running = false);
            }
            .instrument(span),
        );
        Ok(started)
    }
}

/// The shared progress, as the running task changes it.
struct Progress(Arc<Mutex<Option<AllFailedProgress>>>);

impl Progress {
    fn update(&self, change: impl FnOnce(&mut AllFailedProgress)) {
        let mut progress = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(progress) = progress.as_mut() {
            change(progress);
            progress.sentence = progress.describe();
        }
    }
}

/// The run itself: `(done, skipped)`, or why it stopped.
async fn run(
    backends: &Backends,
    action: Action,
    (started_at, target): (DateTime<Utc>, u64),
    per_second: u32,
    progress: &Progress,
) -> Result<(u64, u64), String> {
    let began = Instant::now();
    let (mut done, mut skipped, mut reached) = (0u64, 0u64, 0u64);
    let mut cursor: Option<MessageId> = None;
    while reached < target {
        let page = backends
            .store
            .list(ListQuery {
                status: Some(Status::Fail),
                group: None,
                limit: PAGE,
                cursor,
            })
            .await
            .map_err(|error| {
                tracing::warn!(error = %error.chain(), "cannot list failed messages");
                "the failed messages cannot be listed (the status store is unavailable); start it again in a moment".to_owned()
            })?;
        for message in page.items.iter().filter(|m| failed_before(m, started_at)) {
            if reached >= target {
                break;
            }
            tokio::time::sleep_until(began + slot(reached, per_second)).await;
            reached += 1;
            match actions::act(backends, action, message.id).await {
                Ok(()) => done += 1,
                // Gone, or no longer failed: another operator or instance
                // got there first. Not this run's to do.
                Err(refused) if refused.is_refusal() => skipped += 1,
                Err(error) => return Err(error.to_string().trim_end_matches('.').to_owned()),
            }
            progress.update(|progress| {
                progress.done = done;
                progress.skipped = skipped;
            });
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok((done, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use messages::JobKind;
    use testkit::backends::Kind;

    #[test]
    fn the_runs_pace_never_puts_more_than_its_rate_in_a_second() {
        for per_second in [1, 7, 20, 50] {
            let per_window = (0..1000u64)
                .filter(|nth| slot(*nth, per_second) < Duration::from_secs(1))
                .count();
            assert_eq!(per_window, per_second as usize, "{per_second} a second");
            // Any second-long window: from the nth slot on.
            for nth in 0..100u64 {
                let from = slot(nth, per_second);
                let within = (nth..nth + 200)
                    .filter(|n| slot(*n, per_second) < from + Duration::from_secs(1))
                    .count();
                assert!(within <= per_second as usize);
            }
        }
        assert_eq!(slot(0, 0), Duration::ZERO, "a rate of 0 is read as 1");
    }

    #[test]
    fn each_state_of_a_run_has_one_sentence() {
        let mut progress = AllFailedProgress::new(Action::Retry, 50);
        assert_eq!(
            progress.sentence,
            "Retrying the 50 failed messages in the background, at most 20 a second: 0 so far."
        );
        progress.done = 48;
        progress.skipped = 2;
        progress.running = false;
        assert_eq!(
            progress.describe(),
            "Retried 48 of the 50 failed messages. 2 skipped: they were no longer failed when reached."
        );
        let mut one = AllFailedProgress::new(Action::Delete, 1);
        one.error = Some("the store is unavailable".to_owned());
        assert_eq!(
            one.describe(),
            "Stopped after 0 of the 1 failed message: the store is unavailable."
        );
    }

    async fn wait_until_finished(run: &AllFailed) -> AllFailedProgress {
        for _ in 0..500 {
            let progress = run.progress().expect("started");
            if !progress.running {
                return progress;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the run did not finish: {:?}", run.progress());
    }

    async fn status(backends: &Backends, message: &Message) -> Option<Status> {
        backends
            .store
            .get(message.id)
            .await
            .expect("get")
            .map(|message| message.status)
    }

    #[tokio::test]
    async fn a_run_acts_on_failed_messages_only_and_at_most_on_its_target() {
        let backend = Kind::Embedded.make(10).await;
        let backends = &backend.backends;
        let mut failed = Vec::new();
        for n in 0..5 {
            failed.push(testkit::seed::failed(backends, &format!("failed {n}"), 2).await);
        }
        let waiting = testkit::seed::sent(backends, "still pending", JobKind::Succeed).await;
        let run = AllFailed::default();
        // A target of 3 of the 5: the newest 3 are retried, the other 2 stay.
        run.start_at(backends, Action::Retry, 3, 1000)
            .expect("nothing runs yet");
        let progress = wait_until_finished(&run).await;
        assert_eq!((progress.done, progress.skipped), (3, 0), "{progress:?}");
        let mut statuses = Vec::new();
        for message in &failed {
            statuses.push(status(backends, message).await);
        }
        let pending = statuses
            .iter()
            .filter(|s| **s == Some(Status::Pending))
            .count();
        assert_eq!(pending, 3, "{statuses:?}");
        assert_eq!(
            statuses[..2],
            [Some(Status::Fail), Some(Status::Fail)],
            "the oldest two are left"
        );
        assert_eq!(status(backends, &waiting).await, Some(Status::Pending));

        // Again, a delete of every failed one: the 2 left go; the retried
        // ones are pending, not failed, and are left alone.
        run.start_at(backends, Action::Delete, 2, 1000)
            .expect("the last run is over");
        let progress = wait_until_finished(&run).await;
        assert_eq!((progress.done, progress.skipped), (2, 0), "{progress:?}");
        assert_eq!(status(backends, &failed[0]).await, None);
        assert_eq!(status(backends, &failed[4]).await, Some(Status::Pending));
    }

    #[tokio::test]
    async fn a_second_run_is_refused_while_one_runs_and_a_failure_after_the_start_is_left() {
        let backend = Kind::Embedded.make(10).await;
        let backends = &backend.backends;
        for n in 0..3 {
            testkit::seed::failed(backends, &format!("failed {n}"), 2).await;
        }
        let run = AllFailed::default();
        // One a second: the run is still going when the second start comes.
        run.start_at(backends, Action::Retry, 3, 1)
            .expect("nothing runs yet");
        let refused = run
            .start(backends, Action::Delete, 3)
            .expect_err("one at a time");
        assert_eq!(refused.status(), axum::http::StatusCode::CONFLICT);
        assert!(
            refused.public().contains("nothing new was started"),
            "{}",
            refused.public()
        );
        // A message that fails after the start is not the run's, though it
        // is the newest failed one, and the run's target would allow it.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let late = testkit::seed::failed(backends, "failed after the start", 2).await;
        let progress = wait_until_finished(&run).await;
        assert_eq!((progress.done, progress.skipped), (3, 0), "{progress:?}");
        assert_eq!(status(backends, &late).await, Some(Status::Fail));
    }
}
