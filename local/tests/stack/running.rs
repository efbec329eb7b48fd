//! "Pending" no longer hides "running", in Chromium: a slow job the worker
//! holds says "running for 2.1 s" on its row and its page, counting up, then
//! turns complete; a job answered with a retry says "retrying in 9 s",
//! counting down, as sqsd waits its `ErrorVisibilityTimeout` before it hands
//! the job out again; without JavaScript the page says the same as drawn.
//! The "In flight" tab lists the jobs a worker holds while it holds them.

use std::time::Duration;

use messages::JobKind;
use serde_json::json;
use sqsd::PollerConfig;
use testkit::accessibility::assert_accessible;
use testkit::browser::Browser;
use worker::{Intake, JobSettings, WorkerSettings};

use crate::browser::{App, app_with, post_api};

const WAIT: Duration = Duration::from_secs(25);

/// A polling worker whose `slow` jobs take 12 s and whose failed deliveries
/// come back after 10 s (sqsd's `ErrorVisibilityTimeout`, shortened).
async fn app_with_slow_jobs() -> App {
    app_with(Duration::from_secs(12), Duration::from_secs(10)).await
}

/// The seconds in a figure such as "for 2.1 s" or "in 5 s".
fn seconds(text: &str) -> f64 {
    text.split_whitespace()
        .find_map(|word| word.parse().ok())
        .unwrap_or_else(|| panic!("a figure in {text:?}"))
}

async fn sent(app: &App, simulate: &str) -> String {
    let response = post_api(
        app,
        "/api/messages",
        json!({ "body": simulate, "simulate": simulate }),
    )
    .await;
    let message: serde_json::Value = response.json().await.expect("the message");
    message["id"].as_str().expect("an id").to_owned()
}

#[tokio::test]
async fn a_slow_job_shows_running_and_for_how_long_then_complete() {
    let app = app_with_slow_jobs().await;
    let browser = app.open("/").await;
    let id = sent(&app, "slow").await;
    let row = format!("tr[data-id='{id}']");
    crate::browser::show_all(&browser, 1, WAIT).await;
    let badge = browser
        .wait_for_text(&format!("{row} .badge"), WAIT, |text| text == "running")
        .await;
    assert_eq!(badge, "running", "the row says the worker holds it");
    let first = browser.text(&format!("{row} .elapsed")).await;
    assert!(first.starts_with("for "), "{first:?}");
    // Times of day in one format on every page: UTC, 24-hour.
    let said = browser.text("#live-status").await;
    assert!(
        said.ends_with(" UTC") && !said.contains("AM") && !said.contains("PM"),
        "{said:?}"
    );
    assert_accessible(&browser, "with a running row").await;
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let later = browser.text(&format!("{row} .elapsed")).await;
    assert!(
        seconds(&later) > seconds(&first),
        "it counts up: {first:?} then {later:?}"
    );

    // Its page says the same, and its timeline names the running delivery.
    let page = app.open(&format!("/messages/{id}")).await;
    let status = page.text("#detail-status").await;
    assert!(status.starts_with("running for "), "{status:?}");
    let timeline = page.text("#timeline").await;
    assert!(timeline.contains("Delivery 1: running"), "{timeline}");
    assert_accessible(&page, "on a running message's page").await;
    let done = page
        .wait_for_text("#detail-status", WAIT, |text| text == "complete")
        .await;
    assert_eq!(done, "complete");
    let timeline = page.text("#timeline").await;
    assert!(
        timeline.contains("Delivery 1: complete after 12."),
        "{timeline}"
    );
    assert!(
        !timeline.contains("running"),
        "its start says no more: {timeline}"
    );

    let done = browser
        .wait_for_text(&format!("{row} td.state"), WAIT, |text| text == "complete")
        .await;
    assert_eq!(done, "complete", "the row's figure goes with the state");
    page.close().await;
    browser.close().await;
}

#[tokio::test]
async fn a_job_to_be_retried_counts_down_to_its_next_delivery() {
    let app = app_with_slow_jobs().await;
    let browser = app.open("/").await;
    // The browser without scripts starts before the job is sent: on a busy
    // machine Chromium's start can outlast the wait before the retry, and
    // the page would then be drawn with the job already complete.
    let plain = Browser::start(false).await;
    let id = sent(&app, "flaky").await;
    let row = format!("tr[data-id='{id}']");
    crate::browser::show_all(&browser, 1, WAIT).await;
    browser
        .wait_for_text(&format!("{row} .badge"), WAIT, |text| text == "retrying")
        .await;
    let first = browser.text(&format!("{row} .elapsed")).await;
    assert!(first.starts_with("in "), "{first:?}");
    assert!(seconds(&first) <= 10.0, "sqsd's wait, at most: {first:?}");
    assert_accessible(&browser, "with a row to be retried").await;
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let later = browser.text(&format!("{row} .elapsed")).await;
    assert!(
        later == "due now" || seconds(&later) < seconds(&first),
        "it counts down: {first:?} then {later:?}"
    );
    // Without JavaScript, the page as drawn says it too.
    plain.client.goto(&app.web).await.expect("open");
    let drawn = plain.text(&format!("{row} td.state")).await;
    assert!(drawn.starts_with("retrying in "), "{drawn:?}");
    plain.close().await;
    let done = browser
        .wait_for_text(&format!("{row} td.state"), WAIT, |text| text == "complete")
        .await;
    assert_eq!(done, "complete", "the second delivery completes it");
    browser.close().await;
    let message = app
        .backends
        .store
        .get(messages::MessageId::parse(&id).expect("an id"))
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(message.simulate, JobKind::Flaky);
}

