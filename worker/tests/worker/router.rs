//! `/process` driven with `oneshot`, on a store that is down: the answer is a
//! JSON error, opaque about the backend, with a status that makes sqsd retry.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use jobs::JobSettings;
use serde_json::Value;
use tower::ServiceExt;

use crate::helpers::process_router;

#[tokio::test]
async fn process_with_the_store_down_is_a_503_so_sqsd_retries() {
    let slow_job = JobSettings::default().slow_job;
    let worker = process_router(&testkit::failing::backends(), 10, slow_job);
    let mut request = Request::post("/process")
        .body(Body::from(
            serde_json::json!({ "id": messages::MessageId::new(), "body": "x" }).to_string(),
        ))
        .expect("request");
    *request.headers_mut() = testkit::sqsd::delivery(1).to_headers();
    let response = worker.oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let body: Value = serde_json::from_slice(&bytes).expect("a JSON error");
    let error = body["error"].as_str().expect("error");
    assert!(error.contains("will be retried"), "{error}");
    assert!(
        !error.contains("test double"),
        "the cause is logged, not shown"
    );
}
