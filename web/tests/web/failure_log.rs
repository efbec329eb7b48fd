//! What the real `web` binary logs of a wrong operator credential: a line at
//! `WARN` with the client's own address (the one nginx appended, not the
//! proxy's), so an operator can find who is guessing, and never the
//! credential's value, which may be the token mistyped by one character.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::deployed::{TOKEN, cookie, start_logging};

/// The `WARN` lines of `stdout`, each a JSON object as `LOG_FORMAT=json` writes it.
fn warnings(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["level"] == "WARN")
        .collect()
}

#[tokio::test]
async fn a_wrong_credential_is_logged_at_warn_with_the_clients_address_and_never_its_value() {
    let web = start_logging().await;
    // Each close to the token, as a mistyped one would be.
    let typed = format!("{TOKEN}4");
    let bearer = format!("{TOKEN}5");
    let forged = format!("__Host-operator={}.{}", "6".repeat(64), "7".repeat(64));

    let signed_in = web.sign_in("203.0.113.21", &typed, true).await;
    assert_eq!(signed_in.status(), StatusCode::UNAUTHORIZED);
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        format!("Bearer {bearer}").parse().expect("a header"),
    );
    assert_eq!(
        web.act("203.0.113.22", headers, true).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        web.act("203.0.113.23", cookie(&forged), true).await,
        StatusCode::UNAUTHORIZED
    );

    let output = web.stop().await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let warnings = warnings(&stdout);
    for client in ["203.0.113.21", "203.0.113.22", "203.0.113.23"] {
        assert!(
            warnings
                .iter()
                .any(|line| line["fields"]["client"] == client
                    && line["fields"]["message"] == "a wrong operator credential"),
            "no WARN line names {client}: {stdout}"
        );
    }
    for secret in [
        typed.as_str(),
        bearer.as_str(),
        &forged["__Host-operator=".len()..],
        TOKEN,
    ] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "a credential's value was logged: {stdout}{stderr}"
        );
    }
}
