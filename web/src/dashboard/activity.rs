//! Throughput and latency over the last hour, for the page's charts: one
//! snapshot per web instance, read at most every [`ACTIVITY_MAX_AGE`] and
//! shared by every open page, like the pipeline (`snapshot.rs`).
//!
//! What it reads, at a bounded cost: the newest finished messages of each
//! final status, a page of 100 at a time, until a page reaches messages sent
//! more than an hour ago or [`PAGES_PER_STATUS`] pages are read (so at most
//! 20 list reads every 30 s, whatever the traffic). Each finished message
//! counts in the minute it finished (`updated_at`), with its retried
//! deliveries (`attempts - 1`) and its send-to-final time (`updated_at -
//! created_at`). Messages sent more than an hour ago are left out; past
//! 1,000 finished of a status in the hour, the figures are of the newest
//! 1,000, and [`Activity::sampled`] says so.

use std::time::Duration;

use crate::dashboard::shared_read::SharedRead;
use chrono::{DateTime, Utc};
use messages::{BackendError, ListQuery, MAX_PAGE, Message, Status, StatusStore};
use serde::Serialize;
use std::sync::Arc;

/// How old the shared figures may be when served.
pub const ACTIVITY_MAX_AGE: Duration = Duration::from_secs(30);

/// Pages of [`MAX_PAGE`] read per final status, at most.
pub const PAGES_PER_STATUS: u32 = 10;

/// The minutes the charts show.
pub const MINUTES: usize = 60;

/// One minute's finished messages.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Minute {
    /// Ended `complete`.
    pub complete: u32,
    /// Ended `fail`.
    pub fail: u32,
    /// Deliveries retried, among those.
    pub retries: u32,
}

/// Send-to-final times over ten minutes.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct LatencySpan {
    /// Milliseconds, when any message finished in the span.
    pub p50_ms: Option<i64>,
    /// Milliseconds.
    pub p95_ms: Option<i64>,
}

/// The last hour, as last read.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Activity {
    /// Oldest first, the last one the current minute.
    pub minutes: Vec<Minute>,
    /// Six spans of ten minutes, oldest first.
    pub latency: Vec<LatencySpan>,
    /// Over the hour.
    pub complete: u32,
    /// Over the hour.
    pub fail: u32,
    /// Over the hour.
    pub retries: u32,
    /// Send-to-final over the hour, milliseconds.
    pub p50_ms: Option<i64>,
    /// Send-to-final over the hour, milliseconds.
    pub p95_ms: Option<i64>,
    /// Whether a status had more finished messages than were read.
    pub sampled: bool,
    /// When the hour ends.
    pub until: DateTime<Utc>,
}

/// The `percent`th percentile of sorted `values` (nearest rank).
fn percentile(sorted: &[i64], percent: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

impl Activity {
    /// The figures of `finished` (messages in a final state) for the hour
    /// up to `until`.
    pub fn of(finished: &[Message], until: DateTime<Utc>, sampled: bool) -> Self {
        let from = until - chrono::Duration::minutes(MINUTES as i64);
        let mut minutes = vec![Minute::default(); MINUTES];
        let mut spans: Vec<Vec<i64>> = vec![Vec::new(); MINUTES / 10];
        let mut all = Vec::new();
        for message in finished {
            if message.created_at < from || message.updated_at <= from || message.updated_at > until
            {
                continue;
            }
            let minute = usize::try_from((message.updated_at - from).num_minutes())
                .unwrap_or_default()
                .min(MINUTES - 1);
            let slot = &mut minutes[minute];
            match message.status {
                Status::Complete => slot.complete += 1,
                Status::Fail => slot.fail += 1,
                Status::Pending => continue,
            }
            slot.retries += message.attempts.saturating_sub(1);
            let took = (message.updated_at - message.created_at).num_milliseconds();
            spans[minute / 10].push(took);
            all.push(took);
        }
        all.sort_unstable();
        let latency = spans
            .into_iter()
            .map(|mut span| {
                span.sort_unstable();
                LatencySpan {
                    p50_ms: percentile(&span, 50),
                    p95_ms: percentile(&span, 95),
                }
            })
            .collect();
        Self {
            complete: minutes.iter().map(|minute| minute.complete).sum(),
            fail: minutes.iter().map(|minute| minute.fail).sum(),
            retries: minutes.iter().map(|minute| minute.retries).sum(),
            p50_ms: percentile(&all, 50),
            p95_ms: percentile(&all, 95),
            minutes,
            latency,
            sampled,
            until,
        }
    }

    /// One sentence of the figures: the charts' text alternative.
    pub fn summary(&self) -> String {
        let latency = match (self.p50_ms, self.p95_ms) {
            (Some(p50), Some(p95)) => format!(
                "send to final: median {}, 95th percentile {}",
                crate::views::timeline::duration(u64::try_from(p50).unwrap_or(0)),
                crate::views::timeline::duration(u64::try_from(p95).unwrap_or(0))
            ),
            _ => "no send-to-final time yet".to_owned(),
        };
        format!(
            "In the last hour{}: {} complete, {} failed, {} retried deliveries; {latency}.",
            if self.sampled {
                " (newest 1,000 of each status)"
            } else {
                ""
            },
            self.complete,
            self.fail,
            self.retries
        )
    }
}

/// The shared activity of one web instance.
pub struct ActivitySnapshot {
    store: Arc<dyn StatusStore>,
    last: SharedRead<Activity>,
}

impl std::fmt::Debug for ActivitySnapshot {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ActivitySnapshot")
            .finish_non_exhaustive()
    }
}

