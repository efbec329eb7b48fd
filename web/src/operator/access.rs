//! Whether a request may act, checked before anything else it asks for:
//! the operator credential it presents (`credential.rs`), against the token
//! (`operator.rs`) or the session store (`session.rs` and the backend's
//! `SessionStore`), with each wrong one counted against its client
//! (`guesses.rs`). And signing a browser in and out.
//!
//! The order is what makes guessing slow and cheap:
//! 1. actions off: `403`, whatever is presented;
//! 2. nothing presented: `401`, not a guess;
//! 3. over plain HTTP under `REQUIRE_HTTPS`: `403`; a client out of budget:
//!    `429`; either before its credential is looked at;
//! 4. a bearer token is compared with the token, a cookie's seal is checked,
//!    both in memory; only a sealed cookie is looked up in the backend;
//! 5. anything wrong is one `401` with one sentence, whatever the request
//!    was about, so a refusal says nothing of a message id; it is counted and
//!    logged with the client's address.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use chrono::{DateTime, TimeDelta, Utc};
use messages::{NewSession, SessionKey, SessionStore};
use service::http::HttpError;

use crate::edge::client::Client;
use crate::operator::credential::Presented;
use crate::operator::guesses::Guesses;
use crate::operator::session;
use crate::operator::settings::{HOW_TO_ENABLE, Operator, USE_HTTPS};

/// The one refusal of a missing or wrong credential on an action.
pub const NEEDS_THE_CREDENTIAL: &str = "this action needs the operator credential: sign in on the dead-letter page, or send Authorization: Bearer <OPERATOR_TOKEN>; nothing was changed";

/// The refusal of a wrong token at sign-in.
pub const NOT_THE_TOKEN: &str = "that is not the operator token: nothing was changed. It is the OPERATOR_TOKEN set on the web environment";

/// Who may act, and the operator's sessions; cheap to clone.
#[derive(Clone)]
pub struct Access {
    operator: Operator,
    sessions: Arc<dyn SessionStore>,
    guesses: Option<Guesses>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Access")
            .field("operator", &self.operator)
            .field("guesses", &self.guesses)
            .finish_non_exhaustive()
    }
}

/// Why a presented credential did not sign in; both are counted.
enum Wrong {
    /// Not the token, not sealed by this web under this token, or not a bearer token.
    Guess,
    /// Sealed by this web, but ended, expired, or opened under another token.
    Stale,
}

/// How a page that shows the operator's forms sees its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    /// Whether it may act.
    pub signed_in: bool,
    /// It sent a session cookie that no longer signs in: the answer clears it,
    /// so the browser stops sending it (and being counted for it).
    pub clear_cookie: bool,
}

impl Viewer {
    /// `response` with what this viewer needs: a cleared cookie, and no
    /// cache of a page shown to a signed-in operator.
    pub fn answer(self, mut response: Response) -> Response {
        if self.clear_cookie {
            response = (CookieJar::new().add(session::sign_out_cookie()), response).into_response();
        }
        if self.signed_in || self.clear_cookie {
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
        }
        response
    }
}

/// `duration` after `at`; settings are bounded, so never past the end of
/// time, but a sum that would be is the end of time, not a panic.
fn after(at: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(duration)
        .ok()
        .and_then(|delta| at.checked_add_signed(delta))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `429` for a client out of budget, for `seconds`.
fn too_many_guesses(seconds: u32) -> HttpError {
    HttpError::with_status(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "too many wrong operator credentials from your address: wait {seconds} s, then try again with the right one (nothing was changed)"
        ),
    )
    .retry_after(seconds)
}

/// `503` when the session store cannot be reached.
fn sessions_unavailable(error: messages::BackendError) -> HttpError {
    HttpError::service_unavailable(
        "the operator's sessions cannot be read right now: nothing was changed. Try again in a moment",
        error,
    )
}

impl Access {
    /// `operator`'s access, keeping sessions in `sessions`.
    pub fn new(operator: Operator, sessions: Arc<dyn SessionStore>) -> Self {
        let guesses = Guesses::per_minute(operator.guesses_per_minute());
        Self {
            operator,
            sessions,
            guesses,
        }
    }

    /// Whether actions are possible at all.
    pub fn enabled(&self) -> bool {
        self.operator.enabled()
    }

    /// Whether `client`, on plain HTTP under `REQUIRE_HTTPS`, must be sent
    /// to HTTPS before it is shown a sign-in form: a token typed there would
    /// cross the network in clear before the refusal.
    pub fn https_first(&self, client: &Client) -> bool {
        self.operator.require_https() && !client.https()
    }

