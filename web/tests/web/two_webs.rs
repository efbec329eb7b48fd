//! Two real `web` processes on one backend (the embedded one, one `DATA_DIR`
//! shared as instances behind a load balancer share their backend): a
//! session begun on one acts on the other, and signing out on either ends it
//! on both, so a load balancer may send an operator's requests anywhere.

use reqwest::StatusCode;

use crate::deployed::{TOKEN, cookie, session_cookie, start_in};

const CLIENT: &str = "203.0.113.31";

#[tokio::test]
async fn a_session_begun_on_one_web_process_acts_on_another_until_signed_out_there() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let one = start_in(dir.path()).await;
    let other = start_in(dir.path()).await;

    let signed_in = one.sign_in(CLIENT, TOKEN, true).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let session = session_cookie(&signed_in).expect("a session");
    let acted = other.act(CLIENT, cookie(&session), true).await;
    assert!(acted.is_success(), "the other process knows it: {acted}");
    let acted = one.act(CLIENT, cookie(&session), true).await;
    assert!(acted.is_success(), "and so does the first: {acted}");

    let out = other.sign_out(CLIENT, &session).await;
    assert!(out.status().is_redirection(), "{}", out.status());
    for (web, which) in [(&one, "where it began"), (&other, "where it ended")] {
        assert_eq!(
            web.act(CLIENT, cookie(&session), true).await,
            StatusCode::UNAUTHORIZED,
            "a copy of the cookie kept after sign-out, {which}"
        );
    }
}
