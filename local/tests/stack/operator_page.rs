//! The operator's page in a real headless Chromium, on the embedded backend
//! and on SQS and DynamoDB (moto): sign in with the operator token, see a
//! job the queue gave up on beside its record, redrive it (after a
//! confirmation) and watch it complete; retry a failed message and delete
//! another (after a confirmation); and without the token, every action is
//! off with a sentence that says how to turn it on. axe-core checks every
//! page and state on the way.
//!
//! The dead letter is made as SQS makes one: a job received `maxReceiveCount`
//! times without being deleted is moved by the next receive (the redrive
//! policy, "Using dead-letter queues in Amazon SQS").

use std::time::Duration;

use fantoccini::Locator;
use messages::{Backends, JobKind, Message, MessageBody, Status};
use testkit::accessibility::{assert_accessible, violations};
use testkit::backends::Kind;
use testkit::browser::Browser;
use web::operator::Operator;

use crate::helpers::{manual_worker, spawn_stack, spawn_stack_with};

const TOKEN: &str = "a-long-operator-token-for-the-browser-tests";
const WAIT: Duration = Duration::from_secs(20);

async fn record(backends: &Backends, body: &str, simulate: JobKind) -> Message {
    let message = Message::new(MessageBody::parse(body).expect("valid"), simulate);
    backends.store.create(&message).await.expect("create");
    message
}

async fn failed(backends: &Backends, body: &str) -> Message {
    testkit::seed::failed(backends, body, 2).await
}

/// A pending message whose job the queue (receive limit 2) dead-lettered.
async fn dead_lettered(backends: &Backends) -> Message {
    let message = record(backends, "stuck behind a broken store", JobKind::Succeed).await;
    backends
        .queue
        .send_message(&message.outgoing())
        .await
        .expect("send");
    for _ in 0..2 {
        let received = backends
            .queue
            .receive(1, Duration::from_secs(2), Duration::ZERO)
            .await
            .expect("receive");
        assert_eq!(received.len(), 1, "the job is delivered");
    }
    let after = backends
        .queue
        .receive(1, Duration::from_millis(500), Duration::ZERO)
        .await
        .expect("receive");
    assert!(after.is_empty(), "the third receive dead-letters it");
    message
}

async fn status_of(backends: &Backends, message: &Message) -> Option<Status> {
    backends
        .store
        .get(message.id)
        .await
        .expect("get")
        .map(|message| message.status)
}

async fn sign_in(browser: &Browser) {
    browser
        .client
        .find(Locator::Css("#token"))
        .await
        .expect("the sign-in form")
        .send_keys(TOKEN)
        .await
        .expect("type the token");
    browser.click("#sign-in button[type=submit]").await;
}

