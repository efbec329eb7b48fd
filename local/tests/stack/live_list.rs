//! The live list as an operator reads it, in Chromium at 1440 × 900: it holds
//! still through a burst (cumulative layout shift, the Layout Instability
//! API's own figure), a focused row keeps the focus when it updates, rows that
//! went stale (deleted, retried by someone else) are read again, a hidden tab
//! stops asking, and a server that stops answering is asked less and less
//! often while the page says since when its figures are.

use std::time::Duration;

use serde_json::{Value, json};
use testkit::accessibility::assert_accessible;

use crate::browser::{App, app, post_api};

const WAIT: Duration = Duration::from_secs(20);

async fn post(app: &App, path: &str, body: Value) -> reqwest::StatusCode {
    post_api(app, path, body).await.status()
}

/// A page at 1440 × 900 (the desktop), with a few finished
/// messages in view, as a reader finds it.
async fn desktop_page(app: &App) -> testkit::browser::Browser {
    for simulate in ["ok", "fail"] {
        post(
            app,
            "/api/messages/batch",
            json!({"body": "before", "simulate": simulate, "count": 3}),
        )
        .await;
    }
    let browser = app.open("/").await;
    browser
        .client
        .set_window_size(1440, 900)
        .await
        .expect("a 1440 x 900 window");
    browser
        .wait_for_count("#messages tbody tr[data-status=fail]", 3, WAIT)
        .await;
    browser
}

/// The layout shift a burst of 30 (10 each of `ok`, `fail` and `flaky`, so
/// error cells fill and rows change) causes in 10 s, summed as the Layout
/// Instability API reports it (shifts right after the reader's own input
/// excluded): under 0.1, "good" in Core Web Vitals' terms.
#[tokio::test]
async fn a_burst_of_30_hardly_moves_what_the_reader_sees() {
    let app = app().await;
    let browser = desktop_page(&app).await;
    browser
        .script(
            "window.__shift = 0; window.__sources = []; new PerformanceObserver((list) => { for (const entry of list.getEntries()) if (!entry.hadRecentInput) { window.__shift += entry.value; window.__sources.push(entry.value.toFixed(3) + ': ' + entry.sources.map((source) => source.node ? (source.node.id || source.node.nodeName + '.' + source.node.className) + ' ' + Math.round(source.previousRect.y) + ' -> ' + Math.round(source.currentRect.y) : '?').join(', ')); } }).observe({ type: 'layout-shift' }); return 0;",
        )
        .await;
    for simulate in ["ok", "fail", "flaky"] {
        let status = post(
            &app,
            "/api/messages/batch",
            json!({"body": format!("burst {simulate}"), "simulate": simulate, "count": 10}),
        )
        .await;
        assert!(status.is_success(), "{status}");
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    let waiting = browser.text("#show-new").await;
    assert_eq!(
        waiting, "Show 30 new messages",
        "the burst waits behind Show while rows are on screen"
    );
    let shift = browser
        .script("return window.__shift;")
        .await
        .as_f64()
        .expect("a number");
    let sources = browser.script("return window.__sources;").await;
    // The figure itself, for the record (shown with `--no-capture`).
    println!("cumulative layout shift through a burst of 30: {shift:.3}");
    assert!(
        shift < 0.1,
        "cumulative layout shift {shift:.3} through a burst of 30; the shifts: {sources}"
    );
    // Shown when the reader asks (their own input: not a shift that counts).
    browser.click("#show-new").await;
    assert_eq!(
        browser.wait_for_count("#messages tbody tr", 36, WAIT).await,
        36,
        "the 30 new rows above the 6 there were"
    );
    assert_accessible(&browser, "after a burst of 30").await;
    browser.close().await;
}

/// Focus on a row's link survives that row's update (WCAG 2.4.3): the row
/// is patched cell by cell, not replaced.
#[tokio::test]
async fn the_focus_on_a_row_stays_when_the_row_updates() {
    let app = app().await;
    let browser = desktop_page(&app).await;
    post(
        &app,
        "/api/messages/batch",
        json!({"body": "focused", "simulate": "slow", "count": 1}),
    )
    .await;
    // Rows are on screen, so the new one waits behind "Show": the reader
    // shows it, then reads it.
    assert_eq!(
        browser.wait_for_count("#show-new.waiting", 1, WAIT).await,
        1,
        "a new message from elsewhere waits behind Show"
    );
    assert_eq!(
        browser
            .count("#messages tbody tr[data-status=pending]")
            .await,
        0,
        "and is not pushed in while rows are in view"
    );
    browser.click("#show-new").await;
    browser
        .wait_for_count("#messages tbody tr[data-status=pending]", 1, WAIT)
        .await;
    let id = browser
        .script("const link = document.querySelector('#messages tbody tr[data-status=pending] td.body a'); link.focus(); return link.closest('tr').dataset.id;")
        .await;
    let id = id.as_str().expect("an id").to_owned();
    browser
        .wait_for_count(
            &format!("#messages tbody tr[data-id='{id}'][data-status=complete]"),
            1,
            WAIT,
        )
        .await;
    let focused = browser
        .script("const active = document.activeElement; return active && active.closest('tr') ? active.closest('tr').dataset.id + ' ' + active.tagName : String(active && active.tagName);")
        .await;
    assert_eq!(
        focused.as_str(),
        Some(format!("{id} A").as_str()),
        "the focus stays on the link of the row that turned complete"
    );
    assert_accessible(&browser, "after a focused row updated").await;
    browser.close().await;
}

/// A row that went stale is read again: a failed message an operator
/// deleted leaves the list, and one retried elsewhere shows `pending`, with
/// no reload (the page asks about a few final rows with every update).
#[tokio::test]
async fn a_deleted_or_retried_row_is_read_again() {
    let app = app().await;
    let browser = desktop_page(&app).await;
    let ids = browser
        .script("return Array.from(document.querySelectorAll('#messages tbody tr[data-status=fail]'), (tr) => tr.dataset.id);")
        .await;
    let ids: Vec<messages::MessageId> = ids
        .as_array()
        .expect("ids")
        .iter()
        .map(|id| messages::MessageId::parse(id.as_str().expect("text")).expect("an id"))
        .collect();
    let store = &app.backends.store;
    assert!(store.delete_failed(ids[0]).await.expect("delete"));
    assert!(
        store
            .retry(ids[1], messages::now())
            .await
            .expect("retry")
            .is_some()
    );
    let deleted = format!("#messages tbody tr[data-id='{}']", ids[0]);
    let deadline = tokio::time::Instant::now() + WAIT;
    while browser.count(&deleted).await > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        browser
            .count(&format!("#messages tbody tr[data-id='{}']", ids[0]))
            .await,
        0,
        "the deleted message left the list"
    );
    browser
        .wait_for_count(
            &format!(
                "#messages tbody tr[data-id='{}'][data-status=pending]",
                ids[1]
            ),
            1,
            WAIT,
        )
        .await;
    assert_eq!(
        browser
            .count(&format!(
                "#messages tbody tr[data-id='{}'][data-status=pending]",
                ids[1]
            ))
            .await,
        1,
        "the retried message shows pending"
    );
    browser.close().await;
}

