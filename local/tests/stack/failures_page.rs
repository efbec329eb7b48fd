//! The failures page as an operator uses it, in a real headless Chromium
//! (and once with no browser, as a form without JavaScript): fifty failures
//! on a phone, choosing all or a range, "Retry all failed" and "Delete all
//! failed" in the background, errors grouped with counts, and paging with
//! the actions kept. axe-core checks the page at the end of each.

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::actions::{
    Actions, InputSource, KeyAction, KeyActions, MOUSE_BUTTON_LEFT, MouseActions, PointerAction,
};
use fantoccini::key::Key;
use messages::{Backends, JobKind, Message, Status};
use serde_json::Value;
use testkit::accessibility::assert_accessible;
use testkit::backends::Kind;
use testkit::browser::Browser;
use web::operator::Operator;

use crate::helpers::{manual_worker, spawn_stack_with};

const TOKEN: &str = "a-long-operator-token-for-the-failures-page-tests";
const WAIT: Duration = Duration::from_secs(30);

/// A web and worker on `backends`, the operator's token set.
async fn stack(backends: &Backends) -> String {
    spawn_stack_with(
        backends.clone(),
        &manual_worker(),
        Operator::with_token(TOKEN).expect("valid"),
    )
    .await
    .web
}

/// `count` failed messages, each failed after `attempts` attempts (its error
/// says so), oldest first.
async fn failed(backends: &Backends, count: usize, attempts: u32) -> Vec<Message> {
    let mut made = Vec::new();
    for n in 0..count {
        made.push(testkit::seed::failed(backends, &format!("failed number {n}"), attempts).await);
    }
    made
}

/// A message that completed: no action on failed messages may touch it.
async fn complete(backends: &Backends) -> Message {
    testkit::seed::completed(backends, "finished well").await
}

async fn record(backends: &Backends, message: &Message) -> Option<Message> {
    backends.store.get(message.id).await.expect("get")
}

/// A browser `width` × `height` on the failures page, signed in.
async fn signed_in(web: &str, width: u32, height: u32) -> Browser {
    signed_in_with(Browser::start(true).await, web, width, height).await
}

/// As [`signed_in`], in `browser` (a dark one, say).
async fn signed_in_with(browser: Browser, web: &str, width: u32, height: u32) -> Browser {
    browser
        .client
        .set_window_size(width, height)
        .await
        .expect("resize the window");
    browser
        .client
        .goto(&format!("{web}/dead-letters"))
        .await
        .expect("open the failures page");
    browser
        .client
        .find(Locator::Css("#token"))
        .await
        .expect("the sign-in form")
        .send_keys(TOKEN)
        .await
        .expect("type the token");
    browser.click("#sign-in button[type=submit]").await;
    browser
        .wait_for_text(".notice", WAIT, |text| text.contains("Signed in"))
        .await;
    browser
}

/// Scrolls the element at `css` to the middle of the window (clear of the
/// sticky bar at the top), then clicks it.
async fn click_centred(browser: &Browser, css: &str) {
    scroll_to(browser, css).await;
    browser.click(css).await;
}

async fn scroll_to(browser: &Browser, css: &str) {
    browser
        .client
        .execute(
            "document.querySelector(arguments[0]).scrollIntoView({ block: 'center' }); return 0;",
            vec![Value::from(css)],
        )
        .await
        .unwrap_or_else(|error| panic!("cannot scroll to {css}: {error}"));
}

