//! One chaos run on one backend: start the processes, send from several
//! clients while faults are dealt at random, then stop the faults, let
//! everything settle (the sweeper runs every minute), and check.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use messages::{Backends, JobKind, JobPayload, MessageId, Status};

use crate::fleet::{Fleet, Setup};
use crate::ledger::{self, Chaos, Figures};
use crate::proxy::{self, Mode, Switch};
use crate::senders::{self, Dice, Ended, Send};

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `embedded` or `moto`.
    pub backend: String,
    /// How long faults are dealt.
    pub seconds: u64,
    /// The dice's seed.
    pub seed: u64,
    /// Where `web` and `worker` are.
    pub bin_dir: PathBuf,
}

/// Clients sending at once.
const SENDERS: usize = 6;
/// Workers polling at once.
const WORKERS: usize = 2;
/// How long a client keeps retrying one send: past the web's 35 s, after
/// which a send cut short by a kill is settled from its records.
const PATIENCE: Duration = Duration::from_secs(90);
/// How long everything may take to settle once the faults stop: a sweep
/// runs every minute, and its rescued jobs must then run; a job a killed
/// worker held comes back after the workers' visibility timeout (65 s,
/// `fleet.rs`), and so does a sweep it held.
const SETTLE: Duration = Duration::from_secs(240);

/// The backend under test: the settings for the processes, a connection of
/// the suite's own (checks and duplicate deliveries), and the switches that
/// cut it off (none for the embedded backend, which has no network).
struct Backend {
    env: Vec<(String, String)>,
    own: Backends,
    switches: Vec<Switch>,
    _data: Option<tempfile::TempDir>,
}