/// Counts the page's asks for updates from now on (and can make them fail).
const COUNT_UPDATES: &str = "window.__asks = []; window.__refuse = false; const fetch0 = window.fetch; window.fetch = (...args) => { if (String(args[0]).includes('/api/messages/updates')) { window.__asks.push(Date.now()); if (window.__refuse) return Promise.reject(new Error('refused')); } return fetch0(...args); }; return 0;";

/// Tells the page its tab is hidden (or shown), as the browser does.
fn visibility(hidden: bool) -> String {
    format!(
        "Object.defineProperty(document, 'hidden', {{ configurable: true, get: () => {hidden} }}); Object.defineProperty(document, 'visibilityState', {{ configurable: true, get: () => '{}' }}); document.dispatchEvent(new Event('visibilitychange')); return 0;",
        if hidden { "hidden" } else { "visible" }
    )
}

/// A hidden tab asks nothing; shown again, it looks at once.
#[tokio::test]
async fn a_hidden_tab_rests_and_looks_at_once_when_shown() {
    let app = app().await;
    let browser = desktop_page(&app).await;
    browser.script(COUNT_UPDATES).await;
    browser.script(&visibility(true)).await;
    // A look already under way may still land; then nothing for 6 s (four
    // 1.5 s intervals).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = browser.script("return window.__asks.length;").await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let after = browser.script("return window.__asks.length;").await;
    assert_eq!(before, after, "a hidden tab asked for updates");
    browser.script(&visibility(false)).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let shown = browser.script("return window.__asks.length;").await;
    assert!(
        shown.as_u64() > after.as_u64(),
        "shown again, the tab looks at once ({after} then {shown})"
    );
    browser.close().await;
}

/// A server that does not answer is asked less and less often (1.5 s, then
/// 3, 6, 12, ...), and the strip and the counts are greyed with the time of
/// their figures; when it answers again, the page says so.
#[tokio::test]
async fn a_server_that_does_not_answer_is_asked_less_and_less_often() {
    let app = app().await;
    let browser = desktop_page(&app).await;
    browser.script(COUNT_UPDATES).await;
    browser.script("window.__refuse = true; return 0;").await;
    tokio::time::sleep(Duration::from_secs(14)).await;
    let asks = browser
        .script("return window.__asks.length;")
        .await
        .as_u64()
        .expect("a count");
    // Every 1.5 s would be 9 asks in 14 s; backing off, at most 4
    // (after about 1.5, 4.5, 10.5 s).
    assert!(
        (1..=4).contains(&asks),
        "{asks} asks in 14 s of a server not answering"
    );
    assert!(
        browser
            .script("return document.getElementById('pipeline').classList.contains('stale') && document.getElementById('counts').classList.contains('stale');")
            .await
            .as_bool()
            .unwrap_or(false),
        "the strip and the counts are greyed"
    );
    let said = browser.text("#live-status").await;
    assert!(
        said.contains("as of") && said.contains("Trying again in"),
        "{said}"
    );
    // The server answers again; showing the tab looks at once.
    browser.script("window.__refuse = false; return 0;").await;
    browser.script(&visibility(false)).await;
    let said = browser
        .wait_for_text("#live-status", WAIT, |text| text.contains("Live again"))
        .await;
    assert!(said.contains("Live again"), "{said}");
    assert!(
        !browser
            .script("return document.getElementById('pipeline').classList.contains('stale');")
            .await
            .as_bool()
            .unwrap_or(true),
        "the strip is live again"
    );
    assert_accessible(&browser, "after the server answered again").await;
    browser.close().await;
}
