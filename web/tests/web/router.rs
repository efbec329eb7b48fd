//! The web and the worker routers driven with `oneshot`, on backends that are
//! down: every failure answers a JSON error, opaque about the backend, with the
//! status that makes a client (or sqsd) try again.

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
    web::startup::app(testkit::failing::backends(), None)
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
    assert!(error.contains("status store is unavailable"), "{error}");
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
async fn process_with_the_store_down_is_a_503_so_sqsd_retries() {
    let worker = worker::routes::process_router(worker::process::WorkerState {
        store: testkit::failing::backends().store,
        max_attempts: 10,
        slow_job: std::time::Duration::ZERO,
    });
    let mut request = Request::post("/process")
        .body(Body::from(
            serde_json::json!({ "id": messages::MessageId::new(), "body": "x" }).to_string(),
        ))
        .expect("request");
    *request.headers_mut() = testkit::sqsd::delivery(1).to_headers();
    let (status, body) = call(worker, request).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body["error"]
            .as_str()
            .expect("error")
            .contains("will be retried")
    );
}
