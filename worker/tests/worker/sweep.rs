//! The pending sweeper (`cron.yaml`'s task), on both backends: it rescues a
//! message left `pending` with no job, also while the queue is busy; gives up
//! after enough tries, but only when the queue is idle, so a message waiting
//! in a backlog is never failed; leaves alone what is recent or final; and is
//! safe to run twice at once. Its delivery through the queue, as sqsd runs
//! it, is in `periodic.rs`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use messages::{JobKind, Message, MessageId, Status};
use testkit::backends::{Kind, TestBackend};
use testkit::on_both_backends;
use worker::WorkerSettings;
use worker::sweep::{SweepConfig, SweepReport, sweep};

use crate::helpers::spawn_worker;

const CONFIG: SweepConfig = SweepConfig {
    after: Duration::from_secs(600),
    batch: 100,
    max_requeues: 3,
};

/// A pending message recorded `age` ago and re-enqueued `requeues` times
/// already, with no job on the queue, as if the web had died between its two
/// writes.
pub async fn orphan(backend: &TestBackend, age: chrono::Duration, requeues: u32) -> Message {
    let at: DateTime<Utc> = messages::now() - age;
    let message = Message {
        id: MessageId::created_at(at),
        body: "orphan".to_owned(),
        simulate: JobKind::Succeed,
        status: Status::Pending,
        attempts: 0,
        created_at: at,
        updated_at: at,
        error: None,
        requeues,
        retries: 0,
        history: Vec::new(),
        group: None,
        trace_id: None,
    };
    backend
        .backends
        .store
        .create(&message)
        .await
        .expect("create");
    message
}

async fn sweep_now(backend: &TestBackend) -> SweepReport {
    sweep(&backend.backends, CONFIG, messages::now(), 0)
        .await
        .expect("sweep")
}

pub async fn stored(backend: &TestBackend, id: MessageId) -> Message {
    backend
        .backends
        .store
        .get(id)
        .await
        .expect("get")
        .expect("exists")
}

/// Puts some other job on the queue, so that it is not idle.
async fn queue_another_job(backend: &TestBackend) {
    backend
        .backends
        .queue
        .send("another job")
        .await
        .expect("send");
}

async fn queued_ids(backend: &TestBackend) -> Vec<MessageId> {
    backend
        .backends
        .queue
        .receive(10, Duration::from_secs(1), Duration::from_secs(60))
        .await
        .expect("receive")
        .iter()
        .map(|received| {
            messages::JobPayload::from_json(received.body.as_bytes())
                .expect("a job")
                .id
        })
        .collect()
}

async fn a_stuck_message_is_requeued_once_and_then_completes(kind: Kind) {
    let backend = kind.make(10).await;
    let stuck = orphan(&backend, chrono::Duration::minutes(20), 0).await;

    let report = sweep_now(&backend).await;
    assert_eq!(
        report,
        SweepReport {
            checked: 1,
            requeued: 1,
            failed: 0,
            left_waiting: 0,
        }
    );
    let record = stored(&backend, stuck.id).await;
    assert_eq!((record.status, record.requeues), (Status::Pending, 1));
    assert!(
        record
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("enqueued again by the sweeper")
    );

    let again = sweep_now(&backend).await;
    assert_eq!(
        again,
        SweepReport::default(),
        "just claimed: not stale any more"
    );

    // The rescued job is processed like any other.
    let worker = spawn_worker(&WorkerSettings::default(), backend.backends.clone()).await;
    let (_, status, _) = testkit::sqsd::deliver_next(backend.backends.queue.as_ref(), &worker)
        .await
        .expect("the job is on the queue");
    assert_eq!(status, reqwest::StatusCode::OK);
    let done = stored(&backend, stuck.id).await;
    assert_eq!((done.status, done.error), (Status::Complete, None));
}

async fn a_message_requeued_too_often_is_failed_with_the_reason(kind: Kind) {
    let backend = kind.make(10).await;
    let hopeless = orphan(&backend, chrono::Duration::hours(3), 3).await;
    let report = sweep_now(&backend).await;
    assert_eq!(
        report,
        SweepReport {
            checked: 1,
            requeued: 0,
            failed: 1,
            left_waiting: 0,
        }
    );
    let record = stored(&backend, hopeless.id).await;
    assert_eq!(record.status, Status::Fail);
    assert!(
        record
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("gave up")
    );
    assert!(
        queued_ids(&backend).await.is_empty(),
        "nothing enqueued for it"
    );
}

async fn in_a_busy_queue_a_message_due_to_be_given_up_is_left_waiting(kind: Kind) {
    let backend = kind.make(10).await;
    let waiting = orphan(&backend, chrono::Duration::hours(3), 3).await;
    // Another job is queued: the stale message may be waiting behind it.
    queue_another_job(&backend).await;
    let report = sweep_now(&backend).await;
    assert_eq!(
        report,
        SweepReport {
            checked: 1,
            requeued: 0,
            failed: 0,
            left_waiting: 1,
        }
    );
    assert_eq!(
        backend.backends.store.get(waiting.id).await.expect("get"),
        Some(waiting)
    );
}

async fn a_lost_job_is_enqueued_again_even_while_the_queue_is_busy(kind: Kind) {
    let backend = kind.make(10).await;
    let lost = orphan(&backend, chrono::Duration::minutes(20), 0).await;
    // Steady traffic: the queue is never idle, yet the lost job is rescued.
    queue_another_job(&backend).await;
    let report = sweep_now(&backend).await;
    assert_eq!((report.requeued, report.failed), (1, 0), "{report:?}");
    assert_eq!(stored(&backend, lost.id).await.requeues, 1);
}

