//! What operator credential a request presents, read with axum's own
//! parsers (`axum-extra`'s typed `Authorization: Bearer` header and cookie
//! jar), never by hand: a bearer token, the session cookie, an
//! `Authorization` header that is not a bearer token, or nothing. Whether it
//! is right is for `access.rs` to say.

use axum::http::{HeaderMap, header};
use axum_extra::extract::cookie::CookieJar;
use axum_extra::headers::authorization::Bearer;
use axum_extra::headers::{Authorization, HeaderMapExt};

use crate::operator::session::COOKIE;

/// A request's operator credential, as sent.
#[derive(Clone, PartialEq, Eq)]
pub enum Presented {
    /// No credential at all.
    Nothing,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// An `Authorization` header that is not a bearer token: a wrong
    /// credential, refused as one.
    Unreadable,
    /// The session cookie's value.
    Cookie(String),
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // What kind, never what it holds.
        formatter.write_str(self.kind())
    }
}

impl Presented {
    /// What `headers` present. A bearer token wins over a cookie: an API
    /// client says who it is in the header, whatever its cookie jar holds.
    pub fn in_headers(headers: &HeaderMap) -> Self {
        // Only a Bearer scheme is ours: another (Basic, from an htpasswd in
        // front, say) presents nothing to this app, and must neither count
        // as a wrong guess nor hide the session cookie.
        let bearer_scheme = headers.get(header::AUTHORIZATION).is_some_and(|value| {
            value
                .as_bytes()
                .get(..6)
                .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"bearer"))
        });
        if bearer_scheme {
            return match headers.typed_get::<Authorization<Bearer>>() {
                Some(Authorization(bearer)) => Self::Bearer(bearer.token().to_owned()),
                None => Self::Unreadable,
            };
        }
        match CookieJar::from_headers(headers).get(COOKIE) {
            Some(cookie) => Self::Cookie(cookie.value().to_owned()),
            None => Self::Nothing,
        }
    }

    /// Whether any credential is presented.
    pub fn any(&self) -> bool {
        *self != Self::Nothing
    }

    /// Its kind, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Nothing => "no credential",
            Self::Bearer(_) => "a bearer token",
            Self::Unreadable => "an Authorization header that is not a bearer token",
            Self::Cookie(_) => "a session cookie",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name, HeaderValue::from_str(value).expect("a header"));
        }
        map
    }

    #[test]
    fn a_bearer_token_is_read_from_its_header() {
        let token = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            Presented::in_headers(&headers(&[(
                header::AUTHORIZATION,
                &format!("Bearer {token}")
            )])),
            Presented::Bearer(token.to_owned())
        );
        // The bearer scheme with no token presents a (wrong) credential.
        let empty = Presented::in_headers(&headers(&[(header::AUTHORIZATION, "Bearer ")]));
        assert!(
            matches!(empty, Presented::Bearer(_) | Presented::Unreadable),
            "{empty:?}"
        );
        // Another scheme is not ours: nothing presented, and a cookie beside
        // it is still read (an htpasswd's Basic in front of the app).
        assert_eq!(
            Presented::in_headers(&headers(&[(header::AUTHORIZATION, token)])),
            Presented::Nothing,
            "a token without its scheme"
        );
        assert_eq!(
            Presented::in_headers(&headers(&[(header::AUTHORIZATION, "Basic YTpi")])),
            Presented::Nothing
        );
        assert_eq!(
            Presented::in_headers(&headers(&[
                (header::AUTHORIZATION, "Basic YTpi"),
                (header::COOKIE, "__Host-operator=abc.def"),
            ])),
            Presented::Cookie("abc.def".to_owned())
        );
    }

    #[test]
    fn the_session_cookie_is_found_among_others_and_no_other_is_taken_for_it() {
        let found = Presented::in_headers(&headers(&[
            (header::COOKIE, "theme=dark; __Host-operator=abc.def"),
            (header::COOKIE, "other=1"),
        ]));
        assert_eq!(found, Presented::Cookie("abc.def".to_owned()));
        // The old cookie of a digest of the token is no credential now.
        assert_eq!(
            Presented::in_headers(&headers(&[(header::COOKIE, "operator=abc")])),
            Presented::Nothing
        );
        assert_eq!(Presented::in_headers(&HeaderMap::new()), Presented::Nothing);
    }

    #[test]
    fn a_bearer_wins_over_a_cookie_and_nothing_is_in_a_log() {
        let both = Presented::in_headers(&headers(&[
            (header::AUTHORIZATION, "Bearer secret-token"),
            (header::COOKIE, "__Host-operator=abc"),
        ]));
        assert_eq!(both, Presented::Bearer("secret-token".to_owned()));
        assert_eq!(format!("{both:?}"), "a bearer token");
    }

    proptest! {
        /// Any bytes as `Authorization` and `Cookie` are read or refused,
        /// never a panic, and a bearer token read is what was sent.
        #[test]
        fn any_authorization_or_cookie_bytes_are_read_without_a_panic(
            authorization in proptest::collection::vec(any::<u8>(), 0..200),
            cookie in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut map = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_bytes(&cookie) {
                map.append(header::COOKIE, value);
            }
            let cookie_only = Presented::in_headers(&map);
            prop_assert!(matches!(cookie_only, Presented::Cookie(_) | Presented::Nothing));
            if let Ok(value) = HeaderValue::from_bytes(&authorization) {
                map.append(header::AUTHORIZATION, value);
                let read = Presented::in_headers(&map);
                prop_assert!(
                    matches!(read, Presented::Bearer(_) | Presented::Unreadable) || read == cookie_only
                );
                if let Presented::Bearer(token) = read {
                    prop_assert!(String::from_utf8_lossy(&authorization).contains(token.as_str()));
                }
            }
        }
    }
}
