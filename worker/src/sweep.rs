//! The pending sweeper: a periodic task. `cron.yaml` schedules it; sqsd (or
//! the local poller, which does what sqsd does) puts its run on the worker
//! queue and delivers it to `POST /tasks/sweep` (ARCHITECTURE.md, "Periodic
//! tasks").
//!
//! A message can stay `pending` with no job on its way: the web died between
//! recording it and enqueuing it, both backends failed at once, or its job left
//! the queue unfinished (dead-lettered, or expired). The sweeper finds messages
//! that have been `pending` with no activity for `SWEEP_AFTER_SECONDS`.
//!
//! - One re-enqueued fewer than `SWEEP_MAX_REQUEUES` times gets its job
//!   enqueued again, **whether or not the queue is busy**: under steady
//!   traffic the queue is never idle, and a lost job must still be rescued. If
//!   the message was only waiting in a backlog, the extra job is answered as a
//!   duplicate (or finishes it, once). The cost is bounded: at most
//!   `SWEEP_BATCH` extra jobs per run, and at most `SWEEP_MAX_REQUEUES` per
//!   message, each at least `SWEEP_AFTER_SECONDS` apart.
//! - One already re-enqueued that many times is marked `fail` **only when the
//!   queue is idle** (nothing waiting or delayed, nothing in flight but this
//!   sweep's own task message): a message waiting its turn in a backlog is
//!   never failed. In a queue that is never idle it stays `pending` until its
//!   jobs are reached.
//!
//! It is safe to repeat and to race: each re-enqueue is claimed first with a
//! conditional write on `updated_at` (of two sweepers, one wins), a duplicate
//! job is harmless (the worker answers it as a duplicate or finishes it once),
//! and each run examines at most `SWEEP_BATCH` messages of each kind, oldest
//! first. The store filters on staleness and on `requeues` itself, so
//! messages left waiting never fill a batch and hide a newer lost one.

use std::time::Duration;

use chrono::{DateTime, Utc};
use messages::{
    BackendError, Backends, FinalStatus, Message, Outcome, Requeues, StaleQuery, Transition,
};
use serde::Serialize;

/// How the sweeper behaves.
#[derive(Debug, Clone, Copy)]
pub struct SweepConfig {
    /// `SWEEP_AFTER_SECONDS`: no activity for this long means stuck.
    pub after: Duration,
    /// `SWEEP_BATCH`: messages examined per run, at most, of each kind (to
    /// re-enqueue, to give up).
    pub batch: u32,
    /// `SWEEP_MAX_REQUEUES`: re-enqueues before a stuck message is failed.
    pub max_requeues: u32,
}

impl Default for SweepConfig {
    fn default() -> Self {
        Self {
            after: Duration::from_secs(600),
            batch: 100,
            max_requeues: 3,
        }
    }
}

/// Why a sweep stopped before it was done. What it did before that stands
/// (every step is a conditional write), and the next run picks up the rest.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The store or the queue is unavailable.
    #[error("a backend is unavailable; it runs again at its next schedule")]
    Backend(#[from] BackendError),
}

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Stale pending messages found.
    pub checked: u32,
    /// Jobs enqueued again.
    pub requeued: u32,
    /// Messages given up as `fail`.
    pub failed: u32,
    /// Messages due to be given up but left `pending`, because the queue was
    /// busy: they may be waiting their turn.
    pub left_waiting: u32,
}

/// One sweep at time `now`. `own_in_flight` is how many of the queue's
/// messages in flight are this sweep's own: 1 when it was delivered through
/// the queue as a periodic task, 0 when it was called directly.
pub async fn sweep(
    backends: &Backends,
    config: SweepConfig,
    now: DateTime<Utc>,
    own_in_flight: u64,
) -> Result<SweepReport, SweepError> {
    // SWEEP_AFTER_SECONDS is at most 14 days (config.rs), far inside chrono's range.
    let after = chrono::Duration::from_std(config.after)
        .expect("SWEEP_AFTER_SECONDS is bounded far below chrono's range");
    let query = |requeues| StaleQuery {
        idle_since: now - after,
        requeues,
        limit: config.batch,
    };
    // The two reads at once: each reads every shard of the pending index.
    let (to_requeue, to_give_up) = tokio::try_join!(
        backends
            .store
            .stale_pending(query(Requeues::Fewer(config.max_requeues))),
        backends
            .store
            .stale_pending(query(Requeues::AtLeast(config.max_requeues))),
    )?;
    // Read before this run enqueues anything, so that its own jobs do not make
    // the queue look busy; and only if a give-up depends on it.
    let idle = if to_give_up.is_empty() {
        false
    } else {
        backends.queue.depth().await?.is_idle_but(own_in_flight)
    };
    let mut report = SweepReport {
        checked: u32::try_from(to_requeue.len() + to_give_up.len())
            .expect("each query returns at most SWEEP_BATCH (1000) messages"),
        ..SweepReport::default()
    };
    for message in &to_requeue {
        if requeue(backends, message, now).await? {
            report.requeued += 1;
        }
    }
    for message in &to_give_up {
        if !idle {
            report.left_waiting += 1;
        } else if give_up(backends, message, now).await? {
            report.failed += 1;
        }
    }
    if report != SweepReport::default() {
        tracing::info!(?report, "swept pending messages");
    }
    metrics::counter!("sweeper_requeued_total").increment(u64::from(report.requeued));
    metrics::counter!("sweeper_gave_up_total").increment(u64::from(report.failed));
    Ok(report)
}

async fn give_up(
    backends: &Backends,
    message: &Message,
    now: DateTime<Utc>,
) -> Result<bool, BackendError> {
    let outcome = Outcome {
        status: FinalStatus::Fail,
        attempts: message.attempts,
        error: Some(format!(
            "gave up: still pending after being enqueued again {} times, with the queue idle",
            message.requeues
        )),
        at: now,
        event: None,
    };
    Ok(matches!(
        backends.store.finish(message.id, &outcome).await?,
        Transition::Applied(_)
    ))
}

async fn requeue(
    backends: &Backends,
    message: &Message,
    now: DateTime<Utc>,
) -> Result<bool, BackendError> {
    let note = format!(
        "enqueued again by the sweeper: no activity since {}",
        message
            .updated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    // Claim first, so a concurrent sweeper does not enqueue it too. If the send
    // then fails, the claim only delays the next try by one period.
    if !backends
        .store
        .claim_requeue(message.id, message.updated_at, now, &note)
        .await?
    {
        return Ok(false);
    }
    // Under a deduplication id of its own: a FIFO queue would drop a repeat
    // of the web's first send within five minutes.
    backends
        .queue
        .send_message(&message.outgoing_requeued(message.requeues + 1))
        .await?;
    Ok(true)
}
