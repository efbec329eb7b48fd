//! Who may act: the operator credential (`OPERATOR_TOKEN`) and the settings
//! around it (`REQUIRE_HTTPS`, `SIGN_IN_RATE_PER_MINUTE`, how long a session
//! lasts).
//!
//! The web environment is public, so looking stays open to all, and every
//! action (retry, delete, redrive) needs the credential besides the
//! same-origin check on form posts (`security.rs`). A client shows the token
//! as `Authorization: Bearer <token>`; a browser signs in once with a form
//! and gets a session of its own (`session.rs`, `access.rs`). This module
//! holds what is derived from the token, never the token itself: its digest
//! (to compare a typed token in constant time), the key that seals session
//! cookies, and the fingerprint that sessions are opened under. All three
//! change with the token, so a new token ends every session. With no token
//! every action is refused, and the page says how to turn them on.

use std::time::Duration;

use hmac::{Hmac, Mac};
use service::env::{self, Setting, Vars};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The shortest token accepted: 32 hex characters are 128 bits (`openssl
/// rand -hex 32` gives 64), past any guessing at the rate
/// `SIGN_IN_RATE_PER_MINUTE` allows.
pub const MIN_TOKEN_CHARS: usize = 32;

/// The sentence every page and answer gives while actions are off.
pub const HOW_TO_ENABLE: &str = "operator actions are off: set OPERATOR_TOKEN (at least 32 characters, for example from `openssl rand -hex 32`) on the web environment to enable retry, delete and redrive";

/// The refusal of a credential sent over plain HTTP under `REQUIRE_HTTPS`.
pub const USE_HTTPS: &str = "the operator credential is accepted only over HTTPS here (REQUIRE_HTTPS is set): open this site at its https:// address and try again; nothing was changed";

/// How long a session lasts, however much it is used.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// How long a session lasts unused.
pub const SESSION_IDLE: Duration = Duration::from_secs(30 * 60);

/// Wrong credentials a client may present per minute (and at once) before
/// it is refused with `429`, by default.
pub const GUESSES_PER_MINUTE: u32 = 5;

/// What is derived from the token; the token itself is not kept.
#[derive(Clone)]
struct Derived {
    /// SHA-256 of the token: a typed token's digest is compared with it, so
    /// the comparison takes the same time whatever the typed length.
    digest: [u8; 32],
    /// Seals session cookies (HMAC-SHA256), so a cookie this web did not
    /// make under this token is refused without a backend read.
    seal: [u8; 32],
    /// What sessions are opened under, in the backend: a use under another
    /// fingerprint (after the token changed) is refused by the store.
    fingerprint: String,
}

/// The operator credential, or none, and how sessions and guesses are held.
#[derive(Clone)]
pub struct Operator {
    derived: Option<Derived>,
    require_https: bool,
    session_lifetime: Duration,
    session_idle: Duration,
    guesses_per_minute: u32,
}

impl Default for Operator {
    fn default() -> Self {
        Self {
            derived: None,
            require_https: false,
            session_lifetime: SESSION_LIFETIME,
            session_idle: SESSION_IDLE,
            guesses_per_minute: GUESSES_PER_MINUTE,
        }
    }
}

impl std::fmt::Debug for Operator {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Nothing derived from the token in a log.
        formatter
            .debug_struct("Operator")
            .field("enabled", &self.enabled())
            .field("require_https", &self.require_https)
            .field("session_lifetime", &self.session_lifetime)
            .field("session_idle", &self.session_idle)
            .field("guesses_per_minute", &self.guesses_per_minute)
            .finish()
    }
}

