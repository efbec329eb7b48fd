//! SIGTERM, which Elastic Beanstalk sends to the app on every deploy, to the
//! real `worker` binary while it runs a backlog of slow jobs: it must finish
//! or release what it holds and exit cleanly, and a new worker must then
//! finish everything. Nothing lost, nothing left pending, nothing failed.

use std::process::Stdio;
use std::time::{Duration, Instant};

use messages::{Backends, JobKind, Status};

const MESSAGES: usize = 30;

fn polling_worker(data_dir: &std::path::Path) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_worker"))
        .env_remove("QUEUE_URL")
        .env_remove("TABLE_NAME")
        .env("DATA_DIR", data_dir)
        .env("PORT", "0")
        .env("WORKER_POLL", "true")
        .env("POLL_WAIT_SECONDS", "1")
        .env("POLL_CONCURRENCY", "5")
        .env("SLOW_JOB_MS", "700")
        .env("CRON_FILE", "none")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the worker binary")
}

async fn statuses(backends: &Backends, ids: &[messages::MessageId]) -> Vec<Status> {
    let mut found = Vec::new();
    for id in ids {
        let message = backends.store.get(*id).await.expect("get").expect("exists");
        found.push(message.status);
    }
    found
}

fn sigterm(child: &tokio::process::Child) {
    let pid = child.id().expect("the worker is running");
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -TERM {pid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_backlog_finishes_or_releases_every_job_and_loses_none() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let web = messages_embedded::backends(dir.path(), 10).expect("open");
    let mut ids = Vec::new();
    for n in 0..MESSAGES {
        ids.push(
            testkit::seed::sent(&web, &format!("slow {n}"), JobKind::Slow)
                .await
                .id,
        );
    }

    let mut worker = polling_worker(dir.path());
    // Wait until jobs are being worked on: some finished, so others are in hand.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !statuses(&web, &ids).await.contains(&Status::Complete) {
        assert!(
            Instant::now() < deadline,
            "the worker finished nothing in 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sigterm(&worker);
    let exit = tokio::time::timeout(Duration::from_secs(15), worker.wait())
        .await
        .expect("the worker stops within 15 s of SIGTERM")
        .expect("its exit status");
    assert!(exit.success(), "a clean exit after SIGTERM: {exit}");

    let after: Vec<Status> = statuses(&web, &ids).await;
    let pending = after
        .iter()
        .filter(|status| **status == Status::Pending)
        .count();
    eprintln!(
        "SIGTERM mid-backlog: {} of {MESSAGES} complete at the stop, {pending} pending, exit {exit}",
        after
            .iter()
            .filter(|status| **status == Status::Complete)
            .count()
    );
    assert!(
        pending > 0,
        "the test stopped the worker mid-backlog: {after:?}"
    );
    assert!(
        !after.contains(&Status::Fail),
        "SIGTERM fails nothing: {after:?}"
    );
    // Every job not finished is back on the queue, visible, or about to be:
    // released, not left hidden until its visibility timeout (300 s).
    let depth = web.queue.depth().await.expect("depth");
    assert_eq!(
        (depth.waiting + depth.delayed, depth.in_flight),
        (pending as u64, 0),
        "each pending message's job is released to the queue"
    );

    let mut again = polling_worker(dir.path());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = statuses(&web, &ids).await;
        if now.iter().all(|status| *status == Status::Complete) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all complete after a restart: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    again.kill().await.expect("stop the second worker");
}
