//! The page in a real headless Chromium: send through the form and watch the
//! message turn from `pending` to `complete` with no reload; a `fail` shows its
//! error; what a person typed is shown as text and runs nothing; an empty
//! message is refused beside the form; the form keeps its `Idempotency-Key`
//! only while the server's error code says the send is still open; and
//! without JavaScript the form still works.

use std::time::Duration;

use fantoccini::Locator;
use messages::Backends;
use serde_json::json;
use sqsd::PollerConfig;
use testkit::accessibility::assert_accessible;
use testkit::browser::Browser;
use worker::JobSettings;
use worker::{Intake, WorkerSettings};

use crate::helpers::spawn_stack;

const WAIT: Duration = Duration::from_secs(15);

pub struct App {
    pub web: String,
    pub backends: Backends,
    _dir: tempfile::TempDir,
}

/// The web and a polling worker on a fresh embedded backend; `slow` jobs take 2 s
/// so that `pending` is on screen long enough to be seen.
pub async fn app() -> App {
    app_with(Duration::from_secs(2), Duration::ZERO).await
}

/// The web and a polling worker on a fresh embedded backend, whose `slow`
/// jobs take `slow_job` and whose failed deliveries come back after
/// `retry_delay` (sqsd's `ErrorVisibilityTimeout`).
pub async fn app_with(slow_job: Duration, retry_delay: Duration) -> App {
    app_of(WorkerSettings {
        intake: Intake::Polling,
        jobs: JobSettings { slow_job },
        poller: PollerConfig {
            wait: Duration::from_secs(1),
            error_visibility_timeout: retry_delay,
            ..PollerConfig::default()
        },
        ..WorkerSettings::default()
    })
    .await
}

/// The web and a worker of `settings` on a fresh embedded backend.
pub async fn app_of(settings: WorkerSettings) -> App {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let backends = messages_embedded::backends(dir.path(), 10).expect("open");
    let web = spawn_stack(backends.clone(), &settings).await.web;
    App {
        web,
        backends,
        _dir: dir,
    }
}

impl App {
    /// A fresh browser, with scripts, at `path` of the web.
    pub async fn open(&self, path: &str) -> Browser {
        let browser = Browser::start(true).await;
        browser
            .client
            .goto(&format!("{}{path}", self.web))
            .await
            .unwrap_or_else(|error| panic!("cannot open {path}: {error}"));
        browser
    }

    pub async fn recorded(&self) -> usize {
        let query = messages::ListQuery {
            status: None,
            group: None,
            limit: 100,
            cursor: None,
        };
        self.backends
            .store
            .list(query)
            .await
            .expect("list")
            .items
            .len()
    }
}

/// Whether a row's text shows a pending message: "pending", or, once its
/// job has run for over a second, "running for …" (`running.rs`). A page
/// drawn late on a busy machine first shows the second.
pub fn shows_pending(row: &str) -> bool {
    row.contains("pending") || row.contains("running for ")
}

pub async fn send(browser: &Browser, text: &str, simulate: &str) {
    let client = &browser.client;
    let body = client
        .find(Locator::Css("#body"))
        .await
        .expect("the message field");
    body.clear().await.expect("clear");
    body.send_keys(text).await.expect("type");
    client
        .find(Locator::Css(&format!(
            "input[name=simulate][value={simulate}]"
        )))
        .await
        .expect("the choice")
        .click()
        .await
        .expect("choose");
    client
        .find(Locator::Css("#send-form button[type=submit]"))
        .await
        .expect("the send button")
        .click()
        .await
        .expect("send");
}

#[tokio::test]
async fn a_sent_message_appears_pending_then_turns_complete_without_a_reload() {
    let app = app().await;
    let browser = Browser::start(true).await;
    browser.client.goto(&app.web).await.expect("open the page");
    // A marker that a reload would wipe out.
    browser
        .client
        .execute("window.__notReloaded = 42; return 0;", vec![])
        .await
        .expect("script");

    send(&browser, "watch me move", "slow").await;
    let row = "#messages tbody tr:first-child";
    let pending = browser
        .wait_for_text(row, WAIT, |text| text.contains("watch me move"))
        .await;
    assert!(
        shows_pending(&pending),
        "first seen as pending: {pending:?}"
    );
    let complete = browser
        .wait_for_text(row, WAIT, |text| text.contains("complete"))
        .await;
    assert!(complete.contains("complete"), "then complete: {complete:?}");

    let marker = browser
        .client
        .execute("return window.__notReloaded;", vec![])
        .await
        .expect("script");
    assert_eq!(marker, json!(42), "the page was never reloaded");
    let counted = browser
        .wait_for_text("#count-complete", WAIT, |text| text == "1")
        .await;
    assert_eq!(counted, "1", "the counts follow");
    assert_accessible(
        &browser,
        "at the end of: a sent message appears pending then turns complete without a reload",
    )
    .await;
    browser.close().await;
}

