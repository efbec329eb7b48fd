//! Sends under an `Idempotency-Key`, through the web's router, on both
//! backends: a retry answers what the first send did and creates nothing;
//! another request under the same key is refused; a send whose outcome was
//! open is settled by its retry. Faults come from `testkit::faults`.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use messages::{Backends, Status};
use serde_json::Value;
use testkit::backends::{Kind, TestBackend};
use testkit::faults::{Fault, Faults};
use testkit::on_both_backends;
use tower::ServiceExt;

use crate::helpers::{self, Answer};

async fn post(backends: Backends, uri: &str, key: &str, json: &str) -> Answer {
    let request = Request::post(uri)
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(Body::from(json.to_owned()))
        .expect("request");
    let response = web::Web::new(backends)
        .router()
        .oneshot(request)
        .await
        .expect("infallible");
    helpers::answer(response).await
}

fn faulty(backend: &TestBackend, faults: Faults) -> Backends {
    testkit::faults::backends(&backend.backends, faults)
}

async fn records(backend: &TestBackend) -> Vec<messages::Message> {
    helpers::every_record(&backend.backends).await
}

async fn jobs(backend: &TestBackend) -> usize {
    helpers::take_jobs(&backend.backends).await.len()
}

async fn a_retry_with_the_same_key_answers_the_first_id_and_creates_nothing(kind: Kind) {
    let backend = kind.make(10).await;
    let send = r#"{"body": "once"}"#;
    let first = post(backend.backends.clone(), "/api/messages", "key-1", send).await;
    let retry = post(backend.backends.clone(), "/api/messages", "key-1", send).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    assert_eq!(retry.status, StatusCode::ACCEPTED, "{}", retry.body);
    assert_eq!(first.body["id"], retry.body["id"], "the same message");
    assert_eq!(records(&backend).await.len(), 1);
    assert_eq!(jobs(&backend).await, 1, "one job");

    let other = post(
        backend.backends.clone(),
        "/api/messages",
        "key-1",
        r#"{"body": "another"}"#,
    )
    .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.body["code"], "key_reused");
    assert!(
        other.body["error"]
            .as_str()
            .is_some_and(|error| error.contains("different request")),
        "{}",
        other.body
    );
    assert_eq!(
        records(&backend).await.len(),
        1,
        "a refused request changes nothing"
    );

    let fresh = post(backend.backends.clone(), "/api/messages", "key-2", send).await;
    assert_eq!(fresh.status, StatusCode::ACCEPTED);
    assert_ne!(
        fresh.body["id"], first.body["id"],
        "a new key is a new message"
    );
}

async fn a_burst_retried_with_its_key_answers_the_same_ids(kind: Kind) {
    let backend = kind.make(10).await;
    let send = r#"{"body": "burst", "count": 3}"#;
    let first = post(
        backend.backends.clone(),
        "/api/messages/batch",
        "burst-1",
        send,
    )
    .await;
    let retry = post(
        backend.backends.clone(),
        "/api/messages/batch",
        "burst-1",
        send,
    )
    .await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    let ids = |answer: &Answer| -> Vec<Value> {
        answer.body["items"]
            .as_array()
            .map(|items| items.iter().map(|item| item["id"].clone()).collect())
            .unwrap_or_default()
    };
    assert_eq!(ids(&first).len(), 3);
    assert_eq!(ids(&first), ids(&retry), "the same ids, in the same order");
    assert_eq!(records(&backend).await.len(), 3);
}

async fn a_send_whose_outcome_was_unknown_is_settled_by_its_retry(kind: Kind) {
    let backend = kind.make(10).await;
    // The job reaches the queue with its answer lost, and marking the record
    // `fail` does not go through: the first answer cannot know.
    let faults = Faults {
        send: Fault::AnswerLost,
        finish: Fault::Refused,
        ..Faults::default()
    };
    let send = r#"{"body": "open"}"#;
    let first = post(faulty(&backend, faults), "/api/messages", "open-1", send).await;
    assert_eq!(first.status, StatusCode::SERVICE_UNAVAILABLE);
    let error = first.body["error"].as_str().unwrap_or_default().to_owned();
    assert!(
        error.contains("not known") && error.contains("same Idempotency-Key is safe"),
        "{error}"
    );
    assert_eq!(
        first.body["code"], "retry_with_same_key",
        "a program reads what to do from the code, not the sentence"
    );
    let retry = post(backend.backends.clone(), "/api/messages", "open-1", send).await;
    assert_eq!(retry.status, StatusCode::ACCEPTED, "{}", retry.body);
    let recorded = records(&backend).await;
    assert_eq!(recorded.len(), 1, "the retry created nothing");
    assert_eq!(retry.body["id"], recorded[0].id.to_string());
    assert!(
        error.contains(&recorded[0].id.to_string()),
        "the first answer named it: {error}"
    );
    assert_eq!(jobs(&backend).await, 1, "and enqueued nothing twice");
}

