//! The pipeline strip teaches Elastic Beanstalk's pattern, in Chromium: each
//! stage is named for the service that does it (Amazon SQS and DynamoDB, or
//! the embedded queue and SQLite in a local run), the worker says how it is
//! fed (sqsd, or the poller in its place), and the dead-letter queue hangs
//! off the queue; in one row at 1440 px, with nothing to scroll sideways on
//! a phone. With the worker stopped, messages that wait with none taken
//! raise a warning that says where to look, and a worker taking them clears it.

use std::net::SocketAddr;
use std::time::Duration;

use messages::{Backends, JobKind};
use sqsd::PollerConfig;
use testkit::accessibility::assert_accessible;
use testkit::backends::Kind;
use testkit::browser::Browser;
use testkit::on_both_backends;
use worker::{Intake, WorkerSettings};

use crate::browser::open_at;
use crate::helpers::{manual_worker, spawn_stack};

const WAIT: Duration = Duration::from_secs(20);

fn polling_worker() -> WorkerSettings {
    WorkerSettings {
        intake: Intake::Polling,
        poller: PollerConfig {
            wait: Duration::from_secs(1),
            ..PollerConfig::default()
        },
        ..WorkerSettings::default()
    }
}

/// The tops of the strip's stages that are shown, in pixels.
async fn stage_tops(browser: &Browser) -> Vec<i64> {
    let tops = browser
        .script("return Array.from(document.querySelectorAll('#pipeline .stage')).filter((li) => li.offsetParent).map((li) => Math.round(li.getBoundingClientRect().top));")
        .await;
    tops.as_array()
        .expect("a list")
        .iter()
        .filter_map(serde_json::Value::as_i64)
        .collect()
}

async fn the_strip_names_each_stage_for_its_service(kind: Kind) {
    let backend = kind.make(10).await;
    let (queue, store) = match kind {
        Kind::Embedded | Kind::EmbeddedFifo => ("Embedded queue", "SQLite"),
        Kind::Moto | Kind::MotoFifo => ("Amazon SQS", "Amazon DynamoDB"),
    };
    for (settings, worker) in [
        (polling_worker(), "polling the queue, as sqsd would"),
        (manual_worker(), "manual: waits for Process"),
    ] {
        let web = spawn_stack(backend.backends.clone(), &settings).await.web;
        let browser = open_at(&web, 1440, 900).await;
        assert_eq!(browser.text("#pipe-queue-name").await, queue);
        assert_eq!(browser.text("#pipe-store-name").await, store);
        assert_eq!(browser.text("#pipe-worker").await, worker);
        let branch = browser
            .script("return document.getElementById('pipe-dead-letters').closest('li').id || document.getElementById('pipe-dead-letters').closest('li').className;")
            .await;
        assert_eq!(
            branch.as_str(),
            Some("stage stage-split stage-queue"),
            "the dead-letter queue hangs off the queue"
        );
        let tops = stage_tops(&browser).await;
        assert_eq!(tops.len(), 4, "{tops:?}");
        assert!(
            tops.iter().all(|top| *top == tops[0]),
            "{worker}: one row at 1440 px: {tops:?}"
        );
        assert_accessible(&browser, &format!("with the strip, {worker}")).await;
        browser.close().await;

        let phone = open_at(&web, 390, 844).await;
        let overflow = phone
            .script("const strip = document.querySelector('#pipeline ol'); return [document.documentElement.scrollWidth - window.innerWidth, strip.scrollWidth - strip.clientWidth];")
            .await;
        let sideways: Vec<i64> = overflow
            .as_array()
            .expect("two figures")
            .iter()
            .filter_map(serde_json::Value::as_i64)
            .collect();
        assert!(
            sideways.len() == 2 && sideways.iter().all(|pixels| *pixels <= 0),
            "{worker}: nothing to scroll sideways on a phone: {sideways:?}"
        );
        phone.close().await;
    }
}

on_both_backends!(the_strip_names_each_stage_for_its_service);

/// The web alone, as on Elastic Beanstalk with sqsd stopped: nothing takes
/// the jobs it enqueues.
async fn web_without_a_worker(backends: &Backends) -> String {
    let web = web::Web::new(backends.clone())
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("the web binds a free port");
    let url = format!("http://127.0.0.1:{}", web.port());
    tokio::spawn(web.run_until(std::future::pending()));
    url
}

