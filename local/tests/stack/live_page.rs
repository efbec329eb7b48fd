//! The live page's defects found by trying it as a new user would, each
//! shown fixed in a real headless Chromium: a count over a thousand stays
//! exact; a message leaves a filtered view when it leaves the status; one
//! message's page follows it; one poll loop however the sends interleave; a
//! long message keeps its row short; "Load more" says when it fails; a paste
//! over the limit is refused whole; the focus ring is visible enough; the
//! live status is in view; a burst bigger than one poll can watch all
//! reaches a filtered view; the live table stays bounded; and with the
//! public web's limits on, the page works and reads far under its rate.

use std::time::Duration;

use fantoccini::key::Key;
use serde_json::{Value, json};
use testkit::accessibility::assert_accessible;

use crate::browser::{App, app, post_api, send, show_all, shows_pending};

const WAIT: Duration = Duration::from_secs(15);

async fn post(app: &App, path: &str, body: Value) -> Value {
    post_api(app, path, body).await.json().await.expect("json")
}

/// Seeds `count` pending records with no job (they stay pending).
async fn seed_pending(app: &App, count: usize) {
    let messages: Vec<messages::Message> = (0..count)
        .map(|n| {
            messages::Message::new(
                messages::MessageBody::parse(format!("seeded {n}")).expect("valid"),
                messages::JobKind::Succeed,
            )
        })
        .collect();
    for chunk in messages.chunks(100) {
        app.backends.store.create_batch(chunk).await.expect("seed");
    }
}

