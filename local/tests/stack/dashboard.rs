//! What people ask a job dashboard for, in a real headless Chromium: find a
//! message by its id from any page (with and without JavaScript), pause the
//! live updates or choose how often they come (kept for the next visit), and
//! a dark mode that follows the operating system and keeps WCAG AA contrast
//! (axe-core checks it), with the last hour's charts.

use std::time::Duration;

use fantoccini::Locator;
use messages::JobKind;
use serde_json::json;
use testkit::accessibility::assert_accessible;
use testkit::browser::Browser;

use crate::browser::app;

const WAIT: Duration = Duration::from_secs(15);

async fn find(browser: &Browser, typed: &str) {
    let field = browser
        .client
        .find(Locator::Css("#find-id"))
        .await
        .expect("the search field");
    field.clear().await.expect("clear");
    field.send_keys(typed).await.expect("type");
    browser.click("form.find button[type=submit]").await;
}

#[tokio::test]
async fn a_message_is_found_by_its_id_and_anything_else_is_refused_with_what_an_id_looks_like() {
    let app = app().await;
    let message = testkit::seed::sent(&app.backends, "find me", JobKind::Succeed).await;
    for javascript in [true, false] {
        let browser = Browser::start(javascript).await;
        browser
            .client
            .goto(&format!("{}/dead-letters", app.web))
            .await
            .expect("open a page");
        // As people paste ids: spaces around, upper case, no hyphens.
        let typed = if javascript {
            format!("  {}  ", message.id)
        } else {
            message.id.to_string().to_uppercase().replace('-', "")
        };
        find(&browser, &typed).await;
        let heading = browser
            .wait_for_text("#detail-heading", WAIT, |text| {
                text.contains(&message.id.to_string())
            })
            .await;
        assert!(
            heading.contains(&message.id.to_string()),
            "js {javascript}: {heading:?}"
        );
        find(&browser, "not an id").await;
        let reason = browser
            .wait_for_text("main p", WAIT, |text| text.contains("is not a message id"))
            .await;
        assert!(
            reason.contains("an id looks like"),
            "js {javascript}: {reason:?}"
        );
        if javascript {
            assert_accessible(&browser, "on the refusal of a search").await;
        }
        browser.close().await;
    }
}

#[tokio::test]
async fn live_updates_pause_and_resume_at_the_chosen_interval_which_is_kept() {
    let app = app().await;
    let browser = app.open("/").await;
    browser
        .client
        .find(Locator::Css("#live-interval option[value='0']"))
        .await
        .expect("the paused choice")
        .click()
        .await
        .expect("pause");
    let said = browser
        .wait_for_text("#live-status", WAIT, |text| text.contains("paused"))
        .await;
    assert!(said.contains("Live updates paused"), "{said:?}");
    testkit::seed::sent(&app.backends, "sent while paused", JobKind::Succeed).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        browser.count("#messages tbody tr").await,
        0,
        "nothing came while paused"
    );

    // Kept for the next visit.
    browser.client.refresh().await.expect("reload");
    let kept = browser
        .script("return document.getElementById('live-interval').value;")
        .await;
    assert_eq!(kept, json!("0"));
    // A fresh page shows what is there; a new message waits for the resume.
    testkit::seed::sent(&app.backends, "sent after the reload", JobKind::Succeed).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(browser.count("#messages tbody tr").await, 1);
    browser
        .client
        .find(Locator::Css("#live-interval option[value='1500']"))
        .await
        .expect("the 1.5 s choice")
        .click()
        .await
        .expect("resume");
    // A row is on screen, so the new one waits behind "Show" rather than
    // pushing it down (the list holds still: live_list.rs).
    browser.wait_for_count("#show-new.waiting", 1, WAIT).await;
    browser.click("#show-new").await;
    assert_eq!(
        browser.wait_for_count("#messages tbody tr", 2, WAIT).await,
        2,
        "resumed"
    );
    assert_accessible(&browser, "with the interval chosen").await;
    browser.close().await;
}