    /// `Err` when a credential must not be read: it came over plain HTTP
    /// under `REQUIRE_HTTPS` (`credential_guard::guard_credentials` refuses it first;
    /// this keeps the rule with the credential), or `client` is out of budget.
    fn may_read(&self, client: &Client) -> Result<(), HttpError> {
        if self.operator.require_https() && !client.https() {
            return Err(HttpError::forbidden(USE_HTTPS));
        }
        self.within_budget(client)
    }

    /// `Err` with the seconds to wait when `client` is out of budget.
    fn within_budget(&self, client: &Client) -> Result<(), HttpError> {
        match self
            .guesses
            .as_ref()
            .and_then(|guesses| guesses.wait(client))
        {
            Some(seconds) => {
                tracing::warn!(client = %client.address(), "a client out of operator guesses was refused before its credential was checked");
                Err(too_many_guesses(seconds))
            }
            None => Ok(()),
        }
    }

    /// Counts a wrong credential from `client`, and logs it with the
    /// client's address: the seconds to wait when that spent its budget.
    fn count(&self, client: &Client, presented: &str, wrong: &Wrong) -> Option<u32> {
        let why = match wrong {
            Wrong::Guess => "a wrong operator credential",
            Wrong::Stale => "an operator session that has ended or expired",
        };
        tracing::warn!(client = %client.address(), credential = presented, "{why}");
        self.guesses
            .as_ref()
            .and_then(|guesses| guesses.failed(client))
    }

    /// Checks `presented` (which is not [`Presented::Nothing`]): `Ok` when
    /// it signs in, why not otherwise; `Err` of an `HttpError` only when the
    /// session store cannot be read.
    async fn verify(&self, presented: &Presented) -> Result<Result<(), Wrong>, HttpError> {
        match presented {
            Presented::Nothing | Presented::Unreadable => Ok(Err(Wrong::Guess)),
            Presented::Bearer(token) => Ok(if self.operator.is_token(token) {
                Ok(())
            } else {
                Err(Wrong::Guess)
            }),
            Presented::Cookie(value) => {
                let (Some(seal), Some(fingerprint)) =
                    (self.operator.seal(), self.operator.fingerprint())
                else {
                    return Ok(Err(Wrong::Guess));
                };
                let Some(key) = session::unseal(seal, value) else {
                    return Ok(Err(Wrong::Guess));
                };
                let now = messages::now();
                let idle_until = after(now, self.operator.session_idle());
                let live = self
                    .sessions
                    .touch(&key, fingerprint, now, idle_until)
                    .await
                    .map_err(sessions_unavailable)?;
                Ok(if live { Ok(()) } else { Err(Wrong::Stale) })
            }
        }
    }

    /// `Ok` when the request may act; otherwise the refusal, which says what
    /// to do. Called before anything else an action reads.
    pub async fn check(&self, headers: &HeaderMap, client: &Client) -> Result<(), HttpError> {
        if !self.enabled() {
            return Err(HttpError::forbidden(HOW_TO_ENABLE));
        }
        let presented = Presented::in_headers(headers);
        if !presented.any() {
            return Err(HttpError::with_status(
                StatusCode::UNAUTHORIZED,
                NEEDS_THE_CREDENTIAL,
            ));
        }
        self.may_read(client)?;
        match self.verify(&presented).await? {
            Ok(()) => Ok(()),
            Err(wrong) => Err(match self.count(client, presented.kind(), &wrong) {
                Some(seconds) => too_many_guesses(seconds),
                None => HttpError::with_status(StatusCode::UNAUTHORIZED, NEEDS_THE_CREDENTIAL),
            }),
        }
    }

    /// How a page that shows the operator's forms sees this request. A wrong
    /// credential counts as one on an action would (the page would tell a
    /// right one from a wrong one); `Err` only for a client out of budget.
    /// A session store that cannot be read shows the page signed out.
    pub async fn viewer(&self, headers: &HeaderMap, client: &Client) -> Result<Viewer, HttpError> {
        let signed_out = Viewer {
            signed_in: false,
            clear_cookie: false,
        };
        let presented = Presented::in_headers(headers);
        if !self.enabled() || !presented.any() {
            return Ok(signed_out);
        }
        self.may_read(client)?;
        match self.verify(&presented).await {
            Ok(Ok(())) => Ok(Viewer {
                signed_in: true,
                clear_cookie: false,
            }),
            Ok(Err(wrong)) => match self.count(client, presented.kind(), &wrong) {
                Some(seconds) => Err(too_many_guesses(seconds)),
                None => Ok(Viewer {
                    signed_in: false,
                    // A cookie that no longer signs in is forgotten; a bearer
                    // token is the client's to change.
                    clear_cookie: matches!(presented, Presented::Cookie(_)),
                }),
            },
            Err(unavailable) => {
                tracing::warn!(error = %unavailable, "the operator's session could not be checked; the page shows it signed out");
                Ok(signed_out)
            }
        }
    }

