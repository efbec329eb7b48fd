//! The embedded backend's promises beyond the port contract: what it holds
//! survives a restart, and a folder it cannot use is a clear error. (Two
//! processes sharing one folder is tested with the real worker binary, in the
//! worker's tests.)

use std::time::Duration;

use messages::{Message, MessageBody, Simulate, Status};
use messages_embedded::backends;

#[tokio::test]
async fn messages_and_queue_survive_a_restart() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let id = {
        let backends = backends(dir.path(), 10).expect("open");
        let message = Message::new(MessageBody::parse("kept").expect("valid"), Simulate::Ok);
        backends.store.create(&message).await.expect("record");
        let job = message.job().to_json();
        backends.queue.send(&job).await.expect("enqueue");
        message.id
        // Everything is closed here, as when the process exits.
    };
    let reopened = backends(dir.path(), 10).expect("open again");
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
    let error = backends(&file.join("data"), 10)
        .err()
        .expect("cannot open")
        .chain();
    assert!(error.contains("cannot create DATA_DIR"), "{error}");
}
