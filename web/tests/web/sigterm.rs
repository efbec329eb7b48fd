//! SIGTERM, which Elastic Beanstalk sends to the app on every deploy, to the
//! real `web` binary in the middle of a burst of sends: it stops taking new
//! requests, finishes the ones it took, and exits cleanly. Every send that was
//! answered `202` is recorded with its job on the queue, and no record is left
//! without its job (nothing half done).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::helpers;

const SENDERS: usize = 8;
/// Sends per sender at most: the burst is bounded whether or not the stop lands.
const SENDS_EACH: usize = 5_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_burst_finishes_every_accepted_send_and_half_does_none() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (mut web, url) = helpers::start_web_binary(
        tokio::process::Command::new(env!("CARGO_BIN_EXE_web")),
        dir.path(),
    )
    .await;
    let client = reqwest::Client::new();

    let stopped = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let (client, url, stopped) = (client.clone(), url.clone(), Arc::clone(&stopped));
            tokio::spawn(async move {
                let mut accepted = Vec::new();
                let mut refused = 0_usize;
                for n in 0..SENDS_EACH {
                    let answer = client
                        .post(format!("{url}/api/messages"))
                        .json(&serde_json::json!({ "body": format!("{sender}-{n}") }))
                        .send()
                        .await;
                    match answer {
                        Ok(answer) if answer.status() == reqwest::StatusCode::ACCEPTED => {
                            let message: serde_json::Value =
                                answer.json().await.expect("a 202 carries the message");
                            accepted.push(message["id"].as_str().expect("an id").to_owned());
                        }
                        Ok(answer) => panic!("a send answered {} during shutdown", answer.status()),
                        // The server has stopped taking connections.
                        Err(_) => refused += 1,
                    }
                    if stopped.load(Ordering::Relaxed) && refused > 0 {
                        break;
                    }
                }
                (accepted, refused)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let pid = web.id().expect("the web is running");
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
    stopped.store(true, Ordering::Relaxed);
    let exit = tokio::time::timeout(Duration::from_secs(35), web.wait())
        .await
        .expect("the web stops within its request deadline of SIGTERM")
        .expect("its exit status");
    assert!(exit.success(), "a clean exit after SIGTERM: {exit}");

    let mut accepted = BTreeSet::new();
    let mut refused = 0;
    for sender in senders {
        let (ids, refusals) = sender.await.expect("a sender");
        accepted.extend(ids);
        refused += refusals;
    }
    assert!(!accepted.is_empty(), "sends were accepted before the stop");
    assert!(refused > 0, "the stop landed mid-burst");

    let backends = messages_embedded::backends(dir.path(), 10).expect("open the web's data");
    let recorded: BTreeSet<String> = helpers::every_record(&backends)
        .await
        .iter()
        .map(|message| message.id.to_string())
        .collect();
    let queued = helpers::all_job_ids(&backends).await;
    eprintln!(
        "SIGTERM mid-burst: {} sends accepted, {refused} refused after the stop, {} recorded, {} jobs queued",
        accepted.len(),
        recorded.len(),
        queued.len()
    );
    let missing: Vec<_> = accepted.difference(&recorded).collect();
    assert!(missing.is_empty(), "accepted but not recorded: {missing:?}");
    assert_eq!(
        recorded, queued,
        "every record has its job, and every job its record"
    );
}
