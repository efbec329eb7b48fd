//! The message pipeline end to end on the AWS path: the web and the worker
//! over HTTP, on SQS and DynamoDB served by moto, with the worker called
//! exactly as Elastic Beanstalk's sqsd calls it.

use std::collections::HashSet;

use std::time::Duration;

use messages::{JobKind, JobPayload, MessageId};
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{moto, sqsd};
use worker::JobSettings;
use worker::WorkerSettings;

use crate::helpers::spawn_stack;

const MAX_ATTEMPTS: u32 = 10;

struct Stack {
    fresh: moto::Fresh,
    web: String,
    worker: String,
    client: reqwest::Client,
}

async fn stack(max_attempts: u32) -> Stack {
    let fresh = moto::fresh(max_attempts).await;
    // sqsd delivers (the tests do it, as sqsd would); `slow` jobs take 200 ms.
    let settings = WorkerSettings {
        max_attempts,
        jobs: JobSettings {
            slow_job: Duration::from_millis(200),
        },
        ..WorkerSettings::default()
    };
    let running = spawn_stack(fresh.backends.clone(), &settings).await;
    let (web, worker) = (running.web, running.worker);
    Stack {
        fresh,
        web,
        worker,
        client: reqwest::Client::new(),
    }
}

impl Stack {
    async fn send(&self, body: &str, simulate: &str) -> Value {
        let response = self
            .client
            .post(format!("{}/api/messages", self.web))
            .json(&json!({ "body": body, "simulate": simulate }))
            .send()
            .await
            .expect("the web answers");
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        response.json().await.expect("json")
    }

    async fn message(&self, id: &str) -> Value {
        let response = self
            .client
            .get(format!("{}/api/messages/{id}", self.web))
            .send()
            .await
            .expect("the web answers");
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("json")
    }

    /// sqsd's next delivery; the queue must hold one.
    async fn deliver(&self) -> (StatusCode, Value) {
        let (_, status, json) =
            sqsd::deliver_next(self.fresh.backends.queue.as_ref(), &self.worker)
                .await
                .expect("a message is on the queue");
        (status, json)
    }
}

#[tokio::test]
async fn a_sent_message_is_pending_then_complete_after_sqsd_posts_it() {
    let stack = stack(MAX_ATTEMPTS).await;
    let sent = stack.send("hello", "ok").await;
    assert_eq!(sent["status"], "pending");
    assert_eq!(sent["attempts"], 0);
    let id = sent["id"].as_str().expect("id").to_owned();
    assert_eq!(stack.message(&id).await["status"], "pending");

    let (status, answer) = stack.deliver().await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "complete");
    assert_eq!(answer["duplicate"], false);

    let message = stack.message(&id).await;
    assert_eq!(message["status"], "complete");
    assert_eq!(message["attempts"], 1);
    assert_eq!(message["error"], Value::Null);
    assert!(
        sqsd::deliver_next(stack.fresh.backends.queue.as_ref(), &stack.worker)
            .await
            .is_none(),
        "the queue message is deleted after a 200"
    );
}

#[tokio::test]
async fn a_failing_job_ends_as_fail_with_its_reason_and_is_not_retried() {
    let stack = stack(MAX_ATTEMPTS).await;
    let id = stack.send("doomed", "fail").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, answer) = stack.deliver().await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a final failure is still a 200: retrying cannot help"
    );
    assert_eq!(answer["status"], "fail");
    let message = stack.message(&id).await;
    assert_eq!(message["status"], "fail");
    assert!(
        message["error"]
            .as_str()
            .expect("error")
            .contains("failed for good")
    );
}

