//! What a send answers when a backend fails partway, on the embedded backend
//! with faults in front of chosen calls (`testkit::faults`): a call refused, or
//! applied with its answer lost, as after a connection reset. The answer must
//! say what really happened, so a client knows whether sending again makes a
//! duplicate, and no message may end stuck or vanish.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use messages::Status;
use serde_json::Value;
use testkit::backends::{Kind, TestBackend};
use testkit::faults::{Fault, Faults};
use tower::ServiceExt;

use crate::helpers;

async fn post(backend: &TestBackend, faults: Faults, uri: &str, json: &str) -> (StatusCode, Value) {
    let app = web::Web::new(testkit::faults::backends(&backend.backends, faults)).router();
    let request = Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(json.to_owned()))
        .expect("request");
    let response = app.oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn every_record(backend: &TestBackend) -> Vec<messages::Message> {
    helpers::every_record(&backend.backends).await
}

async fn jobs_on_the_queue(backend: &TestBackend) -> Vec<String> {
    helpers::take_jobs(&backend.backends).await
}

fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_create_applied_with_its_answer_lost_is_sent_all_the_same() {
    let backend = Kind::Embedded.make(10).await;
    let faults = Faults {
        create: Fault::AnswerLost,
        ..Faults::default()
    };
    let (status, body) = post(&backend, faults, "/api/messages", r#"{"body": "hi"}"#).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let records = every_record(&backend).await;
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].id.to_string(),
        body["id"].as_str().unwrap_or_default()
    );
    assert_eq!(
        jobs_on_the_queue(&backend).await.len(),
        1,
        "its job is queued"
    );
}

#[tokio::test]
async fn a_create_refused_says_nothing_was_sent_and_nothing_was() {
    let backend = Kind::Embedded.make(10).await;
    let faults = Faults {
        create: Fault::Refused,
        ..Faults::default()
    };
    let (status, body) = post(&backend, faults, "/api/messages", r#"{"body": "hi"}"#).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(error_of(&body).contains("was not sent"), "{body}");
    assert!(every_record(&backend).await.is_empty());
    assert!(jobs_on_the_queue(&backend).await.is_empty());
}

#[tokio::test]
async fn a_create_that_cannot_be_confirmed_says_so_with_the_id() {
    let backend = Kind::Embedded.make(10).await;
    let faults = Faults {
        create: Fault::AnswerLost,
        read: Fault::Refused,
        ..Faults::default()
    };
    let (status, body) = post(&backend, faults, "/api/messages", r#"{"body": "hi"}"#).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let records = every_record(&backend).await;
    assert_eq!(records.len(), 1, "the record was written");
    let error = error_of(&body);
    assert!(
        error.contains("not known") && error.contains(&records[0].id.to_string()),
        "the answer says the outcome is unknown and names the record: {error}"
    );
    assert!(
        !error.contains("was not sent"),
        "it must not claim nothing was sent: {error}"
    );
}

#[tokio::test]
async fn a_job_queued_with_its_answer_lost_and_no_mark_is_unknown_not_failed() {
    // The case a client saw lie: the job reached the queue, marking the record
    // `fail` did not go through, and the answer said "marked fail".
    let backend = Kind::Embedded.make(10).await;
    let faults = Faults {
        send: Fault::AnswerLost,
        finish: Fault::Refused,
        ..Faults::default()
    };
    let (status, body) = post(&backend, faults, "/api/messages", r#"{"body": "hi"}"#).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let error = error_of(&body);
    assert!(
        error.contains("not known") && !error.contains("so it was marked fail"),
        "{error}"
    );
    let records = every_record(&backend).await;
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].status,
        Status::Pending,
        "still pending, with its job on the queue: it will be processed"
    );
    assert!(error.contains(&records[0].id.to_string()), "{error}");
    assert_eq!(jobs_on_the_queue(&backend).await.len(), 1);
}

#[tokio::test]
async fn a_job_refused_by_the_queue_is_marked_fail_and_the_answer_says_so() {
    let backend = Kind::Embedded.make(10).await;
    let faults = Faults {
        send: Fault::Refused,
        ..Faults::default()
    };
    let (status, body) = post(&backend, faults, "/api/messages", r#"{"body": "hi"}"#).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(error_of(&body).contains("marked fail"), "{body}");
    let records = every_record(&backend).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].status, Status::Fail);
}

#[tokio::test]
async fn a_burst_whose_marks_fail_names_every_message_left_unknown() {
    let backend = Kind::Embedded.make(10).await;
    let faults = Faults {
        send: Fault::AnswerLost,
        finish: Fault::Refused,
        ..Faults::default()
    };
    let (status, body) = post(
        &backend,
        faults,
        "/api/messages/batch",
        r#"{"body": "hi", "count": 3}"#,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let error = error_of(&body);
    let records = every_record(&backend).await;
    assert_eq!(records.len(), 3);
    for record in &records {
        assert_eq!(record.status, Status::Pending);
        assert!(
            error.contains(&record.id.to_string()),
            "{} missing from: {error}",
            record.id
        );
    }
    assert_eq!(jobs_on_the_queue(&backend).await.len(), 3);
}
