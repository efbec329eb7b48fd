//! The sweeper under steady traffic, as Elastic Beanstalk runs it: how long a
//! message whose job was lost takes to be rescued while other jobs keep the
//! queue from ever being idle, and what that costs the messages that were only
//! waiting (ARCHITECTURE.md, "Periodic tasks").
//!
//! The `web` and `worker` release binaries run as two processes on one
//! embedded `DATA_DIR`; the worker polls and runs a `cron.yaml` whose sweep
//! comes every minute (cron's finest step), through the queue. A sender keeps
//! `slow` jobs flowing the whole time. Then records are planted with no job at
//! all (what a web that died between its two writes leaves), and the bench
//! samples the queue's depth every second and watches the planted records
//! until each is final.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use messages::{JobKind, Message, MessageBody, Status};
use serde_json::json;

use crate::run::{Backend, start};

/// `SWEEP_AFTER_SECONDS` for the run: short, so a planted record goes stale soon.
const SWEEP_AFTER: Duration = Duration::from_secs(20);
/// How long a `slow` job of the steady traffic takes.
const SLOW_JOB: Duration = Duration::from_millis(400);
/// One job sent every this long: with `SLOW_JOB`, about ten jobs are always in flight.
const SEND_EVERY: Duration = Duration::from_millis(40);
/// Records planted with no job.
const LOST: usize = 20;
/// The run stops after this long whatever happens.
const LIMIT: Duration = Duration::from_secs(200);

/// What the run saw.
#[derive(Debug, Default)]
pub struct RescueResults {
    /// Planted records whose job was lost.
    pub lost: usize,
    /// From planting to `complete`, for each one rescued, sorted.
    pub rescue_times: Vec<Duration>,
    /// Planted records that ended `fail` (must be none).
    pub lost_failed: usize,
    /// Jobs of the steady traffic.
    pub load_sent: usize,
    /// Of those, ended `fail` (must be none: they were never lost).
    pub load_failed: usize,
    /// Of those, given an extra job by the sweeper.
    pub load_requeued: usize,
    /// One-second samples of the queue's depth.
    pub samples: usize,
    /// Samples in which the queue was idle but for one message in flight (the
    /// most a sweep's own message adds): what the sweeper once waited for.
    pub idle_samples: usize,
    /// `SWEEP_AFTER_SECONDS` of the run.
    pub sweep_after: Duration,
}

/// The whole scenario.
pub async fn run(bin_dir: &std::path::Path) -> anyhow::Result<RescueResults> {
    let data_dir = tempfile::tempdir()?;
    let cron = data_dir.path().join("cron.yaml");
    std::fs::write(
        &cron,
        "version: 1\ncron:\n  - name: sweep-pending\n    url: /tasks/sweep\n    schedule: \"* * * * *\"\n",
    )?;
    let backend = Backend::Embedded(data_dir.path().to_owned());
    let sweep_after = SWEEP_AFTER.as_secs().to_string();
    let slow_job = SLOW_JOB.as_millis().to_string();
    let cron_file = cron.display().to_string();
    let worker = start(
        &bin_dir.join("worker"),
        &backend,
        None,
        &[
            ("WORKER_POLL", "true"),
            ("CRON_FILE", &cron_file),
            ("SWEEP_AFTER_SECONDS", &sweep_after),
            ("SLOW_JOB_MS", &slow_job),
        ],
    )
    .await?;
    let web = start(&bin_dir.join("web"), &backend, None, &[]).await?;
    // A connection of the bench's own, as a third process would have.
    let backends = messages_embedded::backends(data_dir.path(), 10)?;

    let sending = Arc::new(AtomicBool::new(true));
    let load = tokio::spawn(steady_traffic(web.url.clone(), Arc::clone(&sending)));
    tokio::time::sleep(Duration::from_secs(2)).await;

    eprintln!(
        "rescue: {LOST} records with no job, under steady traffic (at most {} s)",
        LIMIT.as_secs()
    );
    let planted_at = Instant::now();
    let mut lost = Vec::with_capacity(LOST);
    for n in 0..LOST {
        let message = Message::new(MessageBody::parse(format!("lost {n}"))?, JobKind::Succeed);
        backends.store.create(&message).await?;
        lost.push(message.id);
    }

    let mut results = RescueResults {
        lost: LOST,
        sweep_after: SWEEP_AFTER,
        ..RescueResults::default()
    };
    let mut open = lost.clone();
    while !open.is_empty() && planted_at.elapsed() < LIMIT {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let depth = backends.queue.depth().await?;
        results.samples += 1;
        if depth.is_idle_but(1) {
            results.idle_samples += 1;
        }
        let mut still_open = Vec::new();
        for id in open {
            let status = backends.store.get(id).await?.map(|message| message.status);
            match status {
                Some(Status::Complete) => results.rescue_times.push(planted_at.elapsed()),
                Some(Status::Fail) => results.lost_failed += 1,
                _ => still_open.push(id),
            }
        }
        open = still_open;
    }
    sending.store(false, Ordering::Relaxed);
    let load_ids = load.await??;
    results.rescue_times.sort();

    // Let the traffic finish, then look at how it ended.
    let deadline = Instant::now() + Duration::from_secs(60);
    results.load_sent = load_ids.len();
    for id in &load_ids {
        loop {
            let message =
                backends.store.get(*id).await?.ok_or_else(|| {
                    anyhow::anyhow!("message {id} was accepted but has no record")
                })?;
            if message.status.is_final() || Instant::now() > deadline {
                results.load_failed += usize::from(message.status == Status::Fail);
                results.load_requeued += usize::from(message.requeues > 0);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    drop(web);
    drop(worker);
    Ok(results)
}

/// Sends a `slow` job every [`SEND_EVERY`] until `sending` turns false;
/// returns the ids the web accepted.
async fn steady_traffic(
    web: String,
    sending: Arc<AtomicBool>,
) -> anyhow::Result<Vec<messages::MessageId>> {
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    let mut ticks = tokio::time::interval(SEND_EVERY);
    while sending.load(Ordering::Relaxed) {
        ticks.tick().await;
        let answer: serde_json::Value = client
            .post(format!("{web}/api/messages"))
            .json(&json!({ "body": "steady traffic", "simulate": "slow" }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let id = answer["id"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("the web's answer has no id: {answer}"))?;
        ids.push(messages::MessageId::parse(id)?);
    }
    Ok(ids)
}
