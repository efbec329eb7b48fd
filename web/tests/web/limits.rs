//! The web's limits through its router (`web::edge::throttle`), each tried as an
//! attacker would: a rate per client on sends, charged per message; a rate
//! per client on reads; the client read from `X-Forwarded-For` only through
//! the proxies `TRUSTED_PROXIES` names (nginx alone, a load balancer then
//! nginx, the Docker bridge), an IPv6 client keyed by its /64; and a cap on
//! requests in flight that refuses at once instead of queueing.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::ConnectInfo;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use testkit::backends::{Kind, TestBackend};
use testkit::faults::{Fault, Faults};
use tower::ServiceExt;
use web::edge::client::TrustedProxies;
use web::edge::throttle::Limits;

use crate::helpers;

fn limited(backend: &TestBackend, limits: Limits, peer: &str) -> Router {
    let peer: SocketAddr = peer.parse().expect("an address");
    web::Web::new(backend.backends.clone())
        .limits(limits.clone())
        .router()
        .layer(MockConnectInfo(peer))
}

/// `request` as the server hands it over from `peer`: the way one web (one
/// set of limiters) is asked by several clients in a test.
fn from_peer<B>(mut request: Request<B>, peer: &str) -> Request<B> {
    let peer: SocketAddr = peer.parse().expect("an address");
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

fn rate(burst: u32) -> Limits {
    Limits {
        sends_per_minute: 1,
        send_burst: burst,
        trusted_proxies: TrustedProxies::loopback(),
        ..Limits::off()
    }
}

fn proxies(text: &str) -> TrustedProxies {
    text.parse().expect("address ranges")
}

/// `POST /api/messages/batch` of `count`, as `forwarded_for` behind the peer.
async fn send_burst(app: &Router, count: u32) -> (StatusCode, Value) {
    let request = Request::post("/api/messages/batch")
        .header("content-type", "application/json")
        .body(Body::from(format!(r#"{{"body": "hi", "count": {count}}}"#)))
        .expect("request");
    let answer = helpers::answer(app.clone().oneshot(request).await.expect("infallible")).await;
    (answer.status, answer.body)
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
    assert_eq!(
        read.status(),
        StatusCode::OK,
        "reads have a rate of their own"
    );
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
    // The form again, the refusal beside it: nothing typed is lost.
    assert!(
        html.contains("<html")
            && html.contains("Too many messages from your address")
            && html.contains("id=\"send-error\""),
        "{html}"
    );
}

#[tokio::test]
async fn past_the_cap_on_requests_in_flight_a_request_is_refused_at_once() {
    let backend = Kind::Embedded.make(10).await;
    let limits = Limits {
        max_in_flight: 1,
        ..Limits::off()
    };
    // Reading one message hangs: that request holds the one slot.
    let hanging = testkit::faults::backends(
        &backend.backends,
        Faults {
            read: Fault::Hangs,
            ..Faults::default()
        },
    );
    let app = web::Web::new(hanging)
        .limits(limits.clone())
        .router()
        .layer(MockConnectInfo(SocketAddr::from((
            [203, 0, 113, 10],
            40000,
        ))));
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

#[tokio::test]
async fn a_burst_costs_what_it_sends_and_one_larger_than_the_budget_is_refused_whole() {
    let backend = Kind::Embedded.make(10).await;
    let app = limited(&backend, rate(20), "203.0.113.11:40000");
    let (status, body) = send_burst(&app, 21).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|error| error.contains("send 20 or fewer")),
        "{body}"
    );
    assert!(helpers::every_record(&backend.backends).await.is_empty());
    // A burst of 20 empties a budget of 20: the next single send waits.
    assert_eq!(send_burst(&app, 20).await.0, StatusCode::ACCEPTED);
    assert_eq!(send(&app, None).await.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(helpers::every_record(&backend.backends).await.len(), 20);
}

#[tokio::test]
async fn the_group_demonstration_costs_the_ten_messages_it_sends() {
    let backend = Kind::Embedded.make(10).await;
    let demo = |app: &Router| {
        let request = Request::post("/demo/groups")
            .header("sec-fetch-site", "same-origin")
            .body(Body::empty())
            .expect("request");
        app.clone().oneshot(request)
    };
    let short = limited(&backend, rate(9), "203.0.113.12:40000");
    assert_eq!(
        demo(&short).await.expect("infallible").status(),
        StatusCode::TOO_MANY_REQUESTS,
        "ten messages do not fit a budget of nine"
    );
    assert!(helpers::every_record(&backend.backends).await.is_empty());
    let app = limited(&backend, rate(10), "203.0.113.13:40000");
    assert_eq!(
        demo(&app).await.expect("infallible").status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(send(&app, None).await.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(helpers::every_record(&backend.backends).await.len(), 10);
}

#[tokio::test]
async fn four_hundred_rapid_reads_meet_429_and_another_client_still_reads() {
    let backend = Kind::Embedded.make(10).await;
    let limits = Limits {
        reads_per_minute: 600,
        ..Limits::off()
    };
    let app = web::Web::new(backend.backends.clone())
        .limits(limits.clone())
        .router();
    let mut refused = 0;
    let mut retry_after = None;
    for _ in 0..400 {
        let request = Request::get("/api/messages/updates")
            .body(Body::empty())
            .expect("request");
        let request = from_peer(request, "203.0.113.14:40000");
        let answer = helpers::answer(app.clone().oneshot(request).await.expect("infallible")).await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
            retry_after = answer.retry_after;
        }
    }
    // 600 a minute with a tenth of it at once: at most 60 + what ten a
    // second refill while the loop runs.
    assert!(refused >= 200, "only {refused} of 400 refused");
    assert!(retry_after.is_some(), "a 429 says when to come back");
    // Another client of the same web, and so of the same limiter.
    let request = Request::get("/api/messages")
        .body(Body::empty())
        .expect("request");
    let read = app
        .oneshot(from_peer(request, "203.0.113.15:40000"))
        .await
        .expect("infallible");
    assert_eq!(read.status(), StatusCode::OK, "another client still reads");
}

/// The abuse as it was found: one client asking for the updates of 100
/// messages, 100 times as fast as it can (each a consistent batch read of
/// 100 records), met `429` before the end, at the default read rate.
#[tokio::test]
async fn a_hundred_watch_reads_of_a_hundred_ids_at_once_meet_429() {
    let backend = Kind::Embedded.make(10).await;
    let app = web::Web::new(backend.backends.clone())
        .limits(Limits::default())
        .router();
    let watch: Vec<String> = (0..100)
        .map(|_| format!("{}:0", messages::MessageId::new()))
        .collect();
    let path = format!("/api/messages/updates?watch={}", watch.join(","));
    let mut answered = 0;
    let mut refused = 0;
    for _ in 0..100 {
        let request = Request::get(&path).body(Body::empty()).expect("request");
        let request = from_peer(request, "203.0.113.16:40000");
        match app
            .clone()
            .oneshot(request)
            .await
            .expect("infallible")
            .status()
        {
            StatusCode::OK => answered += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        refused >= 20,
        "{answered} answered, only {refused} refused: a tenth of the 600 a minute at once, then ten a second"
    );
}

#[tokio::test]
async fn an_ipv6_client_cannot_walk_its_64_for_new_budgets() {
    let backend = Kind::Embedded.make(10).await;
    // One web; each request comes from the peer the server would give it.
    let app = web::Web::new(backend.backends.clone())
        .limits(rate(1))
        .router();
    let from = |peer: &str| {
        let request = Request::post("/api/messages")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"body": "hi"}"#))
            .expect("request");
        let request = from_peer(request, peer);
        let app = app.clone();
        async move { app.oneshot(request).await.expect("infallible").status() }
    };
    assert_eq!(from("[2001:db8:7:7::1]:40000").await, StatusCode::ACCEPTED);
    assert_eq!(
        from("[2001:db8:7:7::2]:40000").await,
        StatusCode::TOO_MANY_REQUESTS,
        "another address of the same /64 is the same client"
    );
    assert_eq!(
        from("[2001:db8:7:8::1]:40000").await,
        StatusCode::ACCEPTED,
        "the next /64 is another client"
    );
}

#[tokio::test]
async fn on_the_docker_bridge_and_behind_a_load_balancer_each_client_keeps_its_own_budget() {
    let backend = Kind::Embedded.make(10).await;
    // (what is in front, its TRUSTED_PROXIES, the peer the web sees, the
    // X-Forwarded-For of the client that owns the budget, and of its neighbour)
    let fronts = [
        (
            "the Docker platform: nginx reaches the container from the bridge",
            "172.17.0.0/16",
            "172.17.0.1:40000",
            ("203.0.113.20", "9.9.9.9, 203.0.113.20"),
            "203.0.113.21",
        ),
        (
            "a load balancer in the VPC, then nginx on the instance",
            "127.0.0.1/32,::1/128,172.31.0.0/16",
            "127.0.0.1:40000",
            (
                "203.0.113.30, 172.31.9.9",
                "1.2.3.4, 203.0.113.30, 172.31.9.9",
            ),
            "203.0.113.31, 172.31.9.9",
        ),
    ];
    for (front, trusted, peer, (client, spoofed), neighbour) in fronts {
        let limits = Limits {
            trusted_proxies: proxies(trusted),
            ..rate(1)
        };
        let app = limited(&backend, limits, peer);
        assert_eq!(
            send(&app, Some(client)).await.0,
            StatusCode::ACCEPTED,
            "{front}"
        );
        assert_eq!(
            send(&app, Some(neighbour)).await.0,
            StatusCode::ACCEPTED,
            "{front}: one client's send does not cost another's"
        );
        assert_eq!(
            send(&app, Some(spoofed)).await.0,
            StatusCode::TOO_MANY_REQUESTS,
            "{front}: what the client wrote on the left is not believed"
        );
    }
}

/// The answer the deadline gives when a request runs out of time carries the
/// security headers like every other (it once went out without them). It
/// waits out the real deadline (`REQUEST_TIMEOUT`, 30 s): the test tools'
/// paused clock would need a build of tokio of its own.
#[tokio::test]
async fn a_late_answer_carries_the_security_headers() {
    let backend = Kind::Embedded.make(10).await;
    let hanging = testkit::faults::backends(
        &backend.backends,
        Faults {
            read: Fault::Hangs,
            ..Faults::default()
        },
    );
    let app = web::Web::new(hanging).limits(Limits::off()).router();
    let late = app
        .oneshot(
            Request::get(format!("/messages/{}", messages::MessageId::new()))
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(late.status(), StatusCode::SERVICE_UNAVAILABLE);
    for name in [
        "content-security-policy",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
    ] {
        assert!(
            late.headers().contains_key(name),
            "the late answer lacks {name}"
        );
    }
}

/// Asking the worker for a batch by hand costs a send, so anonymous clients
/// cannot make the worker pull jobs without end (the charge comes before the
/// worker is even looked for).
#[tokio::test]
async fn each_batch_asked_for_by_hand_costs_a_send() {
    let backend = Kind::Embedded.make(10).await;
    let app = limited(&backend, rate(2), "203.0.113.40:40000");
    let ask = || {
        app.clone().oneshot(
            Request::post("/api/process-batch")
                .body(Body::empty())
                .expect("request"),
        )
    };
    for _ in 0..2 {
        let status = ask().await.expect("infallible").status();
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "no worker is configured here"
        );
    }
    assert_eq!(
        ask().await.expect("infallible").status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// A refused form is drawn again with the list, which reads the backend:
/// it is charged as a read, so a client cannot post bad forms to read
/// without limit. Over the read rate the form is drawn without the list, so
/// the refusal is still the form's own (an empty message is refused before
/// any send is charged).
#[tokio::test]
async fn a_refused_form_drawn_again_costs_a_read() {
    let backend = Kind::Embedded.make(10).await;
    let limits = Limits {
        reads_per_minute: 5,
        ..Limits::off()
    };
    let app = limited(&backend, limits, "203.0.113.50:40000");
    let empty = || {
        app.clone().oneshot(
            Request::post("/messages")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("sec-fetch-site", "same-origin")
                .body(Body::from("body=&simulate=ok"))
                .expect("request"),
        )
    };
    let first = empty().await.expect("infallible");
    assert_eq!(first.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let second = empty().await.expect("infallible");
    assert_eq!(
        second.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "the form's own refusal, not the read rate's"
    );
    let html = body_text(second).await;
    assert!(
        html.contains("The message body is empty")
            && html.contains("The list is not shown: too many requests from your address"),
        "a read budget of one at once is spent by the first page: {html}"
    );
}

async fn body_text(response: axum::response::Response) -> String {
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A form post as a browser without JavaScript sends it.
fn form(fields: &str, peer: &str) -> Request<Body> {
    from_peer(
        Request::post("/messages")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(fields.to_owned()))
            .expect("request"),
        peer,
    )
}

/// An empty or invalid message is told what is wrong with it, whatever is
/// left of the client's budgets, and costs nothing from its sends.
#[tokio::test]
async fn an_invalid_message_gets_its_own_error_before_any_rate_and_costs_no_send() {
    let backend = Kind::Embedded.make(10).await;
    let limits = Limits {
        sends_per_minute: 1,
        send_burst: 2,
        reads_per_minute: 5,
        ..Limits::off()
    };
    let app = web::Web::new(backend.backends.clone())
        .limits(limits.clone())
        .router();
    let ask = |request: Request<Body>| app.clone().oneshot(request);

    // A burst spends the sends; the page drawn once spends the reads.
    let burst = "203.0.113.60:40000";
    for _ in 0..2 {
        let sent = ask(form("body=hi&simulate=ok", burst))
            .await
            .expect("infallible");
        assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    }
    let refused = ask(form("body=more&simulate=slow&group=g-1", burst))
        .await
        .expect("infallible");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    for (fields, sentence) in [
        ("body=&simulate=ok", "The message body is empty"),
        (
            "body=%20%20&simulate=ok&count=3",
            "The message body is empty",
        ),
        ("body=hi&simulate=explode", "Simulate must be one of"),
        (
            "body=hi&simulate=ok&count=0",
            "How many to send must be a whole number",
        ),
        ("body=hi&simulate=ok&group=a%20b", "group"),
    ] {
        let answer = ask(form(fields, burst)).await.expect("infallible");
        assert_eq!(
            answer.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{fields}"
        );
        let html = body_text(answer).await;
        assert!(html.contains(sentence), "{fields}: {html}");
        assert!(!html.contains("too many messages"), "{fields}: {html}");
    }
    let api = ask(from_peer(
        Request::post("/api/messages/batch")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"body": "", "count": 5}"#))
            .expect("request"),
        burst,
    ))
    .await
    .expect("infallible");
    let api = helpers::answer(api).await;
    assert_eq!(api.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", api.body);

    // Invalid ones cost nothing: after ten, a fresh client still sends its two.
    let fresh = "203.0.113.61:40000";
    for _ in 0..10 {
        let answer = ask(form("body=&simulate=ok&count=2", fresh))
            .await
            .expect("infallible");
        assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    for _ in 0..2 {
        let sent = ask(form("body=hi&simulate=ok", fresh))
            .await
            .expect("infallible");
        assert_eq!(sent.status(), StatusCode::SEE_OTHER, "the budget is whole");
    }
    assert_eq!(helpers::every_record(&backend.backends).await.len(), 4);
}

/// Refused for the rate without JavaScript, the form is drawn again with
/// what was typed in it, even when the reads are spent too.
#[tokio::test]
async fn a_form_refused_for_the_rate_keeps_what_was_typed_even_past_the_read_rate() {
    let backend = Kind::Embedded.make(10).await;
    let limits = Limits {
        sends_per_minute: 1,
        send_burst: 3,
        reads_per_minute: 5,
        ..Limits::off()
    };
    let app = web::Web::new(backend.backends.clone())
        .limits(limits.clone())
        .router();
    let peer = "203.0.113.62:40000";
    let sent = app
        .clone()
        .oneshot(form("body=hi&simulate=ok&count=3", peer))
        .await
        .expect("infallible");
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    for _ in 0..2 {
        let refused = app
            .clone()
            .oneshot(form(
                "body=keep+%3Cme%3E&simulate=slow&group=g-7&count=3",
                peer,
            ))
            .await
            .expect("infallible");
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let html = body_text(refused).await;
        assert!(
            html.contains(">keep &#60;me&#62;</textarea>")
                || html.contains(">keep &lt;me&gt;</textarea>"),
            "{html}"
        );
        assert!(html.contains(r#"value="slow" checked"#), "{html}");
        assert!(html.contains(r#"value="g-7""#), "{html}");
        assert!(html.contains(r#"value="3""#), "{html}");
        assert!(
            html.contains("Too many messages from your address"),
            "{html}"
        );
    }
}
