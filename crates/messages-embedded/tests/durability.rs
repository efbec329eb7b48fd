//! The embedded backend's promises beyond the port contract: it survives a
//! restart, and two processes share it.

use std::process::Stdio;
use std::time::Duration;

use messages::{Backends, MessageBody, Simulate, Status};

#[tokio::test]
async fn messages_and_queue_survive_a_restart() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let id = {
        let backends = Backends::embedded(dir.path(), 10).expect("open");
        let body = MessageBody::parse("kept").expect("valid");
        web::send::send_message(&backends, body, Simulate::Ok)
            .await
            .expect("sent")
            .id
        // Everything is closed here, as when the process exits.
    };
    let reopened = Backends::embedded(dir.path(), 10).expect("open again");
    let message = reopened
        .store
        .get(id)
        .await
        .expect("get")
        .expect("still recorded");
    assert_eq!(message.status, Status::Pending);
    let received = reopened
        .queue
        .receive(1, Duration::from_secs(1), Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!(received.len(), 1, "the job is still queued");
    assert!(received[0].body.contains(&id.to_string()));
}

#[tokio::test]
async fn an_unwritable_data_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").expect("write");
    let error = Backends::embedded(&file.join("data"), 10)
        .err()
        .expect("cannot open")
        .chain();
    assert!(error.contains("cannot create DATA_DIR"), "{error}");
}

/// The worker binary as a second process, polling the same `DATA_DIR` that this
/// test process writes to as the web.
#[tokio::test]
async fn a_web_and_a_worker_in_two_processes_share_one_data_dir() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let worker_binary = std::env::var("WORKER_BINARY").unwrap_or_else(|_| {
        panic!("WORKER_BINARY is not set: run the tests with scripts/test, which builds the worker binary and sets it")
    });
    let mut worker = tokio::process::Command::new(worker_binary)
        .env_remove("QUEUE_URL")
        .env_remove("TABLE_NAME")
        .env("DATA_DIR", dir.path())
        .env("PORT", "0")
        .env("WORKER_POLL", "true")
        .env("POLL_WAIT_SECONDS", "1")
        .env("ERROR_VISIBILITY_TIMEOUT", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the worker binary");

    let web = Backends::embedded(dir.path(), 10).expect("open");
    let mut ids = Vec::new();
    for simulate in [Simulate::Ok, Simulate::Flaky, Simulate::Fail] {
        let body = MessageBody::parse(format!("{simulate} across processes")).expect("valid");
        ids.push(
            web::send::send_message(&web, body, simulate)
                .await
                .expect("sent")
                .id,
        );
    }
    let mut states = Vec::new();
    for _ in 0..200 {
        states.clear();
        for id in &ids {
            states.push(
                web.store
                    .get(*id)
                    .await
                    .expect("get")
                    .expect("exists")
                    .status,
            );
        }
        if states.iter().all(|status| status.is_final()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.kill().await.expect("stop the worker");
    assert_eq!(
        states,
        vec![Status::Complete, Status::Complete, Status::Fail]
    );
}
