//! Where the web's errors become HTTP answers.
//!
//! The send use case returns [`SendError`] (`send.rs`), in the product's
//! terms; bad input is refused by `input.rs`; here both become a
//! [`HttpError`], the one error answer of the web (JSON for the API, an HTML
//! page for the browser's routes, `html.rs`). Backend failures answer an
//! opaque `503`: the cause chain goes to the log, never to a browser.

use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use service::http::HttpError;

use crate::limits::REQUEST_BODY_LIMIT;
use crate::send::SendError;

impl From<SendError> for HttpError {
    fn from(error: SendError) -> Self {
        // Every way a send stops short is a backend failing: 503, try again.
        // The sentence says what was and was not done; the cause is logged.
        HttpError::service_unavailable(error.to_string(), error)
    }
}

/// The answer when the status store cannot be read for `what`.
pub fn store_unavailable(what: &str, source: messages::BackendError) -> HttpError {
    HttpError::service_unavailable(
        format!("{what}: the status store is unavailable. Try again in a moment"),
        source,
    )
}

/// The answer to a request over [`REQUEST_BODY_LIMIT`], JSON or form.
fn too_large() -> HttpError {
    HttpError::payload_too_large(format!(
        "the request is over {} KiB: a message body may be at most {} KiB",
        REQUEST_BODY_LIMIT / 1024,
        messages::MAX_BODY_BYTES / 1024
    ))
}

/// A JSON body that cannot be read.
pub fn json_rejection(rejection: JsonRejection) -> HttpError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    HttpError::bad_request(format!(
        "{}. Send a JSON object like {{\"body\": \"hello\", \"simulate\": \"ok\"}} with Content-Type: application/json",
        rejection.body_text()
    ))
}

/// A query string that cannot be read.
pub fn query_rejection(rejection: QueryRejection) -> HttpError {
    HttpError::bad_request(rejection.body_text())
}

/// A form that cannot be read.
pub fn form_rejection(rejection: FormRejection) -> HttpError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    HttpError::bad_request(rejection.body_text())
}

/// `axum::Json`, but a request it cannot read gets an [`HttpError`] in the
/// API's error format instead of axum's plain-text rejection.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(request, state)
            .await
            .map(|axum::Json(value)| Self(value))
            .map_err(json_rejection)
    }
}
