//! The real `worker` binary, as Elastic Beanstalk runs it (fed by sqsd,
//! `WORKER_POLL=false`), tried by someone who reaches its port: forged
//! deliveries, a periodic task without sqsd's header, a batch by hand, slow
//! headers, and the embedded backend's files. Each rule is one test.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

use messages::{Backends, JobKind, Status};
use reqwest::StatusCode;

/// A worker binary fed by sqsd on `data_dir`, listening on 127.0.0.1.
struct Worker {
    url: String,
    address: SocketAddr,
    _child: tokio::process::Child,
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

async fn start(data_dir: &std::path::Path) -> Worker {
    let port = free_port();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_worker"))
        .env_remove("QUEUE_URL")
        .env_remove("TABLE_NAME")
        .env("DATA_DIR", data_dir)
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("WORKER_POLL", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the worker binary");
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{url}/health")).send().await.is_ok() {
            return Worker {
                url,
                address: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                _child: child,
            };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the worker binary did not answer /health");
}

async fn status_of(backends: &Backends, id: messages::MessageId) -> (Status, String) {
    let message = backends.store.get(id).await.expect("get").expect("exists");
    (message.status, message.body)
}

/// The worker runs what the store says, not what a delivery says: a `fail`
/// message forged as `ok` still fails, an `ok` one forged as `fail`
/// completes, and neither record takes the forged body.
#[tokio::test]
async fn a_forged_delivery_cannot_choose_what_runs_or_what_is_recorded() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let web = messages_embedded::backends(dir.path(), 10).expect("open");
    let worker = start(dir.path()).await;
    let failing = testkit::seed::sent(&web, "really fails", JobKind::Fail).await;
    let succeeding = testkit::seed::sent(&web, "really succeeds", JobKind::Succeed).await;

    for (message, forged_kind) in [(&failing, "ok"), (&succeeding, "fail")] {
        let forged = serde_json::json!({
            "id": message.id,
            "body": "forged text",
            "simulate": forged_kind,
        })
        .to_string();
        let (status, answer) =
            testkit::sqsd::post(&worker.url, &testkit::sqsd::delivery(1), &forged).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    assert_eq!(
        status_of(&web, failing.id).await,
        (Status::Fail, "really fails".to_owned()),
        "a fail job forged as ok ran as fail"
    );
    assert_eq!(
        status_of(&web, succeeding.id).await,
        (Status::Complete, "really succeeds".to_owned()),
        "an ok job forged as fail ran as ok"
    );

    // A delivery naming no message the web recorded changes nothing.
    let unknown = serde_json::json!({ "id": messages::MessageId::new() }).to_string();
    let (status, _) = testkit::sqsd::post(&worker.url, &testkit::sqsd::delivery(1), &unknown).await;
    assert!(status.is_client_error(), "{status}");
}

/// A job in the shape every earlier web enqueued (id, body, kind) and one
/// naming only its message both process, by the record.
#[tokio::test]
async fn jobs_in_the_old_and_the_new_shape_both_process_by_the_record() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let web = messages_embedded::backends(dir.path(), 10).expect("open");
    let worker = start(dir.path()).await;
    let old = testkit::seed::sent(&web, "old shape", JobKind::Succeed).await;
    let new = testkit::seed::sent(&web, "id only", JobKind::Fail).await;
    let bodies = [
        (old.id, old.job().to_json()),
        (new.id, serde_json::json!({ "id": new.id }).to_string()),
    ];
    for (_, body) in &bodies {
        let (status, answer) =
            testkit::sqsd::post(&worker.url, &testkit::sqsd::delivery(1), body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    assert_eq!(status_of(&web, old.id).await.0, Status::Complete);
    assert_eq!(status_of(&web, new.id).await.0, Status::Fail);
}

/// sqsd delivers a periodic task as a POST to the task's URL with
/// `X-Aws-Sqsd-Taskname` (and `X-Aws-Sqsd-Scheduled-At`), per the Elastic
/// Beanstalk Developer Guide, "Elastic Beanstalk worker environments",
/// periodic tasks; a request without it is refused and sweeps nothing. A worker fed by sqsd has no
/// `/process-batch`: nobody may pull jobs off its queue by hand.
#[tokio::test]
async fn a_task_without_sqsds_header_and_a_batch_by_hand_are_refused() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let worker = start(dir.path()).await;
    let client = reqwest::Client::new();

    let task = client
        .post(format!("{}/tasks/sweep", worker.url))
        .send()
        .await
        .expect("an answer");
    assert_eq!(task.status(), StatusCode::BAD_REQUEST);
    let text = task.text().await.expect("text");
    assert!(text.contains("X-Aws-Sqsd-Taskname"), "{text}");

    let by_sqsd = client
        .post(format!("{}/tasks/sweep", worker.url))
        .header("x-aws-sqsd-taskname", "sweep")
        .header("user-agent", testkit::sqsd::USER_AGENT)
        .send()
        .await
        .expect("an answer");
    assert_eq!(by_sqsd.status(), StatusCode::OK, "sqsd's own request runs");

    let batch = client
        .post(format!("{}/process-batch", worker.url))
        .send()
        .await
        .expect("an answer");
    assert_eq!(batch.status(), StatusCode::NOT_FOUND);
}

/// A connection that sends its headers a byte at a time, never finishing,
/// is cut after the header-read timeout (10 s), not held for ever.
#[tokio::test]
async fn a_connection_whose_headers_never_finish_is_cut() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let worker = start(dir.path()).await;
    let held = testkit::attacks::slow_headers(worker.address, "POST /process HTTP/1.1")
        .await
        .expect("still open after 30 s");
    assert!(held < Duration::from_secs(15), "held for {held:?}");
}

/// The embedded backend's folder and database are the user's alone.
#[tokio::test]
async fn the_data_dir_the_worker_makes_is_private() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let data_dir = dir.path().join("made-by-the-worker");
    let _worker = start(&data_dir).await;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&data_dir), 0o700);
    let database = data_dir.join("messages.sqlite3");
    assert_eq!(mode(&database), 0o600);
    for entry in std::fs::read_dir(&data_dir).expect("list") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            assert_eq!(
                mode(&path) & 0o077,
                0,
                "{} is open to others",
                path.display()
            );
        }
    }
}
