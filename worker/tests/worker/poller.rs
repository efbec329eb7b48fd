//! The poller that stands in for sqsd, on both backends: it processes each
//! message once and deletes it, retries what failed, gives up into `fail` and
//! the dead-letter area, loses nothing on shutdown, and several pollers on one
//! queue never deliver one message twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::post;
use messages::{Backends, JobKind, Message, MessageId, Status};
use sqsd::{Dispatched, Poller, PollerConfig};
use testkit::backends::Kind;
use testkit::on_both_backends;
use tokio::sync::oneshot;
use tower::ServiceExt;

use crate::helpers::process_router;

fn fast_config() -> PollerConfig {
    PollerConfig {
        wait: Duration::from_secs(1),
        error_visibility_timeout: Duration::ZERO,
        shutdown_grace: Duration::from_millis(100),
        ..PollerConfig::default()
    }
}

/// Counts deliveries per SQS message id on the way to the real `/process`.
#[derive(Clone, Default)]
struct Deliveries(Arc<Mutex<HashMap<String, u32>>>);

impl Deliveries {
    fn wrap(&self, inner: Router) -> Router {
        async fn count(
            State((deliveries, inner)): State<(Deliveries, Router)>,
            request: Request,
        ) -> Response {
            let msgid = request
                .headers()
                .get("x-aws-sqsd-msgid")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            *deliveries.0.lock().expect("lock").entry(msgid).or_default() += 1;
            inner
                .oneshot(request)
                .await
                .unwrap_or_else(|never| match never {})
        }
        Router::new()
            .route("/process", post(count))
            .with_state((self.clone(), inner))
    }

    fn counts(&self) -> HashMap<String, u32> {
        self.0.lock().expect("lock").clone()
    }
}

async fn send(backends: &Backends, simulate: JobKind) -> MessageId {
    testkit::seed::sent(backends, &format!("{simulate} job"), simulate)
        .await
        .id
}