/// A real shift-click: Shift held on the keyboard while the mouse clicks.
async fn shift_click(browser: &Browser, css: &str) {
    scroll_to(browser, css).await;
    let element = browser
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("nothing matches {css}: {error}"));
    let pause = Duration::from_millis(10);
    // One tick per action, side by side: Shift goes down first and up last.
    let keys = KeyActions::new("keyboard".to_owned())
        .then(KeyAction::Down {
            value: Key::Shift.into(),
        })
        .then(KeyAction::Pause { duration: pause })
        .then(KeyAction::Pause { duration: pause })
        .then(KeyAction::Pause { duration: pause })
        .then(KeyAction::Up {
            value: Key::Shift.into(),
        });
    let mouse = MouseActions::new("mouse".to_owned())
        .then(PointerAction::Pause { duration: pause })
        .then(PointerAction::MoveToElement {
            element,
            duration: None,
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    browser
        .client
        .perform_actions(Actions::from(keys).and(mouse))
        .await
        .expect("shift-click");
    browser
        .client
        .release_actions()
        .await
        .expect("release the keys");
}

/// The ids of the ticked boxes of the failed list, in order.
async fn ticked(browser: &Browser) -> usize {
    browser
        .count("#failed tbody input[type=checkbox]:checked")
        .await
}

async fn disabled(browser: &Browser, css: &str) -> bool {
    browser
        .script(&format!(
            "return document.querySelector({}).disabled;",
            serde_json::to_string(css).expect("a string")
        ))
        .await
        == Value::Bool(true)
}

/// Whether the element at `css` is wholly inside the window.
const IN_VIEW: &str = r"
const box = document.querySelector(arguments[0]).getBoundingClientRect();
return box.top >= 0 && box.left >= 0 && box.bottom <= window.innerHeight && box.right <= window.innerWidth && box.height > 0;";

async fn in_view(browser: &Browser, css: &str) -> bool {
    browser
        .client
        .execute(IN_VIEW, vec![Value::from(css)])
        .await
        .unwrap_or_else(|error| panic!("cannot measure {css}: {error}"))
        == Value::Bool(true)
}

#[tokio::test]
async fn on_a_phone_fifty_failures_fit_the_width_as_cards_and_the_bulk_actions_stay_in_view() {
    let backend = Kind::Embedded.make(10).await;
    let backends = &backend.backends;
    let web = stack(backends).await;
    failed(backends, 50, 2).await;
    let browser = signed_in(&web, 390, 844).await;
    assert_eq!(browser.count("#failed tbody tr").await, 50);
    let overflow = browser
        .script(
            "const page = document.documentElement; return page.scrollWidth - page.clientWidth;",
        )
        .await;
    assert_eq!(overflow, Value::from(0), "nothing overflows sideways");
    // Each message a card: one column, its error as wide as the card.
    let card = browser
        .script(
            "const row = document.querySelector('#failed tbody tr'); return [getComputedStyle(row).display, row.querySelector('td.error-text').getBoundingClientRect().width];",
        )
        .await;
    assert_ne!(card[0], "table-row", "{card}");
    assert!(card[1].as_f64().unwrap_or(0.0) >= 200.0, "{card}");
    // Wherever the operator is in the list, the bulk buttons are in view.
    for row in [1, 25, 50] {
        scroll_to(&browser, &format!("#failed tbody tr:nth-child({row})")).await;
        for button in ["#retry-chosen", "#delete-chosen"] {
            assert!(
                in_view(&browser, button).await,
                "{button} is in view beside row {row}"
            );
        }
    }
    assert_accessible(&browser, "on the failures page at 390 px with 50 failed").await;
    browser.close().await;
}

#[tokio::test]
async fn select_all_shift_click_and_the_count_choose_what_the_bulk_buttons_act_on() {
    let backend = Kind::Embedded.make(10).await;
    let backends = &backend.backends;
    let web = stack(backends).await;
    failed(backends, 50, 2).await;
    let browser = signed_in(&web, 1200, 900).await;
    // Nothing chosen: the bar's buttons are off.
    assert_eq!(browser.text("#selected-count").await, "0 selected");
    for button in ["#retry-chosen", "#delete-chosen"] {
        assert!(disabled(&browser, button).await, "{button} is off");
    }
    click_centred(&browser, "#failed tbody tr:nth-child(3) input").await;
    assert_eq!(browser.text("#selected-count").await, "1 selected");
    assert!(!disabled(&browser, "#retry-chosen").await);
    click_centred(&browser, "#failed tbody tr:nth-child(3) input").await;
    assert!(disabled(&browser, "#retry-chosen").await, "off again");

    // All on the page, then none.
    click_centred(&browser, "#choose-all").await;
    assert_eq!(ticked(&browser).await, 50);
    assert_eq!(browser.text("#selected-count").await, "50 selected");
    assert!(!disabled(&browser, "#delete-chosen").await);
    click_centred(&browser, "#choose-all").await;
    assert_eq!(ticked(&browser).await, 0);

    // A click on the 3rd, a shift-click on the 10th: the 3rd to the 10th.
    click_centred(&browser, "#failed tbody tr:nth-child(3) input").await;
    shift_click(&browser, "#failed tbody tr:nth-child(10) input").await;
    assert_eq!(browser.text("#selected-count").await, "8 selected");
    let rows = browser
        .script(
            "return Array.from(document.querySelectorAll('#failed tbody input'), (box, i) => box.checked ? i + 1 : 0).filter(Boolean);",
        )
        .await;
    assert_eq!(rows, serde_json::json!([3, 4, 5, 6, 7, 8, 9, 10]));
    assert_accessible(&browser, "on the failures page with a range chosen").await;

    // What is chosen is what the confirmation names.
    click_centred(&browser, "#retry-chosen").await;
    browser.wait_for_count("#confirm-heading", 1, WAIT).await;
    assert_eq!(
        browser.text("#confirm-heading").await,
        "Retry 8 failed messages?"
    );
    browser.close().await;
}

/// Without JavaScript nothing disables the buttons: "Retry chosen" or
/// "Delete chosen" with nothing ticked answers the page again with what to
/// do, and changes nothing.
#[tokio::test]
async fn nothing_ticked_without_javascript_answers_the_page_with_a_sentence_and_changes_nothing() {
    let backend = Kind::Embedded.make(10).await;
    let backends = &backend.backends;
    let web = stack(backends).await;
    let messages = failed(backends, 3, 2).await;
    let http = reqwest::Client::new();
    for (action, sentence) in [
        (
            "retry",
            "No message was chosen, so nothing was changed: tick the messages to retry, then press Retry chosen.",
        ),
        (
            "delete",
            "No message was chosen, so nothing was changed: tick the messages to delete, then press Delete chosen.",
        ),
    ] {
        // What the browser posts: the form's hidden field and the button.
        let response = http
            .post(format!("{web}/messages/act"))
            .bearer_auth(TOKEN)
            .form(&[("back", "/dead-letters"), ("action", action)])
            .send()
            .await
            .expect("post the form");
        assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
        let page = response.text().await.expect("the page");
        assert!(page.contains(sentence), "{action}: {page}");
        assert!(
            page.contains("id=\"failed\"") && page.contains("id=\"retry-chosen\""),
            "{action}: the failures page again, with its actions: {page}"
        );
    }
    for message in &messages {
        assert_eq!(record(backends, message).await.as_ref(), Some(message));
    }
}

async fn retry_all_moves_every_failed_message_to_pending_in_the_background(kind: Kind) {
    let backend = kind.make(10).await;
    let backends = &backend.backends;
    let web = stack(backends).await;
    let to_retry = failed(backends, 40, 2).await;
    let done = complete(backends).await;
    let waiting = testkit::seed::sent(backends, "waiting its turn", JobKind::Succeed).await;
    let browser = signed_in(&web, 1200, 900).await;
    click_centred(&browser, "#retry-all").await;
    browser.wait_for_count("#confirm-heading", 1, WAIT).await;
    assert_eq!(
        browser.text("#confirm-heading").await,
        "Retry all 40 failed messages?"
    );
    assert_eq!(
        record(backends, &to_retry[0]).await.map(|m| m.status),
        Some(Status::Fail),
        "nothing before the confirmation"
    );
    assert_accessible(&browser, "on the retry-all confirmation").await;
    browser.click("#confirm").await;
    // Back on the page at once, the run going on behind it (40 at 20 a second).
    let started = browser
        .wait_for_text("#all-failed-status", WAIT, |text| !text.is_empty())
        .await;
    if started.starts_with("Retrying the 40 failed messages") {
        // A second request while it runs starts nothing.
        let again = reqwest::Client::new()
            .post(format!("{web}/dead-letters/all"))
            .bearer_auth(TOKEN)
            .form(&[("action", "retry"), ("confirmed", "yes")])
            .send()
            .await
            .expect("post again");
        assert_eq!(again.status(), reqwest::StatusCode::CONFLICT);
        let page = again.text().await.expect("the page");
        assert!(page.contains("nothing new was started"), "{page}");
    } else {
        // On moto a count folds the table's stream first, and moto serves
        // a stream record in about 4 ms (real DynamoDB Streams far faster):
        // the confirmation's count and the page after it can take longer
        // than the 2 s run. The embedded run proves the page shows it going.
        assert!(
            matches!(kind, Kind::Moto | Kind::MotoFifo),
            "the page shows the run going on: {started:?}"
        );
        assert!(started.starts_with("Retried 40 of the 40"), "{started:?}");
    }
    // The page follows the run without a reload.
    let finished = browser
        .wait_for_text("#all-failed-status", WAIT, |text| {
            text.starts_with("Retried")
        })
        .await;
    assert_eq!(
        finished,
        "Retried 40 of the 40 failed messages. Reload the list."
    );
    for message in &to_retry {
        let now = record(backends, message).await.expect("kept");
        assert_eq!(
            (now.status, now.retries, now.attempts),
            (Status::Pending, 1, 2),
            "{}",
            message.id
        );
    }
    assert_eq!(record(backends, &done).await.as_ref(), Some(&done));
    assert_eq!(record(backends, &waiting).await.as_ref(), Some(&waiting));
    browser.click("#all-failed-reload").await;
    browser.wait_for_count("#no-failed", 1, WAIT).await;
    assert_accessible(&browser, "on the failures page after retry-all").await;
    browser.close().await;
}

testkit::on_both_backends!(retry_all_moves_every_failed_message_to_pending_in_the_background);

#[tokio::test]
async fn delete_all_removes_every_failed_message_in_the_background_and_nothing_else() {
    let backend = Kind::Embedded.make(10).await;
    let backends = &backend.backends;
    let web = stack(backends).await;
    let to_delete = failed(backends, 40, 2).await;
    let done = complete(backends).await;
    let browser = signed_in(&web, 1200, 900).await;
    click_centred(&browser, "#delete-all").await;
    browser.wait_for_count("#confirm-heading", 1, WAIT).await;
    assert_eq!(
        browser.text("#confirm-heading").await,
        "Delete all 40 failed messages?"
    );
    assert_accessible(&browser, "on the delete-all confirmation").await;
    browser.click("#confirm").await;
    let started = browser
        .wait_for_text("#all-failed-status", WAIT, |text| !text.is_empty())
        .await;
    assert!(
        started.starts_with("Deleting the 40 failed messages"),
        "{started:?}"
    );
    let finished = browser
        .wait_for_text("#all-failed-status", WAIT, |text| {
            text.starts_with("Deleted")
        })
        .await;
    assert_eq!(
        finished,
        "Deleted 40 of the 40 failed messages. Reload the list."
    );
    for message in &to_delete {
        assert_eq!(record(backends, message).await, None, "{}", message.id);
    }
    assert_eq!(record(backends, &done).await.as_ref(), Some(&done));
    assert_eq!(backends.store.count(Status::Fail).await.expect("count"), 0);
    assert_accessible(&browser, "on the failures page after delete-all").await;
    browser.close().await;
}

#[tokio::test]
async fn errors_are_grouped_with_counts_beside_the_job_and_failed_at_columns() {
    let backend = Kind::Embedded.make(10).await;
    let backends = &backend.backends;
    let web = stack(backends).await;
    failed(backends, 12, 3).await;
    failed(backends, 30, 2).await;
    let browser = Browser::start(true).await;
    browser
        .client
        .goto(&format!("{web}/dead-letters"))
        .await
        .expect("open the failures page");
    let groups = browser
        .script("return Array.from(document.querySelectorAll('#error-groups li'), (li) => li.textContent.trim());")
        .await;
    assert_eq!(
        groups,
        serde_json::json!([
            "30 × gave up after 2 attempts",
            "12 × gave up after 3 attempts"
        ])
    );
    let headers = browser
        .script("return Array.from(document.querySelectorAll('#failed thead th'), (th) => th.textContent.trim());")
        .await;
    for wanted in ["Job", "Failed at"] {
        assert!(
            headers
                .as_array()
                .is_some_and(|all| all.iter().any(|h| h == wanted)),
            "{headers}"
        );
    }
    assert_eq!(browser.text("#failed tbody tr td.job").await, "fail");
    let failed_at = browser.text("#failed tbody tr td.failed-at").await;
    let shape = failed_at.len() == "2026-01-02 03:04:05 UTC".len()
        && failed_at.ends_with(" UTC")
        && failed_at.as_bytes()[4] == b'-'
        && failed_at.as_bytes()[10] == b' ';
    assert!(shape, "one format, UTC to the second: {failed_at:?}");
    assert_accessible(&browser, "on the failures page with errors grouped").await;
    browser.close().await;
}

#[tokio::test]
async fn paging_past_the_first_fifty_stays_on_the_failures_page_with_its_actions() {
    let backend = Kind::Embedded.make(10).await;
    let backends = &backend.backends;
    let web = stack(backends).await;
    let made = failed(backends, 60, 2).await;
    // In dark mode, so axe checks the signed-in page's colours there too.
    let browser = signed_in_with(Browser::start_dark().await, &web, 1200, 900).await;
    assert_eq!(browser.count("#failed tbody tr").await, 50);
    click_centred(&browser, "#failed-older").await;
    browser.wait_for_count("#failed-newest", 1, WAIT).await;
    let url = browser.client.current_url().await.expect("the address");
    assert_eq!(url.path(), "/dead-letters", "{url}");
    assert!(
        url.query()
            .is_some_and(|query| query.starts_with("cursor=")),
        "{url}"
    );
    // The ten oldest, with the actions.
    assert_eq!(browser.count("#failed tbody tr").await, 10);
    let oldest = &made[0];
    let chooser = format!("#choose-{}", oldest.id);
    assert_eq!(browser.count(&chooser).await, 1, "the oldest is here");
    click_centred(&browser, &chooser).await;
    click_centred(&browser, "#retry-chosen").await;
    browser
        .wait_for_text(".notice", WAIT, |text| text.contains("Retried 1"))
        .await;
    // Back on the same page of the list.
    let back = browser.client.current_url().await.expect("the address");
    assert_eq!(back.path(), "/dead-letters");
    assert!(
        back.query().is_some_and(|query| query.contains("cursor=")),
        "{back}"
    );
    assert_eq!(browser.count("#failed tbody tr").await, 9);
    assert_eq!(
        record(backends, oldest).await.map(|m| m.status),
        Some(Status::Pending)
    );
    assert_accessible(&browser, "on the second page of failed messages, dark").await;
    browser.close().await;
}
