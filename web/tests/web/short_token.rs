//! The real `web` binary started with an `OPERATOR_TOKEN` shorter than 32
//! characters: it stops before it listens, saying which setting is wrong
//! and what it needs, and serves nothing; one of 32 starts.

use std::process::Stdio;
use std::time::Duration;

/// One character short of the minimum.
const SHORT: &str = "0123456789abcdef0123456789abcde";

#[tokio::test]
async fn a_token_shorter_than_32_characters_stops_the_web_before_it_serves() {
    assert_eq!(SHORT.chars().count(), 31);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let web = tokio::process::Command::new(env!("CARGO_BIN_EXE_web"))
        .env_remove("QUEUE_URL")
        .env_remove("TABLE_NAME")
        .env_remove("LOG_FORMAT")
        .env("DATA_DIR", dir.path())
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("OPERATOR_TOKEN", SHORT)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the web binary");
    let output = tokio::time::timeout(Duration::from_secs(10), web.wait_with_output())
        .await
        .expect("the web stops within 10 s")
        .expect("its output");

    assert!(!output.status.success(), "{:?}", output.status);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("OPERATOR_TOKEN") && said.contains("at least 32 characters"),
        "{said}"
    );
    assert!(!said.contains(SHORT), "the token was shown: {said}");
    let logged = String::from_utf8_lossy(&output.stdout);
    assert!(!logged.contains("web listening"), "{logged}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "something answers on the web's port"
    );

    // One character more, and it serves.
    let mut long_enough = tokio::process::Command::new(env!("CARGO_BIN_EXE_web"));
    long_enough.env("OPERATOR_TOKEN", format!("{SHORT}f"));
    let (_web, _url) = crate::helpers::start_limited_web_binary(long_enough, dir.path()).await;
}
