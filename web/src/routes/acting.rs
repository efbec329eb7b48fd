//! The operator's credential as an extractor: a handler that takes
//! [`Acting`] runs only for someone who may act, by a bearer token or a
//! signed-in session (`access.rs`). Extractors of the request's parts run
//! before the body's, so the credential is checked before a form or an id
//! is read: a wrong one gets the same answer whatever the request holds.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use service::http::HttpError;

use super::AppState;
use crate::edge::client::Client;

/// Proof that the request's credential may act.
pub struct Acting;

impl FromRequestParts<AppState> for Acting {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let client = Client::in_extensions(&parts.extensions);
        state.operator.check(&parts.headers, &client).await?;
        Ok(Self)
    }
}
