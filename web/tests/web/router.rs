//! The web's router driven with `oneshot`, on backends that are down: every
//! failure answers a JSON error (an HTML page on the browser's routes),
//! opaque about the backend, with the status that makes a client try again.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

async fn call(app: axum::Router, request: Request<Body>) -> (StatusCode, Value) {
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

fn web() -> axum::Router {
    web::Web::new(testkit::failing::backends()).router()
}

#[tokio::test]
async fn health_answers_ok_even_with_the_backends_down() {
    let (status, body) = call(
        web(),
        Request::get("/health")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn sending_with_the_store_down_is_a_503_that_hides_the_backend() {
    let request = Request::post("/api/messages")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"body": "hi"}"#))
        .expect("request");
    let (status, body) = call(web(), request).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let error = body["error"].as_str().expect("error");
    // Refused, then not readable: whether the record was written is not
    // known, and the answer says so (`truthful.rs` has the other cases).
    assert!(
        error.contains("status store did not answer") && error.contains("not known"),
        "{error}"
    );
    assert!(
        !error.contains("test double"),
        "the cause is logged, not shown: {error}"
    );
}

#[tokio::test]
async fn listing_and_reading_with_the_store_down_are_503s() {
    for uri in [
        "/api/messages",
        &format!("/api/messages/{}", messages::MessageId::new()),
    ] {
        let (status, body) = call(
            web(),
            Request::get(uri).body(Body::empty()).expect("request"),
        )
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert!(body["error"].is_string());
    }
}

#[tokio::test]
async fn validation_answers_before_any_backend_is_touched() {
    let request = Request::post("/api/messages")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"body": ""}"#))
        .expect("request");
    let (status, _) = call(web(), request).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_browser_route_answers_its_error_as_a_page() {
    let request = Request::get(format!("/messages/{}", messages::MessageId::new()))
        .body(Body::empty())
        .expect("request");
    let response = web().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let html = String::from_utf8_lossy(&bytes);
    assert!(html.contains("status store is unavailable"), "{html}");
    assert!(
        !html.contains("test double"),
        "the cause is logged, not shown"
    );
}

#[tokio::test]
async fn a_form_over_the_size_limit_is_a_413_page_that_says_the_limits() {
    let body = format!("body={}", "x".repeat(300 * 1024));
    let request = Request::post("/messages")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("request");
    let response = web().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let html = String::from_utf8_lossy(&bytes);
    assert!(html.contains("256 KiB"), "{html}");
}

#[tokio::test]
async fn an_unknown_address_is_a_404_that_says_where_to_go() {
    let (status, body) = call(
        web(),
        Request::get("/api/nothing/here")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|error| error.contains("/api/messages")),
        "{body}"
    );

    let response = web()
        .oneshot(
            Request::get("/no/such/page")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let page = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let page = String::from_utf8_lossy(&page);
    assert!(page.contains("no page at this address"), "{page}");
}

/// A router whose every route answers after `delay`, behind the web's deadline of 50 ms.
fn slow(delay: std::time::Duration) -> axum::Router {
    async fn wait(
        axum::extract::State(delay): axum::extract::State<std::time::Duration>,
    ) -> &'static str {
        tokio::time::sleep(delay).await;
        "done"
    }
    axum::Router::new()
        .route("/api/thing", axum::routing::get(wait).post(wait))
        .route("/thing", axum::routing::get(wait).post(wait))
        .with_state(delay)
        .layer(axum::middleware::from_fn_with_state(
            std::time::Duration::from_millis(50),
            web::routes::deadline::answer_within,
        ))
}

#[tokio::test]
async fn a_late_answer_is_a_503_that_says_what_may_still_happen() {
    let late = std::time::Duration::from_secs(5);
    let post = Request::post("/api/thing")
        .body(Body::empty())
        .expect("request");
    let (status, body) = call(slow(late), post).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let error = body["error"]
        .as_str()
        .expect("a JSON error, not an empty body");
    assert!(
        error.contains("may still be recorded") && error.contains("before you send it again"),
        "a late send may still go through, and the answer must say so: {error}"
    );
    let get = Request::get("/api/thing")
        .body(Body::empty())
        .expect("request");
    let (status, body) = call(slow(late), get).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|error| error.contains("Try again")),
        "{body}"
    );

    let page = Request::post("/thing")
        .body(Body::empty())
        .expect("request");
    let response = slow(late).oneshot(page).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let html = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let html = String::from_utf8_lossy(&html);
    assert!(
        html.contains("<html") && html.contains("may still be recorded"),
        "the browser gets a page with the sentence: {html}"
    );

    let (status, _) = call(
        slow(std::time::Duration::ZERO),
        Request::get("/api/thing")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "an answer in time passes through");
}

/// A browser that accepts gzip gets the page and its assets gzipped (tiny
/// answers, like `/health`'s, are not worth it and go as they are); the page
/// links its icon, which is served.
#[tokio::test]
async fn responses_are_gzipped_when_asked_and_the_icon_is_served() {
    for path in ["/", "/static/app.js", "/static/app.css"] {
        let request = Request::get(path)
            .header("accept-encoding", "gzip")
            .body(Body::empty())
            .expect("request");
        let response = web().oneshot(request).await.expect("infallible");
        assert_eq!(
            response
                .headers()
                .get("content-encoding")
                .map(|value| value.as_bytes()),
            Some(&b"gzip"[..]),
            "{path} is gzipped"
        );
    }
    let plain = web()
        .oneshot(Request::get("/").body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    assert!(
        plain.headers().get("content-encoding").is_none(),
        "not unless asked"
    );
    let page = String::from_utf8(
        to_bytes(plain.into_body(), usize::MAX)
            .await
            .expect("body")
            .to_vec(),
    )
    .expect("UTF-8");
    assert!(page.contains(r#"<link rel="icon" type="image/svg+xml" href="/static/favicon.svg?v="#));
    let icon = web()
        .oneshot(
            Request::get("/static/favicon.svg")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(icon.status(), StatusCode::OK);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
}
