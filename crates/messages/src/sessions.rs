//! The operator-session port: the server's half of each browser sign-in.
//!
//! A browser that signs in as the operator is given a secret of its own (in
//! a cookie); the web keeps the session in the backend, so every web
//! instance behind a load balancer sees the same sessions, and ending one on
//! any instance ends it on all. The store is given only a digest of the
//! secret ([`SessionKey`]), never the secret: reading the table does not
//! sign anyone in.
//!
//! A session has two expiries, both checked by the store at each use: an
//! absolute end (`ends_at`) and an idle one (`idle_until`), which each use
//! moves forward. It also records which operator credential it was opened
//! under (a fingerprint of `OPERATOR_TOKEN`): a use under another credential
//! is refused, so changing the token ends every session.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::BackendError;

/// How long a [`SessionKey`] is, in hex characters (a SHA-256 digest).
pub const SESSION_KEY_CHARS: usize = 64;

/// What the store knows a session by: the digest of its secret, as 64
/// lowercase hex characters. The secret itself never reaches the store.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionKey(String);

/// Text that is not a digest as a [`SessionKey`] holds it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a session key is 64 lowercase hex characters (a SHA-256 digest of the session's secret)")]
pub struct InvalidSessionKey;

impl SessionKey {
    /// Checks `digest` as a key: 64 lowercase hex characters.
    pub fn parse(digest: &str) -> Result<Self, InvalidSessionKey> {
        let hex = digest
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
        if digest.len() != SESSION_KEY_CHARS || !hex {
            return Err(InvalidSessionKey);
        }
        Ok(Self(digest.to_owned()))
    }

    /// The digest's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A digest is no secret, but a log needs no more than its start.
        write!(
            formatter,
            "SessionKey({}…)",
            self.0.get(..8).unwrap_or_default()
        )
    }
}

/// A session to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// The digest of its secret.
    pub key: SessionKey,
    /// The credential it is opened under: a fingerprint of the operator
    /// token, never the token.
    pub credential: String,
    /// When it began.
    pub started_at: DateTime<Utc>,
    /// When it ends, however much it is used.
    pub ends_at: DateTime<Utc>,
    /// When it ends if it is not used before.
    pub idle_until: DateTime<Utc>,
}

/// Where operator sessions are kept.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Records a new session.
    async fn start(&self, session: &NewSession) -> Result<(), BackendError>;

    /// Uses the session `key` at `now`: if it exists, was opened under
    /// `credential`, and `now` is before both its end and its idle expiry,
    /// moves its idle expiry to `idle_until` and returns `true`, in one
    /// conditional write. Otherwise (unknown, ended, expired, or opened
    /// under another credential) returns `false` and changes nothing.
    async fn touch(
        &self,
        key: &SessionKey,
        credential: &str,
        now: DateTime<Utc>,
        idle_until: DateTime<Utc>,
    ) -> Result<bool, BackendError>;

    /// Ends the session `key`, if there is one: every later use is refused.
    async fn end(&self, key: &SessionKey) -> Result<(), BackendError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_key_is_a_lowercase_sha256_digest_in_hex() {
        let digest = "0123456789abcdef".repeat(4);
        assert_eq!(
            SessionKey::parse(&digest).map(|key| key.as_str().to_owned()),
            Ok(digest.clone())
        );
        assert!(SessionKey::parse(&digest.to_uppercase()).is_err());
        assert!(SessionKey::parse(&digest[1..]).is_err());
        assert!(SessionKey::parse(&format!("{digest}0")).is_err());
        assert!(SessionKey::parse(&"g".repeat(64)).is_err());
        assert!(SessionKey::parse("").is_err());
    }

    #[test]
    fn a_key_shows_only_its_start_in_a_log() {
        let key = SessionKey::parse(&"ab".repeat(32)).expect("valid");
        assert_eq!(format!("{key:?}"), "SessionKey(abababab…)");
    }

    proptest! {
        /// Any text is a key or refused, never a panic; a key keeps its text.
        #[test]
        fn any_text_is_a_key_or_refused(text in "\\PC{0,80}") {
            if let Ok(key) = SessionKey::parse(&text) {
                prop_assert_eq!(key.as_str(), text.as_str());
                prop_assert_eq!(text.len(), SESSION_KEY_CHARS);
            }
        }
    }
}