#[tokio::test]
async fn messages_waiting_with_no_worker_raise_a_warning_that_a_worker_clears() {
    let backend = Kind::Embedded.make(10).await;
    let backends = &backend.backends;
    let web = web_without_a_worker(backends).await;
    for n in 0..3 {
        testkit::seed::sent(backends, &format!("waiting {n}"), JobKind::Succeed).await;
    }
    let browser = open_at(&web, 1440, 900).await;
    assert_eq!(
        browser.count("#pipe-stuck:not([hidden])").await,
        0,
        "not yet"
    );
    // STUCK_AFTER (30 s) of none taken, seen by the web's snapshots.
    let warning = browser
        .wait_for_text("#pipe-stuck", Duration::from_secs(50), |text| {
            text.contains("no worker has taken one")
        })
        .await;
    assert!(
        warning.starts_with("Messages have waited ") && warning.contains("sqsd's log"),
        "{warning}"
    );
    assert_eq!(browser.count("#pipe-stuck:not([hidden])").await, 1);
    assert_accessible(&browser, "with the stuck-pipeline warning").await;
    browser.save_screenshot("pipeline-stuck").await;

    // A worker starts and takes them: the warning goes.
    let worker = worker::Application::with_backends(
        &polling_worker(),
        backends.clone(),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("the worker binds a free port");
    tokio::spawn(worker.run_until(std::future::pending()));
    let hidden = browser.wait_for_count("#pipe-stuck[hidden]", 1, WAIT).await;
    assert_eq!(hidden, 1, "the warning is gone once jobs are taken");
    browser.close().await;
}

/// How long the oldest unfinished message has waited, under the store's
/// stage: counted each second, red past five minutes (sqsd's default
/// visibility timeout: a delivery of it went unanswered, or the backlog is
/// longer than the workers drain in that time), following the oldest as
/// older ones finish, and gone when none is pending. The page as the server
/// draws it says the same.
#[tokio::test]
async fn the_oldest_pending_message_says_how_long_it_waited_and_is_red_past_five_minutes() {
    let backend = Kind::Embedded.make(10).await;
    let backends = &backend.backends;
    let web = web_without_a_worker(backends).await;
    let body = messages::MessageBody::parse("old").expect("valid");
    let old = messages::Message {
        id: messages::MessageId::created_at(messages::now() - chrono::Duration::minutes(7)),
        ..messages::Message::new(body, JobKind::Succeed)
    };
    backends.store.create(&old).await.expect("record");
    let fresh = testkit::seed::sent(backends, "fresh", JobKind::Succeed).await;

    let plain = Browser::start(false).await;
    plain.client.goto(&web).await.expect("open");
    let drawn = plain.text("#pipe-oldest-line").await;
    assert!(drawn.starts_with("Oldest pending: 7 min "), "{drawn:?}");
    assert_eq!(plain.count("#pipe-oldest-line.late").await, 1);
    plain.close().await;

    let browser = open_at(&web, 1440, 900).await;
    assert_eq!(
        browser.count("#pipe-oldest-line.late:not([hidden])").await,
        1
    );
    let first = browser.text("#pipe-oldest").await;
    let later = browser
        .wait_for_text("#pipe-oldest", Duration::from_secs(5), |text| text != first)
        .await;
    assert!(
        later.starts_with("7 min "),
        "it counts on: {first:?} then {later:?}"
    );
    assert_accessible(&browser, "with the oldest pending message late").await;
    assert_eq!(stage_tops(&browser).await.len(), 4);
    let tops = stage_tops(&browser).await;
    assert!(
        tops.windows(2).all(|pair| pair[0] == pair[1]),
        "one row: {tops:?}"
    );

    // The old one finishes: the fresh one is the oldest now, not late.
    let done = messages::Outcome {
        status: messages::FinalStatus::Complete,
        attempts: 1,
        error: None,
        at: messages::now(),
        event: None,
    };
    backends.store.finish(old.id, &done).await.expect("finish");
    let seconds = browser
        .wait_for_text("#pipe-oldest", WAIT, |text| !text.contains("min"))
        .await;
    assert!(seconds.ends_with(" s"), "{seconds:?}");
    assert_eq!(browser.count("#pipe-oldest-line.late").await, 0);
    // None pending: nothing to say.
    backends
        .store
        .finish(fresh.id, &done)
        .await
        .expect("finish");
    let hidden = browser
        .wait_for_count("#pipe-oldest-line[hidden]", 1, WAIT)
        .await;
    assert_eq!(hidden, 1, "no pending message, no figure");
    browser.close().await;
}
