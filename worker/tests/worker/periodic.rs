//! Periodic tasks the way Elastic Beanstalk runs them, on both backends. What
//! each test reproduces is sqsd's documented behaviour for `cron.yaml`: the
//! leader instance puts one message per run on the worker queue (body
//! `elasticbeanstalk scheduled job`, attributes `beanstalk.sqsd.task_name`,
//! `beanstalk.sqsd.path`, `beanstalk.sqsd.scheduled_time`); whoever receives
//! it POSTs the task's path with an empty body and `X-Aws-Sqsd-Taskname` /
//! `X-Aws-Sqsd-Scheduled-At`; `200` deletes it, anything else leaves it to
//! come back after the error visibility timeout and, after the queue's
//! `maxReceiveCount` receives, to go to the dead-letter queue.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::{DateTime, Utc};
use messages::{Backends, MessageId, Status};
use sqsd::task::{PATH_ATTRIBUTE, SCHEDULED_TIME_ATTRIBUTE, TASK_BODY, TASK_NAME_ATTRIBUTE};
use sqsd::{CronTable, CronTask, Dispatched, Poller, PollerConfig, Scheduler};
use testkit::backends::{Kind, TestBackend};
use testkit::on_both_backends;
use tower::ServiceExt;
use worker::sweep::SweepConfig;
use worker::{Intake, WorkerSettings};

use crate::helpers::spawn_worker;
use crate::sweep::{orphan, stored};

/// The worker bundle's own `cron.yaml`.
fn bundled_cron() -> CronTable {
    CronTable::parse(include_str!("../../../deploy/worker/cron.yaml")).expect("valid cron.yaml")
}

fn sweep_task() -> CronTask {
    bundled_cron()
        .tasks
        .into_iter()
        .find(|task| task.url == "/tasks/sweep")
        .expect("cron.yaml schedules the sweep")
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("valid")
        .with_timezone(&Utc)
}

fn scheduler(backends: &Backends) -> Scheduler {
    Scheduler::new(
        bundled_cron(),
        backends.queue.clone(),
        backends.store.clone(),
    )
    .expect("a standard queue takes periodic tasks")
}

fn fast_poller() -> PollerConfig {
    PollerConfig {
        wait: Duration::from_secs(1),
        error_visibility_timeout: Duration::ZERO,
        ..PollerConfig::default()
    }
}

/// The worker's sqsd-facing routes (`/process` and the task paths) on `backends`.
fn sqsd_routes(backends: &Backends, sweep: SweepConfig) -> Router {
    worker::sqsd_router(
        worker::process::WorkerState {
            store: Arc::clone(&backends.store),
            max_attempts: 10,
            jobs: jobs::JobSettings::default(),
            queue_timing: (&PollerConfig::default()).into(),
        },
        worker::TaskState {
            backends: backends.clone(),
            config: sweep,
        },
    )
}

async fn each_run_is_enqueued_once_whichever_poller_reaches_it(kind: Kind) {
    let backend = kind.make(10).await;
    let (first, second) = (
        scheduler(&backend.backends),
        scheduler(&backend.second_connection(10)),
    );
    let (task, run) = (sweep_task(), at("2026-12-01T08:05:00Z"));
    let won = if kind == Kind::Embedded {
        let (a, b) = tokio::join!(
            first.enqueue_run(&task, run),
            second.enqueue_run(&task, run)
        );
        [a.expect("enqueue"), b.expect("enqueue")]
    } else {
        // moto's server does not make a conditional write atomic under
        // concurrent requests (two writers can both succeed), so on moto the
        // two pollers reach the run one after the other: this tests the app,
        // not the emulator. DynamoDB itself serialises conditional writes.
        let a = first.enqueue_run(&task, run).await.expect("enqueue");
        let b = second.enqueue_run(&task, run).await.expect("enqueue");
        [a, b]
    };
    assert_eq!(won.iter().filter(|won| **won).count(), 1, "{won:?}");
    assert!(
        !first.enqueue_run(&task, run).await.expect("again"),
        "a run is enqueued once"
    );
    assert!(
        !first
            .enqueue_run(&task, at("2026-12-01T08:00:00Z"))
            .await
            .expect("earlier"),
        "an earlier run, reached late, is not enqueued"
    );

    let received = backend
        .backends
        .queue
        .receive(10, Duration::from_secs(1), Duration::from_secs(30))
        .await
        .expect("receive");
    let [message] = received.as_slice() else {
        panic!("one task message expected, got {received:?}");
    };
    assert_eq!(message.body, TASK_BODY);
    let attribute = |name: &str| message.attributes.get(name).map(String::as_str);
    assert_eq!(attribute(TASK_NAME_ATTRIBUTE), Some("sweep-pending"));
    assert_eq!(attribute(PATH_ATTRIBUTE), Some("/tasks/sweep"));
    assert_eq!(
        attribute(SCHEDULED_TIME_ATTRIBUTE),
        Some("2026-12-01T08:05:00Z")
    );

    assert!(
        second
            .enqueue_run(&task, at("2026-12-01T08:10:00Z"))
            .await
            .expect("next run"),
        "the next run is enqueued"
    );
}

