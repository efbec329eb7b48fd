//! Whether the pipeline has stopped: messages wait on the queue and no
//! worker takes any. The queue's depth says how many wait and how many are
//! in flight, not for how long, so each web instance remembers since when
//! it has seen messages waiting with none in flight. A working worker
//! (sqsd long-polls without a pause) leaves no message waiting that long,
//! so "none taken for 30 s" means no worker is taking jobs: sqsd or the
//! worker environment is down, or a local worker waits for "Process".
//! It costs no request: it is read from the snapshot's depth.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::dashboard::worker_link::WorkerMode;

/// How long messages may wait with none taken before the strip warns.
pub const STUCK_AFTER: Duration = Duration::seconds(30);

/// Since when this instance has seen messages waiting and none in flight.
#[derive(Debug, Default)]
pub struct StallWatch {
    since: Mutex<Option<DateTime<Utc>>>,
}

impl StallWatch {
    /// Notes the queue's `(waiting, in flight)` as read at `now` (none: it
    /// could not be read, which changes nothing) and returns since when
    /// messages have waited with none taken, if they have.
    pub fn observe(&self, queue: Option<(u64, u64)>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut since = self
            .since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((waiting, in_flight)) = queue {
            let stalled = waiting > 0 && in_flight == 0;
            *since = match (stalled, *since) {
                (false, _) => None,
                (true, Some(earlier)) => Some(earlier),
                (true, None) => Some(now),
            };
        }
        *since
    }
}

/// Whether messages that have waited with none taken since `since` are stuck at `now`.
pub fn is_stuck(since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    since.is_some_and(|since| now - since >= STUCK_AFTER)
}

/// The strip's warning at `now`, when messages have waited with none taken
/// since `since` for [`STUCK_AFTER`] or more; none otherwise.
pub fn warning(
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    worker: WorkerMode,
) -> Option<String> {
    let since = since.filter(|since| is_stuck(Some(*since), now))?;
    Some(stuck_warning(worker, &waited(now - since)))
}

/// What the strip says when messages wait and no worker takes them: what
/// is wrong, and where to look, for how the worker is fed.
pub fn stuck_warning(worker: WorkerMode, waited: &str) -> String {
    let look = match worker {
        WorkerMode::Sqsd => {
            "is the worker environment running? Look at its health, and at sqsd's log (/var/log/aws-sqsd/default.log on a worker instance)"
        }
        WorkerMode::Polling => "is the worker running? Look at its log",
        WorkerMode::Manual => "the worker waits for Process",
        WorkerMode::Unreachable => "the worker does not answer: start it",
    };
    format!("Messages have waited {waited} and no worker has taken one: {look}.")
}

/// How long messages have waited, as the warning says it: "45 s", "6 min".
fn waited(duration: Duration) -> String {
    let seconds = duration.num_seconds().max(0);
    if seconds < 120 {
        format!("{seconds} s")
    } else {
        format!("{} min", seconds / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(waiting: u64, in_flight: u64) -> Option<(u64, u64)> {
        Some((waiting, in_flight))
    }

    #[test]
    fn messages_waiting_with_none_taken_are_stuck_after_a_while_and_one_taken_clears_it() {
        let watch = StallWatch::default();
        let start = Utc::now();
        let at = |seconds| start + Duration::seconds(seconds);
        assert_eq!(watch.observe(queue(0, 0), at(0)), None);
        assert_eq!(watch.observe(queue(3, 0), at(1)), Some(at(1)));
        // An unreadable queue keeps what was seen.
        assert_eq!(watch.observe(None, at(10)), Some(at(1)));
        let since = watch.observe(queue(3, 0), at(31));
        assert_eq!(since, Some(at(1)));
        assert!(!is_stuck(since, at(30)));
        assert!(is_stuck(since, at(31)));
        assert_eq!(warning(since, at(30), WorkerMode::Sqsd), None);
        let said = warning(since, at(361), WorkerMode::Sqsd).expect("a warning");
        assert!(
            said.starts_with("Messages have waited 6 min and no worker has taken one")
                && said.contains("sqsd's log"),
            "{said}"
        );
        // A worker takes one: the pipeline moves.
        assert_eq!(watch.observe(queue(2, 1), at(32)), None);
        assert!(!is_stuck(None, at(100)));
        // An empty queue is not stuck either.
        assert_eq!(watch.observe(queue(0, 0), at(33)), None);
    }
}
