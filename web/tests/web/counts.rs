//! What open pages cost: the counts and the new messages are read once per
//! web instance for every open page (`web/src/dashboard/snapshot.rs`,
//! `web/src/views/recent.rs`), so many pages asking at once cost one read of each. On the embedded
//! backend, with the store's `count` calls counted on the way.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use testkit::backends::Kind;
use testkit::faults::Faults;
use tokio::task::JoinSet;
use tower::ServiceExt;
use web::dashboard::snapshot::COUNTS_MAX_AGE;
use web::views::recent::REFRESH_EVERY;

use crate::helpers;

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let request = Request::get(uri).body(Body::empty()).expect("request");
    let answer = helpers::answer(app.clone().oneshot(request).await.expect("infallible")).await;
    (answer.status, answer.body)
}

#[tokio::test]
async fn a_hundred_pages_asking_at_once_cost_one_read_of_each_kind() {
    let backend = Kind::Embedded.make(10).await;
    let (backends, reads) =
        testkit::faults::backends_counting(&backend.backends, Faults::default());
    let app = web::Web::new(backends.clone()).router();
    let opened = messages::MessageId::floor(messages::now());
    let mut pages = JoinSet::new();
    for n in 0..100 {
        let app = app.clone();
        // Live pages polling for what is new and for the counts, and pages
        // being opened.
        let uri = if n % 10 == 0 {
            "/".to_owned()
        } else {
            format!("/api/messages/updates?after={opened}&counts=1")
        };
        pages.spawn(async move { get(&app, &uri).await.0 });
    }
    while let Some(status) = pages.join_next().await {
        assert_eq!(status.expect("a page"), StatusCode::OK);
    }
    assert_eq!(
        reads.now(),
        (3, 1),
        "one count of each of the 3 statuses, one read of what is new"
    );

    // What is sent next shows once the feed and the counts are read again.
    let sent = testkit::seed::sent(&backends, "seen later", messages::JobKind::Succeed).await;
    tokio::time::sleep(COUNTS_MAX_AGE.max(REFRESH_EVERY)).await;
    let (_, later) = get(
        &app,
        &format!("/api/messages/updates?after={opened}&counts=1"),
    )
    .await;
    assert_eq!(later["new"][0]["id"], sent.id.to_string(), "{later}");
    assert_eq!(later["counts"]["pending"], 1, "{later}");
    assert_eq!(reads.now(), (6, 2));

    // A page whose cursor is older than the feed is answered by the store.
    let long_ago = messages::MessageId::floor(messages::now() - chrono::TimeDelta::hours(1));
    let (_, behind) = get(&app, &format!("/api/messages/updates?after={long_ago}")).await;
    assert_eq!(behind["new"][0]["id"], sent.id.to_string(), "{behind}");
    assert_eq!(reads.now().1, 3);
}
