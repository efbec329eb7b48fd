//! A job's own input, read from the stored record: `greet` takes JSON. A
//! stored body its job cannot take (a record written before the job took
//! the input it takes now, say; the web refuses such a body today) fails
//! for good on its first delivery with the sentence that says why, since no
//! retry makes it parse.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use jobs::JobSettings;
use messages::{JobKind, Status};
use tower::ServiceExt;

use crate::helpers::process_router;

#[tokio::test]
async fn a_job_runs_on_the_input_parsed_from_the_stored_body() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let backends = messages_embedded::backends(dir.path(), 10).expect("open");
    let worker = process_router(&backends, 3, JobSettings::default().slow_job);
    let greeting = testkit::seed::sent(&backends, r#"{"name": "Ada"}"#, JobKind::Greet).await;
    let unreadable = testkit::seed::sent(&backends, "Ada", JobKind::Greet).await;

    for message in [&greeting, &unreadable] {
        let mut request = Request::post("/process")
            .body(Body::from(message.job().to_json()))
            .expect("request");
        *request.headers_mut() = testkit::sqsd::delivery(1).to_headers();
        let response = worker.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let body = to_bytes(response.into_body(), usize::MAX).await;
        assert_eq!(status, StatusCode::OK, "{body:?}");
    }

    let read = |id| {
        let store = std::sync::Arc::clone(&backends.store);
        async move { store.get(id).await.expect("get").expect("exists") }
    };
    assert_eq!(read(greeting.id).await.status, Status::Complete);
    let failed = read(unreadable.id).await;
    assert_eq!(failed.status, Status::Fail);
    assert_eq!(failed.attempts, 1, "no retry for a body that cannot parse");
    let error = failed.error.unwrap_or_default();
    assert!(error.contains("must be JSON"), "{error}");
    assert!(error.contains("greet"), "{error}");
}
