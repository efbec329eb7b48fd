//! The counts are one snapshot per web instance, shared by every open page:
//! many pages asking at once cost one count of each status, and the counts
//! are at most `COUNTS_MAX_AGE` old (`web/src/snapshot.rs`). On the embedded
//! backend, with the store's `count` calls counted on the way.

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use testkit::backends::Kind;
use testkit::faults::Faults;
use tokio::task::JoinSet;
use tower::ServiceExt;
use web::snapshot::COUNTS_MAX_AGE;

use crate::helpers;

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let request = Request::get(uri).body(Body::empty()).expect("request");
    let answer = helpers::answer(app.clone().oneshot(request).await.expect("infallible")).await;
    (answer.status, answer.body)
}

#[tokio::test]
async fn a_hundred_pages_asking_at_once_cost_one_count_of_each_status() {
    let backend = Kind::Embedded.make(10).await;
    let (backends, count_calls) =
        testkit::faults::backends_counting(&backend.backends, Faults::default());
    let app = web::app(backends.clone(), None);
    let mut pages = JoinSet::new();
    for n in 0..100 {
        let app = app.clone();
        // Live pages polling for counts, and pages being opened.
        let uri = if n % 10 == 0 {
            "/"
        } else {
            "/api/messages/updates?counts=1"
        };
        pages.spawn(async move { get(&app, uri).await.0 });
    }
    while let Some(status) = pages.join_next().await {
        assert_eq!(status.expect("a page"), StatusCode::OK);
    }
    assert_eq!(
        count_calls.load(Ordering::Relaxed),
        3,
        "one count of each of the 3 statuses"
    );

    // A message sent now shows once the snapshot is old enough to be taken again.
    testkit::seed::sent(&backends, "counted later", messages::Simulate::Ok).await;
    let (_, fresh) = get(&app, "/api/messages/updates?counts=1").await;
    assert_eq!(
        fresh["counts"]["pending"], 0,
        "served from the snapshot: {fresh}"
    );
    tokio::time::sleep(COUNTS_MAX_AGE).await;
    let (_, later) = get(&app, "/api/messages/updates?counts=1").await;
    assert_eq!(later["counts"]["pending"], 1, "counted again: {later}");
    assert_eq!(count_calls.load(Ordering::Relaxed), 6);
}