/// What one delivery to a task path looked like.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(HeaderMap, Bytes)>>>);

async fn the_poller_posts_a_task_to_its_path_with_an_empty_body_and_deletes_it_on_200(kind: Kind) {
    let backend = kind.make(10).await;
    let seen = Seen::default();
    let handler = Router::new()
        .route(
            "/tasks/sweep",
            post(
                |axum::extract::State(seen): axum::extract::State<Seen>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    seen.0.lock().expect("lock").push((headers, body));
                    StatusCode::OK
                },
            ),
        )
        .with_state(seen.clone());
    scheduler(&backend.backends)
        .enqueue_run(&sweep_task(), at("2026-12-01T08:05:00Z"))
        .await
        .expect("enqueue");
    let poller = Poller::new(Arc::clone(&backend.backends.queue), handler, fast_poller());
    let outcomes = poller
        .poll_once(Duration::from_secs(1))
        .await
        .expect("poll");
    assert_eq!(outcomes, vec![Dispatched::Done]);

    let deliveries = seen.0.lock().expect("lock").clone();
    let [(headers, body)] = deliveries.as_slice() else {
        panic!("one delivery expected, got {}", deliveries.len());
    };
    assert!(body.is_empty(), "a task is POSTed with an empty body");
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    assert_eq!(header("x-aws-sqsd-taskname"), Some("sweep-pending"));
    assert_eq!(
        header("x-aws-sqsd-scheduled-at"),
        Some("2026-12-01T08:05:00Z")
    );
    assert_eq!(header("x-aws-sqsd-path"), Some("/tasks/sweep"));
    assert!(
        header("x-aws-sqsd-msgid").is_some(),
        "it is a queue message like any other"
    );
    assert_eq!(
        backend.backends.queue.depth().await.expect("depth"),
        messages::QueueDepth::default(),
        "deleted after its 200"
    );
}

async fn a_task_that_keeps_failing_ends_in_the_dead_letter_queue(kind: Kind) {
    let backend = kind.make(2).await;
    let handler = Router::new().route(
        "/tasks/sweep",
        post(|| async { StatusCode::SERVICE_UNAVAILABLE }),
    );
    scheduler(&backend.backends)
        .enqueue_run(&sweep_task(), at("2026-12-01T08:05:00Z"))
        .await
        .expect("enqueue");
    let poller = Poller::new(Arc::clone(&backend.backends.queue), handler, fast_poller());
    for _ in 0..2 {
        let outcomes = poller
            .poll_once(Duration::from_secs(1))
            .await
            .expect("poll");
        assert_eq!(outcomes, vec![Dispatched::Retried]);
    }
    // Received twice (the queue's maxReceiveCount here): the next receive moves it.
    let after = poller
        .poll_once(Duration::from_secs(1))
        .await
        .expect("poll");
    assert!(after.is_empty(), "{after:?}");
    assert_eq!(
        backend.dead_letters.bodies().await,
        vec![TASK_BODY.to_owned()]
    );
}

async fn a_sweep_delivered_through_the_queue_rescues_a_lost_job(kind: Kind) {
    let backend = kind.make(10).await;
    let lost = orphan(&backend, chrono::Duration::minutes(20), 0).await;
    let defaults = WorkerSettings::default();
    let settings = WorkerSettings {
        intake: Intake::Polling,
        poller: fast_poller(),
        // The run is enqueued below, not on the clock.
        cron: CronTable::default(),
        ..defaults
    };
    spawn_worker(&settings, backend.backends.clone()).await;
    scheduler(&backend.backends)
        .enqueue_run(&sweep_task(), messages::now())
        .await
        .expect("enqueue");
    let record = until(&backend, lost.id, |status| status.is_final()).await;
    assert_eq!((record.status, record.requeues), (Status::Complete, 1));
    assert!(
        until_depth_is_zero(&backend).await,
        "the task message and the job were deleted"
    );
}

async fn the_sweeps_own_message_does_not_make_the_queue_look_busy(kind: Kind) {
    let backend = kind.make(10).await;
    let hopeless = orphan(&backend, chrono::Duration::hours(3), 3).await;
    scheduler(&backend.backends)
        .enqueue_run(&sweep_task(), messages::now())
        .await
        .expect("enqueue");
    let poller = Poller::new(
        Arc::clone(&backend.backends.queue),
        sqsd_routes(&backend.backends, SweepConfig::default()),
        fast_poller(),
    );
    let outcomes = poller
        .poll_once(Duration::from_secs(1))
        .await
        .expect("poll");
    assert_eq!(outcomes, vec![Dispatched::Done]);
    // The only message in flight during the sweep was its own: the queue was
    // idle, so the message whose job is nowhere was given up.
    assert_eq!(stored(&backend, hopeless.id).await.status, Status::Fail);
}

/// Every answer of `/tasks/sweep`, recorded on the way back from the worker's
/// routes (which get every request, as they would from sqsd).
#[derive(Clone, Default)]
struct SweepReports(Arc<Mutex<Vec<serde_json::Value>>>);

