//! The pending sweeper, a periodic task (`cron.yaml`, `POST /tasks/sweep`).
//!
//! A message can stay `pending` with no job on its way: the web died between
//! recording it and enqueuing it, both backends failed at once, or its queue
//! message expired. The sweeper finds messages that have been `pending` with no
//! activity for `SWEEP_AFTER_SECONDS` and enqueues their job again, or, once
//! they have been pending for `MAX_ATTEMPTS` sweep periods, marks them `fail`.
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
    /// `MAX_ATTEMPTS`: sweep periods a message may stay pending before it is failed.
    pub max_attempts: u32,
}

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Old pending messages examined.
    pub checked: u32,
    /// Jobs enqueued again.
    pub requeued: u32,
    /// Messages given up as `fail`.
    pub failed: u32,
}

fn chrono_duration(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

/// One sweep at time `now`.
pub async fn sweep(
    backends: &Backends,
    config: SweepConfig,
    now: DateTime<Utc>,
) -> Result<SweepReport, BackendError> {
    let stale_before = now - chrono_duration(config.after);
    let give_up_before = now - chrono_duration(config.after * config.max_attempts.max(1));
    // Anything created after `stale_before` cannot have been idle that long.
    let candidates = backends
        .store
        .pending_before(MessageId::floor(stale_before), config.batch)
        .await?;
    let mut report = SweepReport::default();
    for message in candidates {
        if message.updated_at >= stale_before {
            continue; // Pending, but something happened to it recently.
        }
        report.checked += 1;
        if message.created_at < give_up_before {
            if give_up(backends, &message, now).await? {
                report.failed += 1;
            }
        } else if requeue(backends, &message, now).await? {
            report.requeued += 1;
        }
    }
    if report.checked > 0 {
        tracing::info!(?report, "swept pending messages");
    }
    Ok(report)
}

async fn give_up(
    backends: &Backends,
    message: &Message,
    now: DateTime<Utc>,
) -> Result<bool, BackendError> {
    let minutes = (now - message.created_at).num_minutes();
    let outcome = Outcome {
        status: FinalStatus::Fail,
        attempts: message.attempts,
        error: Some(format!(
            "gave up: still pending after {minutes} minutes, despite being re-enqueued"
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
        "re-enqueued by the sweeper: no activity since {}",
        message
            .updated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    // Claim first, so a concurrent sweeper does not enqueue it too. If the send
    // then fails, the claim only delays the next try by one period.
    if !backends
        .store
        .touch(message.id, message.updated_at, now, &note)
        .await?
    {
        return Ok(false);
    }
    backends.queue.send(&message.job().to_json()).await?;
    Ok(true)
}
