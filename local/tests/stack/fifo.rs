//! FIFO queues in a real headless Chromium, on the embedded FIFO queue and
//! on a FIFO queue on moto: the page's group demonstration completes the
//! messages of one group one after another, in the order sent, and the
//! messages of different groups together. (SQS documents that "messages that
//! belong to the same message group are always processed one by one, in a
//! strict order relative to the message group"; the local poller's part in
//! it is described in ARCHITECTURE.md, "FIFO queues".)

use std::time::Duration;

use chrono::{DateTime, Utc};
use messages::Message;
use sqsd::PollerConfig;
use testkit::accessibility::assert_accessible;
use testkit::backends::Kind;
use testkit::browser::Browser;
use worker::JobSettings;
use worker::{Intake, WorkerSettings};

use crate::helpers::spawn_stack;

/// How long each `slow` job of the demonstration takes here.
const SLOW: Duration = Duration::from_millis(800);

async fn the_group_demonstration_completes_one_group_in_order_and_the_others_together(kind: Kind) {
    let backend = kind.make(10).await;
    let settings = WorkerSettings {
        intake: Intake::Polling,
        jobs: JobSettings { slow_job: SLOW },
        poller: PollerConfig {
            wait: Duration::from_secs(1),
            ..PollerConfig::default()
        },
        ..WorkerSettings::default()
    };
    let web = spawn_stack(backend.backends.clone(), &settings).await.web;
    let browser = Browser::start(true).await;
    browser.client.goto(&web).await.expect("open the page");
    let hint = browser.text("#group-hint").await;
    assert!(hint.contains("This queue is FIFO"), "{hint:?}");
    browser.click("#demo-groups").await;
    // The live list turns all ten complete, with no reload.
    let complete = "#messages tbody tr[data-status=complete]";
    browser
        .wait_for_count(complete, 10, Duration::from_secs(60))
        .await;
    assert_eq!(
        browser.count(complete).await,
        10,
        "all ten complete on the page"
    );

    let records = testkit::backends::every_record(&backend.backends)
        .await
        .expect("read the records");
    let finished = |prefix: &str| -> Vec<(String, DateTime<Utc>)> {
        let mut found: Vec<&Message> = records
            .iter()
            .filter(|message| message.body.starts_with(prefix))
            .collect();
        found.sort_by_key(|message| message.body.clone());
        found
            .iter()
            .map(|message| {
                let group = message
                    .group
                    .as_ref()
                    .expect("a demonstration job has a group");
                (group.to_string(), message.updated_at)
            })
            .collect()
    };
    let ordered = finished("in order");
    let parallel = finished("alone");
    assert_eq!((ordered.len(), parallel.len()), (5, 5));
    assert!(
        ordered.iter().all(|(group, _)| *group == ordered[0].0),
        "one group: {ordered:?}"
    );
    // One after another, in the order sent: each ended a whole job later
    // than the one before it (a 10 % allowance for the clock's rounding).
    let least_gap = SLOW.mul_f32(0.9);
    for pair in ordered.windows(2) {
        let gap = (pair[1].1 - pair[0].1).to_std().unwrap_or_default();
        assert!(
            gap >= least_gap,
            "in order and one at a time: {:?} then {:?}, {gap:?} apart",
            pair[0],
            pair[1]
        );
    }
    // Five groups, all at once: they ended within less than two jobs' time
    // of each other, where one after another would take four more.
    let ends: Vec<DateTime<Utc>> = parallel.iter().map(|(_, at)| *at).collect();
    let spread = (*ends.iter().max().expect("five") - *ends.iter().min().expect("five"))
        .to_std()
        .unwrap_or_default();
    assert!(
        spread < SLOW * 2,
        "the five groups ran together: {spread:?} apart"
    );

    // A group's name in the list shows that group alone.
    browser
        .client
        .goto(&format!("{web}/?group={}", ordered[0].0))
        .await
        .expect("open the group's view");
    assert_eq!(browser.count("#messages tbody tr").await, 5);
    assert_accessible(&browser, "at the end of: the group demonstration completes one group in order and the others together").await;
    browser.close().await;
}

testkit::on_both_fifo_queues!(
    the_group_demonstration_completes_one_group_in_order_and_the_others_together
);
