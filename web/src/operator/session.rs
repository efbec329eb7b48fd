//! The operator's session cookie: what it holds, how it is made, and how a
//! cookie a browser sends back is checked before the backend is asked.
//!
//! Each sign-in gets a secret of its own, 256 bits from the operating
//! system's CSPRNG. The cookie holds the secret and a seal over it
//! (HMAC-SHA256 under a key derived from `OPERATOR_TOKEN`, `operator.rs`):
//! `<secret>.<seal>`, both in hex. The backend holds only the SHA-256 of the
//! secret ([`SessionKey`]), with the session's expiries. So:
//! - a cookie this web did not make, or made under another token, fails its
//!   seal in memory: a guessed cookie costs no backend read;
//! - a sealed cookie is then looked up by its digest, which the store checks
//!   for expiry and ends on sign-out, on every web instance;
//! - reading the table gives digests, which sign nobody in.
//!
//! The cookie is `__Host-` prefixed, so a browser takes it only when it is
//! `Secure`, for `Path=/` and with no `Domain`: no subdomain can set or
//! overwrite it. `HttpOnly` keeps it from scripts, `SameSite=Strict` from
//! other sites' requests. It has no `Max-Age`: the browser forgets it when it
//! closes, and the server ends it long before then anyway (12 hours, or 30
//! minutes unused). Browsers accept `Secure` cookies from `http://localhost`
//! and `127.0.0.1`, so it works for `cargo run` too.

use axum_extra::extract::cookie::{Cookie, SameSite};
use hmac::{Hmac, Mac};
use messages::SessionKey;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::operator::settings::hex;

/// The cookie's name.
pub const COOKIE: &str = "__Host-operator";

/// A secret's length in bytes: 256 bits, past any guessing.
const SECRET_BYTES: usize = 32;

/// How long each half of the cookie's value is, in hex.
const HALF_CHARS: usize = 2 * SECRET_BYTES;

/// A new session: the cookie's value for the browser, the key for the store.
#[derive(Debug)]
pub struct Minted {
    /// `<secret>.<seal>`.
    pub value: String,
    /// The digest of the secret: all the store is given.
    pub key: SessionKey,
}

/// The seal of `secret` (its hex) under `seal_key`, in hex.
fn sealed(seal_key: &[u8; 32], secret: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(seal_key)
        .expect("HMAC-SHA256 takes a key of any length");
    mac.update(secret.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// The store's key for `secret` (its hex).
fn key_of(secret: &str) -> SessionKey {
    SessionKey::parse(&hex(&Sha256::digest(secret.as_bytes())))
        .expect("a SHA-256 digest in lowercase hex is a session key")
}

/// Whether `text` is `HALF_CHARS` lowercase hex characters, as this module writes them.
fn is_half(text: &str) -> bool {
    text.len() == HALF_CHARS
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

/// A new session under `seal_key`, or why the operating system gave no
/// randomness (then nobody is signed in).
pub fn mint(seal_key: &[u8; 32]) -> Result<Minted, getrandom::Error> {
    let mut secret = [0u8; SECRET_BYTES];
    getrandom::fill(&mut secret)?;
    let secret = hex(&secret);
    let value = format!("{secret}.{}", sealed(seal_key, &secret));
    Ok(Minted {
        key: key_of(&secret),
        value,
    })
}

/// The store's key for a cookie `value` made by [`mint`] under `seal_key`;
/// none for any other text, decided in memory and in a time that does not
/// depend on where a forged seal goes wrong.
pub fn unseal(seal_key: &[u8; 32], value: &str) -> Option<SessionKey> {
    let (secret, seal) = value.split_once('.')?;
    if !is_half(secret) || !is_half(seal) {
        return None;
    }
    let expected = sealed(seal_key, secret);
    bool::from(expected.as_bytes().ct_eq(seal.as_bytes())).then(|| key_of(secret))
}

/// The cookie that signs a browser in with `value`.
pub fn sign_in_cookie(value: String) -> Cookie<'static> {
    Cookie::build((COOKIE, value))
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .build()
}

/// The cookie that makes a browser forget its session: the same name and
/// attributes (or the browser keeps the first), empty, expired.
pub fn sign_out_cookie() -> Cookie<'static> {
    Cookie::build((COOKIE, ""))
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .removal()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SEAL: [u8; 32] = [7; 32];

    #[test]
    fn a_minted_cookie_unseals_to_its_key_and_only_under_its_seal() {
        let minted = mint(&SEAL).expect("randomness");
        assert_eq!(unseal(&SEAL, &minted.value), Some(minted.key.clone()));
        assert_eq!(
            unseal(&[8; 32], &minted.value),
            None,
            "another token's seal"
        );
        assert!(
            !minted.value.contains(minted.key.as_str()),
            "the cookie does not hold what the store holds"
        );
    }

    #[test]
    fn two_sessions_never_share_a_secret_or_a_key() {
        let one = mint(&SEAL).expect("randomness");
        let other = mint(&SEAL).expect("randomness");
        assert_ne!(one.value, other.value);
        assert_ne!(one.key, other.key);
    }

    #[test]
    fn a_changed_secret_or_seal_is_refused() {
        let minted = mint(&SEAL).expect("randomness");
        let (secret, seal) = minted.value.split_once('.').expect("two halves");
        let flip = |text: &str| {
            let last = if text.ends_with('0') { '1' } else { '0' };
            format!("{}{last}", &text[..text.len() - 1])
        };
        assert_eq!(unseal(&SEAL, &format!("{}.{seal}", flip(secret))), None);
        assert_eq!(unseal(&SEAL, &format!("{secret}.{}", flip(seal))), None);
        assert_eq!(
            unseal(&SEAL, &format!("{secret}.{}", seal.to_uppercase())),
            None
        );
        assert_eq!(unseal(&SEAL, secret), None, "no seal");
        assert_eq!(unseal(&SEAL, &format!("{secret}.{seal}.{seal}")), None);
        assert_eq!(unseal(&SEAL, ""), None);
    }

    #[test]
    fn the_cookie_is_host_only_secure_http_only_and_strict() {
        let set = sign_in_cookie("abc".to_owned()).to_string();
        for part in [
            "__Host-operator=abc",
            "Secure",
            "HttpOnly",
            "SameSite=Strict",
            "Path=/",
        ] {
            assert!(set.contains(part), "{part} in {set}");
        }
        assert!(!set.contains("Domain"), "{set}");
        let cleared = sign_out_cookie().to_string();
        assert!(cleared.starts_with("__Host-operator=;"), "{cleared}");
        assert!(
            cleared.contains("Max-Age=0") && cleared.contains("Secure"),
            "{cleared}"
        );
    }

    proptest! {
        /// Any text as a cookie's value is refused (or, for the one value
        /// in 2^256 that is sealed, a key), never a panic.
        #[test]
        fn any_cookie_value_is_refused_without_a_panic(value in "\\PC{0,200}") {
            prop_assert_eq!(unseal(&SEAL, &value), None);
        }

        /// Any secret with a seal that is not its own is refused.
        #[test]
        fn a_well_formed_cookie_with_a_forged_seal_is_refused(
            secret in "[0-9a-f]{64}",
            seal in "[0-9a-f]{64}",
        ) {
            prop_assume!(seal != sealed(&SEAL, &secret));
            prop_assert_eq!(unseal(&SEAL, &format!("{secret}.{seal}")), None);
        }
    }
}
