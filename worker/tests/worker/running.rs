//! What the worker writes so the pages can say where a message is: a job
//! still running after a second is noted once on its timeline (a quick job
//! costs no write more than its outcome), and a delivery to be retried
//! says when the queue hands it out again: sqsd's `ErrorVisibilityTimeout`
//! after the answer ("Elastic Beanstalk worker environments": sqsd waits
//! `ErrorVisibilityTimeout` seconds before it retries a failed message).

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use messages::{Event, JobKind, Message, MessageBody, Progress, StatusStore};
use testkit::backends::Kind;
use testkit::on_both_backends;
use tower::ServiceExt;

use crate::helpers::process_router;

/// One delivery of `message`'s job with receive count `count`; the answer's status.
async fn deliver(router: &axum::Router, message: &Message, count: u32) -> StatusCode {
    let mut request = Request::post("/process")
        .body(Body::from(message.job().to_json()))
        .expect("request");
    *request.headers_mut() = testkit::sqsd::delivery(count).to_headers();
    router
        .clone()
        .oneshot(request)
        .await
        .expect("infallible")
        .status()
}

async fn sent(store: &std::sync::Arc<dyn StatusStore>, simulate: JobKind) -> Message {
    let message = Message::new(MessageBody::parse("job").expect("valid"), simulate);
    store.create(&message).await.expect("create");
    message
}

async fn timeline(store: &std::sync::Arc<dyn StatusStore>, message: &Message) -> Vec<Event> {
    store
        .get(message.id)
        .await
        .expect("get")
        .expect("kept")
        .history
}

async fn only_a_job_past_a_second_is_noted_running(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let router = process_router(&backend.backends, 10, Duration::from_millis(1_600));

    let quick = sent(store, JobKind::Succeed).await;
    assert_eq!(deliver(&router, &quick, 1).await, StatusCode::OK);
    let kinds: Vec<bool> = timeline(store, &quick)
        .await
        .iter()
        .map(|event| matches!(event, Event::Started { .. }))
        .collect();
    assert_eq!(kinds, [false], "a quick job writes its outcome alone");

    let slow = sent(store, JobKind::Slow).await;
    let delivery = tokio::spawn({
        let router = router.clone();
        let slow = slow.clone();
        async move { deliver(&router, &slow, 1).await }
    });
    // While it runs (after the first second), the pages can tell.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let running = loop {
        let message = store.get(slow.id).await.expect("get").expect("kept");
        if let Progress::Running { since, deadline } = message.progress() {
            break (since, deadline);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never noted running: {:?}",
            message.history
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // sqsd's InactivityTimeout (the bundle's 299 s) after the start.
    assert_eq!((running.1 - running.0).num_seconds(), 299);
    assert_eq!(delivery.await.expect("joined"), StatusCode::OK);
    let events = timeline(store, &slow).await;
    assert!(
        matches!(
            events.as_slice(),
            [
                Event::Started {
                    receive_count: 1,
                    ..
                },
                Event::Delivered { answer: 200, .. }
            ]
        ),
        "one note, then the answer: {events:?}"
    );
}

async fn a_delivery_to_be_retried_says_when(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let router = process_router(&backend.backends, 10, Duration::ZERO);
    let flaky = sent(store, JobKind::Flaky).await;
    let before = messages::now();
    assert_eq!(
        deliver(&router, &flaky, 1).await,
        StatusCode::from_u16(worker::process::RETRY_ANSWER).expect("a status")
    );
    let message = store.get(flaky.id).await.expect("get").expect("kept");
    let Progress::Retrying { at } = message.progress() else {
        panic!("retrying: {:?}", message.history)
    };
    // The worker bundle's ErrorVisibilityTimeout: 30 s after the answer.
    let wait = (at - before).num_milliseconds();
    assert!((30_000..32_000).contains(&wait), "{wait} ms");
    assert_eq!(deliver(&router, &flaky, 2).await, StatusCode::OK);
    let done = store.get(flaky.id).await.expect("get").expect("kept");
    assert_eq!(done.progress(), Progress::Finished);
}

on_both_backends!(
    only_a_job_past_a_second_is_noted_running,
    a_delivery_to_be_retried_says_when,
);
