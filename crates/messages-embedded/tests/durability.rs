//! The embedded backend's promises beyond the port contract: what it holds
//! survives a restart, and a folder it cannot use is a clear error. (Two
//! processes sharing one folder is tested with the real worker binary, in the
//! worker's tests.)

use std::time::Duration;

use messages::{JobKind, Message, MessageBody, Outgoing, QueueKind, Status};
use messages_embedded::{backends, backends_as};

#[tokio::test]
async fn messages_and_queue_survive_a_restart() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let id = {
        let backends = backends(dir.path(), 10).expect("open");
        let message = Message::new(MessageBody::parse("kept").expect("valid"), JobKind::Succeed);
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

/// The schema of a `DATA_DIR` made before message attributes and periodic
/// task claims: what an existing user's file looks like.
const SCHEMA_BEFORE_ATTRIBUTES: &str = "
CREATE TABLE messages (
    id TEXT PRIMARY KEY, body TEXT NOT NULL, simulate TEXT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    error TEXT, requeues INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX messages_by_status ON messages (status, id);
CREATE TABLE queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL UNIQUE, body TEXT NOT NULL,
    sent_at_ms INTEGER NOT NULL, visible_at_ms INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0, first_received_at_ms INTEGER, receipt TEXT UNIQUE
);
CREATE INDEX queue_by_visibility ON queue (visible_at_ms, seq);
CREATE TABLE dead_letters (
    message_id TEXT PRIMARY KEY, body TEXT NOT NULL, sent_at_ms INTEGER NOT NULL,
    receive_count INTEGER NOT NULL, moved_at_ms INTEGER NOT NULL
);
INSERT INTO queue (message_id, body, sent_at_ms, visible_at_ms) VALUES ('old-1', 'an old job', 0, 0);
";

#[tokio::test]
async fn a_file_from_before_message_attributes_is_upgraded_in_place() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    rusqlite::Connection::open(dir.path().join(messages_embedded::FILE_NAME))
        .and_then(|old| old.execute_batch(SCHEMA_BEFORE_ATTRIBUTES))
        .expect("an old file");
    // Two processes may open it at once: both must come up.
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| backends(dir.path(), 10));
        let second = scope.spawn(|| backends(dir.path(), 10));
        (
            first.join().expect("a thread"),
            second.join().expect("a thread"),
        )
    });
    let (first, _second) = (first.expect("open"), second.expect("open at the same time"));

    let received = first
        .queue
        .receive(10, Duration::from_millis(200), Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!(
        received
            .iter()
            .map(|message| (message.body.as_str(), message.attributes.is_empty()))
            .collect::<Vec<_>>(),
        vec![("an old job", true)],
        "the job already queued is still there, with no attributes"
    );
    let attributes = std::collections::BTreeMap::from([("a".to_owned(), "b".to_owned())]);
    first
        .queue
        .send_message(&Outgoing::new("new").with_attributes(attributes.clone()))
        .await
        .expect("send with attributes");
    let new = first
        .queue
        .receive(10, Duration::from_millis(200), Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!(
        new.first().map(|message| &message.attributes),
        Some(&attributes)
    );
    assert!(
        first
            .store
            .claim_scheduled_run("sweep", messages::now())
            .await
            .expect("claim"),
        "the new table for periodic runs is there"
    );
}

/// Opens `dir`, which must fail; returns the error and whether the file was
/// left byte for byte as it was.
fn refused(dir: &std::path::Path) -> (String, bool) {
    let file = dir.join(messages_embedded::FILE_NAME);
    let before = std::fs::read(&file).expect("the file");
    let error = backends(dir, 10)
        .err()
        .expect("a file that is not ours is refused")
        .chain();
    let after = std::fs::read(&file).expect("the file");
    (error, before == after)
}

#[tokio::test]
async fn a_corrupt_file_stops_the_open_with_a_sentence_naming_it() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join(messages_embedded::FILE_NAME);
    // Random-looking bytes, and a file whose SQLite header is cut short.
    for contents in [
        (0..4096_u32)
            .map(|n| (n * 7919 % 251) as u8)
            .collect::<Vec<u8>>(),
        b"SQLite format 3\0garbage".to_vec(),
    ] {
        std::fs::write(&file, &contents).expect("write");
        let (error, unchanged) = refused(dir.path());
        assert!(
            error.contains(&file.display().to_string())
                && error.contains("is not this app's database")
                && error.contains("DATA_DIR"),
            "{error}"
        );
        assert!(unchanged, "the file was changed");
    }
}

#[tokio::test]
async fn another_programs_database_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join(messages_embedded::FILE_NAME);
    rusqlite::Connection::open(&file)
        .and_then(|other| {
            other
                .execute_batch("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine');")
        })
        .expect("another program's database");
    let (error, unchanged) = refused(dir.path());
    assert!(
        error.contains("tables notes") && error.contains("not this app's"),
        "{error}"
    );
    assert!(
        unchanged,
        "not a table, not a journal mode of it was changed"
    );
}

/// A queue's kind is fixed when it is made, as an SQS queue's is: the file
/// keeps it across a restart, a process that does not ask gets it, and one
/// that asks for the other kind is refused with what to do, and changes nothing.
#[tokio::test]
async fn a_fifo_queue_stays_fifo_and_the_other_kind_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let made = backends_as(dir.path(), 10, Some(QueueKind::Fifo)).expect("make a FIFO queue");
    assert!(made.queue.is_fifo());
    made.queue.send("kept").await.expect("send");
    drop(made);
    let reopened = backends(dir.path(), 10).expect("open without asking");
    assert!(reopened.queue.is_fifo(), "the file's kind, not the default");
    let refused = backends_as(dir.path(), 10, Some(QueueKind::Standard))
        .err()
        .expect("the other kind is refused");
    let text = refused.chain();
    assert!(
        text.contains("made as a fifo queue") && text.contains("QUEUE_TYPE=standard"),
        "{text}"
    );
    let received = reopened
        .queue
        .receive(10, Duration::from_millis(200), Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!(received.len(), 1, "the refusal changed nothing");
    assert_eq!(received[0].body, "kept");
}

/// SQS FIFO drops a repeated deduplication id for five minutes from the first
/// send, whether or not the first message is still on the queue (moto only
/// compares with messages still there, so this is checked here only).
#[tokio::test]
async fn a_deduplication_id_is_remembered_after_its_message_is_gone() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let fifo = backends_as(dir.path(), 10, Some(QueueKind::Fifo)).expect("open");
    let once = || Outgoing {
        deduplication_id: Some("same".to_owned()),
        ..Outgoing::new("job")
    };
    fifo.queue.send_message(&once()).await.expect("send");
    let hide = Duration::from_secs(30);
    let first = fifo
        .queue
        .receive(10, Duration::from_millis(200), hide)
        .await
        .expect("receive");
    assert_eq!(first.len(), 1);
    fifo.queue
        .delete(&first[0].receipt_handle)
        .await
        .expect("delete");
    // Another process, after a restart: the id is in the file.
    drop(fifo);
    let again = backends(dir.path(), 10).expect("open again");
    again.queue.send_message(&once()).await.expect("accepted");
    let none = again
        .queue
        .receive(10, Duration::from_millis(300), hide)
        .await
        .expect("receive");
    assert!(none.is_empty(), "the repeat was dropped: {none:?}");
}