/// Waits (bounded) until every message is final; returns them.
async fn until_final(backends: &Backends, ids: &[MessageId]) -> Vec<Message> {
    for _ in 0..300 {
        let mut done = Vec::new();
        for id in ids {
            match backends.store.get(*id).await.expect("get") {
                Some(message) if message.status.is_final() => done.push(message),
                _ => break,
            }
        }
        if done.len() == ids.len() {
            return done;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("messages did not all reach a final state within 15 s");
}

/// Runs a poller until the returned sender is used (or dropped).
fn run(poller: Poller) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(poller.run(async move {
        let _ = stopped.await;
    }));
    (stop, handle)
}

async fn a_message_is_processed_once_and_deleted(kind: Kind) {
    let backend = kind.make(10).await;
    let backends = &backend.backends;
    let deliveries = Deliveries::default();
    let handler = deliveries.wrap(process_router(backends, 10, Duration::ZERO));
    let (stop, handle) = run(Poller::new(
        Arc::clone(&backends.queue),
        handler,
        fast_config(),
    ));

    let id = send(backends, JobKind::Succeed).await;
    let done = until_final(backends, &[id]).await;
    assert_eq!((done[0].status, done[0].attempts), (Status::Complete, 1));
    let _ = stop.send(());
    handle.await.expect("poller");

    assert!(
        backends
            .queue
            .receive(1, Duration::from_secs(1), Duration::from_secs(30))
            .await
            .expect("receive")
            .is_empty(),
        "deleted"
    );
    assert_eq!(
        deliveries.counts().values().copied().collect::<Vec<_>>(),
        vec![1],
        "delivered once"
    );
}

async fn a_failing_message_reappears_and_is_retried(kind: Kind) {
    let backend = kind.make(10).await;
    let backends = &backend.backends;
    let (stop, handle) = run(Poller::new(
        Arc::clone(&backends.queue),
        process_router(backends, 10, Duration::ZERO),
        fast_config(),
    ));
    let id = send(backends, JobKind::Flaky).await;
    let done = until_final(backends, &[id]).await;
    assert_eq!((done[0].status, done[0].attempts), (Status::Complete, 2));
    let _ = stop.send(());
    handle.await.expect("poller");
}

async fn the_last_attempt_ends_in_fail_and_poison_ends_in_the_dead_letters(kind: Kind) {
    let backend = kind.make(2).await;
    let backends = &backend.backends;
    let (stop, handle) = run(Poller::new(
        Arc::clone(&backends.queue),
        process_router(backends, 2, Duration::ZERO),
        fast_config(),
    ));

    // Flaky fails once, then succeeds on its second and last allowed attempt.
    let flaky = send(backends, JobKind::Flaky).await;
    let done = until_final(backends, &[flaky]).await;
    assert_eq!((done[0].status, done[0].attempts), (Status::Complete, 2));

    // A message the worker can never accept: SQS's redrive takes it after 2 receives.
    backends
        .queue
        .send("this is not a job")
        .await
        .expect("send poison");
    let mut dead = Vec::new();
    for _ in 0..100 {
        dead = backend.dead_letters.bodies().await;
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(dead, vec!["this is not a job".to_owned()]);
    let _ = stop.send(());
    handle.await.expect("poller");

    // With a single allowed attempt, a retryable failure is final at once.
    let single = kind.make(1).await;
    let (stop, handle) = run(Poller::new(
        Arc::clone(&single.backends.queue),
        process_router(&single.backends, 1, Duration::ZERO),
        fast_config(),
    ));
    let id = send(&single.backends, JobKind::Flaky).await;
    let done = until_final(&single.backends, &[id]).await;
    assert_eq!(done[0].status, Status::Fail);
    assert!(
        done[0]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("gave up after 1 attempts")
    );
    let _ = stop.send(());
    handle.await.expect("poller");
}

async fn shutdown_mid_batch_loses_nothing(kind: Kind) {
    let backend = kind.make(10).await;
    let backends = &backend.backends;
    let ids = vec![
        send(backends, JobKind::Slow).await,
        send(backends, JobKind::Slow).await,
        send(backends, JobKind::Slow).await,
    ];
    // Jobs take 5 s; the grace period is 100 ms: shutdown cuts them off.
    let first = Poller::new(
        Arc::clone(&backends.queue),
        process_router(backends, 10, Duration::from_secs(5)),
        fast_config(),
    );
    let (stop, handle) = run(first);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(5), handle)
        .await
        .expect("stops promptly")
        .expect("poller");
    for id in &ids {
        let message = backends.store.get(*id).await.expect("get").expect("exists");
        assert_eq!(
            message.status,
            Status::Pending,
            "unfinished, not lost and not marked"
        );
    }

    // The released messages are on the queue for the next worker.
    let next = Poller::new(
        Arc::clone(&backends.queue),
        process_router(backends, 10, Duration::ZERO),
        fast_config(),
    );
    let (stop, handle) = run(next);
    let done = until_final(backends, &ids).await;
    assert!(
        done.iter()
            .all(|message| message.status == Status::Complete)
    );
    let _ = stop.send(());
    handle.await.expect("poller");
}

async fn two_pollers_never_deliver_one_message_twice(kind: Kind) {
    let backend = kind.make(10).await;
    let deliveries = Deliveries::default();
    // Each poller has its own connection, as two worker processes would.
    let mut running = Vec::new();
    for _ in 0..2 {
        let backends = backend.second_connection(10);
        let handler = deliveries.wrap(process_router(&backends, 10, Duration::ZERO));
        let config = PollerConfig {
            concurrency: 4,
            ..fast_config()
        };
        running.push(run(Poller::new(
            Arc::clone(&backends.queue),
            handler,
            config,
        )));
    }
    let mut ids = Vec::new();
    for n in 0..30 {
        let simulate = if n % 3 == 0 {
            JobKind::Fail
        } else {
            JobKind::Succeed
        };
        ids.push(send(&backend.backends, simulate).await);
    }
    let done = until_final(&backend.backends, &ids).await;
    for (stop, handle) in running {
        let _ = stop.send(());
        handle.await.expect("poller");
    }
    for (n, message) in done.iter().enumerate() {
        let expected = if n % 3 == 0 {
            Status::Fail
        } else {
            Status::Complete
        };
        assert_eq!(
            message.status, expected,
            "each message ends in the state its job decides"
        );
        assert_eq!(message.attempts, 1);
    }
    let counts = deliveries.counts();
    assert_eq!(counts.len(), ids.len(), "every message was delivered");
    assert!(
        counts.values().all(|count| *count == 1),
        "none twice: {counts:?}"
    );
}

async fn process_once_handles_one_batch_and_reports_it(kind: Kind) {
    let backend = kind.make(10).await;
    let backends = &backend.backends;
    let poller = Poller::new(
        Arc::clone(&backends.queue),
        process_router(backends, 10, Duration::ZERO),
        fast_config(),
    );
    assert!(
        poller
            .poll_once(Duration::from_millis(200))
            .await
            .expect("poll")
            .is_empty(),
        "nothing waiting"
    );
    let ok = send(backends, JobKind::Succeed).await;
    let flaky = send(backends, JobKind::Flaky).await;
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        outcomes.extend(
            poller
                .poll_once(Duration::from_secs(1))
                .await
                .expect("poll"),
        );
        if outcomes.len() >= 2 {
            break;
        }
    }
    outcomes.sort_by_key(|outcome| format!("{outcome:?}"));
    assert_eq!(outcomes, vec![Dispatched::Done, Dispatched::Retried]);
    assert_eq!(
        backends
            .store
            .get(ok)
            .await
            .expect("get")
            .expect("exists")
            .status,
        Status::Complete
    );
    assert_eq!(
        backends
            .store
            .get(flaky)
            .await
            .expect("get")
            .expect("exists")
            .status,
        Status::Pending
    );
}