/// The "In flight" tab: the pending jobs a worker holds, beside "Pending",
/// counted by the queue itself (SQS's `ApproximateNumberOfMessagesNotVisible`:
/// a message received and not yet deleted). A quick job never shows there; a
/// slow one appears live while it runs, then leaves when it completes.
#[tokio::test]
async fn the_in_flight_tab_lists_the_jobs_a_worker_holds_while_it_holds_them() {
    let app = app_with_slow_jobs().await;
    let browser = app.open("/?status=in_flight").await;
    let tab = browser.text("#counts [aria-current=page] .label").await;
    assert_eq!(tab, "In flight", "the tab is marked as the one shown");
    let quick = sent(&app, "ok").await;
    let slow = sent(&app, "slow").await;
    let row = format!("tr[data-id='{slow}']");
    browser
        .wait_for_text(&format!("{row} .badge"), WAIT, |text| text == "running")
        .await;
    let count = browser
        .wait_for_text("#count-in_flight", WAIT, |text| text == "1")
        .await;
    assert_eq!(count, "1", "the queue holds the slow job alone");
    assert_eq!(
        browser.count(&format!("tr[data-id='{quick}']")).await,
        0,
        "a job done at once is never in flight on the page"
    );
    assert_accessible(&browser, "on the in-flight tab").await;

    // As drawn by the server, and through the API, the same.
    let plain = Browser::start(false).await;
    plain
        .client
        .goto(&format!("{}/?status=in_flight", app.web))
        .await
        .expect("open");
    assert_eq!(plain.count("#messages tbody tr").await, 1);
    assert_eq!(plain.count(&row).await, 1);
    plain.close().await;
    let listed: serde_json::Value =
        reqwest::get(format!("{}/api/messages?status=in_flight", app.web))
            .await
            .expect("answer")
            .json()
            .await
            .expect("a page");
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|item| item["id"].as_str())
        .collect();
    assert_eq!(ids, [slow.as_str()]);
    let refused = reqwest::get(format!("{}/api/messages?status=running", app.web))
        .await
        .expect("answer");
    assert_eq!(refused.status(), 400);
    let said: serde_json::Value = refused.json().await.expect("an error");
    assert!(
        said["error"]
            .as_str()
            .is_some_and(|error| error.contains("use pending, in_flight, complete or fail")),
        "{said}"
    );

    // Done, it leaves the tab.
    let left = browser.wait_for_none(&row, Duration::from_secs(30)).await;
    assert_eq!(left, 0, "a complete job is in flight no more");
    browser.close().await;
}

/// A job already waiting when the in-flight tab opened is not among the new
/// messages the page watches: the tab reads its first page again every few
/// polls, so the job appears once a worker takes it. One job at a time here
/// (`concurrency` 1, a receive of one), as an sqsd with one HTTP connection.
#[tokio::test]
async fn the_in_flight_tab_shows_a_job_that_waited_when_it_opened_once_a_worker_takes_it() {
    let app = crate::browser::app_of(WorkerSettings {
        intake: Intake::Polling,
        jobs: JobSettings {
            slow_job: Duration::from_secs(6),
        },
        poller: PollerConfig {
            wait: Duration::from_secs(1),
            batch_size: 1,
            concurrency: 1,
            ..PollerConfig::default()
        },
        ..WorkerSettings::default()
    })
    .await;
    // The browser starts before the jobs are sent: on a busy machine
    // Chromium's start can outlast the first job's six seconds, and the tab
    // would then open on a job already done.
    let browser = Browser::start(true).await;
    let first = sent(&app, "slow").await;
    let second = sent(&app, "slow").await;
    let first_id = messages::MessageId::parse(&first).expect("an id");
    let deadline = tokio::time::Instant::now() + WAIT;
    while !matches!(
        app.backends
            .store
            .get(first_id)
            .await
            .expect("get")
            .map(|m| m.progress()),
        Some(messages::Progress::Running { .. })
    ) {
        assert!(tokio::time::Instant::now() < deadline, "the first job runs");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser
        .client
        .goto(&format!("{}/?status=in_flight", app.web))
        .await
        .expect("open the in-flight tab");
    // On a busy machine the first page may be drawn before the job's start
    // is read back; the tab's own polling brings it.
    let running = browser
        .wait_for_count(&format!("tr[data-id='{first}']"), 1, WAIT)
        .await;
    assert_eq!(running, 1, "the running job is in flight");
    assert_eq!(
        browser.count(&format!("tr[data-id='{second}']")).await,
        0,
        "the second waits behind the first"
    );
    // The second arrives at the top of the list: in at once if the first
    // has left, or behind "Show" if the first was still on screen when the
    // page read it (the list holds still while rows are in view), and then
    // a reader presses "Show".
    let second_row = format!("tr[data-id='{second}']");
    let deadline = tokio::time::Instant::now() + WAIT;
    while browser.count(&second_row).await == 0 && tokio::time::Instant::now() < deadline {
        if browser.count("#show-new.waiting").await == 1 {
            browser.click("#show-new").await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        browser.count(&second_row).await,
        1,
        "the second appears once the worker takes it"
    );
    let left = browser
        .wait_for_none(&format!("tr[data-id='{first}']"), WAIT)
        .await;
    assert_eq!(left, 0, "the first, complete, has left");
    browser.close().await;
}