    /// Signs a browser in with `typed`, the token typed in the form: the
    /// cookie of its new session, or the refusal. Checked in memory before
    /// any backend is touched; only a right token starts a session.
    pub async fn sign_in(
        &self,
        typed: &str,
        client: &Client,
    ) -> Result<Cookie<'static>, HttpError> {
        let (Some(seal), Some(fingerprint)) = (self.operator.seal(), self.operator.fingerprint())
        else {
            return Err(HttpError::forbidden(HOW_TO_ENABLE));
        };
        self.may_read(client)?;
        if !self.operator.is_token(typed.trim()) {
            return Err(match self.count(client, "a sign-in", &Wrong::Guess) {
                Some(seconds) => too_many_guesses(seconds),
                None => HttpError::with_status(StatusCode::UNAUTHORIZED, NOT_THE_TOKEN),
            });
        }
        let minted = session::mint(seal).map_err(|error| {
            HttpError::internal(
                "no session could be made: this machine gave no randomness. Try again in a moment",
            )
            .caused_by(error.to_string())
        })?;
        let now = messages::now();
        let session = NewSession {
            key: minted.key,
            credential: fingerprint.to_owned(),
            started_at: now,
            ends_at: after(now, self.operator.session_lifetime()),
            idle_until: after(now, self.operator.session_idle()),
        };
        self.sessions.start(&session).await.map_err(|error| {
            HttpError::service_unavailable(
                "you could not be signed in: the operator's sessions cannot be written right now. Try again in a moment",
                error,
            )
        })?;
        tracing::info!(client = %client.address(), "an operator signed in");
        Ok(session::sign_in_cookie(minted.value))
    }

    /// Ends the session of the cookie `headers` present, if it is one this
    /// web made. Its answer does not depend on the cookie, so nothing is
    /// counted. `Err` when the store could not end it.
    pub async fn sign_out(&self, headers: &HeaderMap, client: &Client) -> Result<(), HttpError> {
        let Presented::Cookie(value) = Presented::in_headers(headers) else {
            return Ok(());
        };
        let Some(key): Option<SessionKey> = self
            .operator
            .seal()
            .and_then(|seal| session::unseal(seal, &value))
        else {
            return Ok(());
        };
        let idle_minutes = self.operator.session_idle().as_secs().div_ceil(60);
        self.sessions.end(&key).await.map_err(|error| {
            HttpError::service_unavailable(
                format!("this browser is signed out, but its session could not be ended on the server right now: it ends by itself after {idle_minutes} minutes unused"),
                error,
            )
        })?;
        tracing::info!(client = %client.address(), "an operator signed out");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use async_trait::async_trait;
    use axum::http::HeaderValue;
    use messages::{BackendError, NewSession};

    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    /// Sessions in memory, counting the calls made to them.
    #[derive(Default)]
    struct Memory {
        sessions: Mutex<HashMap<String, NewSession>>,
        calls: std::sync::atomic::AtomicU32,
    }

    impl Memory {
        fn calls(&self) -> u32 {
            self.calls.load(std::sync::atomic::Ordering::Relaxed)
        }

        fn call(&self) -> std::sync::MutexGuard<'_, HashMap<String, NewSession>> {
            self.calls
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.sessions.lock().expect("not poisoned")
        }
    }

    #[async_trait]
    impl SessionStore for Memory {
        async fn start(&self, session: &NewSession) -> Result<(), BackendError> {
            self.call()
                .insert(session.key.as_str().to_owned(), session.clone());
            Ok(())
        }
        async fn touch(
            &self,
            key: &SessionKey,
            credential: &str,
            now: DateTime<Utc>,
            idle_until: DateTime<Utc>,
        ) -> Result<bool, BackendError> {
            let mut sessions = self.call();
            let Some(session) = sessions.get_mut(key.as_str()) else {
                return Ok(false);
            };
            let live = session.credential == credential
                && session.ends_at > now
                && session.idle_until > now;
            if live {
                session.idle_until = idle_until;
            }
            Ok(live)
        }
        async fn end(&self, key: &SessionKey) -> Result<(), BackendError> {
            self.call().remove(key.as_str());
            Ok(())
        }
    }

    fn access(operator: Operator) -> (Access, Arc<Memory>) {
        let memory = Arc::new(Memory::default());
        let store: Arc<dyn SessionStore> = memory.clone();
        (Access::new(operator, store), memory)
    }

    fn operator() -> Operator {
        Operator::with_token(TOKEN).expect("valid")
    }

    fn client() -> Client {
        Client::at("203.0.113.7".parse().expect("an address"))
    }

    fn presenting(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).expect("a header"));
        headers
    }

    fn cookie_of(cookie: &Cookie<'_>) -> HeaderMap {
        presenting(
            header::COOKIE,
            &format!("{}={}", cookie.name(), cookie.value()),
        )
    }

    #[tokio::test]
    async fn with_actions_off_everything_is_403_and_nothing_is_read() {
        let (access, memory) = access(Operator::off());
        let refusal = access
            .check(
                &presenting(header::AUTHORIZATION, &format!("Bearer {TOKEN}")),
                &client(),
            )
            .await
            .expect_err("off");
        assert_eq!(refusal.status(), StatusCode::FORBIDDEN);
        assert!(access.sign_in(TOKEN, &client()).await.is_err());
        assert_eq!(memory.calls(), 0);
    }

    #[tokio::test]
    async fn no_credential_is_401_and_is_no_guess() {
        let (access, _) = access(operator().guessing_at(1));
        for _ in 0..3 {
            let refusal = access
                .check(&HeaderMap::new(), &client())
                .await
                .expect_err("401");
            assert_eq!(refusal.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(refusal.public(), NEEDS_THE_CREDENTIAL);
        }
        let bearer = presenting(header::AUTHORIZATION, &format!("Bearer {TOKEN}"));
        assert!(
            access.check(&bearer, &client()).await.is_ok(),
            "not counted"
        );
    }

    #[tokio::test]
    async fn a_session_signs_in_until_it_is_ended_and_is_read_only_when_sealed() {
        let (access, memory) = access(operator());
        let cookie = access
            .sign_in(&format!(" {TOKEN}\n"), &client())
            .await
            .expect("signed in");
        let headers = cookie_of(&cookie);
        assert!(access.check(&headers, &client()).await.is_ok());
        let viewer = access.viewer(&headers, &client()).await.expect("a viewer");
        assert_eq!(
            viewer,
            Viewer {
                signed_in: true,
                clear_cookie: false
            }
        );
        let calls = memory.calls();
        let forged = presenting(
            header::COOKIE,
            &format!("{}={}.{}", session::COOKIE, "a".repeat(64), "b".repeat(64)),
        );
        assert!(access.check(&forged, &client()).await.is_err());
        assert_eq!(memory.calls(), calls, "a forged cookie reads nothing");

        access
            .sign_out(&headers, &client())
            .await
            .expect("signed out");
        let refusal = access.check(&headers, &client()).await.expect_err("ended");
        assert_eq!(
            refusal.public(),
            NEEDS_THE_CREDENTIAL,
            "one refusal for every wrong one"
        );
        let viewer = access.viewer(&headers, &client()).await.expect("a viewer");
        assert_eq!(
            viewer,
            Viewer {
                signed_in: false,
                clear_cookie: true
            }
        );
    }

    #[tokio::test]
    async fn over_budget_even_the_right_token_waits() {
        let (access, memory) = access(operator().guessing_at(2));
        for _ in 0..2 {
            let refusal = access.sign_in("wrong", &client()).await.expect_err("wrong");
            assert_eq!(refusal.status(), StatusCode::UNAUTHORIZED);
        }
        let refusal = access.sign_in(TOKEN, &client()).await.expect_err("waits");
        assert_eq!(refusal.status(), StatusCode::TOO_MANY_REQUESTS);
        let bearer = presenting(header::AUTHORIZATION, &format!("Bearer {TOKEN}"));
        let refusal = access.check(&bearer, &client()).await.expect_err("waits");
        assert_eq!(refusal.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(memory.calls(), 0, "nothing was started or read");
        let other = Client::at("198.51.100.1".parse().expect("an address"));
        assert!(
            access.check(&bearer, &other).await.is_ok(),
            "another client's own budget"
        );
    }

    #[tokio::test]
    async fn under_require_https_plain_http_reads_nothing() {
        let (access, memory) = access(operator().requiring_https(true));
        let refusal = access
            .sign_in(TOKEN, &client())
            .await
            .expect_err("plain HTTP");
        assert_eq!(refusal.status(), StatusCode::FORBIDDEN);
        assert!(
            refusal.public().contains("https://"),
            "{}",
            refusal.public()
        );
        assert_eq!(memory.calls(), 0);
    }
}
