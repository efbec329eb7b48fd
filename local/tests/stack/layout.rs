//! The page's layout in a real headless Chromium, at the sizes people use:
//! on a 390 px phone nothing overflows sideways, no error breaks mid-word and
//! the list starts in the first screen; at 1440 × 900 with the worker waiting
//! for "Process", the buttons and the number waiting are in view, and
//! "Process until empty" shows its progress and finishes without a reload.

use std::time::Duration;

use messages::{Backends, JobKind};
use serde_json::{Value, json};
use sqsd::PollerConfig;
use testkit::accessibility::assert_accessible;
use testkit::backends::Kind;
use worker::{Intake, WorkerSettings};

use crate::browser::open_at;
use crate::helpers::spawn_stack;

const WAIT: Duration = Duration::from_secs(30);

fn manual_worker() -> WorkerSettings {
    WorkerSettings {
        intake: Intake::Manual,
        poller: PollerConfig {
            wait: Duration::from_secs(1),
            ..PollerConfig::default()
        },
        ..WorkerSettings::default()
    }
}

/// `count` messages recorded and enqueued as the web does it.
async fn queued(backends: &Backends, count: usize, simulate: JobKind) {
    for n in 0..count {
        testkit::seed::sent(backends, &format!("message number {n}"), simulate).await;
    }
}

/// Words of the error cells that the browser drew on more than one line.
const WORDS_BROKEN: &str = r##"
const broken = [];
for (const cell of document.querySelectorAll("#messages td.error-text")) {
  const text = cell.firstChild;
  if (!text || text.nodeType !== Node.TEXT_NODE) continue;
  const words = text.data.matchAll(/\S+/g);
  for (const word of words) {
    const range = document.createRange();
    range.setStart(text, word.index);
    range.setEnd(text, word.index + word[0].length);
    const lines = new Set(Array.from(range.getClientRects(), (rect) => Math.round(rect.top)));
    if (lines.size > 1) broken.push(word[0]);
  }
}
return broken;"##;

#[tokio::test]
async fn on_a_phone_nothing_overflows_no_error_breaks_mid_word_and_the_list_is_in_the_first_screen()
{
    let backend = Kind::Embedded.make(10).await;
    let backends = &backend.backends;
    let web = spawn_stack(backends.clone(), &manual_worker()).await.web;
    queued(backends, 3, JobKind::Fail).await;
    // The worker records each `fail` with its reason.
    reqwest::Client::new()
        .post(format!("{web}/process-batch"))
        .send()
        .await
        .expect("process");
    let browser = open_at(&web, 390, 844).await;
    let width = browser
        .script(
            "return [document.documentElement.clientWidth, document.documentElement.scrollWidth];",
        )
        .await;
    let list_top = browser.script("return Math.round(document.getElementById('list-heading').getBoundingClientRect().top);",
    )
    .await;
    let broken = browser.script(WORDS_BROKEN).await;
    assert_eq!(
        width[0], width[1],
        "the page is as wide as the screen: {width}"
    );
    assert_eq!(broken, json!([]), "no error word breaks across lines");
    assert!(
        list_top.as_i64().is_some_and(|top| top < 844),
        "the list starts at {list_top} px"
    );
    assert_accessible(&browser, "on a 390 px phone").await;
    browser.close().await;
}

#[tokio::test]
async fn manual_mode_shows_the_buttons_in_view_and_processes_until_empty_with_progress() {
    let backend = Kind::Embedded.make(10).await;
    let backends = &backend.backends;
    let web = spawn_stack(backends.clone(), &manual_worker()).await.web;
    queued(backends, 25, JobKind::Succeed).await;
    let browser = open_at(&web, 1440, 900).await;
    assert_eq!(browser.text("#pipe-waiting").await, "25", "how many wait");
    let bottom = browser.script("return Math.round(document.getElementById('process-until-empty').getBoundingClientRect().bottom);").await;
    assert!(
        bottom.as_i64().is_some_and(|bottom| bottom <= 900),
        "the buttons are in view: bottom at {bottom}"
    );
    // Every text the progress line shows, and a marker a reload would wipe out.
    browser.script("window.__notReloaded = 1; window.__progress = []; new MutationObserver(() => window.__progress.push(document.getElementById('process-status').textContent)).observe(document.getElementById('process-status'), { childList: true, characterData: true, subtree: true }); return 0;").await;
    browser.click("#process-until-empty").await;
    let done = browser
        .wait_for_text("#process-status", WAIT, |text| {
            text.starts_with("Processed")
        })
        .await;
    assert_eq!(done, "Processed 25: 25 finished, 0 will be retried.");
    let progress = browser.script("return window.__progress;").await;
    let steps: Vec<&str> = progress
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(Value::as_str)
        .filter(|text| text.starts_with("Processing… "))
        .collect();
    assert!(
        steps.len() >= 3,
        "it showed its progress batch by batch: {progress}"
    );
    assert_eq!(
        browser.script("return window.__notReloaded;").await,
        json!(1),
        "no reload"
    );
    let complete = browser
        .wait_for_text("#count-complete", WAIT, |text| text == "25")
        .await;
    assert_eq!(complete, "25", "the list follows");
    assert_accessible(&browser, "in manual mode after processing").await;
    browser.close().await;
}