async fn messages_left_waiting_never_hide_a_newer_lost_job(kind: Kind) {
    let backend = kind.make(10).await;
    let small = SweepConfig { batch: 3, ..CONFIG };
    // More messages due to be given up than a batch holds, all older than the
    // lost one, in a queue kept busy: they are left waiting at every run.
    for _ in 0..5 {
        orphan(&backend, chrono::Duration::hours(3), 3).await;
    }
    let lost = orphan(&backend, chrono::Duration::minutes(20), 0).await;
    queue_another_job(&backend).await;
    let report = sweep(&backend.backends, small, messages::now(), 0)
        .await
        .expect("sweep");
    assert_eq!(
        (report.requeued, report.failed, report.left_waiting),
        (1, 0, 3),
        "{report:?}"
    );
    assert_eq!(stored(&backend, lost.id).await.requeues, 1);
}

async fn a_sweeps_own_requeues_do_not_make_an_idle_queue_look_busy(kind: Kind) {
    let backend = kind.make(10).await;
    let lost = orphan(&backend, chrono::Duration::hours(4), 0).await;
    let hopeless = orphan(&backend, chrono::Duration::hours(3), 3).await;
    let report = sweep_now(&backend).await;
    assert_eq!((report.requeued, report.failed), (1, 1), "{report:?}");
    assert_eq!(stored(&backend, lost.id).await.requeues, 1);
    assert_eq!(stored(&backend, hopeless.id).await.status, Status::Fail);
}

async fn recent_and_final_messages_are_left_alone(kind: Kind) {
    let backend = kind.make(10).await;
    let recent = orphan(&backend, chrono::Duration::minutes(2), 0).await;
    let finished = orphan(&backend, chrono::Duration::minutes(30), 0).await;
    let outcome = messages::Outcome {
        status: messages::FinalStatus::Complete,
        attempts: 1,
        error: None,
        at: messages::now(),
        event: None,
    };
    backend
        .backends
        .store
        .finish(finished.id, &outcome)
        .await
        .expect("finish");
    let report = sweep_now(&backend).await;
    assert_eq!(report, SweepReport::default());
    assert_eq!(
        backend.backends.store.get(recent.id).await.expect("get"),
        Some(recent)
    );
    assert!(queued_ids(&backend).await.is_empty());
}

async fn concurrent_sweeps_requeue_a_message_once(kind: Kind) {
    let backend = kind.make(10).await;
    let stuck = orphan(&backend, chrono::Duration::minutes(20), 0).await;
    let now = messages::now();
    let sweeps = (0..4).map(|_| {
        let backends = backend.backends.clone();
        tokio::spawn(async move { sweep(&backends, CONFIG, now, 0).await })
    });
    let mut requeued = 0;
    for run in sweeps {
        requeued += run.await.expect("task").expect("sweep").requeued;
    }
    assert_eq!(requeued, 1);
    assert_eq!(queued_ids(&backend).await, vec![stuck.id]);
}

async fn sqsd_runs_the_sweep_as_a_periodic_task(kind: Kind) {
    let backend = kind.make(10).await;
    orphan(&backend, chrono::Duration::minutes(20), 0).await;
    let worker = spawn_worker(&WorkerSettings::default(), backend.backends.clone()).await;
    let response = reqwest::Client::new()
        .post(format!("{worker}/tasks/sweep"))
        .header("user-agent", testkit::sqsd::USER_AGENT)
        .header("x-aws-sqsd-taskname", "sweep-pending")
        .header("x-aws-sqsd-scheduled-at", "2026-11-23T12:00:00Z")
        .header("x-aws-sqsd-path", "/tasks/sweep")
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let report: serde_json::Value = response.json().await.expect("json");
    assert_eq!(
        report,
        serde_json::json!({ "checked": 1, "requeued": 1, "failed": 0, "left_waiting": 0 })
    );
}

on_both_backends!(
    a_stuck_message_is_requeued_once_and_then_completes,
    a_message_requeued_too_often_is_failed_with_the_reason,
    in_a_busy_queue_a_message_due_to_be_given_up_is_left_waiting,
    a_lost_job_is_enqueued_again_even_while_the_queue_is_busy,
    messages_left_waiting_never_hide_a_newer_lost_job,
    a_sweeps_own_requeues_do_not_make_an_idle_queue_look_busy,
    recent_and_final_messages_are_left_alone,
    concurrent_sweeps_requeue_a_message_once,
    sqsd_runs_the_sweep_as_a_periodic_task,
);

/// On a FIFO queue, a job sent and then lost (here: received and deleted
/// unfinished) within the five-minute deduplication interval is still
/// rescued: the sweeper enqueues it under a deduplication id of its own,
/// where one equal to the web's would be "accepted successfully but not
/// delivered" (SQS FIFO's deduplication).
async fn on_a_fifo_queue_a_lost_job_is_rescued_within_the_deduplication_interval(kind: Kind) {
    let backend = kind.make(10).await;
    let stuck = orphan(&backend, chrono::Duration::minutes(20), 0).await;
    let queue = &backend.backends.queue;
    queue
        .send_message(&stuck.outgoing())
        .await
        .expect("the web's send");
    let lost = queue
        .receive(1, Duration::from_secs(1), Duration::from_secs(60))
        .await
        .expect("receive");
    assert_eq!(lost.len(), 1);
    queue
        .delete(&lost[0].receipt_handle)
        .await
        .expect("lose it");

    let report = sweep_now(&backend).await;
    assert_eq!(report.requeued, 1, "{report:?}");
    assert_eq!(
        queued_ids(&backend).await,
        [stuck.id],
        "the rescue is on the queue"
    );
}

testkit::on_both_fifo_queues!(
    on_a_fifo_queue_a_lost_job_is_rescued_within_the_deduplication_interval
);
