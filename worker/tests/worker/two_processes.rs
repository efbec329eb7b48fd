//! The `worker` binary as a second process, polling the same embedded
//! `DATA_DIR` that this test process writes to as the web: the embedded
//! backend's file locking lets two processes share it.

use std::process::Stdio;
use std::time::Duration;

use messages::{Simulate, Status};

#[tokio::test]
async fn a_web_and_a_worker_in_two_processes_share_one_data_dir() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    // Cargo builds the binary for this crate's integration tests and says where.
    let mut worker = tokio::process::Command::new(env!("CARGO_BIN_EXE_worker"))
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

    let web = messages_embedded::backends(dir.path(), 10).expect("open");
    let mut ids = Vec::new();
    for simulate in [Simulate::Ok, Simulate::Flaky, Simulate::Fail] {
        let text = format!("{simulate} across processes");
        ids.push(testkit::seed::sent(&web, &text, simulate).await.id);
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
