//! The real `web` binary on an embedded database it can only read (a
//! read-only mount of its `DATA_DIR`, as when a disk fails and the system
//! remounts it read-only): sends answer `503` with a sentence and change
//! nothing, and everything accepted before is still listed.
//!
//! A read-only bind mount needs mount rights (root, as the test command runs
//! on its machine); the test stops with that reason if it has none.

use std::path::{Path, PathBuf};

use crate::helpers;

/// A read-only view of a folder, unmounted when dropped.
struct ReadOnlyView(PathBuf);

impl ReadOnlyView {
    fn of(source: &Path, view: &Path) -> Self {
        let run = |args: &[&str]| {
            let status = std::process::Command::new("mount")
                .args(args)
                .status()
                .expect("run mount");
            assert!(
                status.success(),
                "mount {args:?} failed: this test needs the right to mount (root)"
            );
        };
        let (source, view_text) = (source.display().to_string(), view.display().to_string());
        run(&["--bind", &source, &view_text]);
        let view = Self(view.to_owned());
        run(&["-o", "remount,bind,ro", &view_text]);
        view
    }
}

impl Drop for ReadOnlyView {
    fn drop(&mut self) {
        // Lazily: the web may still hold the files for a moment.
        let _unmounted = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_refuses_sends_with_a_sentence_and_keeps_what_it_had() {
    let source = tempfile::tempdir().expect("a temporary folder");
    // Held open, as by a web that was running when the disk went read-only:
    // SQLite's shared-memory file stays, which a reader of a WAL database
    // on a read-only mount needs.
    let earlier = messages_embedded::backends(source.path(), 10).expect("open");
    let accepted = testkit::seed::sent(&earlier, "accepted before", messages::JobKind::Succeed)
        .await
        .id;
    let view_dir = tempfile::tempdir().expect("a temporary folder");
    let view = ReadOnlyView::of(source.path(), view_dir.path());

    let (mut web, url) = helpers::start_web_binary(
        tokio::process::Command::new(env!("CARGO_BIN_EXE_web")),
        &view.0,
    )
    .await;
    let client = reqwest::Client::new();

    let answer = client
        .post(format!("{url}/api/messages"))
        .json(&serde_json::json!({ "body": "on a read-only disk" }))
        .send()
        .await
        .expect("an answer");
    assert_eq!(answer.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = answer.json().await.expect("a JSON error");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(error.contains("was not sent"), "{error}");

    let listed: serde_json::Value = client
        .get(format!("{url}/api/messages"))
        .send()
        .await
        .expect("an answer")
        .json()
        .await
        .expect("a page");
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["id"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        ids,
        vec![accepted.to_string().as_str()],
        "what was accepted is all still there"
    );
    web.kill().await.expect("stop the web");
    drop(earlier);
}