#[tokio::test]
async fn a_flaky_job_is_retried_then_completes() {
    let stack = stack(MAX_ATTEMPTS).await;
    let id = stack.send("wobbly", "flaky").await["id"]
        .as_str()
        .expect("id")
        .to_owned();

    // An expected retry is a 4xx, so Elastic Beanstalk's enhanced health,
    // set to ignore application 4xx, does not count it against the instance
    // ("Configuring enhanced health rules"); sqsd retries any non-200 alike.
    let (status, answer) = stack.deliver().await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .expect("error")
            .contains("will be retried")
    );
    let pending = stack.message(&id).await;
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["attempts"], 1);
    assert!(
        pending["error"].is_string(),
        "the failed attempt's reason is recorded"
    );

    // The message reappears on the queue (sqsd: after ErrorVisibilityTimeout).
    let (status, answer) = stack.deliver().await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let message = stack.message(&id).await;
    assert_eq!(message["status"], "complete");
    assert_eq!(message["attempts"], 2);
    assert_eq!(message["error"], Value::Null);
}

#[tokio::test]
async fn a_retryable_failure_on_the_last_attempt_ends_as_fail() {
    let stack = stack(1).await;
    let id = stack.send("last chance", "flaky").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, answer) = stack.deliver().await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let message = stack.message(&id).await;
    assert_eq!(message["status"], "fail");
    assert_eq!(message["attempts"], 1);
    assert!(
        message["error"]
            .as_str()
            .expect("error")
            .contains("gave up after 1 attempts")
    );
}

#[tokio::test]
async fn a_duplicate_delivery_of_a_finished_message_answers_200_and_changes_nothing() {
    let stack = stack(MAX_ATTEMPTS).await;
    let sent = stack.send("twice", "ok").await;
    let id = sent["id"].as_str().expect("id").to_owned();
    let job = serde_json::to_string(&json!({ "id": id, "body": "twice", "simulate": "ok" }))
        .expect("json");

    let (status, first) = sqsd::post(&stack.worker, &sqsd::delivery(1), &job).await;
    assert_eq!(
        (status, first["duplicate"].clone()),
        (StatusCode::OK, json!(false))
    );
    let after_first = stack.message(&id).await;

    let (status, second) = sqsd::post(&stack.worker, &sqsd::delivery(2), &job).await;
    assert_eq!(
        (status, second["duplicate"].clone()),
        (StatusCode::OK, json!(true))
    );
    assert_eq!(
        stack.message(&id).await,
        after_first,
        "the record is untouched"
    );
}

#[tokio::test]
async fn a_late_failing_delivery_cannot_flip_a_complete_message() {
    // Two deliveries at most (the redrive's maxReceiveCount): SQS never
    // hands out a receive count past it, and the worker holds a count to it.
    let stack = stack(2).await;
    let id = stack.send("settled", "flaky").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let job = JobPayload {
        id: MessageId::parse(&id).expect("id"),
        body: "settled".to_owned(),
        simulate: JobKind::Flaky,
    }
    .to_json();
    // Delivery 2 succeeds first; then the slow delivery 1 (whose flaky job
    // would fail) arrives: it must find the message final.
    let (status, _) = sqsd::post(&stack.worker, &sqsd::delivery(2), &job).await;
    assert_eq!(status, StatusCode::OK);
    let (status, late) = sqsd::post(&stack.worker, &sqsd::delivery(1), &job).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(late["duplicate"], true);
    assert_eq!(stack.message(&id).await["status"], "complete");
}

#[tokio::test]
async fn concurrent_duplicate_deliveries_make_exactly_one_transition() {
    let stack = stack(MAX_ATTEMPTS).await;
    let id = stack.send("race", "slow").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let job = json!({ "id": id, "body": "race", "simulate": "slow" }).to_string();

    // Eight deliveries at once, as if sqsd on several instances got the same message.
    let deliveries = (0..8).map(|_| {
        let (worker, job) = (stack.worker.clone(), job.clone());
        tokio::spawn(async move { sqsd::post(&worker, &sqsd::delivery(1), &job).await })
    });
    let mut transitions = 0;
    let mut states = HashSet::new();
    for delivery in deliveries {
        let (status, answer) = delivery.await.expect("task");
        assert_eq!(status, StatusCode::OK, "{answer}");
        states.insert(answer["status"].as_str().expect("status").to_owned());
        if answer["duplicate"] == false {
            transitions += 1;
        }
    }
    assert_eq!(transitions, 1, "exactly one delivery wins the transition");
    assert_eq!(states, HashSet::from(["complete".to_owned()]));
    assert_eq!(stack.message(&id).await["status"], "complete");
}