#[tokio::test]
async fn dark_mode_follows_the_system_and_keeps_aa_contrast() {
    let app = app().await;
    for simulate in [JobKind::Succeed, JobKind::Fail, JobKind::Slow] {
        testkit::seed::sent(&app.backends, &format!("a {simulate} job"), simulate).await;
    }
    let failed = testkit::seed::failed(&app.backends, "failed for the failures page", 2).await;
    // All final before the page opens, so the last hour's charts show them.
    for _ in 0..100 {
        let pending = app
            .backends
            .store
            .count(messages::Status::Pending)
            .await
            .expect("count");
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let browser = Browser::start_dark().await;
    browser.client.goto(&app.web).await.expect("open the page");
    let summary = browser.text("#activity-summary").await;
    assert!(
        summary.contains("2 complete, 2 failed, 1 retried deliveries"),
        "the last hour, drawn without a script: {summary:?}"
    );
    assert_eq!(
        browser.count("#throughput-chart rect.bar-complete").await,
        1
    );
    let dark = browser
        .script("return [matchMedia('(prefers-color-scheme: dark)').matches, getComputedStyle(document.body).backgroundColor];")
        .await;
    assert_eq!(dark, json!([true, "rgb(18, 22, 25)"]), "the dark page");
    browser
        .wait_for_count("#messages tbody tr[data-status=complete]", 1, WAIT)
        .await;
    assert_accessible(&browser, "in dark mode, on the messages page").await;
    for path in [
        "/dead-letters".to_owned(),
        format!("/messages/{}", failed.id),
    ] {
        browser
            .client
            .goto(&format!("{}{path}", app.web))
            .await
            .expect("open");
        assert_accessible(&browser, &format!("in dark mode, on {path}")).await;
    }
    browser.close().await;
}

/// A message's page shows its timeline, and follows it live: a `flaky` job
/// fails its first delivery (answered 429, so sqsd retries it) and completes
/// on the second (answered 200).
#[tokio::test]
async fn a_messages_timeline_shows_each_delivery_live() {
    let app = app().await;
    let message = messages::Message::new(
        messages::MessageBody::parse("flaky one").expect("valid"),
        JobKind::Flaky,
    );
    app.backends.store.create(&message).await.expect("record");
    let browser = app.open(&format!("/messages/{}", message.id)).await;
    assert_eq!(
        browser.count("#timeline li").await,
        1,
        "sent, nothing more yet"
    );
    app.backends
        .queue
        .send_message(&message.outgoing())
        .await
        .expect("enqueue");
    assert_eq!(browser.wait_for_count("#timeline li", 3, WAIT).await, 3);
    let lines = browser
        .script(
            "return Array.from(document.querySelectorAll('#timeline li'), (li) => li.textContent);",
        )
        .await;
    let lines: Vec<&str> = lines
        .as_array()
        .expect("lines")
        .iter()
        .filter_map(serde_json::Value::as_str)
        .collect();
    assert!(lines[0].contains("Sent"), "{lines:?}");
    assert!(
        lines[1].contains("Delivery 1: failed after")
            && lines[1].contains("to be retried")
            && lines[1].contains("answered 429"),
        "{lines:?}"
    );
    assert!(
        lines[2].contains("Delivery 2: complete") && lines[2].contains("answered 200"),
        "{lines:?}"
    );
    assert_accessible(&browser, "on a message's page with its timeline").await;
    browser.close().await;
}

/// The header marks the page you are on, and a message's page leads back to
/// the list as you left it (its filter), not to the whole list.
#[tokio::test]
async fn the_header_marks_the_page_and_a_messages_page_leads_back_to_the_filtered_list() {
    let app = app().await;
    let failed = testkit::seed::sent(&app.backends, "goes wrong", JobKind::Fail).await;
    let browser = app.open("/?status=fail").await;
    browser
        .wait_for_count(
            &format!(
                "#messages tbody tr[data-id='{}'][data-status=fail]",
                failed.id
            ),
            1,
            WAIT,
        )
        .await;
    assert_eq!(
        browser.text(".pages a[aria-current=page]").await,
        "Messages",
        "the header marks the list"
    );
    browser
        .click(&format!(
            "#messages tbody tr[data-id='{}'] td.body a",
            failed.id
        ))
        .await;
    browser
        .wait_for_text("#detail-heading", WAIT, |text| {
            text.contains(&failed.id.to_string())
        })
        .await;
    let back = browser
        .script("const link = document.getElementById('back-to-list'); return [link.getAttribute('href'), link.textContent];")
        .await;
    assert_eq!(back[0], json!("/?status=fail"), "{back}");
    assert!(
        back[1]
            .as_str()
            .is_some_and(|text| text.contains("fail messages")),
        "{back}"
    );
    browser.click("#back-to-list").await;
    let url = browser.client.current_url().await.expect("url");
    assert_eq!(url.query(), Some("status=fail"));
    assert_accessible(&browser, "back on the filtered list").await;
    browser.close().await;
}