impl SweepReports {
    fn wrap(&self, inner: Router) -> Router {
        async fn record(
            axum::extract::State((reports, inner)): axum::extract::State<(SweepReports, Router)>,
            request: axum::extract::Request,
        ) -> axum::response::Response {
            let response = inner
                .oneshot(request)
                .await
                .unwrap_or_else(|never| match never {});
            let (parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .expect("the sweep's answer");
            let report = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
            reports.0.lock().expect("lock").push(report);
            axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
        }
        Router::new()
            .route("/tasks/sweep", post(record))
            .with_state((self.clone(), inner.clone()))
            .fallback_service(inner)
    }

    fn all(&self) -> Vec<serde_json::Value> {
        self.0.lock().expect("lock").clone()
    }
}

async fn a_sweep_during_a_backlog_fails_nothing(kind: Kind) {
    let backend = kind.make(10).await;
    // The sweep's run first, then a backlog of 25 messages, all stale and all
    // due to be given up, whose jobs are in fact waiting in the queue.
    scheduler(&backend.backends)
        .enqueue_run(&sweep_task(), messages::now())
        .await
        .expect("enqueue");
    let mut waiting = Vec::new();
    for _ in 0..25 {
        let message = orphan(&backend, chrono::Duration::hours(3), 3).await;
        backend
            .backends
            .queue
            .send(&message.job().to_json())
            .await
            .expect("send its job");
        waiting.push(message.id);
    }
    let reports = SweepReports::default();
    let poller = Poller::new(
        Arc::clone(&backend.backends.queue),
        reports.wrap(sqsd_routes(&backend.backends, SweepConfig::default())),
        fast_poller(),
    );
    // One batch: the sweep (sent first, so received first) and the first
    // jobs, with the rest still waiting.
    let first = poller
        .poll_once(Duration::from_secs(1))
        .await
        .expect("poll");
    assert!(first.len() > 1 && first.len() <= 10, "{first:?}");
    let [report] = reports.all().try_into().unwrap_or_else(|all: Vec<_>| {
        panic!("the sweep should have run in the first batch, during the backlog: {all:?}")
    });
    assert_eq!(report["failed"], 0, "{report}");
    assert!(report["left_waiting"].as_u64() > Some(0), "{report}");
    let mut statuses = Vec::new();
    for id in &waiting {
        statuses.push(stored(&backend, *id).await.status);
    }
    assert!(
        !statuses.contains(&Status::Fail),
        "a message waiting in a backlog was failed: {statuses:?}"
    );
    assert!(
        statuses.contains(&Status::Pending),
        "some of the backlog is still waiting, so the sweep ran during it: {statuses:?}"
    );

    // Then the backlog drains, and every message completes.
    for _ in 0..10 {
        if poller
            .poll_once(Duration::from_secs(1))
            .await
            .expect("poll")
            .is_empty()
        {
            break;
        }
    }
    for id in &waiting {
        assert_eq!(stored(&backend, *id).await.status, Status::Complete);
    }
}

/// Waits (at most 15 s) until the message's status satisfies `done`.
async fn until(
    backend: &TestBackend,
    id: MessageId,
    done: impl Fn(Status) -> bool,
) -> messages::Message {
    for _ in 0..150 {
        let record = stored(backend, id).await;
        if done(record.status) {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("message {id} did not get there within 15 s");
}

/// Waits (at most 5 s) until the queue holds nothing.
async fn until_depth_is_zero(backend: &TestBackend) -> bool {
    for _ in 0..50 {
        if backend.backends.queue.depth().await.expect("depth") == messages::QueueDepth::default() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

on_both_backends!(
    each_run_is_enqueued_once_whichever_poller_reaches_it,
    the_poller_posts_a_task_to_its_path_with_an_empty_body_and_deletes_it_on_200,
    a_task_that_keeps_failing_ends_in_the_dead_letter_queue,
    a_sweep_delivered_through_the_queue_rescues_a_lost_job,
    the_sweeps_own_message_does_not_make_the_queue_look_busy,
    a_sweep_during_a_backlog_fails_nothing,
);

/// Elastic Beanstalk does not support periodic tasks on a FIFO queue ("if you
/// provide a FIFO queue, periodic tasks aren't supported"); neither does a
/// polling worker, which refuses to start with the reason, on either backend.
async fn a_polling_worker_refuses_periodic_tasks_on_a_fifo_queue(kind: Kind) {
    let backend = kind.make(10).await;
    let settings = WorkerSettings {
        intake: Intake::Polling,
        cron: bundled_cron(),
        ..WorkerSettings::default()
    };
    let error = worker::Application::with_backends(
        &settings,
        backend.backends.clone(),
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .err()
    .expect("refused");
    let text = format!("{error:#}");
    assert!(
        text.contains("FIFO") && text.contains("CRON_FILE=none"),
        "{text}"
    );
}

testkit::on_both_fifo_queues!(a_polling_worker_refuses_periodic_tasks_on_a_fifo_queue);
