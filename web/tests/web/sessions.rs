//! The operator's sessions, HTTPS and guessing, over the router: each
//! sign-in is a session of its own, kept in the backend, so two web
//! instances on one backend agree on it, and sign-out or an expiry ends it
//! on both; under `REQUIRE_HTTPS` a credential over plain HTTP is refused and
//! changes nothing; a wrong credential costs no backend call, answers alike
//! whatever the request was about, and after a few a minute gets `429`
//! before it is even checked.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use messages::{Backends, Message, MessageId, Status};
use proptest::prelude::*;
use testkit::backends::Kind;
use testkit::on_both_backends;
use tower::ServiceExt;
use web::edge::throttle::Limits;
use web::operator::Operator;

const TOKEN: &str = "sessions-test-token-0123456789abcdef";

/// The load balancer's nginx, as `TRUSTED_PROXIES` names it in these tests.
const PROXY: &str = "127.0.0.1";

fn operator() -> Operator {
    Operator::with_token(TOKEN).expect("a valid token")
}

/// A web instance on `backends`, behind a trusted proxy at [`PROXY`].
fn web(backends: &Backends, operator: Operator) -> axum::Router {
    let limits = Limits {
        trusted_proxies: PROXY.parse().expect("an address"),
        ..Limits::off()
    };
    web::Web::new(backends.clone())
        .limits(limits.clone())
        .operator(operator)
        .router()
}

/// How a request reaches the web.
#[derive(Debug, Clone, Copy)]
enum Via {
    /// Through the proxy, which got it over HTTPS.
    Https,
    /// Through the proxy, which got it over plain HTTP.
    Http,
    /// Straight from this client, whatever it claims.
    Direct(&'static str),
}

/// What came back: the response's head and its body as text.
struct Answer {
    response: Response,
    body: String,
}

impl Answer {
    fn status(&self) -> StatusCode {
        self.response.status()
    }

    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    }

    /// The `name=value` of the session cookie it set.
    fn session(&self) -> String {
        let set = self.header(header::SET_COOKIE).expect("a session cookie");
        set.split(';').next().expect("name=value").to_owned()
    }
}

async fn send(app: &axum::Router, mut request: Request<Body>, via: Via) -> Answer {
    let peer = match via {
        Via::Https | Via::Http => PROXY,
        Via::Direct(address) => address,
    };
    let peer: std::net::IpAddr = peer.parse().expect("an address");
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(peer, 40_000)));
    let headers = request.headers_mut();
    match via {
        Via::Https => {
            headers.insert("x-forwarded-proto", "https".parse().expect("a header"));
            headers.insert("x-forwarded-for", "203.0.113.7".parse().expect("a header"));
        }
        Via::Http => {
            headers.insert("x-forwarded-proto", "http".parse().expect("a header"));
            headers.insert("x-forwarded-for", "203.0.113.7".parse().expect("a header"));
        }
        // A client that writes the proxy's headers itself is not believed.
        Via::Direct(_) => {
            headers.insert("x-forwarded-proto", "https".parse().expect("a header"));
        }
    }
    let response = app.clone().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.expect("body");
    Answer {
        response: Response::from_parts(parts, Body::empty()),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn sign_in(token: &str) -> Request<Body> {
    Request::post("/operator/sign-in")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={token}&back=/dead-letters")))
        .expect("request")
}

fn sign_out(session: &str) -> Request<Body> {
    Request::post("/operator/sign-out")
        .header(header::COOKIE, session)
        .body(Body::empty())
        .expect("request")
}

/// `POST /api/messages/{id}/retry` with `credential` as its header.
fn retry(id: &str, credential: Option<(header::HeaderName, &str)>) -> Request<Body> {
    let mut request = Request::post(format!("/api/messages/{id}/retry"));
    if let Some((name, value)) = credential {
        request = request.header(name, value);
    }
    request.body(Body::empty()).expect("request")
}

fn with_cookie(id: MessageId, session: &str) -> Request<Body> {
    retry(&id.to_string(), Some((header::COOKIE, session)))
}

fn the_page(session: &str) -> Request<Body> {
    Request::get("/dead-letters")
        .header(header::COOKIE, session)
        .body(Body::empty())
        .expect("request")
}

async fn failed(backends: &Backends) -> Message {
    testkit::seed::failed(backends, "broken", 3).await
}

async fn status_of(backends: &Backends, message: &Message) -> Status {
    backends
        .store
        .get(message.id)
        .await
        .expect("get")
        .expect("kept")
        .status
}

/// Two web instances behind one load balancer, on one backend (each with
/// its own connection, as two processes have): a session begun on one acts
/// on the other, and signing out on one ends it on both.
async fn a_session_is_one_on_every_instance_and_sign_out_ends_it_everywhere(kind: Kind) {
    let backend = kind.make(10).await;
    let one = web(&backend.backends, operator());
    let other = web(&backend.second_connection(10), operator());
    let first = failed(&backend.backends).await;
    let second = failed(&backend.backends).await;

    let signed_in = send(&one, sign_in(TOKEN), Via::Https).await;
    assert_eq!(
        signed_in.status(),
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    let session = signed_in.session();
    let again = send(&one, sign_in(TOKEN), Via::Https).await.session();
    assert_ne!(session, again, "each sign-in is a session of its own");
    assert!(session.starts_with("__Host-operator=") && !session.contains(TOKEN));

    let acted = send(&other, with_cookie(first.id, &session), Via::Https).await;
    assert_eq!(acted.status(), StatusCode::ACCEPTED, "{}", acted.body);
    assert_eq!(status_of(&backend.backends, &first).await, Status::Pending);
    let page = send(&other, the_page(&session), Via::Https).await;
    assert!(
        page.body.contains("id=\"sign-out\""),
        "signed in on the other page"
    );
    assert_eq!(page.header(header::CACHE_CONTROL), Some("no-store"));

    let out = send(&other, sign_out(&session), Via::Https).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER, "{}", out.body);
    let cleared = out
        .header(header::SET_COOKIE)
        .expect("the cookie is cleared");
    assert!(cleared.starts_with("__Host-operator=;") && cleared.contains("Max-Age=0"));
    assert_eq!(out.header(header::CACHE_CONTROL), Some("no-store"));

    // An old copy of the cookie signs nobody in, on either instance.
    for app in [&one, &other] {
        let refused = send(app, with_cookie(second.id, &session), Via::Https).await;
        assert_eq!(
            refused.status(),
            StatusCode::UNAUTHORIZED,
            "{}",
            refused.body
        );
    }
    assert_eq!(status_of(&backend.backends, &second).await, Status::Fail);
    // The page forgets it, and shows the sign-in form.
    let page = send(&one, the_page(&session), Via::Https).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.body.contains("id=\"sign-in\""), "signed out");
    assert!(
        page.header(header::SET_COOKIE)
            .is_some_and(|set| set.starts_with("__Host-operator=;")),
        "the page clears a cookie that no longer signs in"
    );
    // The other sign-in is its own session, still live.
    let acted = send(&one, with_cookie(second.id, &again), Via::Https).await;
    assert_eq!(acted.status(), StatusCode::ACCEPTED, "{}", acted.body);
}

