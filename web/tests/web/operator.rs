//! The operator's actions over the router, on both backends: without the
//! credential nothing changes; with it a failed message is retried (a new
//! job on the queue) or deleted, a delete asks for confirmation first, a
//! retry whose enqueue fails leaves the message failed, and "redrive all"
//! moves the dead-letter queue back at its bounded rate.

use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use messages::{Backends, JobPayload, Message, Status};
use testkit::backends::Kind;
use testkit::faults::{Fault, Faults};
use testkit::on_both_backends;
use tower::ServiceExt;
use web::edge::throttle::Limits;
use web::operator::Operator;

const TOKEN: &str = "test-operator-token-0123456789abcdef";

fn web(backends: &Backends, operator: Operator) -> axum::Router {
    web::Web::new(backends.clone())
        .limits(Limits::off())
        .operator(operator)
        .router()
}

fn with_token() -> Operator {
    Operator::with_token(TOKEN).expect("a valid token")
}

async fn call(app: axum::Router, request: Request<Body>) -> (Response, String) {
    let response = app.oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.expect("body");
    (
        Response::from_parts(parts, Body::empty()),
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// A message recorded as failed after three attempts, with no job queued.
async fn failed(backends: &Backends) -> Message {
    testkit::seed::failed(backends, "broken", 3).await
}

fn retry_request(message: &Message, authorization: Option<&str>) -> Request<Body> {
    let mut request = Request::post(format!("/api/messages/{}/retry", message.id));
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    request.body(Body::empty()).expect("request")
}

fn act_form(body: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/messages/act")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::from(body.to_owned())).expect("request")
}

async fn jobs_on_the_queue(backends: &Backends) -> Vec<JobPayload> {
    backends
        .queue
        .receive(10, Duration::from_millis(500), Duration::from_secs(30))
        .await
        .expect("receive")
        .into_iter()
        .map(|received| JobPayload::from_json(received.body.as_bytes()).expect("a job"))
        .collect()
}

async fn an_action_without_the_credential_changes_nothing(kind: Kind) {
    let backend = kind.make(10).await;
    let backends = &backend.backends;
    let message = failed(backends).await;
    let delete = || {
        Request::delete(format!("/api/messages/{}", message.id))
            .body(Body::empty())
            .expect("request")
    };
    // No credential configured: refused, with how to enable it.
    let off = web(backends, Operator::off());
    let (response, body) = call(
        off.clone(),
        retry_request(&message, Some("Bearer anything-at-all-0123456789abcdef")),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(body.contains("OPERATOR_TOKEN"), "{body}");
    let (response, _) = call(off.clone(), delete()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (response, body) = call(
        off,
        act_form(&format!("action=retry&id={}", message.id), None),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(body.contains("OPERATOR_TOKEN"), "the page says how: {body}");

    // A credential configured, and none or a wrong one shown.
    let on = web(backends, with_token());
    for authorization in [
        None,
        Some("Bearer wrong-token-0123456789abcdef0123"),
        Some(TOKEN),
    ] {
        let (response, body) = call(on.clone(), retry_request(&message, authorization)).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{authorization:?}"
        );
        assert!(body.contains("nothing was changed"), "{body}");
    }
    let (response, _) = call(on.clone(), delete()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // The old cookie (a digest of the token), the token as a session, and a
    // session cookie this web never sealed: none signs in.
    let forged_session = format!("__Host-operator={}.{}", "a".repeat(64), "b".repeat(64));
    for forged in [
        format!("operator={TOKEN}"),
        format!("__Host-operator={TOKEN}"),
        forged_session,
    ] {
        let (response, _) = call(
            on.clone(),
            act_form(
                &format!("action=delete&id={}&confirmed=yes", message.id),
                Some(&forged),
            ),
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{forged}");
    }

    assert_eq!(
        backends.store.get(message.id).await.expect("get"),
        Some(message),
        "the message is as it was"
    );
    assert!(
        jobs_on_the_queue(backends).await.is_empty(),
        "and nothing was enqueued"
    );
}

async fn the_operator_retries_a_failed_message_with_a_new_job_and_only_a_failed_one(kind: Kind) {
    let backend = kind.make(10).await;
    let backends = &backend.backends;
    let message = failed(backends).await;
    let app = web(backends, with_token());
    let bearer = format!("Bearer {TOKEN}");
    let (response, body) = call(app.clone(), retry_request(&message, Some(&bearer))).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{body}");
    let retried: Message = serde_json::from_str(&body).expect("the message");
    assert_eq!(
        (
            retried.status,
            retried.attempts,
            retried.retries,
            retried.error
        ),
        (Status::Pending, 3, 1, None)
    );
    let jobs = jobs_on_the_queue(backends).await;
    assert_eq!(jobs, vec![message.job()], "one new job for it");

    // Pending now: a second retry, or a delete, is refused and changes nothing.
    let (response, body) = call(app.clone(), retry_request(&message, Some(&bearer))).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(body.contains("only a failed message"), "{body}");
    let delete = Request::delete(format!("/api/messages/{}", message.id))
        .header(header::AUTHORIZATION, &bearer)
        .body(Body::empty())
        .expect("request");
    let (response, _) = call(app.clone(), delete).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(
        backends
            .store
            .get(message.id)
            .await
            .expect("get")
            .map(|m| m.status),
        Some(Status::Pending)
    );
    let unknown = Request::post(format!(
        "/api/messages/{}/retry",
        messages::MessageId::new()
    ))
    .header(header::AUTHORIZATION, &bearer)
    .body(Body::empty())
    .expect("request");
    let (response, _) = call(app, unknown).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

async fn a_browser_signs_in_and_a_delete_asks_for_confirmation_first(kind: Kind) {
    let backend = kind.make(10).await;
    let backends = &backend.backends;
    let message = failed(backends).await;
    let app = web(backends, with_token());
    let sign_in = |token: &str| {
        Request::post("/operator/sign-in")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={token}&back=/dead-letters")))
            .expect("request")
    };
    let (response, body) = call(app.clone(), sign_in("not-the-token-0123456789abcdef012345")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get(header::SET_COOKIE).is_none());
    assert!(body.contains("not the operator token"), "{body}");

    let (response, _) = call(app.clone(), sign_in(TOKEN)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|value| value.to_str().ok())
        .expect("a session cookie")
        .to_owned();
    for attribute in [
        "__Host-operator=",
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
    ] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert_eq!(
        response
            .headers()
            .get(header::CACHE_CONTROL)
            .and_then(|value| value.to_str().ok()),
        Some("no-store")
    );
    assert!(
        !cookie.contains(TOKEN),
        "the cookie does not hold the token"
    );
    let session = cookie.split(';').next().expect("name=value").to_owned();

    let delete = format!(
        "action=delete&id={}&back=/messages/{}",
        message.id, message.id
    );
    let (response, body) = call(app.clone(), act_form(&delete, Some(&session))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        body.contains("Delete 1 failed message?") && body.contains("Cancel"),
        "{body}"
    );
    assert!(
        backends.store.get(message.id).await.expect("get").is_some(),
        "not yet"
    );

    let (response, _) = call(
        app,
        act_form(&format!("{delete}&confirmed=yes"), Some(&session)),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response
            .headers()
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok()),
        Some("/dead-letters?deleted=1")
    );
    assert_eq!(backends.store.get(message.id).await.expect("get"), None);
}

async fn a_retry_whose_enqueue_fails_leaves_the_message_failed(kind: Kind) {
    let backend = kind.make(10).await;
    let message = failed(&backend.backends).await;
    let faulty = testkit::faults::backends(
        &backend.backends,
        Faults {
            send: Fault::Refused,
            ..Faults::default()
        },
    );
    let bearer = format!("Bearer {TOKEN}");
    let (response, body) = call(
        web(&faulty, with_token()),
        retry_request(&message, Some(&bearer)),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("marked failed again"), "{body}");
    let now = backend
        .backends
        .store
        .get(message.id)
        .await
        .expect("get")
        .expect("kept");
    assert_eq!((now.status, now.retries), (Status::Fail, 1));
    assert!(
        now.error
            .is_some_and(|error| error.contains("could not be enqueued"))
    );
}

/// Jobs the queue gave up on are moved back by "redrive all", and the
/// pipeline shows the dead-letter queue fill and empty.
async fn redrive_moves_the_dead_letter_queue_back(kind: Kind) {
    let backend = kind.make(1).await;
    let backends = &backend.backends;
    for n in 0..3 {
        backends
            .queue
            .send(&format!("job {n}"))
            .await
            .expect("send");
    }
    // One receive each is the limit: the next receive dead-letters them.
    let received = backends
        .queue
        .receive(10, Duration::from_secs(2), Duration::ZERO)
        .await
        .expect("receive");
    assert_eq!(received.len(), 3);
    assert!(jobs_on_the_queue(backends).await.is_empty());
    let app = web(backends, with_token());
    let pipeline = || {
        Request::get("/api/pipeline")
            .body(Body::empty())
            .expect("request")
    };
    let (_, body) = call(app.clone(), pipeline()).await;
    let shown: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(shown["dead_letters"], 3, "{shown}");
    assert_eq!(shown["worker"], "sqsd");

    let redrive = || {
        Request::post("/api/dead-letters/redrive")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .expect("request")
    };
    let (response, body) = call(app.clone(), redrive()).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{body}");
    let mut progress = serde_json::Value::Null;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (_, body) = call(app.clone(), pipeline()).await;
        progress =
            serde_json::from_str::<serde_json::Value>(&body).expect("json")["redrive"].clone();
        if progress["running"] == false {
            break;
        }
    }
    assert_eq!(progress["moved"], 3, "{progress}");
    assert_eq!(progress["error"], serde_json::Value::Null);
    let dead_letters = backends
        .queue
        .dead_letter_queue()
        .await
        .expect("find")
        .expect("there is one");
    assert_eq!(dead_letters.depth().await.expect("depth"), 0);
    let mut bodies: Vec<String> = backends
        .queue
        .receive(10, Duration::from_secs(2), Duration::from_secs(30))
        .await
        .expect("receive")
        .into_iter()
        .map(|received| received.body)
        .collect();
    bodies.sort();
    assert_eq!(bodies, ["job 0", "job 1", "job 2"]);
}

on_both_backends!(
    an_action_without_the_credential_changes_nothing,
    the_operator_retries_a_failed_message_with_a_new_job_and_only_a_failed_one,
    a_browser_signs_in_and_a_delete_asks_for_confirmation_first,
    a_retry_whose_enqueue_fails_leaves_the_message_failed,
    redrive_moves_the_dead_letter_queue_back,
);

/// The failures page's look at the dead-letter queue is the instance's
/// shared one (on SQS each look is up to five receives, and anyone may load
/// the page): a dead letter that arrives right after a view is not looked
/// for again by the next view, only once the shared look is old.
#[tokio::test]
async fn views_of_the_failures_page_share_one_look_at_the_dead_letter_queue() {
    let backend = Kind::Embedded.make(1).await;
    let backends = &backend.backends;
    let dead_letter = |text: &'static str| async move {
        backends.queue.send(text).await.expect("send");
        // One receive is the limit: the next receive dead-letters it.
        backends
            .queue
            .receive(10, Duration::from_secs(2), Duration::ZERO)
            .await
            .expect("receive");
        backends
            .queue
            .receive(10, Duration::ZERO, Duration::ZERO)
            .await
            .expect("receive");
    };
    dead_letter("first dead letter").await;
    let app = web(backends, Operator::off());
    let view = || async {
        let request = Request::get("/dead-letters")
            .body(Body::empty())
            .expect("request");
        call(app.clone(), request).await.1
    };
    assert!(view().await.contains("first dead letter"));
    dead_letter("second dead letter").await;
    assert!(
        !view().await.contains("second dead letter"),
        "the second view made a look of its own"
    );
    tokio::time::sleep(web::dashboard::snapshot::DEAD_LETTERS_MAX_AGE).await;
    assert!(
        view().await.contains("second dead letter"),
        "the look is renewed"
    );
}