async fn the_failures_page_redrives_retries_and_deletes_for_the_operator(kind: Kind) {
    let backend = kind.make(2).await;
    let backends = &backend.backends;
    let web = spawn_stack_with(
        backends.clone(),
        &manual_worker(),
        Operator::with_token(TOKEN).expect("valid"),
    )
    .await
    .web;
    let stuck = dead_lettered(backends).await;
    let to_retry = failed(backends, "retry me").await;
    let to_delete = failed(backends, "delete me").await;

    let browser = Browser::start(true).await;
    browser
        .client
        .goto(&format!("{web}/dead-letters"))
        .await
        .expect("open the failures page");
    // Looking is open to all: the dead letter beside its pending record, the
    // failed messages, and no action until the operator signs in.
    let row = browser.text("#dead-letters tbody tr").await;
    assert!(
        row.contains("stuck behind a broken store") && row.contains("pending"),
        "{row:?}"
    );
    assert_eq!(browser.text("#pipe-dead-letters").await, "1");
    assert_eq!(browser.count("#failed tbody tr").await, 2);
    assert_eq!(
        browser
            .count("#redrive, #retry-chosen, #delete-chosen")
            .await,
        0
    );
    assert_accessible(&browser, "on the failures page, signed out").await;

    sign_in(&browser).await;
    browser
        .wait_for_text(".notice", WAIT, |text| text.contains("Signed in"))
        .await;
    assert_accessible(&browser, "on the failures page, signed in").await;
    if kind == Kind::Embedded {
        browser.save_screenshot("failures-page").await;
    }

    // Redrive all, after a confirmation; the worker then finishes the job.
    // Redrive destroys nothing: neither its button nor its confirmation is
    // drawn as a destructive one.
    assert_eq!(browser.count("#redrive.danger").await, 0);
    browser.click("#redrive").await;
    browser.wait_for_count("#confirm-heading", 1, WAIT).await;
    let question = browser.text("#confirm-heading").await;
    assert!(question.starts_with("Redrive about 1"), "{question:?}");
    assert_eq!(browser.count("#confirm.danger").await, 0);
    assert_accessible(&browser, "on the redrive confirmation").await;
    browser.click("#confirm").await;
    let moved = browser
        .wait_for_text("#redrive-status", WAIT, |text| text.contains("moved 1"))
        .await;
    assert!(moved.contains("moved 1"), "{moved:?}");
    for _ in 0..20 {
        if status_of(backends, &stuck).await == Some(Status::Complete) {
            break;
        }
        // A fresh page each time, and its answer awaited before the next.
        browser.client.goto(&web).await.expect("the messages page");
        browser.click("#process-batch").await;
        browser
            .wait_for_text("#process-status", WAIT, |text| {
                text.starts_with("Processed") || text.contains("empty")
            })
            .await;
    }
    assert_eq!(status_of(backends, &stuck).await, Some(Status::Complete));

    // Retry one failed message: no confirmation for one retry.
    browser
        .client
        .goto(&format!("{web}/dead-letters"))
        .await
        .expect("back to the failures page");
    browser.click(&format!("#choose-{}", to_retry.id)).await;
    browser.click("#retry-chosen").await;
    browser
        .wait_for_text(".notice", WAIT, |text| text.contains("Retried 1"))
        .await;
    let retried = backends
        .store
        .get(to_retry.id)
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(
        (retried.status, retried.attempts, retried.retries),
        (Status::Pending, 2, 1)
    );

    // Delete the other, after a confirmation that names it.
    browser.click(&format!("#choose-{}", to_delete.id)).await;
    browser.click("#delete-chosen").await;
    browser.wait_for_count(".confirm-items", 1, WAIT).await;
    let listed = browser.text(".confirm-items").await;
    assert!(listed.contains(&to_delete.id.to_string()), "{listed:?}");
    assert_eq!(
        status_of(backends, &to_delete).await,
        Some(Status::Fail),
        "not before the confirmation"
    );
    assert_accessible(&browser, "on the delete confirmation").await;
    browser.click("#confirm").await;
    browser
        .wait_for_text(".notice", WAIT, |text| text.contains("Deleted 1"))
        .await;
    assert_eq!(status_of(backends, &to_delete).await, None);
    assert_accessible(&browser, "on the failures page after the actions").await;
    browser.close().await;
}

testkit::on_both_backends!(the_failures_page_redrives_retries_and_deletes_for_the_operator);

/// A wrong token answers the sign-in form again with why (nothing else is
/// read); the right one signs in with a session cookie the browser takes
/// over `http://127.0.0.1` (`__Host-`, `Secure`); signing out ends it.
#[tokio::test]
async fn a_wrong_token_shows_the_form_again_and_sign_out_ends_the_session() {
    let backend = Kind::Embedded.make(2).await;
    let backends = &backend.backends;
    let web = spawn_stack_with(
        backends.clone(),
        &manual_worker(),
        Operator::with_token(TOKEN).expect("valid"),
    )
    .await
    .web;
    failed(backends, "to be acted on").await;
    let browser = Browser::start(true).await;
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
        .send_keys("not-the-operator-token-0123456789abcdef")
        .await
        .expect("type a wrong token");
    browser.click("#sign-in button[type=submit]").await;
    let error = browser
        .wait_for_text(".error", WAIT, |text| {
            text.contains("not the operator token")
        })
        .await;
    assert!(error.contains("nothing was changed"), "{error:?}");
    assert_eq!(browser.count("#sign-in").await, 1, "the form again");
    assert_accessible(&browser, "on the sign-in page after a wrong token").await;

    sign_in(&browser).await;
    browser
        .wait_for_text(".notice", WAIT, |text| text.contains("Signed in"))
        .await;
    assert_eq!(browser.count("#sign-out").await, 1);
    assert_eq!(browser.count("#retry-chosen").await, 1, "actions are shown");

    browser.click("#sign-out").await;
    browser.wait_for_count("#sign-in", 1, WAIT).await;
    assert_eq!(browser.count("#sign-out, #retry-chosen").await, 0);
    // A reload stays signed out (that an old copy of the cookie is refused
    // too is `web/tests/web/sessions.rs`).
    browser.client.refresh().await.expect("reload");
    browser.wait_for_count("#sign-in", 1, WAIT).await;
    browser.close().await;
}