/// A session ends after its idle time unused, and at its end however used.
async fn an_expired_session_is_refused(kind: Kind) {
    let backend = kind.make(10).await;
    let message = failed(&backend.backends).await;
    // Idle for 1 s; a lifetime of 3 s.
    let short = operator().session_times(Duration::from_secs(3), Duration::from_secs(1));
    let app = web(&backend.backends, short);

    let idle = send(&app, sign_in(TOKEN), Via::Https).await.session();
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let refused = send(&app, with_cookie(message.id, &idle), Via::Https).await;
    assert_eq!(
        refused.status(),
        StatusCode::UNAUTHORIZED,
        "idle: {}",
        refused.body
    );

    let used = send(&app, sign_in(TOKEN), Via::Https).await.session();
    let started = tokio::time::Instant::now();
    // A delete's confirmation page: a use that reads nothing but the session.
    let confirm = || {
        Request::post("/messages/act")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, &used)
            .body(Body::from(format!("action=delete&id={}", message.id)))
            .expect("request")
    };
    let mut uses = 0;
    while started.elapsed() < Duration::from_millis(2_500) {
        let page = send(&app, confirm(), Via::Https).await;
        assert_eq!(
            page.status(),
            StatusCode::OK,
            "used within its idle time: {}",
            page.body
        );
        uses += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        uses >= 3,
        "kept alive by use past its idle time ({uses} uses)"
    );
    // Used every quarter second, yet past its lifetime of 3 s.
    tokio::time::sleep_until(started + Duration::from_millis(3_200)).await;
    let refused = send(&app, confirm(), Via::Https).await;
    assert_eq!(
        refused.status(),
        StatusCode::UNAUTHORIZED,
        "ended: {}",
        refused.body
    );
    let refused = send(&app, with_cookie(message.id, &used), Via::Https).await;
    assert_eq!(
        refused.status(),
        StatusCode::UNAUTHORIZED,
        "ended: {}",
        refused.body
    );
    assert_eq!(status_of(&backend.backends, &message).await, Status::Fail);
}

