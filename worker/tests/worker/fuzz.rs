//! Property-based tests of the worker's parsers of outside input: any bytes
//! as sqsd's headers or a job's body get a 4xx with a sentence, or reach the
//! store, which is down here (a 503). Never a panic, never a 500. sqsd retries
//! any non-200 and dead-letters what keeps failing, so a 4xx is a safe answer.

use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::http::{HeaderValue, Request, StatusCode, header};
use proptest::prelude::*;
use tower::ServiceExt;

use crate::helpers::process_router;

/// Bytes HTTP allows in a header value.
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![0x20_u8..=0x7e, 0x80_u8..=0xff], 0..40)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_delivery_to_process_gets_a_sentence(
        body in proptest::collection::vec(any::<u8>(), 0..300),
        msgid in header_bytes(),
        count in header_bytes(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let (status, text) = runtime.block_on(async {
            let worker = process_router(&testkit::failing::backends(), 10, Duration::ZERO);
            let mut request = Request::post("/process")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body))
                .expect("a request");
            let headers = request.headers_mut();
            headers.insert("x-aws-sqsd-msgid", HeaderValue::from_bytes(&msgid).expect("allowed bytes"));
            headers.insert("x-aws-sqsd-receive-count", HeaderValue::from_bytes(&count).expect("allowed bytes"));
            let response = worker.oneshot(request).await.expect("infallible");
            let status = response.status();
            let bytes = to_bytes(response.into_body(), usize::MAX).await.expect("a body");
            (status, String::from_utf8_lossy(&bytes).into_owned())
        });
        prop_assert!(
            status.is_client_error() || status == StatusCode::SERVICE_UNAVAILABLE,
            "{status}: {text}"
        );
        prop_assert!(text.contains("\"error\""), "{status} with no sentence: {text:?}");
    }
}