#[tokio::test]
async fn a_count_over_a_thousand_is_exact_and_stays_so_after_a_live_update() {
    let app = app().await;
    seed_pending(&app, 1001).await;
    let browser = app.open("/").await;
    // Counts were once capped at 1,000 ("1000+"); they are exact now.
    assert_eq!(browser.text("#count-pending").await, "1001");
    // The first poll asks for counts; give it time to answer.
    browser.script("window.__counts = 0; const f = window.fetch; window.fetch = (...a) => { if (String(a[0]).includes('counts=1')) window.__counts++; return f(...a); }; return 0;").await;
    for _ in 0..100 {
        if browser.script("return window.__counts;").await.as_u64() >= Some(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(browser.text("#count-pending").await, "1001", "still exact");
    assert_accessible(
        &browser,
        "at the end of: a count over a thousand is exact and stays so after a live update",
    )
    .await;
    browser.close().await;
}

#[tokio::test]
async fn a_message_leaves_the_pending_view_when_it_completes() {
    let app = app().await;
    let browser = app.open("/?status=pending").await;
    send(&browser, "leaves this view", "slow").await;
    let row = browser
        .wait_for_text("#messages tbody", WAIT, |text| {
            text.contains("leaves this view")
        })
        .await;
    assert!(shows_pending(&row), "shown while pending: {row:?}");
    let gone = browser
        .wait_for_text("#messages tbody", WAIT, |text| {
            !text.contains("leaves this view")
        })
        .await;
    assert!(
        !gone.contains("leaves this view"),
        "gone once complete: {gone:?}"
    );
    assert_accessible(
        &browser,
        "at the end of: a message leaves the pending view when it completes",
    )
    .await;
    browser.close().await;
}

#[tokio::test]
async fn a_pending_messages_page_follows_it_and_no_error_is_shown_as_one() {
    let app = app().await;
    // Recorded first and its job enqueued once the page is open, so the page
    // sees it pending however slowly the browser starts.
    let message = messages::Message::new(
        messages::MessageBody::parse("follow me").expect("valid"),
        messages::JobKind::Succeed,
    );
    app.backends.store.create(&message).await.expect("record");
    let browser = app.open(&format!("/messages/{}", message.id)).await;
    assert!(browser.text("#detail-status").await.contains("pending"));
    app.backends
        .queue
        .send_message(&message.outgoing())
        .await
        .expect("enqueue");
    let red = browser
        .script("return document.getElementById('detail-error').classList.contains('error-text');")
        .await;
    assert_eq!(red, json!(false), "\"none\" is not styled as an error");
    let status = browser
        .wait_for_text("#detail-status", WAIT, |text| text.contains("complete"))
        .await;
    assert!(
        status.contains("complete"),
        "followed without a reload: {status:?}"
    );
    assert_eq!(browser.text("#detail-attempts").await, "1");
    assert_accessible(
        &browser,
        "at the end of: a pending messages page follows it and no error is shown as one",
    )
    .await;
    browser.close().await;
}

#[tokio::test]
async fn sends_during_a_slow_poll_leave_one_poll_loop() {
    let app = app().await;
    let browser = app.open("/").await;
    // Every poll takes a second to answer, so sends land while one is out.
    browser.script("window.__polls = []; const f = window.fetch; window.fetch = async (...a) => { if (String(a[0]).includes('/api/messages/updates')) { window.__polls.push(Date.now()); await new Promise((r) => setTimeout(r, 1000)); } return f(...a); }; return 0;",
    )
    .await;
    for n in 0..3 {
        send(&browser, &format!("during a poll {n}"), "ok").await;
        browser
            .wait_for_text("#send-notice", WAIT, |text| text.contains("sent"))
            .await;
        browser
            .script("document.getElementById('send-notice').remove(); return 0;")
            .await;
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    // Then 7.5 s with nothing sent: one loop polls about every 2.5 s (1 s
    // answer, 1.5 s pause), so 3 or 4 times; two loops would poll 6 times.
    let start = browser
        .script("return Date.now();")
        .await
        .as_f64()
        .expect("now");
    tokio::time::sleep(Duration::from_millis(7500)).await;
    let polls = browser
        .script(&format!(
            "return window.__polls.filter((t) => t >= {start}).length;"
        ))
        .await;
    let polls = polls.as_u64().expect("a count");
    assert!(
        (2..=4).contains(&polls),
        "{polls} polls in 7.5 s: more than one loop"
    );
    assert_accessible(
        &browser,
        "at the end of: sends during a slow poll leave one poll loop",
    )
    .await;
    browser.close().await;
}

#[tokio::test]
async fn a_long_message_keeps_its_row_short_and_its_page_shows_it_whole() {
    let app = app().await;
    let long = "word ".repeat(6553);
    let sent = post(&app, "/api/messages", json!({"body": long})).await;
    let id = sent["id"].as_str().expect("id").to_owned();
    let browser = app.open("/").await;
    let height = browser
        .script(
            "return document.querySelector('#messages tbody tr').getBoundingClientRect().height;",
        )
        .await;
    let height = height.as_f64().expect("a height");
    assert!(height < 150.0, "the row is {height} px tall");
    browser
        .client
        .goto(&format!("{}/messages/{id}", app.web))
        .await
        .expect("open its page");
    assert_eq!(
        browser.text("#detail dd.body").await.len(),
        long.len(),
        "its page shows it whole"
    );
    assert_accessible(
        &browser,
        "at the end of: a long message keeps its row short and its page shows it whole",
    )
    .await;
    browser.close().await;
}

#[tokio::test]
async fn load_more_says_when_it_cannot_load() {
    let app = app().await;
    seed_pending(&app, 30).await;
    let browser = app.open("/").await;
    browser.script("const f = window.fetch; window.fetch = (...a) => String(a[0]).includes('cursor=') ? Promise.resolve(new Response(JSON.stringify({error: 'the status store is unavailable'}), {status: 503, headers: {'Content-Type': 'application/json'}})) : f(...a); return 0;",
    )
    .await;
    browser.click("#load-more").await;
    let said = browser
        .wait_for_text("#load-more-error", WAIT, |text| !text.is_empty())
        .await;
    assert!(
        said.contains("could not be loaded") && said.contains("unavailable"),
        "{said:?}"
    );
    assert_accessible(
        &browser,
        "at the end of: load more says when it cannot load",
    )
    .await;
    browser.close().await;
}

#[tokio::test]
async fn a_paste_over_the_limit_is_refused_whole_and_sends_nothing() {
    let app = app().await;
    let browser = app.open("/").await;
    // A paste, as the browser inserts it (a maxlength would cut it short).
    browser.script("const body = document.getElementById('body'); body.focus(); document.execCommand('insertText', false, 'x'.repeat(300000)); return body.value.length;",
    )
    .await;
    browser.click("#send-form button[type=submit]").await;
    let error = browser
        .wait_for_text("#send-error", WAIT, |text| !text.is_empty())
        .await;
    assert!(
        error.contains("293 KiB") && error.contains("limit is 32 KiB"),
        "{error:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.recorded().await, 0, "nothing was sent");
    assert_accessible(
        &browser,
        "at the end of: a paste over the limit is refused whole and sends nothing",
    )
    .await;
    browser.close().await;
}

/// WCAG's contrast ratio of two `rgb(...)` colours.
fn contrast(a: &str, b: &str) -> f64 {
    let luminance = |color: &str| {
        let parts: Vec<f64> = color
            .trim_start_matches("rgba(")
            .trim_start_matches("rgb(")
            .trim_end_matches(')')
            .split(',')
            .take(3)
            .map(|part| part.trim().parse::<f64>().expect("a channel") / 255.0)
            .map(|c| {
                if c <= 0.03928 {
                    c / 12.92
                } else {
                    ((c + 0.055) / 1.055).powf(2.4)
                }
            })
            .collect();
        0.2126 * parts[0] + 0.7152 * parts[1] + 0.0722 * parts[2]
    };
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[tokio::test]
async fn the_focus_ring_has_3_to_1_contrast_and_the_live_status_is_in_view() {
    let app = app().await;
    let browser = app.open("/").await;
    // Keyboard focus, as a keyboard user gets it.
    let active = browser.client.active_element().await.expect("the page");
    active.send_keys(&Key::Tab.to_string()).await.expect("tab");
    let colors = browser.script("const e = document.activeElement; const s = getComputedStyle(e); const panel = getComputedStyle(e.closest('.panel') || document.body).backgroundColor; return [s.outlineStyle, s.outlineColor, panel, getComputedStyle(document.body).backgroundColor];",
    )
    .await;
    let colors: Vec<&str> = colors
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_ne!(colors[0], "none", "a focus ring is drawn: {colors:?}");
    for background in &colors[2..] {
        let ratio = contrast(colors[1], background);
        assert!(
            ratio >= 3.0,
            "the ring {} on {background}: {ratio:.1}:1",
            colors[1]
        );
    }
    let top = browser.script("return [document.getElementById('live-status').getBoundingClientRect().top, window.innerHeight];").await;
    let (top, height) = (
        top[0].as_f64().expect("top"),
        top[1].as_f64().expect("height"),
    );
    assert!(
        top < height,
        "the live status is {top} px down a {height} px window"
    );
    assert_accessible(
        &browser,
        "at the end of: the focus ring has 3 to 1 contrast and the live status is in view",
    )
    .await;
    browser.close().await;
}

/// A burst bigger than one poll can watch: each poll watches the next 100
/// of the messages it waits on, so all of them reach the filtered view.
#[tokio::test]
async fn every_message_of_a_300_burst_reaches_the_complete_view() {
    let app = app().await;
    let browser = app.open("/?status=complete").await;
    for _ in 0..3 {
        post(
            &app,
            "/api/messages/batch",
            json!({"body": "burst", "simulate": "slow", "count": 100}),
        )
        .await;
    }
    let rows = "#messages tbody tr";
    // The first to complete go in; the others wait behind "Show" while rows
    // are on screen.
    show_all(&browser, 300, Duration::from_secs(60)).await;
    browser
        .wait_for_count(rows, 300, Duration::from_secs(10))
        .await;
    assert_eq!(browser.count(rows).await, 300, "all 300, with no reload");
    assert_accessible(
        &browser,
        "at the end of: every message of a 300 burst reaches the complete view",
    )
    .await;
    browser.close().await;
}

/// However many messages arrive while a page is open, its table keeps at
/// most 500 rows, and "Load more" goes on from the last one kept; the rows
/// it adds are not trimmed away by the next poll.
#[tokio::test]
async fn the_live_table_keeps_at_most_500_rows_and_load_more_goes_on_after_them() {
    let app = app().await;
    let browser = app.open("/").await;
    for _ in 0..6 {
        post(
            &app,
            "/api/messages/batch",
            json!({"body": "many", "simulate": "ok", "count": 100}),
        )
        .await;
    }
    let rows = "#messages tbody tr";
    // All 600 in or waiting behind "Show", then shown.
    show_all(&browser, 600, Duration::from_secs(30)).await;
    browser
        .wait_for_count(rows, 500, Duration::from_secs(10))
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(browser.count(rows).await, 500, "at most 500 rows");
    let cursor = browser.script("const rows = document.querySelectorAll('#messages tbody tr'); return [rows[rows.length - 1].dataset.id, document.getElementById('load-more').dataset.cursor];",
    )
    .await;
    assert_eq!(
        cursor[0], cursor[1],
        "Load more starts after the last row kept"
    );
    browser.click("#load-more").await;
    browser
        .wait_for_count(rows, 525, Duration::from_secs(10))
        .await;
    assert_eq!(browser.count(rows).await, 525, "the next 25 older ones");
    // The live poll goes on (every 1.5 s): what the person loaded stays.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        browser.count(rows).await,
        525,
        "the polls after Load more keep the rows it added"
    );
    assert_accessible(
        &browser,
        "at the end of: the live table keeps at most 500 rows and load more goes on after them",
    )
    .await;
    browser.close().await;
}

/// The live page with the public web's limits on, as deployed (the default
/// `Limits`: 600 reads and 60 messages a minute per client): a message sent
/// from the form turns complete without a reload and nothing is refused; and
/// what an open page reads a minute is counted from the browser's own record
/// of its requests, to show it sits far under the read rate.
#[tokio::test]
async fn with_the_public_limits_on_the_live_page_works_and_reads_far_under_the_rate() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let backends = messages_embedded::backends(dir.path(), 10).expect("open");
    let settings = worker::WorkerSettings {
        intake: worker::Intake::Polling,
        poller: sqsd::PollerConfig {
            wait: Duration::from_secs(1),
            ..sqsd::PollerConfig::default()
        },
        ..worker::WorkerSettings::default()
    };
    let limits = web::edge::throttle::Limits::default();
    let reads_per_minute = f64::from(limits.reads_per_minute);
    let web = crate::helpers::spawn_limited_stack(backends, &settings, limits)
        .await
        .web;
    let browser = testkit::browser::Browser::start(true).await;
    browser.client.goto(&web).await.expect("open the page");
    send(&browser, "under the limits", "ok").await;
    browser
        .wait_for_text("#messages tbody", WAIT, |text| {
            text.contains("under the limits") && text.contains("complete")
        })
        .await;

    // The browser's record of this page's requests from now on.
    browser
        .script("performance.clearResourceTimings(); performance.setResourceTimingBufferSize(10000); window.__since = performance.now(); return 0;")
        .await;
    let watched = Duration::from_secs(20);
    tokio::time::sleep(watched).await;
    let requests = browser
        .script(
            "return performance.getEntriesByType('resource').filter(e => new URL(e.name).origin === location.origin).length;",
        )
        .await
        .as_f64()
        .expect("a count");
    let per_minute = requests * 60.0 / watched.as_secs_f64();
    println!(
        "an open page read {requests} times in {} s: {per_minute:.0} a minute, {:.2} of READ_RATE_PER_MINUTE ({reads_per_minute})",
        watched.as_secs(),
        per_minute / reads_per_minute
    );
    assert!(requests > 0.0, "the page polled");
    assert!(
        per_minute < reads_per_minute / 4.0,
        "an open page reads {per_minute:.0} a minute, too close to the limit of {reads_per_minute}"
    );
    let shown = browser.text("#messages tbody").await;
    assert!(!shown.contains("too many requests"), "{shown}");
    assert_accessible(
        &browser,
        "at the end of: the live page with the public limits on",
    )
    .await;
    browser.close().await;
}
