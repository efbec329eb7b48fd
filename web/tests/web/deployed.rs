//! The real `web` binary as a deployment runs it: every limit at its
//! default, the operator's token set, HTTPS required, and nginx on the same
//! host as the trusted proxy (`TRUSTED_PROXIES=127.0.0.1/32`). A test speaks
//! for a client by the `X-Forwarded-For` entry nginx would append, and for
//! HTTPS by `X-Forwarded-Proto`, as the load balancer would.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use reqwest::header::HeaderMap;

/// The operator's token every deployed web here is started with.
pub const TOKEN: &str = "an-operator-token-long-enough-to-be-accepted-0123";

/// One `web` process, killed when dropped.
pub struct Web {
    pub url: String,
    client: reqwest::Client,
    _dir: Option<tempfile::TempDir>,
    child: tokio::process::Child,
}

/// The `web` binary with the deployed settings, on the embedded backend in
/// the `DATA_DIR` it is later given.
fn command() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_web"));
    command
        .env_remove("SEND_RATE_PER_MINUTE")
        .env_remove("READ_RATE_PER_MINUTE")
        .env_remove("RUST_LOG")
        .env("HOST", "127.0.0.1")
        .env("TRUSTED_PROXIES", "127.0.0.1/32")
        .env("OPERATOR_TOKEN", TOKEN)
        .env("REQUIRE_HTTPS", "true");
    command
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

/// A deployed web on a backend of its own.
pub async fn start() -> Web {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut web = start_in(dir.path()).await;
    web._dir = Some(dir);
    web
}

/// A deployed web on the embedded backend in `data_dir`, which other
/// processes may share (as instances share one backend behind a load balancer).
pub async fn start_in(data_dir: &Path) -> Web {
    let (child, url) = crate::helpers::start_limited_web_binary(command(), data_dir).await;
    Web {
        url,
        client: no_redirects(),
        _dir: None,
        child,
    }
}

/// A deployed web on a backend of its own, logging one JSON object a line
/// (`LOG_FORMAT=json`, as CloudWatch reads it) for [`Web::stop`] to return.
pub async fn start_logging() -> Web {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut command = command();
    command
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (child, url) = crate::helpers::start_web_binary_with_output(command, dir.path()).await;
    Web {
        url,
        client: no_redirects(),
        _dir: Some(dir),
        child,
    }
}

impl Web {
    /// A request from `client` (the address nginx appends), over HTTPS or not.
    pub fn from(
        &self,
        method: reqwest::Method,
        path: &str,
        client: &str,
        https: bool,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.url))
            .header("x-forwarded-for", client)
            .header("x-forwarded-proto", if https { "https" } else { "http" })
    }

    /// The sign-in form posted with `token`.
    pub async fn sign_in(&self, client: &str, token: &str, https: bool) -> reqwest::Response {
        self.from(reqwest::Method::POST, "/operator/sign-in", client, https)
            .form(&[("token", token)])
            .send()
            .await
            .expect("an answer")
    }

    /// Signs out the session of `pair` (the cookie's `name=value`), over HTTPS.
    pub async fn sign_out(&self, client: &str, pair: &str) -> reqwest::Response {
        self.from(reqwest::Method::POST, "/operator/sign-out", client, true)
            .headers(cookie(pair))
            .send()
            .await
            .expect("an answer")
    }

    /// What the operator's redrive answers for `headers` (a cookie or a bearer).
    pub async fn act(&self, client: &str, headers: HeaderMap, https: bool) -> reqwest::StatusCode {
        self.from(
            reqwest::Method::POST,
            "/api/dead-letters/redrive",
            client,
            https,
        )
        .headers(headers)
        .send()
        .await
        .expect("an answer")
        .status()
    }

    /// Kills the process and returns everything it wrote, when it was
    /// started by [`start_logging`]. Every request answered before this was
    /// logged before its answer, so its lines are there.
    pub async fn stop(mut self) -> std::process::Output {
        self.child.start_kill().expect("kill the web");
        tokio::time::timeout(Duration::from_secs(10), self.child.wait_with_output())
            .await
            .expect("the killed web's output ends within 10 s")
            .expect("the web's output")
    }
}

/// The `name=value` of the session cookie `response` set, if any.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("__Host-"))
        .and_then(|value| value.split(';').next())
        .map(str::to_owned)
}

/// `pair` as a request's `Cookie` header.
pub fn cookie(pair: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("cookie", pair.parse().expect("a header"));
    headers
}