on_both_backends!(
    a_message_is_processed_once_and_deleted,
    a_failing_message_reappears_and_is_retried,
    the_last_attempt_ends_in_fail_and_poison_ends_in_the_dead_letters,
    shutdown_mid_batch_loses_nothing,
    two_pollers_never_deliver_one_message_twice,
    process_once_handles_one_batch_and_reports_it,
);

/// What a FIFO test's handler saw: per group, jobs in flight now and at most,
/// the order jobs succeeded in; overall, the most in flight at once.
#[derive(Default)]
struct GroupLog {
    in_flight: HashMap<String, u32>,
    most_per_group: HashMap<String, u32>,
    most_overall: u32,
    succeeded: HashMap<String, Vec<u32>>,
    failed_once: bool,
}

/// On a FIFO queue the poller runs one job of a group at a time, in the
/// order sent, a retry included, while other groups run beside it: SQS
/// returns no message of a group that has one in flight, and the poller
/// receives one message per call (ARCHITECTURE.md, "FIFO queues").
async fn on_a_fifo_queue_each_group_runs_one_job_at_a_time_in_order(kind: Kind) {
    let backend = kind.make(10).await;
    let queue = backend.backends.queue.clone();
    let log = Arc::new(Mutex::new(GroupLog::default()));
    async fn job(State(log): State<Arc<Mutex<GroupLog>>>, body: String) -> axum::http::StatusCode {
        let (group, n) = body.split_once(':').expect("group:n");
        let n: u32 = n.parse().expect("a number");
        {
            let mut log = log.lock().expect("lock");
            let now = {
                let count = log.in_flight.entry(group.to_owned()).or_default();
                *count += 1;
                *count
            };
            let most = log.most_per_group.entry(group.to_owned()).or_default();
            *most = (*most).max(now);
            let overall = log.in_flight.values().sum();
            log.most_overall = log.most_overall.max(overall);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut log = log.lock().expect("lock");
        *log.in_flight.get_mut(group).expect("counted above") -= 1;
        // The second job of group a fails once: the third must wait for it.
        if (group, n) == ("a", 2) && !log.failed_once {
            log.failed_once = true;
            return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
        }
        log.succeeded.entry(group.to_owned()).or_default().push(n);
        axum::http::StatusCode::OK
    }
    let handler = Router::new()
        .route("/process", post(job))
        .with_state(Arc::clone(&log));
    for group in ["a", "b", "c"] {
        for n in 1..=4 {
            let outgoing = messages::Outgoing {
                group: messages::MessageGroup::parse(group).ok(),
                ..messages::Outgoing::new(format!("{group}:{n}"))
            };
            queue.send_message(&outgoing).await.expect("send");
        }
    }
    let (stop, handle) = run(Poller::new(queue, handler, fast_config()));
    for _ in 0..300 {
        let done: usize = log
            .lock()
            .expect("lock")
            .succeeded
            .values()
            .map(Vec::len)
            .sum();
        if done == 12 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop.send(());
    handle.await.expect("the poller stops");
    let log = log.lock().expect("lock");
    for group in ["a", "b", "c"] {
        assert_eq!(
            log.succeeded.get(group).map(Vec::as_slice),
            Some(&[1, 2, 3, 4][..]),
            "group {group} in order"
        );
        assert_eq!(
            log.most_per_group.get(group),
            Some(&1),
            "group {group} one at a time"
        );
    }
    assert!(log.failed_once, "a:2 failed once and was retried");
    assert!(
        log.most_overall >= 2,
        "groups ran side by side: at most {} at once",
        log.most_overall
    );
}

testkit::on_both_fifo_queues!(on_a_fifo_queue_each_group_runs_one_job_at_a_time_in_order);
