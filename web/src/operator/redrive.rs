//! "Redrive all": moving what the dead-letter queue holds back to the work
//! queue, in the background, at a bounded rate, one redrive at a time per
//! web instance.
//!
//! A redrive moves at most what the dead-letter queue held when it started
//! (plus one batch, for SQS's approximate depth), so a job that keeps failing
//! and comes back is not sent round again by the same redrive. Each batch is
//! sent before it is deleted (`DeadLetterQueue::move_back`): a web that dies
//! mid-way leaves messages in the dead-letter queue, or at worst in both,
//! never in neither.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use messages::{DeadLetterQueue, MOVE_BATCH};
use serde::Serialize;
use tokio::time::Instant;

/// The most messages a redrive moves per second: a burst of old jobs must not
/// swamp the worker or the store.
pub const REDRIVE_PER_SECOND: u32 = 50;

/// Where the last redrive of this web instance is.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RedriveProgress {
    /// Still moving.
    pub running: bool,
    /// Moved so far.
    pub moved: u64,
    /// The most it will move.
    pub target: u64,
    /// Why it stopped early, if it did.
    pub error: Option<String>,
}

/// The redrive of one web instance.
#[derive(Debug, Clone, Default)]
pub struct Redrive {
    progress: Arc<Mutex<Option<RedriveProgress>>>,
}

impl Redrive {
    /// Where the last redrive is, if there was one.
    pub fn progress(&self) -> Option<RedriveProgress> {
        self.progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Starts moving up to `depth` (plus one batch) messages from
    /// `dead_letters`; refused while one runs.
    pub fn start(
        &self,
        dead_letters: Arc<dyn DeadLetterQueue>,
        depth: u64,
    ) -> Result<RedriveProgress, &'static str> {
        let started = {
            let mut progress = self
                .progress
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if progress.as_ref().is_some_and(|progress| progress.running) {
                return Err("a redrive is already running: wait for it to finish");
            }
            let started = RedriveProgress {
                running: true,
                moved: 0,
                target: depth + u64::from(MOVE_BATCH),
                error: None,
            };
            *progress = Some(started.clone());
            started
        };
        tracing::info!(target = started.target, dead_letters = %dead_letters.describe(), "redrive started");
        let progress = Arc::clone(&self.progress);
        tokio::spawn(async move {
            let update = |change: &dyn Fn(&mut RedriveProgress)| {
                let mut progress = progress
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some(progress) = progress.as_mut() {
                    change(progress);
                }
            };
            let pace = Duration::from_secs(1) / (REDRIVE_PER_SECOND / MOVE_BATCH);
            let mut moved = 0u64;
            let mut empty_once = false;
            while moved < started.target {
                let batch_started = Instant::now();
                match dead_letters.move_back().await {
                    // Empty twice running, or its depth says so: done.
                    Ok(0)
                        if empty_once
                            || dead_letters.depth().await.is_ok_and(|depth| depth == 0) =>
                    {
                        break;
                    }
                    Ok(0) => empty_once = true,
                    Ok(batch) => {
                        empty_once = false;
                        moved += u64::from(batch);
                        metrics::counter!("redrive_moved_total").increment(u64::from(batch));
                        update(&|progress| progress.moved = moved);
                    }
                    Err(error) => {
                        tracing::error!(error = %error.chain(), moved, "redrive stopped");
                        let text = format!("stopped after {moved}: {error}");
                        update(&|progress| progress.error = Some(text.clone()));
                        break;
                    }
                }
                tokio::time::sleep_until(batch_started + pace).await;
            }
            tracing::info!(moved, "redrive finished");
            update(&|progress| progress.running = false);
        });
        Ok(started)
    }
}
