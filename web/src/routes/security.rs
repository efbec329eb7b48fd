//! Browser security: the response headers every page gets, and the check
//! that keeps other sites from posting the page's forms.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use service::http::HttpError;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::routes::html::error_for;

/// Scripts and styles only from this origin, no inline code, no plugins, no
/// framing; forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The five header layers below, applied together.
pub type SecurityHeaders = (Header, Header, Header, Header, Header);
type Header = SetResponseHeaderLayer<HeaderValue>;

/// The security headers, each added unless a handler set its own.
pub fn headers() -> SecurityHeaders {
    (
        SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ),
        SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
        SetResponseHeaderLayer::if_not_present(
            header::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    )
}

/// Whether a request comes from a page of this same site. Browsers send
/// `Sec-Fetch-Site` (all current ones) or `Origin` with every cross-site POST;
/// a request with neither is not from a browser (curl, tests) and is allowed.
pub fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok())
    {
        return site == "same-origin" || site == "none";
    }
    match (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        (Some(origin), Some(host)) => match (origin.to_str(), host.to_str()) {
            (Ok(origin), Ok(host)) => {
                let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
                origin_host.eq_ignore_ascii_case(host)
            }
            // Headers that are not text name no site we could match.
            _ => false,
        },
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// Refuses a form POST from another site (cross-site request forgery). The
/// JSON API needs no such check: a cross-site page cannot send
/// `Content-Type: application/json` without CORS, which this app never grants.
pub async fn refuse_cross_site_posts(request: Request, next: Next) -> Response {
    if request.method() == Method::POST && !same_origin(request.headers()) {
        let refused = HttpError::forbidden(
            "this form can only be sent from this site's own page: reload the page and send it again",
        );
        // The API answers in JSON; a browser's form gets a page.
        return error_for(request.uri().path(), refused);
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn a_same_origin_post_is_allowed() {
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(same_origin(&headers(&[
            ("origin", "http://localhost:8080"),
            ("host", "localhost:8080")
        ])));
    }

    #[test]
    fn a_cross_site_post_is_refused() {
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&headers(&[
            ("origin", "https://evil.example"),
            ("host", "localhost:8080")
        ])));
    }

    #[test]
    fn a_request_from_no_browser_is_allowed() {
        assert!(same_origin(&HeaderMap::new()));
    }
}