/// Under `REQUIRE_HTTPS`, a sign-in or a credential over plain HTTP is
/// refused and changes nothing; over HTTPS it works, with HSTS.
async fn under_require_https_plain_http_is_refused_and_changes_nothing(kind: Kind) {
    let backend = kind.make(10).await;
    let backends = &backend.backends;
    let message = failed(backends).await;
    let app = web(backends, operator().requiring_https(true));
    let bearer = format!("Bearer {TOKEN}");
    let id = message.id.to_string();

    for via in [Via::Http, Via::Direct("203.0.113.9")] {
        let refused = send(&app, sign_in(TOKEN), via).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{via:?}");
        assert!(
            refused.body.contains("https://"),
            "{via:?}: {}",
            refused.body
        );
        assert!(refused.header(header::SET_COOKIE).is_none(), "no session");
        let refused = send(
            &app,
            retry(&id, Some((header::AUTHORIZATION, &bearer))),
            via,
        )
        .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{via:?}");
        assert!(refused.body.contains("https://"), "{}", refused.body);
        assert!(refused.header(header::STRICT_TRANSPORT_SECURITY).is_none());
    }
    assert_eq!(
        status_of(backends, &message).await,
        Status::Fail,
        "nothing changed"
    );

    let signed_in = send(&app, sign_in(TOKEN), Via::Https).await;
    assert_eq!(
        signed_in.status(),
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    let session = signed_in.session();
    assert_eq!(
        signed_in.header(header::STRICT_TRANSPORT_SECURITY),
        Some("max-age=31536000; includeSubDomains")
    );
    // The session's cookie over plain HTTP is refused too.
    let refused = send(&app, with_cookie(message.id, &session), Via::Http).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(status_of(backends, &message).await, Status::Fail);

    let retried = send(
        &app,
        retry(&id, Some((header::AUTHORIZATION, &bearer))),
        Via::Https,
    )
    .await;
    assert_eq!(retried.status(), StatusCode::ACCEPTED, "{}", retried.body);
    assert_eq!(
        retried.header(header::STRICT_TRANSPORT_SECURITY),
        Some("max-age=31536000; includeSubDomains")
    );
    assert_eq!(status_of(backends, &message).await, Status::Pending);
}

/// Five wrong sign-ins a minute are answered; the sixth is `429` with
/// `Retry-After`, and so is the right token then: it is not even checked.
async fn the_sixth_wrong_sign_in_in_a_minute_is_429(kind: Kind) {
    let backend = kind.make(10).await;
    let app = web(&backend.backends, operator());
    let wrong = "not-the-token-0123456789abcdef0123456";
    for attempt in 1..=5 {
        let refused = send(&app, sign_in(wrong), Via::Https).await;
        assert_eq!(
            refused.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
        assert!(
            refused.body.contains("not the operator token"),
            "{}",
            refused.body
        );
    }
    let too_many = send(&app, sign_in(wrong), Via::Https).await;
    assert_eq!(
        too_many.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        too_many.body
    );
    let wait: u32 = too_many
        .header(header::RETRY_AFTER)
        .and_then(|seconds| seconds.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(too_many.body.contains("wait"), "{}", too_many.body);
    let right = send(&app, sign_in(TOKEN), Via::Https).await;
    assert_eq!(
        right.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the right token waits too"
    );
    assert!(right.header(header::SET_COOKIE).is_none());
    // A wrong bearer token counts against the same budget.
    let bearer = send(
        &app,
        retry(
            &MessageId::new().to_string(),
            Some((header::AUTHORIZATION, "Bearer x")),
        ),
        Via::Https,
    )
    .await;
    assert_eq!(bearer.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another client has its own budget.
    let elsewhere = send(&app, sign_in(TOKEN), Via::Direct("198.51.100.4")).await;
    assert_eq!(
        elsewhere.status(),
        StatusCode::SEE_OTHER,
        "{}",
        elsewhere.body
    );
}

/// A wrong credential is one answer, whether the id names a failed message,
/// no message, or nothing that is an id: no oracle of what exists.
async fn a_wrong_credential_gets_one_answer_whatever_the_id(kind: Kind) {
    let backend = kind.make(10).await;
    let message = failed(&backend.backends).await;
    let app = web(&backend.backends, operator().guessing_at(0));
    let wrong = "Bearer wrong-token-0123456789abcdef0123";
    let mut answers = Vec::new();
    for id in [
        message.id.to_string(),
        MessageId::new().to_string(),
        "nope".to_owned(),
    ] {
        let answer = send(
            &app,
            retry(&id, Some((header::AUTHORIZATION, wrong))),
            Via::Https,
        )
        .await;
        answers.push((answer.status(), answer.body));
        let delete = Request::delete(format!("/api/messages/{id}"))
            .header(header::AUTHORIZATION, wrong)
            .body(Body::empty())
            .expect("request");
        let answer = send(&app, delete, Via::Https).await;
        answers.push((answer.status(), answer.body));
    }
    assert_eq!(answers[0].0, StatusCode::UNAUTHORIZED, "{}", answers[0].1);
    assert!(
        answers.iter().all(|answer| *answer == answers[0]),
        "{answers:#?}"
    );
    assert_eq!(status_of(&backend.backends, &message).await, Status::Fail);
}

/// A token change ends every session: a cookie sealed under the old token
/// signs nobody in under the new one.
async fn a_new_token_ends_every_session(kind: Kind) {
    let backend = kind.make(10).await;
    let message = failed(&backend.backends).await;
    let before = web(&backend.backends, operator());
    let session = send(&before, sign_in(TOKEN), Via::Https).await.session();
    let new_token = "a-new-operator-token-0123456789abcdef";
    let after = web(
        &backend.backends,
        Operator::with_token(new_token).expect("valid"),
    );
    let refused = send(&after, with_cookie(message.id, &session), Via::Https).await;
    assert_eq!(
        refused.status(),
        StatusCode::UNAUTHORIZED,
        "{}",
        refused.body
    );
    assert_eq!(status_of(&backend.backends, &message).await, Status::Fail);
}

on_both_backends!(
    a_session_is_one_on_every_instance_and_sign_out_ends_it_everywhere,
    an_expired_session_is_refused,
    under_require_https_plain_http_is_refused_and_changes_nothing,
    the_sixth_wrong_sign_in_in_a_minute_is_429,
    a_wrong_credential_gets_one_answer_whatever_the_id,
    a_new_token_ends_every_session,
);

/// Wrong guesses of every kind, on backends that are down and count every
/// call: each is refused without a single backend call.
#[tokio::test]
async fn a_wrong_guess_makes_no_backend_call() {
    let (backends, calls) = testkit::failing::backends_counting();
    let app = web(&backends, operator().guessing_at(0));
    let id = MessageId::new().to_string();
    let wrong_bearer = "Bearer wrong-token-0123456789abcdef0123";
    let forged = format!("__Host-operator={}.{}", "0".repeat(64), "1".repeat(64));
    let guesses = vec![
        retry(&id, Some((header::AUTHORIZATION, wrong_bearer))),
        retry("nope", Some((header::AUTHORIZATION, wrong_bearer))),
        retry(&id, Some((header::AUTHORIZATION, TOKEN))),
        retry(&id, Some((header::COOKIE, &forged))),
        Request::delete(format!("/api/messages/{id}"))
            .header(header::AUTHORIZATION, wrong_bearer)
            .body(Body::empty())
            .expect("request"),
        Request::post("/api/dead-letters/redrive")
            .header(header::COOKIE, &forged)
            .body(Body::empty())
            .expect("request"),
        Request::post("/messages/act")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, &forged)
            .body(Body::from(format!("action=retry&id={id}")))
            .expect("request"),
        Request::post("/dead-letters/redrive")
            .header(header::AUTHORIZATION, wrong_bearer)
            .body(Body::from("confirmed=yes"))
            .expect("request"),
        sign_in("not-the-token-0123456789abcdef0123456"),
    ];
    for request in guesses {
        let path = request.uri().path().to_owned();
        let answer = send(&app, request, Via::Https).await;
        assert_eq!(
            answer.status(),
            StatusCode::UNAUTHORIZED,
            "{path}: {}",
            answer.body
        );
    }
    assert_eq!(calls.load(Ordering::Relaxed), 0, "no backend was called");
    // The same backends do answer a right one: they are really there.
    let right = send(
        &app,
        retry(
            &id,
            Some((header::AUTHORIZATION, &format!("Bearer {TOKEN}"))),
        ),
        Via::Https,
    )
    .await;
    assert_eq!(
        right.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        right.body
    );
    assert!(calls.load(Ordering::Relaxed) > 0);
}

/// The answer to one request, on a runtime of the case's own.
fn answer_now(request: Request<Body>) -> (StatusCode, bool) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let (backends, calls) = testkit::failing::backends_counting();
        let app = web(&backends, operator());
        let answer = send(&app, request, Via::Https).await;
        (answer.status(), calls.load(Ordering::Relaxed) > 0)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any bytes as `Authorization` or as the session cookie, on an action:
    /// refused (`401`) without a panic and without a backend call, never
    /// signed in.
    #[test]
    fn any_credential_bytes_never_sign_in(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        as_cookie in any::<bool>(),
    ) {
        let (name, value) = if as_cookie {
            let mut value = b"__Host-operator=".to_vec();
            value.extend_from_slice(&bytes);
            (header::COOKIE, value)
        } else {
            (header::AUTHORIZATION, bytes)
        };
        let Ok(value) = axum::http::HeaderValue::from_bytes(&value) else {
            return Ok(());
        };
        let request = Request::post(format!("/api/messages/{}/retry", MessageId::new()))
            .header(name, value)
            .body(Body::empty())
            .expect("request");
        let (status, called) = answer_now(request);
        prop_assert!(
            status == StatusCode::UNAUTHORIZED,
            "{status}"
        );
        prop_assert!(!called, "a backend was called");
    }
}