async fn backend(name: &str) -> anyhow::Result<Backend> {
    if name == "embedded" {
        let data = tempfile::tempdir()?;
        let own = messages_embedded::backends(data.path(), 10)?;
        return Ok(Backend {
            env: vec![("DATA_DIR".to_owned(), data.path().display().to_string())],
            own,
            switches: Vec::new(),
            _data: Some(data),
        });
    }
    let fresh = testkit::moto::fresh(10).await;
    let moto = testkit::moto::endpoint();
    let (sqs, sqs_switch) = proxy::start(&moto, false).await?;
    let (dynamodb, dynamodb_switch) = proxy::start(&moto, true).await?;
    let env = [
        ("QUEUE_URL", fresh.queue_url.as_str()),
        ("TABLE_NAME", fresh.table.as_str()),
        // One endpoint per service (aws-config's service-specific variables),
        // each through its own proxy.
        ("AWS_ENDPOINT_URL_SQS", sqs.as_str()),
        ("AWS_ENDPOINT_URL_DYNAMODB", dynamodb.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    Ok(Backend {
        env,
        own: fresh.backends,
        switches: vec![sqs_switch, dynamodb_switch],
        _data: None,
    })
}

/// Watches the final state of every id in `ids`: a final state that changes
/// is a flip. Returns the flips seen.
async fn watch_for_flips(
    own: Backends,
    ids: Arc<Mutex<Vec<MessageId>>>,
    until: Arc<tokio::sync::Notify>,
) -> Vec<String> {
    let mut first_final: BTreeMap<MessageId, Status> = BTreeMap::new();
    let mut flips = Vec::new();
    loop {
        let known: Vec<MessageId> = ids.lock().map(|ids| ids.clone()).unwrap_or_default();
        for chunk in known.chunks(messages::MAX_PAGE as usize) {
            // A read refused during an outage is read again next round.
            let Ok(found) = own.store.get_many(chunk).await else {
                continue;
            };
            for message in found {
                match first_final.get(&message.id) {
                    Some(was) if *was != message.status => flips.push(format!(
                        "flipped: {} was {was}, then {}",
                        message.id, message.status
                    )),
                    Some(_) => {}
                    None if message.status.is_final() => {
                        first_final.insert(message.id, message.status);
                    }
                    None => {}
                }
            }
        }
        tokio::select! {
            () = until.notified() => return flips,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Runs the plan; returns the report and whether every check held.
pub async fn run(plan: &Plan) -> anyhow::Result<(String, bool)> {
    let backend = backend(&plan.backend).await?;
    let cron = tempfile::tempdir()?;
    let cron_file = cron.path().join("cron.yaml");
    std::fs::write(
        &cron_file,
        "version: 1\ncron:\n  - name: sweep-pending\n    url: /tasks/sweep\n    schedule: \"* * * * *\"\n",
    )?;
    let setup = Setup {
        bin_dir: plan.bin_dir.clone(),
        env: backend.env.clone(),
        cron_file,
    };
    let mut fleet = Fleet::start(setup, WORKERS).await?;
    let web = fleet.web_url();
    eprintln!(
        "chaos on {}: {} s of faults, seed {}",
        plan.backend, plan.seconds, plan.seed
    );

    let known = Arc::new(Mutex::new(Vec::new()));
    let sent: Arc<Mutex<Vec<(MessageId, String, JobKind)>>> = Arc::new(Mutex::new(Vec::new()));
    let stop_watching = Arc::new(tokio::sync::Notify::new());
    let watcher = tokio::spawn(watch_for_flips(
        backend.own.clone(),
        Arc::clone(&known),
        Arc::clone(&stop_watching),
    ));
    let chaos_ends = Instant::now() + Duration::from_secs(plan.seconds);
    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let (web, known, sent) = (web.clone(), Arc::clone(&known), Arc::clone(&sent));
            let mut dice = Dice::new(plan.seed ^ ((sender as u64 + 1) * 0x9E37_79B9));
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut sends: Vec<Send> = Vec::new();
                let mut n = 0;
                while Instant::now() < chaos_ends {
                    let simulate = match dice.below(10) {
                        0 | 1 => JobKind::Fail,
                        2 => JobKind::Flaky,
                        3 => JobKind::Slow,
                        _ => JobKind::Succeed,
                    };
                    let body = format!("chaos {sender}-{n}");
                    let key = MessageId::new().to_string();
                    let send =
                        senders::send_once(&client, &web, &key, &body, simulate, PATIENCE).await;
                    if let Ended::Accepted(id, _) | Ended::MarkedFail(id) = &send.ended {
                        if let Ok(mut known) = known.lock() {
                            known.push(*id);
                        }
                        if let Ok(mut sent) = sent.lock() {
                            sent.push((*id, body, simulate));
                        }
                    }
                    sends.push(send);
                    n += 1;
                }
                sends
            })
        })
        .collect();

    let mut dice = Dice::new(plan.seed);
    let mut chaos = Chaos::default();
    let cut_off = !backend.switches.is_empty();
    while Instant::now() < chaos_ends {
        tokio::time::sleep(Duration::from_millis(1_000 + dice.below(2_000))).await;
        match dice.below(if cut_off { 5 } else { 3 }) {
            0 => {
                fleet.kill_web().await?;
                chaos.web_kills += 1;
            }
            1 => {
                let index = usize::try_from(dice.below(fleet.workers() as u64)).unwrap_or(0);
                fleet.kill_worker(index).await?;
                chaos.worker_kills += 1;
            }
            2 => {
                // A few accepted jobs delivered again, maybe while the first
                // delivery runs: at-least-once, by hand.
                let picks: Vec<(MessageId, String, JobKind)> = sent
                    .lock()
                    .map(|sent| {
                        (0..3)
                            .filter_map(|_| {
                                let count = sent.len() as u64;
                                (count > 0).then(|| sent[dice.below(count) as usize].clone())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                for (id, body, simulate) in picks {
                    let job = JobPayload { id, body, simulate };
                    if backend.own.queue.send(&job.to_json()).await.is_ok() {
                        chaos.duplicates += 1;
                    }
                }
            }
            outage => {
                let mode = if outage == 3 {
                    Mode::Refusing
                } else {
                    Mode::Blackholed
                };
                for switch in &backend.switches {
                    switch.set(mode);
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
                for switch in &backend.switches {
                    switch.set(Mode::Up);
                }
                match mode {
                    Mode::Refusing => chaos.refusals += 1,
                    _ => chaos.blackholes += 1,
                }
            }
        }
    }
    for switch in &backend.switches {
        switch.set(Mode::Up);
    }
    eprintln!("faults stopped; waiting for the clients to settle their sends");
    let mut sends = Vec::new();
    for sender in senders {
        sends.extend(sender.await?);
    }

    eprintln!(
        "waiting (at most {} s) for every message to be final",
        SETTLE.as_secs()
    );
    let settle_ends = Instant::now() + SETTLE;
    let mut records = testkit::backends::every_record(&backend.own).await?;
    while records
        .iter()
        .any(|message| message.status == Status::Pending)
        && Instant::now() < settle_ends
    {
        tokio::time::sleep(Duration::from_secs(1)).await;
        records = testkit::backends::every_record(&backend.own).await?;
    }
    stop_watching.notify_one();
    let flips = watcher.await?;
    drop(fleet);

    let figures: Figures = ledger::check(&sends, &records, &flips);
    let report = ledger::report(&plan.backend, plan.seconds, plan.seed, &chaos, &figures);
    Ok((report, figures.problems.is_empty()))
}
