//! "Pending" no longer hides "running", in Chromium: a slow job the worker
//! holds says "running for 2.1 s" on its row and its page, counting up, then
//! turns complete; a job answered with a retry says "retrying in 9 s",
//! counting down, as sqsd waits its `ErrorVisibilityTimeout` before it hands
//! the job out again; without JavaScript the page says the same as drawn.

use std::time::Duration;

use messages::Simulate;
use serde_json::json;
use testkit::accessibility::assert_accessible;
use testkit::browser::Browser;

use crate::browser::{App, app_with, post_api};

const WAIT: Duration = Duration::from_secs(25);

/// A polling worker whose `slow` jobs take 8 s and whose failed deliveries
/// come back after 10 s (sqsd's `ErrorVisibilityTimeout`, shortened).
async fn app_with_slow_jobs() -> App {
    app_with(Duration::from_secs(8), Duration::from_secs(10)).await
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
        timeline.contains("Delivery 1: complete after 8."),
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
    let plain = Browser::start(false).await;
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
    assert_eq!(message.simulate, Simulate::Flaky);
}
