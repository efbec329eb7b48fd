//! The real `web` binary with its public limits on (the defaults, as a
//! deployed web has them), tried as an attacker would: bursts and reads past
//! a client's budget, addresses made up in `X-Forwarded-For`, guesses at the
//! operator's token, a stolen cookie after sign-out, the credential over
//! plain HTTP, and headers sent too slowly. It runs as `deployed` starts it,
//! behind nginx on the same host, so each test speaks for a client by the
//! entry nginx would append, and for HTTPS by `X-Forwarded-Proto`.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::deployed::{TOKEN, Web, cookie, session_cookie, start};

impl Web {
    async fn send_burst(&self, client: &str, count: u32) -> StatusCode {
        self.from(reqwest::Method::POST, "/api/messages/batch", client, false)
            .json(&serde_json::json!({ "body": "burst", "count": count }))
            .send()
            .await
            .expect("an answer")
            .status()
    }
}

#[tokio::test]
async fn a_burst_of_twenty_empties_a_budget_of_twenty_and_a_made_up_address_earns_nothing() {
    let web = start().await;
    assert_eq!(
        web.send_burst("203.0.113.1", 21).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        web.send_burst("203.0.113.1", 20).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        web.send_burst("203.0.113.1", 1).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The client writes another address on the left; nginx appends the real one.
    assert_eq!(
        web.send_burst("198.51.100.77, 203.0.113.1", 1).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(web.send_burst("203.0.113.2", 1).await, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn four_hundred_rapid_reads_meet_429() {
    let web = start().await;
    let mut refused = 0;
    for _ in 0..400 {
        let answer = web
            .from(reqwest::Method::GET, "/api/messages", "203.0.113.3", false)
            .send()
            .await
            .expect("an answer");
        if answer.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(answer.headers().contains_key("retry-after"));
            refused += 1;
        }
    }
    assert!(refused >= 200, "only {refused} of 400 refused");
}

#[tokio::test]
async fn the_thirtieth_wrong_sign_in_is_long_past_429_and_the_right_token_then_waits_too() {
    let web = start().await;
    let mut first_refused = None;
    for attempt in 1..=30 {
        let answer = web
            .sign_in(
                "203.0.113.4",
                "a-wrong-guess-of-the-operator-token-0000",
                true,
            )
            .await;
        assert!(
            session_cookie(&answer).is_none(),
            "a wrong token signs nobody in"
        );
        if answer.status() == StatusCode::TOO_MANY_REQUESTS && first_refused.is_none() {
            first_refused = Some(attempt);
        }
        if attempt == 30 {
            assert_eq!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
            assert!(answer.headers().contains_key("retry-after"));
        }
    }
    let first = first_refused.expect("guessing was limited");
    assert!(first <= 10, "the first 429 came at guess {first}");
}

#[tokio::test]
async fn two_sign_ins_differ_and_an_old_cookie_fails_after_sign_out() {
    let web = start().await;
    let one = web.sign_in("203.0.113.5", TOKEN, true).await;
    let two = web.sign_in("203.0.113.5", TOKEN, true).await;
    let (one, two) = (
        session_cookie(&one).expect("a session"),
        session_cookie(&two).expect("a session"),
    );
    assert_ne!(one, two, "each sign-in is a session of its own");
    assert!(!one.contains(TOKEN));
    let acted = web.act("203.0.113.5", cookie(&one), true).await;
    assert!(acted.is_success(), "a signed-in redrive: {acted}");

    let out = web.sign_out("203.0.113.5", &one).await;
    assert!(out.status().is_redirection(), "{}", out.status());
    assert_eq!(
        web.act("203.0.113.5", cookie(&one), true).await,
        StatusCode::UNAUTHORIZED,
        "a copy of the cookie kept after sign-out"
    );
    // The first redrive may still be running (one at a time per instance:
    // `409`), which only a signed-in operator hears: the session is on.
    let acted = web.act("203.0.113.5", cookie(&two), true).await;
    assert!(
        acted.is_success() || acted == StatusCode::CONFLICT,
        "the other session is still on: {acted}"
    );
}

#[tokio::test]
async fn under_require_https_the_credential_over_plain_http_is_refused_and_https_answers_carry_hsts()
 {
    let web = start().await;
    let plain = web.sign_in("203.0.113.6", TOKEN, false).await;
    assert!(plain.status().is_client_error(), "{}", plain.status());
    assert!(session_cookie(&plain).is_none());
    let text = plain.text().await.expect("text");
    assert!(
        text.contains("https"),
        "the refusal says to use https: {text}"
    );

    let mut bearer = HeaderMap::new();
    bearer.insert(
        "authorization",
        format!("Bearer {TOKEN}").parse().expect("a header"),
    );
    let over_http = web.act("203.0.113.6", bearer.clone(), false).await;
    assert!(over_http.is_client_error(), "{over_http}");
    assert_ne!(over_http, StatusCode::NOT_FOUND);

    // The form itself is not offered over plain HTTP: a token typed there
    // would cross the network in clear before any refusal.
    let web = &web;
    let page_over = |https| async move {
        web.from(reqwest::Method::GET, "/dead-letters", "203.0.113.7", https)
            .send()
            .await
            .expect("an answer")
            .text()
            .await
            .expect("text")
    };
    let plain_page = page_over(false).await;
    assert!(!plain_page.contains("type=\"password\""), "{plain_page}");
    assert!(plain_page.contains("https://"), "{plain_page}");
    assert!(page_over(true).await.contains("type=\"password\""));

    let secure = web.sign_in("203.0.113.6", TOKEN, true).await;
    let hsts = secure
        .headers()
        .get("strict-transport-security")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let max_age: u64 = hsts
        .split(';')
        .find_map(|part| part.trim().strip_prefix("max-age="))
        .and_then(|seconds| seconds.parse().ok())
        .unwrap_or(0);
    assert!(max_age >= 31_536_000, "HSTS for at least a year: {hsts:?}");
    let set_cookie = secure
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("__Host-"))
        .expect("a session cookie")
        .to_ascii_lowercase();
    for attribute in ["secure", "httponly", "samesite=strict", "path=/"] {
        assert!(
            set_cookie.contains(attribute),
            "{set_cookie} lacks {attribute}"
        );
    }
    assert!(!set_cookie.contains("domain="), "{set_cookie}");
}

#[tokio::test]
async fn a_connection_whose_headers_never_finish_is_cut() {
    let web = start().await;
    let address = web
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("an address");
    let held = testkit::attacks::slow_headers(address, "GET / HTTP/1.1")
        .await
        .expect("still open after 30 s");
    assert!(held < Duration::from_secs(15), "held for {held:?}");
}