#[tokio::test]
async fn a_failed_message_shows_its_error() {
    let app = app().await;
    let browser = Browser::start(true).await;
    browser.client.goto(&app.web).await.expect("open the page");
    send(&browser, "doomed", "fail").await;
    let row = browser
        .wait_for_text("#messages tbody tr:first-child", WAIT, |text| {
            text.contains("failed for good")
        })
        .await;
    assert!(
        row.contains("fail") && row.contains("failed for good"),
        "{row:?}"
    );
    assert_accessible(&browser, "at the end of: a failed message shows its error").await;
    browser.close().await;
}

#[tokio::test]
async fn markup_typed_into_a_message_is_shown_as_text_and_runs_nothing() {
    let app = app().await;
    let browser = Browser::start(true).await;
    browser.client.goto(&app.web).await.expect("open the page");
    let hostile = r#"<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">"#;
    send(&browser, hostile, "ok").await;
    let shown = browser
        .wait_for_text("#messages tbody tr:first-child td.body", WAIT, |text| {
            text.contains("<script>")
        })
        .await;
    assert_eq!(shown, hostile, "shown as typed, as text");

    // And the same after a full, server-rendered load.
    browser.client.refresh().await.expect("reload");
    let shown = browser
        .wait_for_text("#messages tbody tr:first-child td.body", WAIT, |text| {
            !text.is_empty()
        })
        .await;
    assert_eq!(shown, hostile);
    let ran = browser
        .client
        .execute("return [typeof window.__xss, document.querySelectorAll('#messages img, #messages script').length];", vec![])
        .await
        .expect("script");
    assert_eq!(
        ran,
        json!(["undefined", 0]),
        "no script ran, no element was made"
    );
    assert_accessible(
        &browser,
        "at the end of: markup typed into a message is shown as text and runs nothing",
    )
    .await;
    browser.close().await;
}

#[tokio::test]
async fn an_empty_message_shows_the_error_beside_the_form_and_changes_nothing() {
    let app = app().await;
    let browser = Browser::start(true).await;
    browser.client.goto(&app.web).await.expect("open the page");
    send(&browser, "   ", "ok").await;
    let error = browser
        .wait_for_text("#send-error", WAIT, |text| !text.is_empty())
        .await;
    assert!(error.contains("empty"), "{error:?}");
    let invalid = browser
        .client
        .execute(
            "return document.getElementById('body').getAttribute('aria-invalid');",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(
        invalid,
        json!("true"),
        "the field is marked for assistive technology"
    );
    assert_eq!(app.recorded().await, 0, "nothing was recorded");
    assert_accessible(
        &browser,
        "at the end of: an empty message shows the error beside the form and changes nothing",
    )
    .await;
    browser.close().await;
}

/// The form's key, as the page holds it now.
async fn form_key(browser: &Browser) -> String {
    browser
        .script("return document.getElementById('send-form').elements.idempotency_key.value;")
        .await
        .as_str()
        .expect("the form's key")
        .to_owned()
}

/// Sets the form's key, as if an earlier submit had used it.
async fn set_form_key(browser: &Browser, key: &str) {
    browser
        .script(&format!(
            "document.getElementById('send-form').elements.idempotency_key.value = {};",
            json!(key)
        ))
        .await;
}

/// Claims `key` in the store for the request `{"body": text}` as still in
/// progress, as a first send that has not answered yet holds it; the
/// request's fingerprint is read from a claim the API made for it.
async fn claim_in_progress(app: &App, key: &str, text: &str) {
    let answer = reqwest::Client::new()
        .post(format!("{}/api/messages/batch", app.web))
        .header("Idempotency-Key", "fingerprint-source")
        .json(&json!({"body": text, "simulate": "ok", "count": "1"}))
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), reqwest::StatusCode::ACCEPTED);
    let probe = messages::KeyClaim {
        fingerprint: String::new(),
        ids: Vec::new(),
        claimed_at: messages::now(),
        outcome: messages::KeyOutcome::InProgress,
    };
    // The store holds each key as its client's own (`Client::own_key`).
    let browser_client = web::edge::client::Client::at(std::net::Ipv4Addr::LOCALHOST.into());
    let own = |key: &str| {
        let key = messages::IdempotencyKey::parse(key).expect("key");
        browser_client.own_key(Some(key)).expect("a key")
    };
    let source = own("fingerprint-source");
    let messages::Claimed::Taken(held) = app
        .backends
        .store
        .claim_key(&source, &probe)
        .await
        .expect("claim")
    else {
        panic!("the API's send claimed its key");
    };
    let key = own(key);
    let running = messages::KeyClaim {
        ids: vec![messages::MessageId::new()],
        claimed_at: messages::now(),
        ..held
    };
    let claimed = app
        .backends
        .store
        .claim_key(&key, &running)
        .await
        .expect("claim");
    assert_eq!(claimed, messages::Claimed::New);
}

