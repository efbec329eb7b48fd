//! Property-based tests of every parser of outside input the web has: any
//! bytes as a JSON body, a form, a query or a path segment get an answer that
//! says what is wrong (a 4xx with a sentence), or reach the backends, which
//! are down here (a 503). Never a panic, never a 500. The router runs on
//! backends that are down, so nothing a case sends is ever stored.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use proptest::prelude::*;
use tower::ServiceExt;

/// The answer's status and body, on a runtime of the case's own.
fn answer(request: Request<Body>) -> (StatusCode, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let app = web::Web::new(testkit::failing::backends()).router();
        let response = app.oneshot(request).await.expect("infallible");
        let status = response.status();
        let bytes = to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        (status, String::from_utf8_lossy(&bytes).into_owned())
    })
}

/// A refusal says what is wrong; an accepted input meets the backends, down.
fn check(status: StatusCode, body: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        status.is_client_error() || status == StatusCode::SERVICE_UNAVAILABLE,
        "{status}: {body}"
    );
    prop_assert!(body.len() > 20, "{status} with no sentence: {body:?}");
    Ok(())
}

/// As [`check`], where a valid request may also be answered without a
/// backend (a live-page poll that asks for nothing).
fn check_read(status: StatusCode, body: &str) -> Result<(), TestCaseError> {
    if status.is_success() {
        return Ok(());
    }
    check(status, body)
}

/// Text that can sit in a URL's path or query as it is.
fn url_text() -> impl Strategy<Value = String> {
    "[!#-~&&[^?#]]{0,60}".prop_map(|text| text.replace(' ', "%20"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_bytes_posted_to_the_api_get_a_sentence(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        for path in ["/api/messages", "/api/messages/batch"] {
            let request = Request::post(path)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.clone()))
                .expect("a request");
            let (status, text) = answer(request);
            check(status, &text)?;
        }
    }

    #[test]
    fn any_json_object_posted_to_the_api_gets_a_sentence(
        text in "\\PC{0,40}",
        simulate in "\\PC{0,12}",
        count in any::<i64>(),
    ) {
        let body = serde_json::json!({ "body": text, "simulate": simulate, "count": count }).to_string();
        let request = Request::post("/api/messages/batch")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .expect("a request");
        let (status, text) = answer(request);
        check(status, &text)?;
    }

    #[test]
    fn any_bytes_posted_as_the_form_get_a_sentence(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let request = Request::post("/messages")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(body))
            .expect("a request");
        let (status, text) = answer(request);
        // The form answers with a redirect back to the page when it is read.
        prop_assert!(status != StatusCode::INTERNAL_SERVER_ERROR, "{status}: {text}");
        if !status.is_redirection() {
            check(status, &text)?;
        }
    }

    #[test]
    fn any_query_or_id_in_the_url_gets_a_sentence(query in url_text(), id in url_text()) {
        for uri in [
            format!("/api/messages?{query}"),
            format!("/api/messages/updates?{query}"),
            format!("/api/messages/{id}"),
        ] {
            let Ok(request) = Request::get(&uri).body(Body::empty()) else {
                continue; // not a URI a client could send
            };
            let (status, text) = answer(request);
            check_read(status, &text)?;
        }
    }
}
