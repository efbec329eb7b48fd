//! The web's limits through its router (`web::throttle`): a rate per client
//! on the routes that send, with the client read from `X-Forwarded-For` only
//! when the peer is this host's proxy (nginx on Elastic Beanstalk), and a cap
//! on requests in flight that refuses at once instead of queueing.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use testkit::backends::{Kind, TestBackend};
use testkit::faults::{Fault, Faults};
use tower::ServiceExt;
use web::throttle::Limits;

use crate::helpers;

fn limited(backend: &TestBackend, limits: Limits, peer: &str) -> Router {
    let peer: SocketAddr = peer.parse().expect("an address");
    web::app_with_limits(backend.backends.clone(), None, &limits).layer(MockConnectInfo(peer))
}

fn rate(burst: u32) -> Limits {
    Limits {
        sends_per_minute: 1,
        send_burst: burst,
        proxy_hops: 1,
        max_in_flight: 0,
    }
}

async fn send(app: &Router, forwarded_for: Option<&str>) -> (StatusCode, Option<String>, Value) {
    let mut request = Request::post("/api/messages").header("content-type", "application/json");
    if let Some(forwarded_for) = forwarded_for {
        request = request.header("x-forwarded-for", forwarded_for);
    }
    let request = request
        .body(Body::from(r#"{"body": "hi"}"#))
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let answer = helpers::answer(response).await;
    (answer.status, answer.retry_after, answer.body)
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after_and_nothing_is_sent() {
    let backend = Kind::Embedded.make(10).await;
    let app = limited(&backend, rate(3), "203.0.113.7:40000");
    for _ in 0..3 {
        assert_eq!(send(&app, None).await.0, StatusCode::ACCEPTED);
    }
    let (status, retry_after, body) = send(&app, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let seconds: u32 = retry_after
        .as_deref()
        .and_then(|text| text.parse().ok())
        .expect("a Retry-After in seconds");
    assert!(seconds >= 1, "{seconds}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|error| error.contains("nothing was sent")),
        "{body}"
    );
    assert_eq!(helpers::every_record(&backend.backends).await.len(), 3);
    let read = app
        .clone()
        .oneshot(
            Request::get("/api/messages")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(read.status(), StatusCode::OK, "reading is never limited");
}

#[tokio::test]
async fn behind_the_local_proxy_each_forwarded_client_has_its_own_rate() {
    let backend = Kind::Embedded.make(10).await;
    let app = limited(&backend, rate(2), "127.0.0.1:40000");
    // nginx appends the address it saw; whatever the client wrote is left of it.
    let first = |spoof: &str| format!("{spoof}, 203.0.113.7");
    assert_eq!(
        send(&app, Some(&first("1.1.1.1"))).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        send(&app, Some(&first("2.2.2.2"))).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        send(&app, Some(&first("3.3.3.3"))).await.0,
        StatusCode::TOO_MANY_REQUESTS,
        "a new left-hand entry does not make a new client"
    );
    assert_eq!(
        send(&app, Some("203.0.113.8")).await.0,
        StatusCode::ACCEPTED,
        "another client has its own rate"
    );
}

#[tokio::test]
async fn a_peer_that_is_not_the_local_proxy_cannot_pick_its_address() {
    let backend = Kind::Embedded.make(10).await;
    let app = limited(&backend, rate(2), "198.51.100.1:40000");
    for spoof in ["203.0.113.1", "203.0.113.2"] {
        assert_eq!(send(&app, Some(spoof)).await.0, StatusCode::ACCEPTED);
    }
    assert_eq!(
        send(&app, Some("203.0.113.3")).await.0,
        StatusCode::TOO_MANY_REQUESTS,
        "X-Forwarded-For from anyone but the local proxy is ignored"
    );
}

#[tokio::test]
async fn the_form_over_its_rate_gets_a_page_saying_when_to_send_again() {
    let backend = Kind::Embedded.make(10).await;
    let app = limited(&backend, rate(1), "203.0.113.9:40000");
    let mut last = None;
    for _ in 0..2 {
        let request = Request::post("/messages")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(Body::from("body=hi&simulate=ok&count=1"))
            .expect("request");
        last = Some(app.clone().oneshot(request).await.expect("infallible"));
    }
    let response = last.expect("answered");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let html = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let html = String::from_utf8_lossy(&html);
    assert!(
        html.contains("<html") && html.contains("Too many messages"),
        "{html}"
    );
}

#[tokio::test]
async fn past_the_cap_on_requests_in_flight_a_request_is_refused_at_once() {
    let backend = Kind::Embedded.make(10).await;
    let limits = Limits {
        max_in_flight: 1,
        ..Limits::OFF
    };
    // Reading one message hangs: that request holds the one slot.
    let hanging = testkit::faults::backends(
        &backend.backends,
        Faults {
            read: Fault::Hangs,
            ..Faults::default()
        },
    );
    let app = web::app_with_limits(hanging, None, &limits).layer(MockConnectInfo(
        SocketAddr::from(([203, 0, 113, 10], 40000)),
    ));
    let stuck = Request::get(format!("/api/messages/{}", messages::MessageId::new()))
        .body(Body::empty())
        .expect("request");
    let holder = tokio::spawn(app.clone().oneshot(stuck));
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = std::time::Instant::now();
    let refused = app
        .clone()
        .oneshot(
            Request::get("/api/messages")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused at once, not queued"
    );
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let health = app
        .clone()
        .oneshot(
            Request::get("/health")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(
        health.status(),
        StatusCode::OK,
        "health checks are never shed"
    );
    holder.abort();
}
