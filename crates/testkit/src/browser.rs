//! A real headless Chromium (Debian's `chromium`), driven through
//! `chromedriver` with WebDriver, for the UI tests. The test command installs
//! both and sets `CHROMIUM` and `CHROMEDRIVER`.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tempfile::TempDir;
use tokio::process::{Child, Command};

/// A browser session; the browser and its driver stop when it is dropped.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    _driver: Child,
    _profile: TempDir,
}

fn executable(variable: &str, default: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| default.to_owned())
}

impl Browser {
    /// Starts chromedriver and a fresh headless Chromium, with JavaScript on or off.
    pub async fn start(javascript: bool) -> Self {
        Self::start_with(javascript, &[]).await
    }

    /// As [`Browser::start`], with JavaScript and the operating system in
    /// dark mode, so the page's `prefers-color-scheme: dark` applies.
    pub async fn start_dark() -> Self {
        Self::start_with(true, &["--force-dark-mode"]).await
    }

    async fn start_with(javascript: bool, extra_args: &[&str]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(executable("CHROMEDRIVER", "chromedriver"))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start chromedriver ({error}): run the tests with scripts/test, which installs Debian's chromium-driver"));
        let webdriver = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http.get(format!("{webdriver}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("a profile folder");
        let mut options = json!({
            "binary": executable("CHROMIUM", "/usr/bin/chromium"),
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1200,900",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        });
        if let Some(args) = options["args"].as_array_mut() {
            args.extend(extra_args.iter().map(|arg| json!(arg)));
        }
        if !javascript {
            options["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let mut capabilities = Capabilities::new();
        capabilities.insert("goog:chromeOptions".to_owned(), options);
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&webdriver)
            .await
            .expect("a WebDriver session with headless Chromium");
        Self {
            client,
            _driver: driver,
            _profile: profile,
        }
    }

    /// The text of the first element matching `css`, or "" if there is none.
    pub async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// How many elements match `css`.
    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .map_or(0, |found| found.len())
    }

    /// Clicks the first element matching `css`; there must be one.
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("nothing on the page matches {css}: {error}"))
            .click()
            .await
            .unwrap_or_else(|error| panic!("cannot click {css}: {error}"));
    }

    /// Waits up to `limit` until at least `wanted` elements match `css`;
    /// returns how many match then.
    pub async fn wait_for_count(&self, css: &str, wanted: usize, limit: Duration) -> usize {
        self.wait_for_matches(css, limit, |count| count >= wanted)
            .await
    }

    /// Waits up to `limit` until no element matches `css`; returns how many
    /// match then.
    pub async fn wait_for_none(&self, css: &str, limit: Duration) -> usize {
        self.wait_for_matches(css, limit, |count| count == 0).await
    }

    /// Waits up to `limit` until how many elements match `css` meets
    /// `condition`; returns how many match then.
    async fn wait_for_matches(
        &self,
        css: &str,
        limit: Duration,
        condition: impl Fn(usize) -> bool,
    ) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let count = self.count(css).await;
            if condition(count) || tokio::time::Instant::now() >= deadline {
                return count;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits up to `limit` for `condition` on the page's text at `css`.
    pub async fn wait_for_text(
        &self,
        css: &str,
        limit: Duration,
        condition: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let text = self.text(css).await;
            if condition(&text) || tokio::time::Instant::now() >= deadline {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `code` (a function body) in the page and returns what it returns.
    pub async fn script(&self, code: &str) -> serde_json::Value {
        self.client
            .execute(code, vec![])
            .await
            .unwrap_or_else(|error| panic!("script failed ({error}): {code}"))
    }

    /// Saves what the window shows as `SCREENSHOTS_DIR/<name>.png` when
    /// `SCREENSHOTS_DIR` is set (the README's screenshots are made so), and
    /// does nothing otherwise.
    pub async fn save_screenshot(&self, name: &str) {
        let Ok(folder) = std::env::var("SCREENSHOTS_DIR") else {
            return;
        };
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|error| panic!("cannot take a screenshot: {error}"));
        let path = std::path::Path::new(&folder).join(format!("{name}.png"));
        std::fs::write(&path, png)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
    }

    /// Ends the session (the browser closes; the driver stops on drop).
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
