//! The stack `cargo run --release` starts, in-process on free ports and a
//! temporary `DATA_DIR`: a message goes from send to `complete` through the
//! HTTP API alone, and one shutdown stops everything.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use backend_config::BackendConfig;
use local::{LocalConfig, Stack};
use serde_json::{Value, json};
use sqsd::PollerConfig;
use tokio::sync::oneshot;
use worker::JobSettings;
use worker::{Intake, WorkerSettings};

fn config(data_dir: &std::path::Path, intake: Intake) -> LocalConfig {
    LocalConfig {
        host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        web_port: 0,
        worker_port: 0,
        backend: BackendConfig::Embedded {
            data_dir: data_dir.to_owned(),
            queue_kind: None,
        },
        worker: WorkerSettings {
            intake,
            jobs: JobSettings {
                slow_job: Duration::from_millis(100),
            },
            poller: PollerConfig {
                wait: Duration::from_secs(1),
                error_visibility_timeout: Duration::ZERO,
                ..PollerConfig::default()
            },
            ..WorkerSettings::default()
        },
        operator: web::operator::Operator::off(),
        limits: web::edge::throttle::Limits::off(),
        metrics: None,
    }
}

async fn start(data_dir: &std::path::Path, intake: Intake) -> Stack {
    Stack::start(&config(data_dir, intake))
        .await
        .expect("the stack starts")
}

async fn get_text(client: &reqwest::Client, url: &str) -> String {
    client
        .get(url)
        .send()
        .await
        .expect("an answer")
        .text()
        .await
        .expect("a body")
}

async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    serde_json::from_str(&get_text(client, url).await).expect("json")
}

/// Sends a message through the API; returns its id.
async fn send(client: &reqwest::Client, web: &str, message: Value) -> String {
    let sent: Value = client
        .post(format!("{web}/api/messages"))
        .json(&message)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    sent["id"].as_str().expect("id").to_owned()
}

/// The status of message `id` once it is final, or as it is after ten
/// seconds.
async fn final_status(client: &reqwest::Client, web: &str, id: &str) -> String {
    let mut status = String::new();
    for _ in 0..200 {
        status = status_of(client, web, id).await;
        if status == "complete" || status == "fail" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    status
}

async fn status_of(client: &reqwest::Client, web: &str, id: &str) -> String {
    let message = get_json(client, &format!("{web}/api/messages/{id}")).await;
    message["status"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_message_goes_from_send_to_complete_with_no_aws_and_one_shutdown_stops_all() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let stack = start(dir.path(), Intake::Polling).await;
    let web = stack.web_url();
    let worker = stack.worker_url();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(stack.run_until(async move {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::new();
    let id = send(
        &client,
        &web,
        json!({ "body": "hello from the launcher", "simulate": "flaky" }),
    )
    .await;
    assert_eq!(final_status(&client, &web, &id).await, "complete");
    let health = get_json(&client, &format!("{worker}/health")).await;
    assert_eq!(health["polling"], true);

    let _ = stop.send(());
    let result = tokio::time::timeout(Duration::from_secs(15), running)
        .await
        .expect("stops promptly");
    assert!(result.expect("task").is_ok());
    assert!(
        client.get(format!("{web}/health")).send().await.is_err(),
        "the web is down"
    );
    assert!(
        client.get(format!("{worker}/health")).send().await.is_err(),
        "the worker is down"
    );
}

#[tokio::test]
async fn with_polling_off_the_page_offers_the_button_and_it_processes_a_batch() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let stack = start(dir.path(), Intake::Manual).await;
    let web = stack.web_url();
    let worker = stack.worker_url();
    tokio::spawn(stack.run_until(std::future::pending()));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    let page = get_text(&client, &web).await;
    assert!(
        page.contains("id=\"process-batch\"") && page.contains("Process until empty"),
        "the buttons are offered"
    );

    let id = send(&client, &web, json!({ "body": "by hand" })).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        status_of(&client, &web, &id).await,
        "pending",
        "nothing polls"
    );

    let pressed = client
        .post(format!("{web}/process-batch"))
        .send()
        .await
        .expect("button");
    assert_eq!(pressed.status(), reqwest::StatusCode::SEE_OTHER);
    let location = pressed.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(location, "/?processed=1&finished=1&retried=0");
    let page = get_text(&client, &format!("{web}{location}")).await;
    assert!(page.contains("Processed 1 message: 1 finished, 0 will be retried."));
    assert_eq!(status_of(&client, &web, &id).await, "complete");

    // With polling off, the worker's own endpoint serves batches too.
    let direct = client
        .post(format!("{worker}/process-batch"))
        .send()
        .await
        .expect("answer");
    assert_eq!(direct.status(), reqwest::StatusCode::OK);
}

#[tokio::test]
async fn a_polling_worker_has_no_batch_by_hand_and_says_why() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let stack = start(dir.path(), Intake::Polling).await;
    let (web, worker) = (stack.web_url(), stack.worker_url());
    tokio::spawn(stack.run_until(std::future::pending()));
    let client = reqwest::Client::new();
    let refused = client
        .post(format!("{worker}/process-batch"))
        .send()
        .await
        .expect("answer");
    // The route exists only in manual mode; the 404 says how to get it.
    assert_eq!(refused.status(), reqwest::StatusCode::NOT_FOUND);
    let body: Value = refused.json().await.expect("json");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("WORKER_POLL=manual"),
        "{body}"
    );
    let page = get_text(&client, &web).await;
    assert!(
        !page.contains("Process messages"),
        "no button while the worker polls"
    );
}

/// `SEND_RATE_PER_MINUTE` and `SEND_BURST` given to the launcher reach the
/// web it starts: they were read by the `web` binary alone, and `cargo run`
/// ignored them without a word.
#[tokio::test]
async fn the_launcher_reads_the_send_rate_and_holds_its_web_to_it() {
    // `set_var` is unsafe in edition 2024 because another thread may read
    // the environment at once; each test here runs in a process of its own.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("SEND_RATE_PER_MINUTE", "1");
        std::env::set_var("SEND_BURST", "2");
    }
    let settings = LocalConfig::settings();
    let command = service::cli::command("local", "the launcher", &settings);
    let given = service::cli::parse(command, &settings, ["local".into()])
        .expect("the settings parse")
        .expect("not asked for help");
    let read = LocalConfig::from_vars(&given.vars).expect("the settings read");
    assert_eq!(read.limits.sends_per_minute, 1);
    assert_eq!(read.limits.send_burst, 2);
    assert_eq!(read.limits.reads_per_minute, 0, "unset: off, as before");

    let dir = tempfile::tempdir().expect("a temporary folder");
    let config = LocalConfig {
        limits: read.limits,
        ..config(dir.path(), Intake::Polling)
    };
    let stack = Stack::start(&config).await.expect("the stack starts");
    let web = stack.web_url();
    tokio::spawn(stack.run_until(std::future::pending()));
    let client = reqwest::Client::new();
    let post = || {
        client
            .post(format!("{web}/api/messages"))
            .json(&json!({ "body": "counted" }))
            .send()
    };
    for _ in 0..2 {
        assert_eq!(
            post().await.expect("an answer").status(),
            reqwest::StatusCode::ACCEPTED
        );
    }
    let refused = post().await.expect("an answer");
    assert_eq!(refused.status(), reqwest::StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
}

/// One Prometheus sample: its name, its labels, its value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Prometheus's text format, read as a scraper reads it: one sample a line,
/// `name{label="value",...} value`; comments skipped.
fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a value after the series");
            let value: f64 = value.parse().expect("a number");
            let (name, labels) = match series.split_once('{') {
                None => (series, ""),
                Some((name, rest)) => (name, rest.strip_suffix('}').expect("closed labels")),
            };
            let mut read = BTreeMap::new();
            let mut rest = labels;
            while let Some((key, after)) = rest.split_once("=\"") {
                let (value, after) = after.split_once('"').expect("a closed label value");
                read.insert(key.trim_start_matches(',').to_owned(), value.to_owned());
                rest = after;
            }
            (name.to_owned(), read, value)
        })
        .collect()
}