async fn a_send_that_recorded_nothing_is_sent_by_its_retry(kind: Kind) {
    let backend = kind.make(10).await;
    let faults = Faults {
        create: Fault::Refused,
        ..Faults::default()
    };
    let send = r#"{"body": "again"}"#;
    let first = post(faulty(&backend, faults), "/api/messages", "again-1", send).await;
    assert_eq!(first.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(records(&backend).await.is_empty());
    let retry = post(backend.backends.clone(), "/api/messages", "again-1", send).await;
    assert_eq!(retry.status, StatusCode::ACCEPTED, "{}", retry.body);
    assert_eq!(records(&backend).await.len(), 1);
    assert_eq!(jobs(&backend).await, 1);
}

async fn a_send_marked_fail_gives_its_retry_the_same_answer(kind: Kind) {
    let backend = kind.make(10).await;
    let faults = Faults {
        send: Fault::Refused,
        ..Faults::default()
    };
    let send = r#"{"body": "failed"}"#;
    let first = post(faulty(&backend, faults), "/api/messages", "failed-1", send).await;
    let retry = post(backend.backends.clone(), "/api/messages", "failed-1", send).await;
    assert_eq!(first.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry.status, first.status, "the same status");
    assert_eq!(retry.body, first.body, "the same answer");
    let recorded = records(&backend).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].status, Status::Fail);
    assert_eq!(jobs(&backend).await, 0);
}

/// A retry that comes while the first send is still enqueueing finds every
/// record and answers the send as gone through; when the queue then refuses
/// the job, the first send finds the key answered, leaves its record
/// `pending` for the sweeper (which enqueues a record without a job) and
/// answers the same. Two answers to one key never disagree.
async fn a_retry_answered_before_the_queue_refused_is_what_the_first_send_answers(kind: Kind) {
    let backend = kind.make(10).await;
    let faults = Faults {
        send: Fault::RefusedAfter(std::time::Duration::from_secs(2)),
        ..Faults::default()
    };
    let send = r#"{"body": "raced"}"#;
    let first = tokio::spawn(post(
        faulty(&backend, faults),
        "/api/messages",
        "raced-1",
        send,
    ));
    // The retry comes once the first send has made its record, while its
    // enqueue waits.
    for _ in 0..100 {
        if !records(&backend).await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let retry = post(backend.backends.clone(), "/api/messages", "raced-1", send).await;
    assert_eq!(retry.status, StatusCode::ACCEPTED, "{}", retry.body);
    assert!(
        !first.is_finished(),
        "the retry came while the first was enqueueing"
    );
    let first = first.await.expect("the first send's task");
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    assert_eq!(first.body["id"], retry.body["id"], "the same message");
    let recorded = records(&backend).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        recorded[0].status,
        Status::Pending,
        "not marked fail: the retry had answered it as gone through"
    );
    assert_eq!(jobs(&backend).await, 0, "the queue refused its job");
    let again = post(backend.backends.clone(), "/api/messages", "raced-1", send).await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
    assert_eq!(again.body["id"], first.body["id"]);
}

async fn a_key_that_is_not_visible_ascii_is_a_400_that_changes_nothing(kind: Kind) {
    let backend = kind.make(10).await;
    let answer = post(
        backend.backends.clone(),
        "/api/messages",
        "two words",
        r#"{"body": "x"}"#,
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer.body["error"]
            .as_str()
            .is_some_and(|error| error.contains("Idempotency-Key")),
        "{}",
        answer.body
    );
    assert!(records(&backend).await.is_empty());
}

on_both_backends!(
    a_retry_with_the_same_key_answers_the_first_id_and_creates_nothing,
    a_burst_retried_with_its_key_answers_the_same_ids,
    a_send_whose_outcome_was_unknown_is_settled_by_its_retry,
    a_send_that_recorded_nothing_is_sent_by_its_retry,
    a_send_marked_fail_gives_its_retry_the_same_answer,
    a_retry_answered_before_the_queue_refused_is_what_the_first_send_answers,
    a_key_that_is_not_visible_ascii_is_a_400_that_changes_nothing,
);

