//! The HTTP edge's one error type, shared by the web and the worker.
//!
//! Which error each layer uses:
//! - the ports return `BackendError` (the `messages` crate), whatever the
//!   backend;
//! - each use case returns its own error enum (`SendError`, `ProcessError`,
//!   `SweepError`), which says what happened in the product's terms;
//! - at the edge (the routes, and the extractors and middleware beside them),
//!   those and bad input become an [`HttpError`] through one of the named
//!   constructors below. No use case chooses a status code.
//!
//! An [`HttpError`] answers `{"error": "<what is wrong and how to fix it>",
//! "code": "<what kind of error, for a program>"}` ([`ErrorBody`]), or any other body a route renders (the web's HTML pages)
//! through [`HttpError::respond_with`]. It never logs: it leaves an
//! [`ErrorReport`] in the response's extensions, and the [`log_errors`]
//! middleware logs it once, with the cause chain that the client never sees.

use std::error::Error as StdError;

use crate::telemetry::chain;

use axum::Json;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// The body of every JSON error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What is wrong and how to fix it, for a person.
    pub error: String,
    /// What kind of error it is, for a program: a short `snake_case` word
    /// that stays the same when the sentence is reworded (see
    /// [`HttpError::code`]). Empty from a peer that sent none.
    #[serde(default)]
    pub code: String,
    /// The trace the request was part of, when traces are on: what an
    /// operator searches for in the tracing backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

/// How loudly an error is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Expected and harmless to the service (a client's mistake, a job that
    /// will be retried).
    Info,
    /// Worth a look (a caller that is not who it should be).
    Warn,
    /// Something of ours is failing (a backend is down).
    Error,
}

/// An error answer: a status, a sentence safe to show, and the cause kept for
/// the log.
#[derive(Debug)]
pub struct HttpError {
    status: StatusCode,
    code: &'static str,
    public: String,
    severity: Severity,
    cause: Option<Box<dyn StdError + Send + Sync>>,
    retry_after: Option<u32>,
}

/// The code of an error whose constructor chose none: its status, in words.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::BAD_GATEWAY => "bad_gateway",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        StatusCode::GATEWAY_TIMEOUT => "timeout",
        status if status.is_client_error() => "refused",
        _ => "internal",
    }
}

impl HttpError {
    fn new(status: StatusCode, public: impl Into<String>, severity: Severity) -> Self {
        Self {
            status,
            code: code_of(status),
            public: public.into(),
            severity,
            cause: None,
            retry_after: None,
        }
    }

    /// Any error status with its sentence: an answer given before, given
    /// again (an idempotent retry).
    pub fn with_status(status: StatusCode, public: impl Into<String>) -> Self {
        Self::new(status, public, Severity::Info)
    }

    /// `400`: the request cannot be read (bad JSON, bad query, bad headers).
    pub fn bad_request(public: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, public, Severity::Info)
    }

    /// `403`: the request is not allowed from where it came.
    pub fn forbidden(public: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, public, Severity::Warn)
    }

    /// `404`: no such thing.
    pub fn not_found(public: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, public, Severity::Info)
    }

    /// `409`: the request does not fit how this process runs.
    pub fn conflict(public: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, public, Severity::Info)
    }

    /// `413`: the request is over the size this service reads.
    pub fn payload_too_large(public: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, public, Severity::Info)
    }

    /// `422`: readable, but refused (an empty body, an unknown choice).
    pub fn unprocessable(public: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, public, Severity::Info)
    }

    /// `500`: the work failed and may succeed if tried again.
    pub fn internal(public: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, public, Severity::Error)
    }

    /// `502`: a service this one relies on answered badly or not at all.
    pub fn bad_gateway(public: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, public, Severity::Error)
    }

    /// `503`: a backend is unavailable; `cause` is logged, never shown.
    pub fn service_unavailable(
        public: impl Into<String>,
        cause: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, public, Severity::Error).caused_by(cause)
    }

    /// Names the kind of error for a program, more precisely than its
    /// status: a client acts on the code (`in_progress`, `outcome_unknown`),
    /// never on the sentence, which may be reworded.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    /// Keeps `cause` for the log.
    pub fn caused_by(mut self, cause: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    /// Tells the client, in a `Retry-After` header, to try again in `seconds`.
    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// Logs it at `severity` instead of the constructor's default.
    pub fn logged_as(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What kind of error it is, for a program (see [`ErrorBody::code`]).
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The sentence the client sees.
    pub fn public(&self) -> &str {
        &self.public
    }

    /// What the log gets: the public sentence and the whole cause chain.
    fn report(&self) -> ErrorReport {
        ErrorReport {
            status: self.status,
            code: self.code,
            public: self.public.clone(),
            severity: self.severity,
            cause: self.cause.as_deref().map(|cause| chain(cause)),
        }
    }

    /// Answers with `body` (an HTML page, say) instead of the JSON body,
    /// keeping the status and the report for the log.
    pub fn respond_with(self, body: impl IntoResponse) -> Response {
        let report = self.report();
        let mut response = (self.status, body).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response.extensions_mut().insert(report);
        response
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.public)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = Json(ErrorBody {
            error: capitalised(&self.public),
            code: self.code.to_owned(),
            trace_id: crate::traces::current_trace_id(),
        });
        self.respond_with(body)
    }
}

/// `text` with its first letter a capital: every sentence a client reads
/// starts as a sentence does, however it was written where it was made.
pub fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// What [`log_errors`] logs; travels in the response's extensions.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    status: StatusCode,
    code: &'static str,
    public: String,
    severity: Severity,
    cause: Option<String>,
}

/// Logs each error answer once, from the [`ErrorReport`] its [`HttpError`]
/// left, and removes the report so that an outer layer does not log it again.
pub async fn log_errors(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if let Some(report) = response.extensions_mut().remove::<ErrorReport>() {
        let ErrorReport {
            status,
            code,
            public,
            severity,
            cause,
        } = report;
        let status = status.as_u16();
        match severity {
            Severity::Info => {
                tracing::info!(status, code, error = %public, cause, "request refused")
            }
            Severity::Warn => {
                tracing::warn!(status, code, error = %public, cause, "request refused")
            }
            Severity::Error => {
                tracing::error!(status, code, error = %public, cause, "request failed")
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("DynamoDB GetItem failed")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn the_report_keeps_the_whole_cause_chain_the_client_never_sees() {
        let cause = Outer(std::io::Error::other("connection refused"));
        let error = HttpError::service_unavailable("try again in a moment", cause);
        let report = error.report();
        assert_eq!(
            report.cause.as_deref(),
            Some("DynamoDB GetItem failed: connection refused")
        );
        assert_eq!(error.public(), "try again in a moment");
    }

    #[test]
    fn the_answer_is_the_json_body_with_the_status_and_a_report_for_the_log() {
        let response = HttpError::not_found("no message has id x").into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(response.extensions().get::<ErrorReport>().is_some());
    }

    #[tokio::test]
    async fn the_sentence_a_client_reads_starts_with_a_capital_beside_its_code() {
        let response = HttpError::not_found("no message has id x").into_response();
        let bytes = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .expect("the body");
        assert_eq!(
            &bytes[..],
            br#"{"error":"No message has id x","code":"not_found"}"#
        );
        assert_eq!(capitalised("élan"), "Élan");
        let named = HttpError::conflict("still running").with_code("in_progress");
        assert_eq!(named.code(), "in_progress");
        assert_eq!(HttpError::bad_request("x").code(), "bad_request");
        assert_eq!(capitalised(""), "");
    }
}