/// With no `OPERATOR_TOKEN`, the failures page and a failed message's page
/// show no action, and say how to enable them.
#[tokio::test]
async fn without_the_token_every_action_is_off_and_the_page_says_how_to_enable_it() {
    let backend = Kind::Embedded.make(2).await;
    let backends = &backend.backends;
    let web = spawn_stack(backends.clone(), &manual_worker()).await.web;
    let message = failed(backends, "cannot act on me").await;
    let browser = Browser::start(true).await;
    for path in [
        "/dead-letters".to_owned(),
        format!("/messages/{}", message.id),
    ] {
        browser
            .client
            .goto(&format!("{web}{path}"))
            .await
            .expect("open the page");
        let sentence = browser.text("#operator-off").await;
        assert!(sentence.contains("OPERATOR_TOKEN"), "{path}: {sentence:?}");
        assert_eq!(
            browser
                .count("#sign-in, #retry, #delete, #redrive, #retry-chosen, #delete-chosen")
                .await,
            0,
            "{path}"
        );
        assert_accessible(&browser, &format!("on {path} with actions off")).await;
    }
    // The check can fail: a text field with no label is a violation.
    browser
        .client
        .execute(
            "const input = document.createElement('input'); input.type = 'text'; document.querySelector('main').appendChild(input); return 0;",
            vec![],
        )
        .await
        .expect("add an unlabelled field");
    let found = violations(&browser, "with an unlabelled field added").await;
    assert!(
        found.iter().any(|violation| violation["id"] == "label"),
        "axe-core reports the missing label: {found:?}"
    );
    browser.close().await;
}

/// The pipeline strip on the messages page: the queue's depth, the worker's
/// mode and the store's counts, updated live as the worker finishes.
#[tokio::test]
async fn the_pipeline_strip_follows_the_queue_the_worker_and_the_store() {
    let backend = Kind::Embedded.make(10).await;
    let backends = &backend.backends;
    let web = spawn_stack(backends.clone(), &manual_worker()).await.web;
    for n in 0..3 {
        let message = record(backends, &format!("job {n}"), JobKind::Succeed).await;
        backends
            .queue
            .send_message(&message.outgoing())
            .await
            .expect("send");
    }
    let browser = Browser::start(true).await;
    browser.client.goto(&web).await.expect("open the page");
    assert_eq!(browser.text("#pipe-waiting").await, "3");
    assert_eq!(browser.text("#pipe-in-flight").await, "0");
    assert_eq!(browser.text("#pipe-pending").await, "3");
    assert_eq!(browser.text("#pipe-dead-letters").await, "0");
    assert_eq!(
        browser.text("#pipe-worker").await,
        "manual: waits for Process"
    );
    assert_accessible(&browser, "on the messages page with jobs waiting").await;
    browser.save_screenshot("pipeline-strip").await;
    browser.click("#process-batch").await;
    let complete = browser
        .wait_for_text("#pipe-complete", WAIT, |text| text == "3")
        .await;
    assert_eq!(complete, "3", "the strip follows the store");
    browser
        .wait_for_count("#messages tbody tr[data-status=complete]", 3, WAIT)
        .await;
    browser.save_screenshot("screenshot").await;
    assert_eq!(browser.text("#pipe-waiting").await, "0");
    assert_eq!(browser.text("#pipe-pending").await, "0");
    browser.close().await;
}