/// Concurrent retries on the embedded backend, whose claim is one statement
/// under SQLite's write lock. (moto's server does not make a conditional write
/// atomic under concurrent requests, so on moto the retries above run one
/// after another; the contract's `racing_claims_of_one_key_leave_exactly_one_winner`
/// covers the store on both.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_with_one_key_make_one_message() {
    let backend = Arc::new(Kind::Embedded.make(10).await);
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let backends = backend.backends.clone();
            tokio::spawn(async move {
                post(backends, "/api/messages", "race-1", r#"{"body": "race"}"#).await
            })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for racer in racers {
        let answer = racer.await.expect("task");
        match answer.status {
            StatusCode::ACCEPTED => {
                ids.insert(answer.body["id"].to_string());
            }
            StatusCode::CONFLICT => {
                assert_eq!(
                    answer.retry_after.as_deref(),
                    Some("2"),
                    "an answer in progress says when to try again"
                );
                assert_eq!(answer.body["code"], "in_progress");
            }
            other => panic!("unexpected answer {other}: {}", answer.body),
        }
    }
    assert_eq!(
        ids.len(),
        1,
        "every accepted answer names one message: {ids:?}"
    );
    assert_eq!(records(&backend).await.len(), 1);
    assert_eq!(jobs(&backend).await, 1);
}

/// The page's form carries a key of its own (a hidden field), so a double
/// submit, or submitting again after a lost answer, sends one message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forms_double_submit_sends_one_message() {
    let backend = Kind::Embedded.make(10).await;
    let page = web::Web::new(backend.backends.clone())
        .router()
        .oneshot(Request::get("/").body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let html = to_bytes(page.into_body(), usize::MAX).await.expect("body");
    let html = String::from_utf8_lossy(&html).into_owned();
    let key = html
        .split(r#"name="idempotency_key" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form has a hidden idempotency_key field")
        .to_owned();
    assert!(messages::IdempotencyKey::parse(&key).is_ok(), "{key:?}");
    for _ in 0..2 {
        let submit = Request::post("/messages")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(format!(
                "body=twice&simulate=ok&count=1&idempotency_key={key}"
            )))
            .expect("request");
        let answer = web::Web::new(backend.backends.clone())
            .router()
            .oneshot(submit)
            .await
            .expect("infallible");
        assert_eq!(
            answer.status(),
            StatusCode::SEE_OTHER,
            "each submit is answered with the list"
        );
    }
    assert_eq!(records(&backend).await.len(), 1);
}

/// Another client cannot squat a key: under the same key, a send from
/// another address is a send of its own; it neither blocks the first
/// client's send nor answers with the first client's messages.
#[tokio::test]
async fn another_client_cannot_squat_or_read_a_key() {
    use axum::extract::connect_info::MockConnectInfo;
    let backend = Kind::Embedded.make(10).await;
    let from = |peer: [u8; 4], json: &'static str| {
        let app = web::Web::new(backend.backends.clone())
            .router()
            .layer(MockConnectInfo(std::net::SocketAddr::from((peer, 40000))));
        let request = Request::post("/api/messages")
            .header("content-type", "application/json")
            .header("idempotency-key", "a-shared-key")
            .body(Body::from(json))
            .expect("request");
        async move { helpers::answer(app.oneshot(request).await.expect("infallible")).await }
    };
    // The attacker sends first, under the key it saw.
    let squatter = from([198, 51, 100, 9], r#"{"body": "squatted"}"#).await;
    assert_eq!(squatter.status, StatusCode::ACCEPTED, "{}", squatter.body);
    let owner = from([203, 0, 113, 9], r#"{"body": "mine"}"#).await;
    assert_eq!(owner.status, StatusCode::ACCEPTED, "{}", owner.body);
    assert_ne!(owner.body["id"], squatter.body["id"]);
    assert_eq!(owner.body["body"], "mine");
    // The owner's own retry is still its own send.
    let retry = from([203, 0, 113, 9], r#"{"body": "mine"}"#).await;
    assert_eq!(retry.body["id"], owner.body["id"]);
    assert_eq!(records(&backend).await.len(), 2);
}
