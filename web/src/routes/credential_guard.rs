//! The operator's credential kept to HTTPS (`REQUIRE_HTTPS`) and out of
//! caches, for every answer of the web.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use service::http::HttpError;

use crate::edge::client::Client;
use crate::operator::credential::Presented;
use crate::operator::settings::USE_HTTPS;
use crate::routes::html::error_for;

/// What an answer over HTTPS tells the browser under `REQUIRE_HTTPS`: this
/// site, and its subdomains, only over HTTPS for a year.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000; includeSubDomains";

/// Keeps the operator's credential to HTTPS and out of caches:
/// - with `require_https` (`REQUIRE_HTTPS`), a request that presents a
///   credential (a bearer token or the session cookie) over plain HTTP is
///   refused with `403` before anything reads it, whatever its route (the
///   sign-in form, which presents none yet, is refused by its handler), and
///   an answer over HTTPS carries `Strict-Transport-Security`;
/// - an answer that sets or clears a cookie is never stored by a cache
///   (`Cache-Control: no-store`).
///
/// HTTPS is what the trusted proxy says (`client.rs`): the app itself never
/// terminates TLS.
pub async fn guard_credentials(
    State(require_https): State<bool>,
    client: Client,
    request: Request,
    next: Next,
) -> Response {
    if require_https && !client.https() && Presented::in_headers(request.headers()).any() {
        tracing::warn!(client = %client.address(), "an operator credential over plain HTTP was refused");
        return error_for(request.uri().path(), HttpError::forbidden(USE_HTTPS));
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if require_https && client.https() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        );
    }
    if headers.contains_key(header::SET_COOKIE) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