/// One keyed digest of `token`, separated from the others by `purpose`.
fn derive(purpose: &[u8], token: &str) -> [u8; 32] {
    // A key of any length is accepted by HMAC; `new_from_slice` cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(purpose)
        .expect("HMAC-SHA256 takes a key of any length");
    mac.update(token.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Lowercase hex, as digests are written.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
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
                "it must be at least {MIN_TOKEN_CHARS} characters with no spaces (for example from `openssl rand -hex 32`)"
            ));
        }
        Ok(Self {
            derived: Some(Derived {
                digest: Sha256::digest(token.as_bytes()).into(),
                seal: derive(b"web+worker operator session seal", token),
                fingerprint: hex(&derive(b"web+worker operator credential", token)),
            }),
            ..Self::default()
        })
    }

    /// `OPERATOR_TOKEN`, `REQUIRE_HTTPS` and `SIGN_IN_RATE_PER_MINUTE`.
    pub fn settings() -> Vec<Setting> {
        vec![
            Setting::new("OPERATOR_TOKEN", "the credential every operator action (retry, delete, redrive) needs; unset turns the actions off")
                .accepts(format!("a secret of at least {MIN_TOKEN_CHARS} characters with no spaces, such as the output of `openssl rand -hex 32`"))
                .secret(),
            Setting::new("REQUIRE_HTTPS", "refuse a credential that came over plain HTTP")
                .accepts("true or false")
                .default_is(false),
            Setting::new("SIGN_IN_RATE_PER_MINUTE", "wrong operator credentials one client may present per minute, as many at once; 0 turns the limit off")
                .number(GUESSES_PER_MINUTE, 0, 1000),
        ]
    }

    /// Reads `OPERATOR_TOKEN` (unset or empty: no credential),
    /// `REQUIRE_HTTPS` and `SIGN_IN_RATE_PER_MINUTE`.
    pub fn from_vars(vars: &Vars) -> Result<Self, env::EnvError> {
        // The value is a secret: an error never shows it, not even one that
        // is not text.
        let token = vars.var("OPERATOR_TOKEN").map_err(|error| env::EnvError {
            value: "(hidden)".to_owned(),
            ..error
        })?;
        let operator = match token.filter(|token| !token.is_empty()) {
            None => Self::off(),
            Some(token) => Self::with_token(&token).map_err(|expected| env::EnvError {
                name: "OPERATOR_TOKEN".to_owned(),
                value: "(hidden)".to_owned(),
                expected,
            })?,
        };
        Ok(operator
            .requiring_https(vars.flag("REQUIRE_HTTPS", false)?)
            .guessing_at(vars.number_in("SIGN_IN_RATE_PER_MINUTE", GUESSES_PER_MINUTE, 0, 1000)?))
    }

    /// The same, refusing credentials that came over plain HTTP when
    /// `required` (`REQUIRE_HTTPS`).
    pub fn requiring_https(self, required: bool) -> Self {
        Self {
            require_https: required,
            ..self
        }
    }

    /// The same, with sessions that last `lifetime` at most and `idle`
    /// unused (tests: seconds, not hours).
    pub fn session_times(self, lifetime: Duration, idle: Duration) -> Self {
        Self {
            session_lifetime: lifetime,
            session_idle: idle,
            ..self
        }
    }

    /// The same, refusing a client after `per_minute` wrong credentials a
    /// minute (and as many at once); 0 turns the limit off.
    pub fn guessing_at(self, per_minute: u32) -> Self {
        Self {
            guesses_per_minute: per_minute,
            ..self
        }
    }

    /// Whether actions are possible at all.
    pub fn enabled(&self) -> bool {
        self.derived.is_some()
    }

    /// Whether a credential over plain HTTP is refused (`REQUIRE_HTTPS`).
    pub fn require_https(&self) -> bool {
        self.require_https
    }

    /// How long a session lasts at most.
    pub fn session_lifetime(&self) -> Duration {
        self.session_lifetime
    }

    /// How long a session lasts unused.
    pub fn session_idle(&self) -> Duration {
        self.session_idle
    }

    /// Wrong credentials a client may present per minute; 0: no limit.
    pub fn guesses_per_minute(&self) -> u32 {
        self.guesses_per_minute
    }

    /// Whether `typed` is the token, compared in constant time: the time of
    /// a refusal tells nothing of where a guess went wrong.
    pub fn is_token(&self, typed: &str) -> bool {
        self.derived.as_ref().is_some_and(|derived| {
            let typed: [u8; 32] = Sha256::digest(typed.as_bytes()).into();
            bool::from(typed.ct_eq(&derived.digest))
        })
    }

    /// The key that seals session cookies; none while actions are off.
    pub fn seal(&self) -> Option<&[u8; 32]> {
        self.derived.as_ref().map(|derived| &derived.seal)
    }

    /// What sessions are opened under; none while actions are off.
    pub fn fingerprint(&self) -> Option<&str> {
        self.derived
            .as_ref()
            .map(|derived| derived.fingerprint.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_short_or_spaced_token_is_refused() {
        assert!(Operator::with_token("short").is_err());
        assert!(Operator::with_token(&TOKEN[1..]).is_err(), "31 characters");
        assert!(Operator::with_token("0123456789abcdef 0123456789abcdef").is_err());
        let refusal = Operator::with_token("short").err().unwrap_or_default();
        assert!(refusal.contains("openssl rand -hex 32"), "{refusal}");
        assert!(Operator::with_token(TOKEN).is_ok());
    }

    #[test]
    fn only_the_token_itself_is_the_token() {
        let operator = Operator::with_token(TOKEN).expect("valid");
        assert!(operator.is_token(TOKEN));
        assert!(!operator.is_token("0123456789abcdef0123456789abcdeX"));
        assert!(!operator.is_token(&TOKEN[1..]));
        assert!(!operator.is_token(&format!("{TOKEN}0")));
        assert!(!operator.is_token(""));
        assert!(!Operator::off().is_token(""));
        assert!(!Operator::off().is_token(TOKEN));
    }

    #[test]
    fn a_new_token_changes_everything_derived_from_it() {
        let one = Operator::with_token(TOKEN).expect("valid");
        let other = Operator::with_token(&TOKEN.to_uppercase()).expect("valid");
        assert_ne!(one.seal(), other.seal());
        assert_ne!(one.fingerprint(), other.fingerprint());
        assert_ne!(
            one.seal().map(|seal| hex(seal)),
            one.fingerprint().map(str::to_owned),
            "the seal and the fingerprint are not the same secret"
        );
        let again = Operator::with_token(TOKEN).expect("valid");
        assert_eq!(one.seal(), again.seal(), "every instance derives the same");
        assert_eq!(one.fingerprint(), again.fingerprint());
    }

    #[test]
    fn nothing_of_the_token_is_in_a_log() {
        let operator = Operator::with_token(TOKEN).expect("valid");
        let logged = format!("{operator:?}");
        assert!(!logged.contains(TOKEN), "{logged}");
        assert!(!logged.contains(operator.fingerprint().unwrap_or("-")));
        assert!(logged.contains("enabled: true"), "{logged}");
    }

    #[test]
    fn with_no_token_nothing_is_derived() {
        let operator = Operator::off();
        assert!(!operator.enabled());
        assert!(operator.seal().is_none() && operator.fingerprint().is_none());
        assert_eq!(operator.guesses_per_minute(), GUESSES_PER_MINUTE);
        assert!(!operator.require_https());
    }
}