impl ActivitySnapshot {
    /// The activity of `store`, read at most every [`ACTIVITY_MAX_AGE`].
    pub fn new(store: Arc<dyn StatusStore>) -> Self {
        Self {
            store,
            last: SharedRead::new(ACTIVITY_MAX_AGE),
        }
    }

    /// The last hour, from the snapshot if it is young enough.
    pub async fn activity(&self) -> Result<Activity, BackendError> {
        self.last.try_get(|| self.read_activity()).await
    }

    /// The last hour, read now.
    async fn read_activity(&self) -> Result<Activity, BackendError> {
        let until = messages::now();
        let from = until - chrono::Duration::minutes(MINUTES as i64);
        let mut finished = Vec::new();
        let mut sampled = false;
        for status in [Status::Complete, Status::Fail] {
            let mut cursor = None;
            for page in 0..PAGES_PER_STATUS {
                let listed = self
                    .store
                    .list(ListQuery {
                        status: Some(status),
                        group: None,
                        limit: MAX_PAGE,
                        cursor,
                    })
                    .await?;
                let reached_older = listed
                    .items
                    .last()
                    .is_some_and(|message| message.created_at < from);
                finished.extend(listed.items);
                cursor = listed.next_cursor;
                if reached_older || cursor.is_none() {
                    break;
                }
                if page + 1 == PAGES_PER_STATUS {
                    sampled = true;
                }
            }
        }
        Ok(Activity::of(&finished, until, sampled))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use messages::{JobKind, MessageBody, MessageId};

    fn finished(
        status: Status,
        sent_ago_s: i64,
        took_ms: i64,
        attempts: u32,
        until: DateTime<Utc>,
    ) -> Message {
        let created = until - chrono::Duration::seconds(sent_ago_s);
        let mut message = Message::with_id(
            MessageId::created_at(created),
            MessageBody::parse("x").expect("valid"),
            JobKind::Succeed,
        );
        message.created_at = created;
        message.updated_at = created + chrono::Duration::milliseconds(took_ms);
        message.status = status;
        message.attempts = attempts;
        message
    }

    #[test]
    fn each_message_counts_in_the_minute_it_finished_with_its_retries_and_latency() {
        let until = messages::now();
        let messages = [
            finished(Status::Complete, 30, 100, 1, until),
            finished(Status::Complete, 30, 300, 3, until),
            finished(Status::Fail, 125, 2_000, 10, until),
            // Sent more than an hour ago: left out.
            finished(Status::Complete, 3_700, 100, 1, until),
        ];
        let activity = Activity::of(&messages, until, false);
        assert_eq!(
            (activity.complete, activity.fail, activity.retries),
            (2, 1, 11)
        );
        assert_eq!(activity.minutes.len(), MINUTES);
        assert_eq!(
            activity.minutes[59],
            Minute {
                complete: 2,
                fail: 0,
                retries: 2
            }
        );
        assert_eq!(
            activity.minutes[57],
            Minute {
                complete: 0,
                fail: 1,
                retries: 9
            }
        );
        assert_eq!((activity.p50_ms, activity.p95_ms), (Some(300), Some(2_000)));
        assert_eq!(activity.latency[5].p50_ms, Some(300));
        assert!(
            activity
                .summary()
                .contains("2 complete, 1 failed, 11 retried deliveries")
        );
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50), Some(50));
        assert_eq!(percentile(&values, 95), Some(95));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }
}