#[tokio::test]
async fn malformed_requests_to_process_get_a_4xx_and_change_nothing() {
    let stack = stack(MAX_ATTEMPTS).await;
    let id = stack.send("untouched", "ok").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let before = stack.message(&id).await;
    let good = json!({ "id": id, "body": "untouched", "simulate": "ok" }).to_string();

    let bad_bodies = [
        ("not json", "not json at all".to_owned()),
        ("empty", String::new()),
        ("no id", json!({ "body": "x" }).to_string()),
        ("bad id", json!({ "id": "42", "body": "x" }).to_string()),
        (
            "unknown simulate",
            json!({ "id": id, "body": "x", "simulate": "explode" }).to_string(),
        ),
        (
            "extra field",
            json!({ "id": id, "body": "x", "sneaky": true }).to_string(),
        ),
    ];
    for (what, body) in bad_bodies {
        let (status, answer) = sqsd::post(&stack.worker, &sqsd::delivery(1), &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {answer}");
        assert!(
            answer["error"]
                .as_str()
                .expect("error")
                .contains("not a job"),
            "{what}: {answer}"
        );
    }

    let unknown = json!({ "id": MessageId::new(), "body": "x" }).to_string();
    let (status, answer) = sqsd::post(&stack.worker, &sqsd::delivery(1), &unknown).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");

    let client = reqwest::Client::new();
    let headerless = client
        .post(format!("{}/process", stack.worker))
        .body(good.clone())
        .send()
        .await
        .expect("answer");
    assert_eq!(headerless.status(), StatusCode::BAD_REQUEST);
    let text = headerless.text().await.expect("body");
    assert!(
        text.contains("x-aws-sqsd-msgid header is missing"),
        "{text}"
    );

    let bad_count = client
        .post(format!("{}/process", stack.worker))
        .header("x-aws-sqsd-msgid", "m-1")
        .header("x-aws-sqsd-receive-count", "many")
        .body(good)
        .send()
        .await
        .expect("answer");
    assert_eq!(bad_count.status(), StatusCode::BAD_REQUEST);

    assert_eq!(stack.message(&id).await, before, "nothing changed");
}

#[tokio::test]
async fn a_failed_enqueue_answers_503_and_leaves_no_pending_record() {
    let fresh = moto::fresh(MAX_ATTEMPTS).await;
    // The table exists, the queue does not.
    let missing_queue = moto::queue_url(&moto::unique_name("missing"));
    let backends = messages_aws::backends(&fresh.sdk, &missing_queue, &fresh.table);
    let web = spawn_stack(backends.clone(), &WorkerSettings::default())
        .await
        .web;

    let response = reqwest::Client::new()
        .post(format!("{web}/api/messages"))
        .json(&json!({ "body": "lost?", "simulate": "ok" }))
        .send()
        .await
        .expect("the web answers");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let answer: Value = response.json().await.expect("json");
    let error = answer["error"].as_str().expect("error");
    assert!(error.contains("could not be queued"), "{error}");
    assert!(
        !error.contains("QueueDoesNotExist"),
        "no backend detail leaks: {error}"
    );

    let page = backends
        .store
        .list(messages::ListQuery {
            status: None,
            group: None,
            limit: 10,
            cursor: None,
        })
        .await
        .expect("list");
    assert_eq!(
        page.items.len(),
        1,
        "the record was kept, for the user to see"
    );
    let record = &page.items[0];
    assert_eq!(record.status, messages::Status::Fail, "not left pending");
    assert!(
        record
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("could not be enqueued")
    );
}

#[tokio::test]
async fn provisioning_twice_finds_what_the_first_run_created() {
    let fresh = moto::fresh(MAX_ATTEMPTS).await;
    // The dead-letter queue, the queue, the table (with its stream), its
    // time to live, and the status counts, started at zero.
    let first: Vec<&str> = fresh.report.iter().map(String::as_str).collect();
    assert_eq!(first.len(), 6, "{first:?}");
    assert!(
        first.iter().all(|line| line.contains("created")
            || *line == "stream of changes: on"
            || *line == "status counts: started at 0 pending, 0 complete, 0 fail"),
        "{first:?}"
    );
    let again = messages_aws::provision(&fresh.sdk, &fresh.queue_url, &fresh.table, MAX_ATTEMPTS)
        .await
        .expect("provision again");
    // The same, found; the counts are left to the fold.
    assert_eq!(again.len(), 5, "{again:?}");
    assert!(
        again
            .iter()
            .all(|line| line.contains("found") || line == "stream of changes: on"),
        "{again:?}"
    );
}

/// A table an earlier version made, keyed by `id` alone, cannot be re-keyed
/// (DynamoDB cannot change a table's key): `web provision` refuses it,
/// says what to do, and leaves it as it is.
#[tokio::test]
async fn provisioning_a_table_of_an_earlier_layout_is_refused_and_changes_nothing() {
    let fresh = moto::fresh(MAX_ATTEMPTS).await;
    let earlier = format!("{}-earlier", fresh.table);
    moto::a_table_of_an_earlier_layout(&fresh.sdk, &earlier).await;
    let refused = messages_aws::provision(&fresh.sdk, &fresh.queue_url, &earlier, MAX_ATTEMPTS)
        .await
        .expect_err("an earlier layout is refused");
    let said = refused.chain();
    assert!(
        said.contains("earlier version's layout") && said.contains("Set TABLE_NAME"),
        "{said}"
    );
    assert_eq!(moto::table_keys(&fresh.sdk, &earlier).await, ["id"]);
    // This version's table, found again, is left as it is.
    assert_eq!(
        moto::table_keys(&fresh.sdk, &fresh.table).await,
        ["shard", "id"]
    );
}

/// `count` new messages, their bodies starting with `label`.
fn labelled(label: &str, count: usize) -> Vec<messages::Message> {
    (0..count)
        .map(|n| {
            messages::Message::new(
                messages::MessageBody::parse(format!("{label} {n}")).expect("valid"),
                messages::JobKind::Succeed,
            )
        })
        .collect()
}

/// Three messages, their bodies starting with `label`, created in `store`.
async fn three_created(store: &dyn messages::StatusStore, label: &str) -> Vec<messages::Message> {
    let made = labelled(label, 3);
    for message in &made {
        store.create(message).await.expect("create");
    }
    made
}

/// A first attempt that ended `status`, now.
fn ended(status: messages::FinalStatus) -> messages::Outcome {
    messages::Outcome {
        status,
        attempts: 1,
        error: None,
        at: messages::now(),
        event: None,
    }
}

/// The three counts of `store`, in `Status::ALL`'s order.
async fn counts_of(store: &dyn messages::StatusStore) -> Vec<u64> {
    let mut counts = Vec::new();
    for status in messages::Status::ALL {
        counts.push(store.count(status).await.expect("count"));
    }
    counts
}

/// `web copy-messages`: the messages of an earlier version's table (keyed by
/// `id` alone) are created again in this version's, with its keys, and
/// counted from its stream; what is not a message stays behind; a copy run
/// again changes nothing, and never overwrites a message the new table has
/// changed since.
#[tokio::test]
async fn copying_an_earlier_tables_messages_keeps_them_and_their_counts() {
    let before = moto::fresh(MAX_ATTEMPTS).await;
    let made = three_created(before.backends.store.as_ref(), "kept").await;
    let finished = [
        (made[0].id, messages::FinalStatus::Complete),
        (made[1].id, messages::FinalStatus::Fail),
    ];
    for (id, status) in finished {
        let store = &before.backends.store;
        store.finish(id, &ended(status)).await.expect("finish");
    }
    let earlier = format!("{}-earlier", before.table);
    moto::a_table_of_an_earlier_layout(&before.sdk, &earlier).await;
    // The three messages and the counts' item.
    let items = moto::put_every_item(&before.sdk, &before.table, &earlier).await;
    assert_eq!(items, 4);

    let after = moto::fresh(MAX_ATTEMPTS).await;
    let store = messages_aws::DynamoStore::new(&after.sdk, after.table.as_str());
    let copied = store
        .copy_messages_from(&earlier, |_| {})
        .await
        .expect("copy");
    assert_eq!((copied.copied, copied.kept, copied.left), (3, 0, 1));
    let mut current = Vec::new();
    for message in &made {
        current.push(
            after
                .backends
                .store
                .get(message.id)
                .await
                .expect("read")
                .expect("copied"),
        );
        assert_eq!(
            Some(current.last().expect("pushed")),
            before
                .backends
                .store
                .get(message.id)
                .await
                .expect("read")
                .as_ref()
        );
    }
    let counts = || counts_of(after.backends.store.as_ref());
    assert_eq!(counts().await, [1, 1, 1]);

    // The copied pending message is finished in the new table; a copy run
    // again finds the others as they were and keeps that one as it is now.
    after
        .backends
        .store
        .finish(made[2].id, &ended(messages::FinalStatus::Complete))
        .await
        .expect("finish");
    let again = store
        .copy_messages_from(&earlier, |_| {})
        .await
        .expect("copy again");
    assert_eq!((again.copied, again.kept, again.left), (2, 1, 1));
    let kept = after.backends.store.get(made[2].id).await.expect("read");
    assert_eq!(
        kept.map(|message| message.status),
        Some(messages::Status::Complete)
    );
    assert_eq!(counts().await, [0, 2, 1]);

    let refused = store
        .copy_messages_from(&after.table, |_| {})
        .await
        .expect_err("a table is not copied into itself");
    assert!(
        refused.chain().contains("name the earlier table"),
        "{}",
        refused.chain()
    );
}

/// A table without its counts (the stack made it, and nothing has folded
/// yet, or the item was lost): the counts start from its status index,
/// once; then the stream's later changes are folded into them.
#[tokio::test]
async fn counts_that_are_missing_start_from_what_the_table_holds() {
    let fresh = moto::fresh(MAX_ATTEMPTS).await;
    let store = &fresh.backends.store;
    let made = three_created(store.as_ref(), "from before").await;
    let outcome = ended(messages::FinalStatus::Complete);
    store.finish(made[0].id, &outcome).await.expect("finish");
    let counts = || counts_of(store.as_ref());
    // The same changes are in the stream too, and must not count twice.
    moto::without_its_counts(&fresh).await;
    for round in 0..2 {
        let report =
            messages_aws::provision(&fresh.sdk, &fresh.queue_url, &fresh.table, MAX_ATTEMPTS)
                .await
                .expect("provision");
        let started: Vec<&String> = report
            .iter()
            .filter(|line| line.starts_with("status counts"))
            .collect();
        if round == 0 {
            // Unless a fold of the store's own began them a moment before.
            assert!(
                started.is_empty()
                    || started == ["status counts: started at 2 pending, 1 complete, 0 fail"],
                "{report:?}"
            );
        } else {
            assert!(started.is_empty(), "the second run leaves them: {report:?}");
        }
        assert_eq!(counts().await, [2, 1, 0]);
    }
    // A change after the second the counts started is folded into them.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    store.finish(made[1].id, &outcome).await.expect("finish");
    assert_eq!(counts().await, [1, 2, 0]);

    // With nobody running `web provision`, the first fold (a count) starts
    // them.
    moto::without_its_counts(&fresh).await;
    assert_eq!(counts().await, [1, 2, 0]);
}

/// `complete` messages have no status index entry (`layout.rs`, "Index
/// entries"): their list is read from the table, passing over the others.
/// Under a backlog of newer `pending` messages a page stops at its bound,
/// short and with a cursor, and the cursor goes on to the rest, exactly; a
/// larger page finds them at once. With `complete` messages among the
/// backlog, pages that stop short still skip none and show none twice.
#[tokio::test]
async fn a_page_of_complete_messages_under_a_backlog_stops_short_and_goes_on() {
    let fresh = moto::fresh(MAX_ATTEMPTS).await;
    let store = &fresh.backends.store;
    let complete = ended(messages::FinalStatus::Complete);
    let done = three_created(store.as_ref(), "done").await;
    for message in &done {
        store.finish(message.id, &complete).await.expect("finish");
    }
    // More than a page passes over (`reads.rs`: 4 a shard, 256, for a page
    // of one), fewer than it would take to make this test slow on moto.
    let backlog = labelled("waiting", 600);
    store
        .create_batch(&backlog)
        .await
        .expect("create the backlog");
    let pages_of = |limit: u32| async move {
        let (mut found, mut pages, mut short, mut cursor) = (Vec::new(), 0, 0, None);
        loop {
            let listed = store
                .list(messages::ListQuery {
                    status: Some(messages::Status::Complete),
                    group: None,
                    limit,
                    cursor,
                })
                .await
                .expect("a page");
            pages += 1;
            assert!(listed.items.len() <= limit as usize);
            if listed.items.len() < limit as usize && listed.next_cursor.is_some() {
                short += 1;
            }
            found.extend(listed.items.iter().map(|message| message.id));
            cursor = listed.next_cursor;
            if cursor.is_none() || pages > 100 {
                return (found, pages, short);
            }
        }
    };
    let newest_first = |messages: &[&messages::Message]| {
        let mut ids: Vec<MessageId> = messages.iter().map(|message| message.id).collect();
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids
    };

    // One at a time: a page may pass over 256 items, and 600 newer ones wait.
    let expected = newest_first(&done.iter().collect::<Vec<_>>());
    let (found, pages, short) = pages_of(1).await;
    assert_eq!(found, expected, "after {pages} pages");
    assert!(
        short >= 1,
        "the bound stopped {short} of {pages} pages short"
    );
    let (found, _, short) = pages_of(100).await;
    assert_eq!((found, short), (expected, 0));

    // Every fiftieth of the backlog completes: scattered over the shards,
    // so most pages of one stop short between two of them.
    let scattered: Vec<&messages::Message> = backlog.iter().step_by(50).collect();
    for message in &scattered {
        store.finish(message.id, &complete).await.expect("finish");
    }
    let expected = newest_first(&scattered.iter().copied().chain(&done).collect::<Vec<_>>());
    for limit in [1, 13] {
        let (found, pages, short) = pages_of(limit).await;
        assert_eq!(
            found, expected,
            "limit {limit}: {pages} pages, {short} short"
        );
    }
}

#[tokio::test]
async fn a_fold_that_finds_no_change_of_status_writes_nothing() {
    let fresh = moto::fresh(MAX_ATTEMPTS).await;
    let store = &fresh.backends.store;
    let message = messages::Message::new(
        messages::MessageBody::parse("counted once").expect("valid"),
        messages::JobKind::Succeed,
    );
    store.create(&message).await.expect("create");
    assert_eq!(
        store.count(messages::Status::Pending).await.expect("count"),
        1
    );
    let after_the_change = moto::counts_checkpoints(&fresh).await;
    // The fold's own write to the counts item is a record in the stream
    // too. Folds that wrote for it would make a record for the next fold to
    // find, and so on: every fold a write, whatever the traffic.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(
            store.count(messages::Status::Pending).await.expect("count"),
            1
        );
    }
    assert_eq!(moto::counts_checkpoints(&fresh).await, after_the_change);
}

#[tokio::test]
async fn attempts_never_go_down_when_a_job_is_enqueued_anew() {
    let stack = stack(MAX_ATTEMPTS).await;
    let id = stack.send("again", "ok").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let message_id = MessageId::parse(&id).expect("id");
    // Five failed deliveries were recorded; then the sweeper enqueued it anew,
    // and SQS's receive count starts again at 1.
    stack
        .fresh
        .backends
        .store
        .record_attempt(
            message_id,
            5,
            "earlier failures",
            messages::now(),
            &retried_delivery(),
        )
        .await
        .expect("record");
    let job = json!({ "id": id, "body": "again", "simulate": "ok" }).to_string();
    let (status, answer) = sqsd::post(&stack.worker, &sqsd::delivery(1), &job).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["attempts"], 6);
}

/// A delivery that failed and will be retried, for the timeline.
fn retried_delivery() -> messages::Event {
    messages::Event::delivered(1, messages::now(), 500, Some("failed"))
}
