//! The pending sweeper: a periodic task (`cron.yaml` POSTs `/tasks/sweep` on
//! Elastic Beanstalk; a polling worker runs it itself every
//! `SWEEP_EVERY_SECONDS`).
//!
//! A message can stay `pending` with no job on its way: the web died between
//! recording it and enqueuing it, both backends failed at once, or its job left
//! the queue unfinished (dead-lettered, or expired). The sweeper finds messages
//! that have been `pending` with no activity for `SWEEP_AFTER_SECONDS` and
//! enqueues their job again; one it has already re-enqueued
//! `SWEEP_MAX_REQUEUES` times is marked `fail` with the reason.
//!
//! It acts only when the queue is idle (nothing waiting, in flight or delayed).
//! A stale `pending` message while the queue is busy may simply be waiting its
//! turn in a backlog: re-enqueuing it would only grow the backlog, and failing
//! it would be wrong. When the queue is idle, its job is nowhere, so it is stuck.
//!
//! It is safe to repeat and to race: each re-enqueue is claimed first with a
//! conditional write on `updated_at` (of two sweepers, one wins), a duplicate
//! job is harmless (the worker answers it as a duplicate or finishes it once),
//! and each run examines at most `SWEEP_BATCH` messages.

use std::time::Duration;

use chrono::{DateTime, Utc};
use messages::{BackendError, Backends, FinalStatus, Message, MessageId, Outcome, Transition};
use serde::Serialize;

/// How the sweeper behaves.
#[derive(Debug, Clone, Copy)]
pub struct SweepConfig {
    /// `SWEEP_AFTER_SECONDS`: no activity for this long means stuck.
    pub after: Duration,
    /// `SWEEP_BATCH`: messages examined per run, at most.
    pub batch: u32,
    /// `SWEEP_MAX_REQUEUES`: re-enqueues before a stuck message is failed.
    pub max_requeues: u32,
    /// `SWEEP_EVERY_SECONDS`: how often a polling worker sweeps by itself.
    pub every: Duration,
}

impl Default for SweepConfig {
    fn default() -> Self {
        Self {
            after: Duration::from_secs(600),
            batch: 100,
            max_requeues: 3,
            every: Duration::from_secs(300),
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
    /// The queue was busy, so stale messages were left to wait their turn.
    pub queue_busy: bool,
}

/// One sweep at time `now`.
pub async fn sweep(
    backends: &Backends,
    config: SweepConfig,
    now: DateTime<Utc>,
) -> Result<SweepReport, SweepError> {
    // SWEEP_AFTER_SECONDS is at most 14 days (config.rs), far inside chrono's range.
    let after = chrono::Duration::from_std(config.after)
        .expect("SWEEP_AFTER_SECONDS is bounded far below chrono's range");
    let stale_before = now - after;
    // Anything created after `stale_before` cannot have been idle that long.
    let stale: Vec<Message> = backends
        .store
        .pending_before(MessageId::floor(stale_before), config.batch)
        .await?
        .into_iter()
        .filter(|message| message.updated_at < stale_before)
        .collect();
    let mut report = SweepReport {
        checked: u32::try_from(stale.len())
            .expect("pending_before returns at most SWEEP_BATCH (1000) messages"),
        ..SweepReport::default()
    };
    if stale.is_empty() {
        return Ok(report);
    }
    if !backends.queue.is_idle().await? {
        report.queue_busy = true;
        tracing::info!(
            ?report,
            "stale pending messages, but the queue is busy: they may be waiting their turn"
        );
        return Ok(report);
    }
    for message in stale {
        if message.requeues >= config.max_requeues {
            if give_up(backends, &message, now).await? {
                report.failed += 1;
            }
        } else if requeue(backends, &message, now).await? {
            report.requeued += 1;
        }
    }
    tracing::info!(?report, "swept pending messages");
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
    backends.queue.send(&message.job().to_json()).await?;
    Ok(true)
}

/// Sweeps every `config.every` until `shutdown` completes: for a polling
/// worker, where no `cron.yaml` calls `/tasks/sweep`.
pub async fn sweep_periodically(
    backends: Backends,
    config: SweepConfig,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut ticks = tokio::time::interval(config.every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = ticks.tick() => {}
        }
        if let Err(SweepError::Backend(error)) = sweep(&backends, config, messages::now()).await {
            tracing::warn!(error = %error.chain(), "sweep failed; it runs again at the next period");
        }
    }
}
