//! The API's error format, `{"error": "<what is wrong and how to fix it>"}`,
//! and a JSON extractor whose rejections use it.
//!
//! Client mistakes say exactly what to fix. Backend failures answer an opaque
//! `503` and log the whole cause chain, so no AWS detail leaks to a browser.

use axum::Json;
use axum::extract::FromRequest;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use messages::BackendError;

/// Every error the API answers with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request cannot be read (bad JSON, bad query string).
    #[error("{0}")]
    BadRequest(String),
    /// The request is readable but not acceptable (empty body, unknown simulate).
    #[error("{0}")]
    Invalid(String),
    /// No such message.
    #[error("{0}")]
    NotFound(String),
    /// The request body is over the size the web reads.
    #[error("{0}")]
    TooLarge(String),
    /// A backend failed; `public` is what the client is told.
    #[error("{public}")]
    Unavailable {
        /// Safe to show: what did not happen and what to do.
        public: String,
        /// Logged, never shown.
        #[source]
        source: BackendError,
    },
}

impl ApiError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Unavailable { source, .. } = &self {
            tracing::error!(error = %source.chain(), "backend unavailable");
        }
        (
            self.status(),
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::TooLarge(format!(
                "the request is over {} KiB: a message body may be at most {} KiB",
                crate::startup::REQUEST_BODY_LIMIT / 1024,
                messages::MAX_BODY_BYTES / 1024
            ));
        }
        Self::BadRequest(format!(
            "{}. Send a JSON object like {{\"body\": \"hello\", \"simulate\": \"ok\"}} with Content-Type: application/json",
            rejection.body_text()
        ))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest(rejection.body_text())
    }
}

/// `axum::Json`, but a request it cannot read gets an [`ApiError`].
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);