/// The sum of the samples of `name` with every label of `labels`.
fn total(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(sample, read, _)| {
            sample == name
                && labels
                    .iter()
                    .all(|(key, value)| read.get(*key).is_some_and(|read| read == value))
        })
        .map(|(_, _, value)| value)
        .sum()
}

/// With `METRICS_ADDR` set, the launcher serves Prometheus text on it, the
/// web's and the worker's: a message sent and processed shows in the
/// request, send, delivery and job series, and the histograms have buckets.
#[tokio::test]
async fn the_metrics_listener_shows_a_message_from_send_to_complete() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let config = LocalConfig {
        metrics: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
        ..config(dir.path(), Intake::Polling)
    };
    let stack = Stack::start(&config).await.expect("the stack starts");
    let web = stack.web_url();
    let metrics = stack.metrics_url().expect("a metrics listener");
    tokio::spawn(stack.run_until(std::future::pending()));

    let client = reqwest::Client::new();
    let id = send(&client, &web, json!({ "body": "counted" })).await;
    assert_eq!(final_status(&client, &web, &id).await, "complete");
    // The page reads the pipeline, and with it the queue's depth.
    get_text(&client, &format!("{web}/")).await;

    let text = get_text(&client, &metrics).await;
    let read = samples(&text);
    let sent = [
        ("app", "web"),
        ("route", "/api/messages"),
        ("method", "POST"),
        ("status", "202"),
    ];
    assert_eq!(total(&read, "http_requests_total", &sent), 1.0, "{text}");
    let read_back = [("app", "web"), ("route", "/api/messages/{id}")];
    assert!(
        total(&read, "http_requests_total", &read_back) >= 1.0,
        "{text}"
    );
    assert_eq!(total(&read, "messages_sent_total", &[]), 1.0, "{text}");
    assert_eq!(total(&read, "messages_consumed_total", &[]), 1.0, "{text}");
    let completed = [("kind", "ok"), ("outcome", "complete")];
    assert_eq!(total(&read, "jobs_total", &completed), 1.0, "{text}");
    assert_eq!(total(&read, "jobs_in_flight", &[]), 0.0, "{text}");
    for histogram in [
        "http_request_duration_seconds",
        "job_duration_seconds",
        "queue_wait_seconds",
    ] {
        assert!(
            text.contains(&format!("# TYPE {histogram} histogram")),
            "{histogram} is a histogram: {text}"
        );
        let every = total(&read, &format!("{histogram}_bucket"), &[("le", "+Inf")]);
        assert!(every >= 1.0, "{histogram} has its buckets: {text}");
    }
    let waited = total(&read, "queue_wait_seconds_count", &[]);
    assert_eq!(waited, 1.0, "one delivery waited: {text}");
    assert!(
        read.iter()
            .any(|(name, labels, _)| name == "queue_depth" && labels["state"] == "waiting"),
        "the queue's depth from the page's snapshot: {text}"
    );
}
