//! The `worker` binary as a second process, polling the same embedded
//! `DATA_DIR` that this test process writes to as the web: the embedded
//! backend's file locking lets two processes share it.

use std::process::Stdio;
use std::time::Duration;

use messages::{JobKind, Status};

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
    for simulate in [JobKind::Succeed, JobKind::Flaky, JobKind::Fail] {
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

/// Runs the `worker` binary polling, with `cron_file` as `CRON_FILE`, and
/// returns how it ended and what it said, if it ended within 10 s.
async fn start_polling_with(cron_file: &str) -> Option<std::process::Output> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_worker"))
        .env_remove("QUEUE_URL")
        .env_remove("TABLE_NAME")
        .env("DATA_DIR", dir.path())
        .env("PORT", "0")
        .env("WORKER_POLL", "true")
        .env("CRON_FILE", cron_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the worker binary");
    tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .ok()
        .map(|output| output.expect("the worker's output"))
}

#[tokio::test]
async fn a_polling_worker_with_an_unusable_cron_file_stops_and_names_it() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let bad = dir.path().join("cron.yaml");
    std::fs::write(
        &bad,
        "version: 1\ncron:\n  - name: sweep\n    url: /tasks/sweep\n    schedule: \"61 * * * *\"\n",
    )
    .expect("write");
    for (file, expected) in [
        (bad.display().to_string(), "is not a cron expression"),
        (
            dir.path().join("missing.yaml").display().to_string(),
            "missing.yaml",
        ),
    ] {
        let output = start_polling_with(&file)
            .await
            .unwrap_or_else(|| panic!("the worker kept running with CRON_FILE={file}"));
        let said = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{said}");
        assert!(
            said.contains("CRON_FILE") && said.contains(&file) && said.contains(expected),
            "{said}"
        );
    }
}
