//! A message's id from the path (`/messages/{id}`, `/api/messages/{id}`...),
//! read once by an extractor: a handler that takes [`IdInPath`] holds a
//! parsed [`MessageId`], and a path that names none is answered `404` with
//! what an id looks like, as JSON on the API and as a page on the browser's
//! routes (take `Result<IdInPath, HttpError>` there).

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use messages::MessageId;
use service::http::HttpError;

/// The id a path names.
pub struct IdInPath(pub MessageId);

impl<S: Send + Sync> FromRequestParts<S> for IdInPath {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| HttpError::not_found(rejection.body_text()))?;
        // Not an id: no such message either, whatever the path holds.
        MessageId::parse(&text)
            .map(Self)
            .map_err(|error| HttpError::not_found(error.to_string()))
    }
}
