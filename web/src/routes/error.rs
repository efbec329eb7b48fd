//! Where the web's errors become HTTP answers, once for every route.
//!
//! The use cases return errors in the product's terms: [`SendError`]
//! (`send.rs`), [`SendOnceError`] (`idempotent.rs`), `ActionError`
//! (`operator/actions.rs`); bad input is refused by `input.rs`. Here each becomes a
//! [`HttpError`], the one error answer of the web (JSON for the API, an HTML
//! page for the browser's routes, `html.rs`), with its status and its `code`:
//! the word a program reads (`app.js` keeps its `Idempotency-Key` on
//! `in_progress` and `retry_with_same_key`), which stays when a sentence is
//! reworded. Backend failures answer an opaque `503`: the cause chain goes to
//! the log, never to a browser.

use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use service::http::HttpError;

use crate::edge::limits::REQUEST_BODY_LIMIT;
#[cfg(feature = "operator")]
use crate::operator::actions::{ActionError, UnknownAction};
use crate::sending::idempotent::SendOnceError;
use crate::sending::plan::PlanError;
use crate::sending::send::SendError;

impl From<SendError> for HttpError {
    fn from(error: SendError) -> Self {
        // Every way a send stops short is a backend failing: 503, try again.
        // The sentence says what was and was not done; the cause is logged.
        let code = match &error {
            SendError::NotRecorded(_) => "not_recorded",
            // All or some: those not queued are marked `fail`, as a retry
            // under the key is told again (`RefusedBefore`).
            SendError::NotQueued { .. } | SendError::PartlyQueued { .. } => "not_queued",
            SendError::OutcomeUnknown { .. } => "outcome_unknown",
            SendError::Interrupted => "interrupted",
        };
        HttpError::service_unavailable(error.to_string(), error).with_code(code)
    }
}

impl From<SendOnceError> for HttpError {
    fn from(error: SendOnceError) -> Self {
        let sentence = error.to_string();
        match error {
            SendOnceError::Send(error) => error.into(),
            SendOnceError::Open(_) => {
                HttpError::service_unavailable(sentence, error).with_code("retry_with_same_key")
            }
            SendOnceError::KeyReused => HttpError::unprocessable(sentence).with_code("key_reused"),
            SendOnceError::InProgress => HttpError::conflict(sentence)
                .with_code("in_progress")
                .retry_after(2),
            // The first answer, given again: its queue refused the jobs.
            SendOnceError::RefusedBefore(_) => {
                HttpError::with_status(StatusCode::SERVICE_UNAVAILABLE, sentence)
                    .with_code("not_queued")
            }
            SendOnceError::RecordsGone => HttpError::internal(sentence).with_code("records_gone"),
            SendOnceError::StoreUnavailable { .. } => {
                HttpError::service_unavailable(sentence, error)
            }
        }
    }
}

impl From<PlanError> for HttpError {
    fn from(error: PlanError) -> Self {
        let sentence = error.to_string();
        match error {
            PlanError::NothingToSend => HttpError::unprocessable(sentence),
            PlanError::BadInput(_) => HttpError::unprocessable(sentence).with_code("bad_input"),
        }
    }
}

#[cfg(feature = "operator")]
impl From<ActionError> for HttpError {
    fn from(error: ActionError) -> Self {
        let sentence = error.to_string();
        match error {
            ActionError::NotFound(_) => HttpError::not_found(sentence),
            ActionError::NotFailed { .. } => HttpError::conflict(sentence).with_code("not_failed"),
            ActionError::Changed { .. } => HttpError::conflict(sentence).with_code("changed"),
            ActionError::NoDeadLetterQueue => {
                HttpError::conflict(sentence).with_code("no_dead_letter_queue")
            }
            ActionError::Stopped { .. } => HttpError::internal(sentence).caused_by(error),
            ActionError::StoreUnavailable { .. }
            | ActionError::NotQueued { .. }
            | ActionError::DeadLettersUnavailable { .. } => {
                HttpError::service_unavailable(sentence, error)
            }
        }
    }
}

#[cfg(feature = "operator")]
impl From<UnknownAction> for HttpError {
    fn from(error: UnknownAction) -> Self {
        HttpError::bad_request(error.to_string())
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
    refused_form(rejection.status(), rejection.body_text())
}

/// A form with repeated fields (`axum_extra`'s `Form`) that cannot be read.
#[cfg(feature = "operator")]
pub fn repeated_form_rejection(rejection: axum_extra::extract::FormRejection) -> HttpError {
    refused_form(rejection.status(), rejection.body_text())
}

fn refused_form(status: StatusCode, why: String) -> HttpError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    HttpError::bad_request(why)
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
