//! The real `web` binary on the embedded backend when its disk fills up: the
//! process's file size limit (RLIMIT_FSIZE, set with `prlimit` while it runs)
//! stands for a full disk, as SQLite sees the same failed write either way.
//! Sends must then answer `503` with a sentence, nothing accepted before may
//! be lost, and once there is room again sends go through with no restart.

use std::collections::BTreeSet;

use crate::helpers;

/// Sets the soft file size limit of `pid`, leaving the hard one as it is, so
/// that raising it again needs no privilege.
fn prlimit(pid: u32, limit: &str) {
    let status = std::process::Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--fsize={limit}:")])
        .status()
        .expect("run prlimit (util-linux)");
    assert!(status.success(), "prlimit --fsize={limit}");
}

/// The largest file in `dir`, in bytes.
fn largest_file(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("the data folder")
        .filter_map(|entry| entry.ok()?.metadata().ok())
        .map(|metadata| metadata.len())
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_loses_nothing_and_recovers_without_a_restart() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    // A write past the limit raises SIGXFSZ, which would kill the process:
    // ignored (and so still ignored after exec), the write fails with EFBIG,
    // as a write to a full disk fails with ENOSPC.
    let mut shell = tokio::process::Command::new("sh");
    shell.args([
        "-c",
        r#"trap "" XFSZ; exec "$0""#,
        env!("CARGO_BIN_EXE_web"),
    ]);
    let (mut web, url) = helpers::start_web_binary(shell, dir.path()).await;
    let pid = web.id().expect("running");
    let client = reqwest::Client::new();
    let send = |n: usize| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let answer = client
                .post(format!("{url}/api/messages"))
                .json(&serde_json::json!({ "body": format!("message {n} {}", "x".repeat(500)) }))
                .send()
                .await
                .expect("the web answers");
            let status = answer.status();
            let body: serde_json::Value = answer.json().await.expect("a JSON answer");
            (status, body)
        }
    };

    let mut accepted = BTreeSet::new();
    let mut unknown = Vec::new();
    for n in 0..20 {
        let (status, body) = send(n).await;
        assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
        accepted.insert(body["id"].as_str().expect("id").to_owned());
    }

    prlimit(pid, &(largest_file(dir.path()) + 64 * 1024).to_string());
    let mut full = None;
    for n in 20..3_000 {
        let (status, body) = send(n).await;
        match status {
            reqwest::StatusCode::ACCEPTED => {
                accepted.insert(body["id"].as_str().expect("id").to_owned());
            }
            reqwest::StatusCode::SERVICE_UNAVAILABLE => {
                let error = body["error"].as_str().expect("a sentence").to_owned();
                if error.contains("not known") {
                    unknown.push(error.clone());
                }
                full = Some(error);
                break;
            }
            other => panic!("a send on a full disk answered {other}: {body}"),
        }
    }
    let full = full.expect("the disk filled within 3,000 sends");
    eprintln!("disk full after {} accepted sends: {full}", accepted.len());
    assert!(
        full.contains("was not sent") || full.contains("not known") || full.contains("marked fail"),
        "the answer says what happened: {full}"
    );

    prlimit(pid, "unlimited");
    let (status, body) = send(9_999).await;
    assert_eq!(
        status,
        reqwest::StatusCode::ACCEPTED,
        "room again, and sends go through without a restart: {body}"
    );
    accepted.insert(body["id"].as_str().expect("id").to_owned());
    web.kill().await.expect("stop the web");

    let backends = messages_embedded::backends(dir.path(), 10).expect("open the web's data");
    let records = helpers::every_record(&backends).await;
    let queued = helpers::all_job_ids(&backends).await;
    for id in &accepted {
        assert!(
            records.iter().any(|message| message.id.to_string() == *id) && queued.contains(id),
            "accepted {id} must be recorded with its job"
        );
    }
    for record in &records {
        let id = record.id.to_string();
        assert!(
            queued.contains(&id)
                || record.status == messages::Status::Fail
                || unknown.iter().any(|error| error.contains(&id)),
            "{id} is {:?} with no job, and no answer said so",
            record.status
        );
    }
}
