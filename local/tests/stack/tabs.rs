//! The list's status tabs, the header's failures badge and the send form's
//! refusals, in Chromium, checked with axe-core in light and dark mode: the
//! tabs and the badge follow the live counts; refused for the rate without
//! JavaScript the form keeps what was typed; with it, the wait counts down
//! and says when sending works again, spoken only then and at the start.

use std::time::Duration;

use fantoccini::Locator;
use messages_embedded::backends as open_backends;
use serde_json::json;
use testkit::accessibility::assert_accessible;
use testkit::browser::Browser;
use web::edge::throttle::Limits;

use crate::browser::{app, send};
use crate::helpers::{manual_worker, spawn_limited_stack};

const WAIT: Duration = Duration::from_secs(15);

/// Whether the page at `browser` is wider than its window.
async fn overflows(browser: &Browser) -> bool {
    browser
        .script("return document.documentElement.scrollWidth > window.innerWidth;")
        .await
        == json!(true)
}

#[tokio::test]
async fn the_tabs_count_live_and_the_header_badge_follows_the_failures() {
    let app = app().await;
    let browser = app.open("/").await;
    assert_eq!(browser.text("#count-all").await, "0");
    assert_eq!(
        browser
            .script("return document.getElementById('badge-failed').hidden;")
            .await,
        json!(true),
        "nothing failed: no figure"
    );
    // The group demonstration is secondary beside Send: outlined, not filled.
    let backgrounds = browser
        .script("return ['#demo-groups', '#send-form button[type=submit]'].map((css) => getComputedStyle(document.querySelector(css)).backgroundColor);")
        .await;
    assert_eq!(backgrounds[0], json!("rgba(0, 0, 0, 0)"), "{backgrounds}");
    assert_ne!(backgrounds[1], json!("rgba(0, 0, 0, 0)"), "{backgrounds}");

    send(&browser, "this one fails", "fail").await;
    browser
        .wait_for_text("#count-fail", WAIT, |text| text == "1")
        .await;
    assert_eq!(browser.text("#count-all").await, "1");
    browser
        .wait_for_text("#badge-failed-count", WAIT, |text| text == "1")
        .await;
    assert_eq!(
        browser
            .script("return [document.getElementById('badge-failed').hidden, document.getElementById('badge-failed').textContent, document.getElementById('badge-dead').hidden];")
            .await,
        json!([false, ", 1 failed", true]),
        "shown, with its words for a screen reader; no dead letters, no second figure"
    );
    assert_accessible(
        &browser,
        "with a failure counted in the tabs and the header",
    )
    .await;

    browser.click("#count-fail").await;
    let current = browser
        .wait_for_text("#counts [aria-current=page] .label", WAIT, |text| {
            text == "Fail"
        })
        .await;
    assert_eq!(current, "Fail");
    assert_eq!(browser.count("#messages tbody tr").await, 1);
    assert_accessible(&browser, "on the Fail tab").await;

    browser
        .client
        .set_window_size(390, 844)
        .await
        .expect("resize the window");
    assert!(!overflows(&browser).await, "the tabs fit a 390 px phone");
}

