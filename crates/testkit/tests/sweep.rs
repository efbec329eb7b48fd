//! The pending sweeper (`cron.yaml`'s task), on both backends: it rescues a
//! message left `pending` with no job, gives up on one pending for too long,
//! leaves everything else alone, and is safe to run twice at once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use messages::{Message, MessageId, Simulate, Status};
use testkit::backends::{Kind, TestBackend};
use testkit::on_both_backends;
use worker::sweep::{SweepConfig, SweepReport, sweep};

const CONFIG: SweepConfig = SweepConfig {
    after: Duration::from_secs(600),
    batch: 100,
    max_attempts: 10,
};

/// A pending message recorded `age` ago with no job on the queue, as if the
/// web had died between its two writes.
async fn orphan(backend: &TestBackend, age: chrono::Duration) -> Message {
    let at: DateTime<Utc> = messages::now() - age;
    let message = Message {
        id: MessageId::created_at(at),
        body: "orphan".to_owned(),
        simulate: Simulate::Ok,
        status: Status::Pending,
        attempts: 0,
        created_at: at,
        updated_at: at,
        error: None,
    };
    backend
        .backends
        .store
        .create(&message)
        .await
        .expect("create");
    message
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
            messages::Job::from_json(received.body.as_bytes())
                .expect("a job")
                .id
        })
        .collect()
}

async fn a_stale_pending_message_is_requeued_once_and_then_completes(kind: Kind) {
    let backend = kind.make(10).await;
    let stuck = orphan(&backend, chrono::Duration::minutes(20)).await;

    let report = sweep(&backend.backends, CONFIG, messages::now())
        .await
        .expect("sweep");
    assert_eq!(
        report,
        SweepReport {
            checked: 1,
            requeued: 1,
            failed: 0
        }
    );
    let record = backend
        .backends
        .store
        .get(stuck.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(record.status, Status::Pending);
    assert!(
        record
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("re-enqueued by the sweeper")
    );

    let again = sweep(&backend.backends, CONFIG, messages::now())
        .await
        .expect("sweep");
    assert_eq!(
        again,
        SweepReport::default(),
        "just touched: not stale any more"
    );

    // The rescued job is processed like any other.
    let worker = testkit::spawn::worker(backend.backends.clone(), 10)
        .await
        .url;
    let (_, status, _) = testkit::sqsd::deliver_next(backend.backends.queue.as_ref(), &worker)
        .await
        .expect("the job is on the queue");
    assert_eq!(status, reqwest::StatusCode::OK);
    let done = backend
        .backends
        .store
        .get(stuck.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!((done.status, done.error), (Status::Complete, None));
}

async fn a_message_pending_for_too_long_is_failed_with_the_reason(kind: Kind) {
    let backend = kind.make(10).await;
    let ancient = orphan(&backend, chrono::Duration::hours(3)).await;
    let report = sweep(&backend.backends, CONFIG, messages::now())
        .await
        .expect("sweep");
    assert_eq!(
        report,
        SweepReport {
            checked: 1,
            requeued: 0,
            failed: 1
        }
    );
    let record = backend
        .backends
        .store
        .get(ancient.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(record.status, Status::Fail);
    assert!(
        record
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("gave up: still pending after")
    );
    assert!(
        queued_ids(&backend).await.is_empty(),
        "nothing enqueued for it"
    );
}

async fn recent_and_final_messages_are_left_alone(kind: Kind) {
    let backend = kind.make(10).await;
    let recent = orphan(&backend, chrono::Duration::minutes(2)).await;
    let finished = orphan(&backend, chrono::Duration::minutes(30)).await;
    let outcome = messages::Outcome {
        status: messages::FinalStatus::Complete,
        attempts: 1,
        error: None,
        at: messages::now(),
    };
    backend
        .backends
        .store
        .finish(finished.id, &outcome)
        .await
        .expect("finish");
    let report = sweep(&backend.backends, CONFIG, messages::now())
        .await
        .expect("sweep");
    assert_eq!(report, SweepReport::default());
    assert_eq!(
        backend.backends.store.get(recent.id).await.expect("get"),
        Some(recent)
    );
    assert!(queued_ids(&backend).await.is_empty());
}

async fn concurrent_sweeps_requeue_a_message_once(kind: Kind) {
    let backend = kind.make(10).await;
    let stuck = orphan(&backend, chrono::Duration::minutes(20)).await;
    let now = messages::now();
    let sweeps = (0..4).map(|_| {
        let backends = backend.backends.clone();
        tokio::spawn(async move { sweep(&backends, CONFIG, now).await })
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
    orphan(&backend, chrono::Duration::minutes(20)).await;
    let worker = testkit::spawn::worker(backend.backends.clone(), 10)
        .await
        .url;
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
        serde_json::json!({ "checked": 1, "requeued": 1, "failed": 0 })
    );
}

on_both_backends!(
    a_stale_pending_message_is_requeued_once_and_then_completes,
    a_message_pending_for_too_long_is_failed_with_the_reason,
    recent_and_final_messages_are_left_alone,
    concurrent_sweeps_requeue_a_message_once,
    sqsd_runs_the_sweep_as_a_periodic_task,
);