/// app.js keeps the form's key after an answer whose `code` says the send is
/// still open (`in_progress`), so pressing Send again is the same send; after
/// one that ended it (`key_reused`), the next submit gets a new key. It reads
/// the code, not the sentence.
#[tokio::test]
async fn the_form_keeps_its_key_only_while_the_error_code_says_the_send_is_open() {
    let app = app().await;
    let browser = app.open("/").await;
    claim_in_progress(&app, "held-by-a-running-send", "still going").await;
    let before = app.recorded().await;

    set_form_key(&browser, "held-by-a-running-send").await;
    send(&browser, "still going", "ok").await;
    let error = browser
        .wait_for_text("#send-error", WAIT, |text| !text.is_empty())
        .await;
    assert!(error.contains("still being answered"), "{error:?}");
    assert_eq!(
        form_key(&browser).await,
        "held-by-a-running-send",
        "an open send keeps its key"
    );

    set_form_key(&browser, "fingerprint-source").await;
    send(&browser, "another request", "ok").await;
    let error = browser
        .wait_for_text("#send-error", WAIT, |text| {
            text.contains("different request")
        })
        .await;
    assert!(error.contains("new key"), "{error:?}");
    let key = form_key(&browser).await;
    assert!(
        key != "fingerprint-source" && !key.is_empty(),
        "a send answered for good leaves a new key for the next: {key:?}"
    );
    assert_eq!(
        app.recorded().await,
        before,
        "neither refusal recorded anything"
    );
    browser.close().await;
}

#[tokio::test]
async fn without_javascript_the_form_posts_and_the_page_shows_the_message() {
    let app = app().await;
    let browser = Browser::start(false).await;
    browser.client.goto(&app.web).await.expect("open the page");
    send(&browser, "no script needed", "ok").await;
    let notice = browser
        .wait_for_text("#send-notice", WAIT, |text| !text.is_empty())
        .await;
    assert!(
        notice.contains("sent"),
        "redirected back with a notice: {notice:?}"
    );
    let url = browser.client.current_url().await.expect("url");
    assert_eq!(
        url.query(),
        Some("sent=1"),
        "the server's redirect, not the script, answered"
    );
    assert_eq!(app.recorded().await, 1);

    // Without scripts the page does not update itself; a reload shows the worker's work.
    let mut row = String::new();
    for _ in 0..50 {
        browser.client.goto(&app.web).await.expect("reload");
        row = browser.text("#messages tbody tr:first-child").await;
        if row.contains("complete") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        row.contains("no script needed") && row.contains("complete"),
        "{row:?}"
    );

    // An empty message is refused on the server, with the error beside the form.
    send(&browser, " ", "ok").await;
    let error = browser
        .wait_for_text("#send-error", WAIT, |text| !text.is_empty())
        .await;
    assert!(error.contains("empty"), "{error:?}");
    assert_eq!(app.recorded().await, 1);
    browser.close().await;
}

#[tokio::test]
async fn a_filtered_view_shows_a_new_message_once_it_reaches_that_status() {
    let app = app().await;
    let browser = Browser::start(true).await;
    browser
        .client
        .goto(&format!("{}/?status=complete", app.web))
        .await
        .expect("open the complete view");
    // A slow job: the page first learns of it while it is pending (not shown
    // here), and must show it when it completes.
    send(&browser, "ends in the complete view", "slow").await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let early = browser.count("#messages tbody tr").await;
    assert_eq!(early, 0, "not shown while pending");
    let row = browser
        .wait_for_text("#messages tbody tr:first-child", WAIT, |text| {
            text.contains("ends in the complete view")
        })
        .await;
    assert!(row.contains("complete"), "{row:?}");
    let rows = browser.count("#messages tbody tr").await;
    assert_eq!(rows, 1, "shown once");
    assert_accessible(
        &browser,
        "at the end of: a filtered view shows a new message once it reaches that status",
    )
    .await;
    browser.close().await;
}

/// The rows of the live list plus the new ones waiting behind "Show" (the
/// list holds still while rows are on screen: live_list.rs).
pub async fn rows_and_waiting(browser: &Browser) -> u64 {
    browser
        .script("const show = document.getElementById('show-new'); const waiting = show && show.classList.contains('waiting') ? Number((show.textContent.match(/\\d+/) || ['0'])[0]) : 0; return document.querySelectorAll('#messages tbody tr').length + waiting;")
        .await
        .as_u64()
        .unwrap_or(0)
}

/// Waits (up to `limit`) until the list shows or holds `wanted` rows, then
/// shows the held ones, as a reader presses "Show".
pub async fn show_all(browser: &Browser, wanted: u64, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while rows_and_waiting(browser).await < wanted && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if browser.count("#show-new.waiting").await == 1 {
        browser.click("#show-new").await;
    }
}

/// A fresh browser, with scripts, of `width` × `height` pixels, at `web`.
pub async fn open_at(web: &str, width: u32, height: u32) -> Browser {
    let browser = Browser::start(true).await;
    browser
        .client
        .set_window_size(width, height)
        .await
        .expect("resize the window");
    browser.client.goto(web).await.expect("open the page");
    browser
}

/// Posts `body` as JSON to `path` of the web, as another client would.
pub async fn post_api(app: &App, path: &str, body: serde_json::Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", app.web))
        .json(&body)
        .send()
        .await
        .expect("answer")
}