#[tokio::test]
async fn refused_for_the_rate_without_javascript_the_form_keeps_what_was_typed() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let backends = open_backends(dir.path(), 10).expect("open");
    let limits = Limits {
        sends_per_minute: 1,
        send_burst: 1,
        // Two reads at once (a tenth), then one every 3 s: the page drawn
        // again is past it, and still keeps the form.
        reads_per_minute: 20,
        ..Limits::off()
    };
    let web = spawn_limited_stack(backends, &manual_worker(), limits)
        .await
        .web;
    let browser = Browser::start(false).await;
    browser.client.goto(&web).await.expect("open the page");
    send(&browser, "the first", "ok").await;
    browser
        .wait_for_text("#send-notice", WAIT, |text| text.contains("sent"))
        .await;

    let group = browser
        .client
        .find(Locator::Css("#group"))
        .await
        .expect("the group field");
    group.send_keys("g-8").await.expect("type");
    send(&browser, "the second, <kept>", "fail").await;
    let error = browser
        .wait_for_text("#send-error", WAIT, |text| !text.is_empty())
        .await;
    assert!(
        error.contains("Too many messages from your address"),
        "{error}"
    );
    let kept = browser
        .script("return [document.getElementById('body').value, document.querySelector('input[name=simulate]:checked').value, document.getElementById('group').value];")
        .await;
    assert_eq!(kept, json!(["the second, <kept>", "fail", "g-8"]));
    browser.close().await;

    // axe-core needs scripts: the same page, drawn by the server for a form
    // posted natively (`form.submit()` skips the page's script), in a
    // browser that runs them.
    let dir = tempfile::tempdir().expect("a temporary folder");
    let backends = open_backends(dir.path(), 10).expect("open");
    let limits = Limits {
        sends_per_minute: 1,
        send_burst: 1,
        ..Limits::off()
    };
    let web = spawn_limited_stack(backends, &manual_worker(), limits)
        .await
        .web;
    let spent = reqwest::Client::new()
        .post(format!("{web}/api/messages"))
        .json(&json!({ "body": "the budget" }))
        .send()
        .await
        .expect("an answer");
    assert_eq!(spent.status(), reqwest::StatusCode::ACCEPTED);
    for dark in [false, true] {
        let browser = if dark {
            Browser::start_dark().await
        } else {
            Browser::start(true).await
        };
        browser.client.goto(&web).await.expect("open the page");
        browser
            .script("document.getElementById('body').value = 'posted without the script'; document.getElementById('send-form').submit(); return 0;")
            .await;
        let error = browser
            .wait_for_text("#send-error", WAIT, |text| !text.is_empty())
            .await;
        assert!(
            error.contains("Too many messages from your address"),
            "{error}"
        );
        let mode = if dark {
            "in dark mode"
        } else {
            "in light mode"
        };
        assert_accessible(
            &browser,
            &format!("refused for the rate, drawn by the server, {mode}"),
        )
        .await;
        browser.close().await;
    }
}

/// Sends twice from `browser`, the second over the rate, and follows the
/// wait down to the sentence that says sending works again.
async fn wait_counts_down(browser: &Browser, mode: &str) {
    send(browser, "the first", "ok").await;
    browser
        .wait_for_text("#send-notice", WAIT, |text| text.contains("sent"))
        .await;
    send(browser, "the second", "ok").await;
    let first: u32 = browser
        .wait_for_text("#send-wait-seconds", WAIT, |text| !text.is_empty())
        .await
        .parse()
        .expect("whole seconds");
    assert!(first >= 2, "{first}");
    let spoken = "return document.querySelector('#send-wait .visually-hidden').textContent;";
    let said = browser.script(spoken).await;
    assert_eq!(
        said,
        json!(format!(
            "Too many messages from your address: nothing was sent. Wait {first} s, then send again."
        ))
    );
    assert_eq!(
        browser
            .script("return [document.getElementById('send-wait').getAttribute('role'), document.querySelector('#send-wait [aria-hidden=true]') !== null];")
            .await,
        json!(["status", true]),
        "a polite region whose ticking figure is hidden from screen readers"
    );
    assert_accessible(browser, &format!("counting down, {mode}")).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later: u32 = browser
        .text("#send-wait-seconds")
        .await
        .parse()
        .expect("whole seconds");
    assert!(later < first, "{later} after {first}");
    assert_eq!(
        browser.script(spoken).await,
        said,
        "not spoken again each second"
    );
    let done = browser
        .wait_for_text("#send-wait", WAIT, |text| text == "You can send again now.")
        .await;
    assert_eq!(done, "You can send again now.");
    assert_eq!(
        browser
            .script("return document.getElementById('body').value;")
            .await,
        json!("the second"),
        "what was typed is kept"
    );
    assert_accessible(browser, &format!("after the wait, {mode}")).await;
}

#[tokio::test]
async fn the_wait_counts_down_each_second_then_says_sending_works_again_in_light_and_dark() {
    for dark in [false, true] {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let backends = open_backends(dir.path(), 10).expect("open");
        testkit::seed::failed(&backends, "an old failure", 3).await;
        let limits = Limits {
            // One message every 5 s, one at once.
            sends_per_minute: 12,
            send_burst: 1,
            ..Limits::off()
        };
        let web = spawn_limited_stack(backends, &manual_worker(), limits)
            .await
            .web;
        let browser = if dark {
            Browser::start_dark().await
        } else {
            Browser::start(true).await
        };
        browser.client.goto(&web).await.expect("open the page");
        let mode = if dark {
            "in dark mode"
        } else {
            "in light mode"
        };
        assert_eq!(browser.text("#badge-failed-count").await, "1");
        assert_accessible(&browser, &format!("with the tabs and the badge, {mode}")).await;
        wait_counts_down(&browser, mode).await;
        browser.close().await;
    }
}
