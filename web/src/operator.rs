//! Who may act: the operator credential (`OPERATOR_TOKEN`).
//!
//! The web environment is public, so looking stays open to all, and every
//! action (retry, delete, redrive) needs the credential besides the
//! same-origin check on form posts (`security.rs`). A client shows it as
//! `Authorization: Bearer <token>`; a browser signs in once with a form,
//! which sets an `HttpOnly`, `SameSite=Strict` cookie holding a digest of the
//! token, never the token itself. With no token configured every action is
//! refused, and the page says how to turn them on.

use axum::http::{HeaderMap, HeaderValue, header};
use service::env;
use service::http::HttpError;
use sha2::{Digest, Sha256};

/// The cookie a signed-in browser carries.
const COOKIE: &str = "operator";

/// How long a browser stays signed in.
const SESSION_SECONDS: u32 = 12 * 60 * 60;

/// The shortest token accepted: a guessable one would open the actions to anyone.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The sentence every page and answer gives while actions are off.
pub const HOW_TO_ENABLE: &str = "operator actions are off: set OPERATOR_TOKEN (at least 16 characters, for example from `openssl rand -hex 16`) on the web environment to enable retry, delete and redrive";

/// The operator credential, or none.
#[derive(Clone, Default)]
pub struct Operator {
    /// What a session cookie holds: a digest of the token.
    session: Option<String>,
}

impl std::fmt::Debug for Operator {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token, nor its digest, in a log.
        formatter
            .debug_struct("Operator")
            .field("enabled", &self.enabled())
            .finish()
    }
}

fn digest(token: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"web+worker operator session\0")
        .chain_update(token.as_bytes())
        .finalize();
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Compares in a time that does not depend on where two values differ, so
/// the time of a refusal tells nothing of the secret.
fn same(left: &str, right: &str) -> bool {
    left.len() == right.len()
        && left
            .bytes()
            .zip(right.bytes())
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

impl Operator {
    /// No credential: every action is refused.
    pub fn off() -> Self {
        Self::default()
    }

    /// `token` as the credential, if it is long enough and has no spaces.
    pub fn with_token(token: &str) -> Result<Self, String> {
        if token.chars().count() < MIN_TOKEN_CHARS || token.chars().any(char::is_whitespace) {
            return Err(format!(
                "it must be at least {MIN_TOKEN_CHARS} characters with no spaces (for example from `openssl rand -hex 16`)"
            ));
        }
        Ok(Self {
            session: Some(digest(token)),
        })
    }

    /// Reads `OPERATOR_TOKEN`; unset or empty means no credential.
    pub fn from_env() -> Result<Self, env::EnvError> {
        match env::var("OPERATOR_TOKEN")?.filter(|token| !token.is_empty()) {
            None => Ok(Self::off()),
            Some(token) => Self::with_token(&token).map_err(|expected| env::EnvError {
                name: "OPERATOR_TOKEN".to_owned(),
                value: "(hidden)".to_owned(),
                expected,
            }),
        }
    }

    /// Whether actions are possible at all.
    pub fn enabled(&self) -> bool {
        self.session.is_some()
    }

    /// Whether `typed` is the token.
    pub fn accepts(&self, typed: &str) -> bool {
        self.session
            .as_deref()
            .is_some_and(|session| same(session, &digest(typed.trim())))
    }

    /// Whether the request carries the credential: a bearer token or a
    /// session cookie.
    pub fn signed_in(&self, headers: &HeaderMap) -> bool {
        let Some(session) = self.session.as_deref() else {
            return false;
        };
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .is_some_and(|token| same(session, &digest(token.trim())));
        bearer
            || headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(|cookies| cookies.split(';'))
                .filter_map(|cookie| cookie.trim().split_once('='))
                .any(|(name, value)| name == COOKIE && same(session, value))
    }

    /// `Ok` when the request may act; otherwise the refusal, which says what to do.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), HttpError> {
        if !self.enabled() {
            Err(HttpError::forbidden(HOW_TO_ENABLE))
        } else if self.signed_in(headers) {
            Ok(())
        } else {
            Err(HttpError::with_status(
                axum::http::StatusCode::UNAUTHORIZED,
                "this action needs the operator credential: sign in on the dead-letter page, or send Authorization: Bearer <OPERATOR_TOKEN>; nothing was changed",
            ))
        }
    }

    /// The `Set-Cookie` that signs a browser in; `Secure` when it came over HTTPS.
    pub fn sign_in_cookie(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let session = self.session.as_deref()?;
        let secure = if over_https(headers) { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{COOKIE}={session}; Max-Age={SESSION_SECONDS}; Path=/; HttpOnly; SameSite=Strict{secure}"
        ))
        .ok()
    }

    /// The `Set-Cookie` that signs a browser out.
    pub fn sign_out_cookie() -> HeaderValue {
        HeaderValue::from_static("operator=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict")
    }
}

/// Whether the browser reached us over HTTPS: Elastic Beanstalk's load
/// balancer says so in `X-Forwarded-Proto`.
fn over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123";

    fn headers(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).expect("valid header"));
        headers
    }

    #[test]
    fn a_short_or_spaced_token_is_refused() {
        assert!(Operator::with_token("short").is_err());
        assert!(Operator::with_token("0123456789 abcdef").is_err());
        assert!(Operator::with_token(TOKEN).is_ok());
    }

    #[test]
    fn the_bearer_token_or_the_session_cookie_signs_in_and_nothing_else_does() {
        let operator = Operator::with_token(TOKEN).expect("valid");
        assert!(operator.signed_in(&headers(header::AUTHORIZATION, &format!("Bearer {TOKEN}"))));
        assert!(!operator.signed_in(&headers(
            header::AUTHORIZATION,
            "Bearer 0123456789abcdef012X"
        )));
        let cookie = operator
            .sign_in_cookie(&HeaderMap::new())
            .expect("a cookie");
        let value = cookie.to_str().expect("text");
        assert!(!value.contains(TOKEN), "the cookie never holds the token");
        let pair = value.split(';').next().expect("name=value");
        assert!(operator.signed_in(&headers(header::COOKIE, &format!("theme=dark; {pair}"))));
        assert!(!operator.signed_in(&headers(header::COOKIE, &format!("operator={TOKEN}"))));
        assert!(!operator.signed_in(&HeaderMap::new()));
        assert!(operator.check(&HeaderMap::new()).is_err());
    }

    #[test]
    fn with_no_token_nothing_signs_in_and_the_refusal_says_how_to_enable() {
        let operator = Operator::off();
        assert!(!operator.accepts(""));
        assert!(!operator.signed_in(&headers(header::AUTHORIZATION, "Bearer ")));
        let refusal = operator.check(&HeaderMap::new()).expect_err("refused");
        assert!(refusal.public().contains("OPERATOR_TOKEN"));
    }

    #[test]
    fn over_https_the_cookie_is_secure() {
        let operator = Operator::with_token(TOKEN).expect("valid");
        let cookie = operator
            .sign_in_cookie(&headers(
                header::HeaderName::from_static("x-forwarded-proto"),
                "https",
            ))
            .expect("a cookie");
        assert!(cookie.to_str().expect("text").ends_with("; Secure"));
    }
}
