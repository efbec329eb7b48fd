//! The capacity scenario: what the requests of the real `web` and `worker`
//! would cost on DynamoDB and SQS. Both run on moto, each through a proxy
//! that counts its requests and feeds the capacity model (`observer.rs`).
//! The bench sends messages one at a time, then in bursts of 100, and lists
//! a page with a small table and with a large one.
//!
//! The bench's own polling ("is anything still pending?") goes through a
//! second `web` that reaches moto directly, so it is neither counted nor
//! modelled; it only reads.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::task::JoinSet;

use super::moto;
use super::observer::CapacityObserver;
use super::schema::Layout;
use super::usage::Usage;
use crate::proxy::{self, Counts};
use crate::run::{self, Backend};

/// The burst size of the web's batch endpoint, at most.
const BURST: usize = 100;
/// Bursts in flight at once while seeding the large table.
const SEED_CONCURRENCY: usize = 4;
/// Messages seeded between two emptyings of the queue.
const SEED_ROUND: usize = 1000;
/// Seeding's progress on stderr, at most this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(30);
/// After the last message is final, the worker still deletes its queue
/// message: wait this long before reading the counts.
const SETTLE: Duration = Duration::from_secs(1);
/// How often the bench asks whether anything is still pending. Each ask is
/// a page of the `pending` index: a Query on each of its 64 shards, each of
/// which moto answers by scanning the whole table. Asked every 20 ms, it
/// kept moto so busy that the observed worker's deliveries ran past their
/// visibility timeout and came again, and the model charged the duplicates
/// (bursts: 0.29 refused writes a message and 1.83 SQS requests, against
/// 0.04 and 1.59 asked every 250 ms). The phases' wall times are this coarse.
const POLL_EVERY: Duration = Duration::from_millis(250);
/// Any one request of the bench to the web.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Sending the messages of one phase, at most.
const PHASE_LIMIT: Duration = Duration::from_secs(1800);
/// The list pages measured at each table size.
const LIST_QUERIES: [&str; 2] = ["limit=100", "status=complete&limit=100"];

/// What to run.
#[derive(Debug, Clone)]
pub struct CapacityOptions {
    /// Where the release binaries are.
    pub bin_dir: PathBuf,
    /// Messages sent one at a time, and again in bursts of 100.
    pub messages: usize,
    /// Messages in the table at the first list measurement.
    pub list_small: usize,
    /// Messages in the table at the second one (seeded, bounded in time).
    pub list_large: usize,
    /// List requests timed per query and size.
    pub list_requests: usize,
    /// How long seeding the large table may take.
    pub seed_limit: Duration,
    /// A CSV file of every modelled write, if wanted.
    pub write_log: Option<PathBuf>,
    /// The size of each message's body, in bytes.
    pub body_bytes: usize,
}

/// How the messages of a phase are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sending {
    /// `POST /api/messages`, one message a request, no key: an API client.
    OneAtATime,
    /// `POST /api/messages/batch` with `count: 1` and a new
    /// `Idempotency-Key` each: what the page's form sends (`app.js`).
    AsTheForm,
    /// `POST /api/messages/batch` with `count: 100`.
    Bursts,
}

impl Sending {
    /// The phase's name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Self::OneAtATime => "one at a time",
            Self::AsTheForm => "one at a time with an Idempotency-Key, as the page's form",
            Self::Bursts => "bursts of 100",
        }
    }
}

/// A body of `bytes` bytes: pseudo-random letters, digits and spaces, the
/// same on every run. Text like this compresses about as little as text
/// can, so a layout that stored bodies compressed would not look better
/// here than it would on people's messages.
pub fn body_of(bytes: usize) -> Arc<str> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789      ";
    // A linear congruential generator (Knuth's MMIX constants): any fixed
    // sequence does, as long as every run sends the same bodies.
    let mut state: u64 = 0x5EED;
    let text: String = (0..bytes)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let at = usize::try_from(state >> 33).unwrap_or(0) % ALPHABET.len();
            char::from(ALPHABET[at])
        })
        .collect();
    Arc::from(text)
}

/// One way of sending, measured.
#[derive(Debug)]
pub struct Phase {
    /// How the messages were sent.
    pub sending: Sending,
    /// How many.
    pub messages: usize,
    /// AWS requests of the web and the worker, by operation.
    pub requests: BTreeMap<String, u64>,
    /// What the model counted.
    pub usage: Usage,
    /// From the first send to the last message final.
    pub elapsed: Duration,
}

/// One list page, measured.
#[derive(Debug)]
pub struct ListRun {
    /// Messages in the table.
    pub in_table: usize,
    /// The query string of `GET /api/messages`.
    pub query: &'static str,
    /// Requests timed.
    pub pages: usize,
    /// Median time to the whole answer, at the bench, of the pages answered.
    pub p50: Option<Duration>,
    /// The statuses of the pages not answered.
    pub refused: Vec<u16>,
    /// Items on the page (the last one).
    pub items: usize,
    /// The web's AWS requests for all the pages, by operation.
    pub requests: BTreeMap<String, u64>,
    /// What the model counted for all the pages.
    pub usage: Usage,
}

/// The large table's seeding.
#[derive(Debug)]
pub struct Seeding {
    /// Messages in the table wanted.
    pub wanted: usize,
    /// Messages in the table reached.
    pub reached: usize,
    /// Why seeding stopped short, if a burst failed.
    pub stopped_by: Option<String>,
    /// How long it took.
    pub elapsed: Duration,
    /// What the model counted (bursts of 100, no worker).
    pub usage: Usage,
}

/// Everything measured.
#[derive(Debug)]
pub struct CapacityResults {
    /// The size of each message's body, in bytes.
    pub body_bytes: usize,
    /// The table's layout, one line per table and index.
    pub layout: Vec<String>,
    /// Sending one at a time, then in bursts.
    pub phases: Vec<Phase>,
    /// List pages at the small and the large size.
    pub lists: Vec<ListRun>,
    /// How the large table was filled.
    pub seeding: Seeding,
    /// Why the run stopped before its end, if it did: the phases before are
    /// reported, and the run fails.
    pub stopped_by: Option<String>,
    /// The whole scenario.
    pub elapsed: Duration,
}

/// A key no other send of this run has used, as the form makes a new one
/// for each message.
fn new_key() -> String {
    static SENT: AtomicU64 = AtomicU64::new(0);
    let n = SENT.fetch_add(1, Ordering::Relaxed);
    format!("capacity-{}-{n}", std::process::id())
}

/// Sends one message, as `sending` says (one at a time, with a key or not).
async fn send_one(
    client: &reqwest::Client,
    web: &str,
    body: &str,
    sending: Sending,
) -> anyhow::Result<()> {
    let request = if sending == Sending::AsTheForm {
        client
            .post(format!("{web}/api/messages/batch"))
            .header("Idempotency-Key", new_key())
            .json(&json!({ "body": body, "count": 1 }))
    } else {
        client
            .post(format!("{web}/api/messages"))
            .json(&json!({ "body": body }))
    };
    accepted(request.send().await?).await?;
    Ok(())
}

/// The answer of a send, or an error that says what the web answered.
async fn accepted(answer: reqwest::Response) -> anyhow::Result<reqwest::Response> {
    let status = answer.status();
    if status.is_success() {
        return Ok(answer);
    }
    let url = answer.url().clone();
    let body = answer.text().await.unwrap_or_default();
    anyhow::bail!("{url} answered {status}: {body}")
}

/// Sends a burst of `count` with `POST /api/messages/batch`.
async fn send_burst(
    client: reqwest::Client,
    web: String,
    body: Arc<str>,
    count: usize,
) -> anyhow::Result<usize> {
    let created: Value = client
        .post(format!("{web}/api/messages/batch"))
        .json(&json!({ "body": &*body, "count": count }))
        .send()
        .await
        .map_err(anyhow::Error::from)
        .map(accepted)?
        .await?
        .json()
        .await?;
    let sent = created["items"].as_array().map_or(0, Vec::len);
    anyhow::ensure!(
        sent == count,
        "a burst of {count} created {sent} messages: {created}"
    );
    Ok(sent)
}

/// What [`send_bursts`] did.
struct Bursts {
    /// Messages created, in bursts that were answered whole.
    sent: usize,
    /// The first burst that failed, if one did: no burst was started after it.
    error: Option<anyhow::Error>,
}

/// Sends `total` messages in bursts of up to 100, `concurrency` bursts at a
/// time, starting none after `deadline` or after a failure.
async fn send_bursts(
    client: &reqwest::Client,
    web: &str,
    body: &Arc<str>,
    total: usize,
    concurrency: usize,
    deadline: Instant,
) -> Bursts {
    let (mut asked, mut sent, mut error) = (0, 0, None);
    let mut bursts = JoinSet::new();
    loop {
        while error.is_none()
            && asked < total
            && bursts.len() < concurrency
            && Instant::now() < deadline
        {
            let count = BURST.min(total - asked);
            asked += count;
            bursts.spawn(send_burst(
                client.clone(),
                web.to_owned(),
                body.clone(),
                count,
            ));
        }
        let Some(done) = bursts.join_next().await else {
            break;
        };
        match done.map_err(anyhow::Error::from).and_then(|burst| burst) {
            Ok(count) => sent += count,
            Err(failed) => {
                error.get_or_insert(failed);
            }
        }
    }
    Bursts { sent, error }
}

/// Sends `total` messages in bursts, all of them or an error.
async fn send_all_in_bursts(
    client: &reqwest::Client,
    web: &str,
    body: &Arc<str>,
    total: usize,
) -> anyhow::Result<usize> {
    let bursts = send_bursts(client, web, body, total, 1, Instant::now() + PHASE_LIMIT).await;
    if let Some(error) = bursts.error {
        return Err(error);
    }
    anyhow::ensure!(
        bursts.sent == total,
        "only {} of {total} messages were sent in bursts within {} s",
        bursts.sent,
        PHASE_LIMIT.as_secs()
    );
    Ok(bursts.sent)
}

/// Fills the table with `wanted` more messages in rounds of bursts, emptying
/// the queue between rounds (see `moto::empty_queue`), until `deadline`.
/// Progress on stderr. A failed burst ends the seeding, and is reported.
async fn seed(
    client: &reqwest::Client,
    web: &str,
    body: &Arc<str>,
    moto_endpoint: &str,
    queue_url: &str,
    wanted: usize,
    deadline: Instant,
) -> anyhow::Result<(usize, Option<String>)> {
    let started = Instant::now();
    let mut last_word = Instant::now();
    let mut sent = 0;
    while sent < wanted && Instant::now() < deadline {
        let round = send_bursts(
            client,
            web,
            body,
            SEED_ROUND.min(wanted - sent),
            SEED_CONCURRENCY,
            deadline,
        )
        .await;
        sent += round.sent;
        moto::empty_queue(client, moto_endpoint, queue_url).await?;
        if last_word.elapsed() >= PROGRESS_EVERY || sent >= wanted {
            last_word = Instant::now();
            eprintln!(
                "  {sent} of {wanted} sent, {:.0} a second",
                sent as f64 / started.elapsed().as_secs_f64()
            );
        }
        if let Some(error) = round.error {
            return Ok((sent, Some(format!("{error:#}"))));
        }
    }
    Ok((sent, None))
}

fn reset(counts: &[&Counts]) {
    for counts in counts {
        counts.reset();
    }
}

fn merged(counts: &[&Counts]) -> BTreeMap<String, u64> {
    let mut all = BTreeMap::new();
    for counts in counts {
        for (operation, count) in counts.snapshot() {
            *all.entry(operation).or_default() += count;
        }
    }
    all
}

/// Takes the model's counts stretch by stretch: keeps what it could not
/// account for, and writes every write to the CSV log when one was asked for.
struct Recorder {
    observer: Arc<CapacityObserver>,
    log: Option<std::fs::File>,
    problems: Vec<String>,
}

impl Recorder {
    fn new(observer: Arc<CapacityObserver>, log: Option<&PathBuf>) -> anyhow::Result<Self> {
        let log = match log {
            None => None,
            Some(path) => {
                let mut file = std::fs::File::create(path).map_err(|error| {
                    anyhow::anyhow!("cannot create the write log {}: {error}", path.display())
                })?;
                writeln!(file, "phase,operation,target,partition,item,change,units")?;
                Some(file)
            }
        };
        Ok(Self {
            observer,
            log,
            problems: Vec::new(),
        })
    }

    /// What was counted since the last call, named `stretch`.
    /// An error if the model met a request it could not account for: its
    /// figures would be wrong, so none is reported.
    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.problems.is_empty(),
            "the capacity model could not account for every request, so its figures would be wrong:\n{}",
            self.problems.join("\n")
        );
        Ok(())
    }

    fn take(&mut self, stretch: &str) -> anyhow::Result<Usage> {
        let usage = self.observer.take_usage();
        self.problems.extend(
            usage
                .problems
                .iter()
                .map(|problem| format!("{stretch}: {problem}")),
        );
        if let Some(file) = &mut self.log {
            file.write_all(usage.csv_lines(stretch).as_bytes())?;
        }
        Ok(usage)
    }
}

/// Times `pages` requests of `GET /api/messages?{query}` one after another.
/// [`measure_list`] for each of [`LIST_QUERIES`].
async fn measure_lists(
    client: &reqwest::Client,
    web: &str,
    web_counts: &Counts,
    recorder: &mut Recorder,
    in_table: usize,
    pages: usize,
) -> anyhow::Result<Vec<ListRun>> {
    let mut runs = Vec::new();
    for query in LIST_QUERIES {
        runs.push(measure_list(client, web, web_counts, recorder, in_table, query, pages).await?);
    }
    Ok(runs)
}

async fn measure_list(
    client: &reqwest::Client,
    web: &str,
    web_counts: &Counts,
    recorder: &mut Recorder,
    in_table: usize,
    query: &'static str,
    pages: usize,
) -> anyhow::Result<ListRun> {
    eprintln!("capacity: {pages} pages of {query} with {in_table} messages in the table");
    web_counts.reset();
    recorder.take("before a list")?;
    let mut times = Vec::with_capacity(pages);
    let (mut items, mut refused) = (0, Vec::new());
    for _ in 0..pages {
        let started = Instant::now();
        let answer = client
            .get(format!("{web}/api/messages?{query}"))
            .send()
            .await?;
        // A page moto is too slow for (the web gives up after 30 s) is
        // reported, not fatal: it is moto's speed, not the page's cost.
        if !answer.status().is_success() {
            refused.push(answer.status().as_u16());
            continue;
        }
        let page: Value = answer.json().await?;
        times.push(started.elapsed());
        items = page["items"].as_array().map_or(0, Vec::len);
    }
    times.sort();
    Ok(ListRun {
        in_table,
        query,
        pages,
        p50: (!times.is_empty()).then(|| crate::report::percentile(&times, 0.5)),
        refused,
        items,
        requests: web_counts.snapshot(),
        usage: recorder.take(&format!("list {query} with {in_table} messages"))?,
    })
}

/// Sends `messages` as `sending` says, waits until all are final, and takes
/// the counts.
struct PhaseRun<'a> {
    client: &'a reqwest::Client,
    web: &'a str,
    reader: &'a str,
    counts: &'a [&'a Counts],
    body: &'a Arc<str>,
    messages: usize,
}

impl PhaseRun<'_> {
    async fn send(&self, recorder: &mut Recorder, sending: Sending) -> anyhow::Result<Phase> {
        let name = sending.name();
        eprintln!("capacity: {} messages {name}", self.messages);
        reset(self.counts);
        recorder.take("before sending")?;
        let started = Instant::now();
        if sending == Sending::Bursts {
            send_all_in_bursts(self.client, self.web, self.body, self.messages).await?;
        } else {
            for _ in 0..self.messages {
                send_one(self.client, self.web, self.body, sending).await?;
            }
        }
        run::until_none_pending_every(self.reader, POLL_EVERY).await?;
        let elapsed = started.elapsed();
        tokio::time::sleep(SETTLE).await;
        Ok(Phase {
            sending,
            messages: self.messages,
            requests: merged(self.counts),
            usage: recorder.take(name)?,
            elapsed,
        })
    }
}

/// The whole scenario.
pub async fn run(options: &CapacityOptions) -> anyhow::Result<CapacityResults> {
    let scenario_started = Instant::now();
    let moto = crate::run::moto_endpoint()?;
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let backend = run::provision_moto(&options.bin_dir, &moto).await?;
    let Backend::Moto { table, queue_url } = &backend else {
        anyhow::bail!("provisioning on moto gave a backend that is not moto's");
    };
    let layout = Layout::from_description(&moto::describe_table(&client, &moto, table).await?)?;
    let layout_lines = layout.describe();
    eprintln!("capacity: table {table}: {}", layout_lines.join("; "));
    let observer = Arc::new(CapacityObserver::new(layout));
    let mut recorder = Recorder::new(observer.clone(), options.write_log.as_ref())?;
    let (web_proxy, web_counts) = proxy::start_observed(&moto, Some(observer.clone())).await?;
    let (worker_proxy, worker_counts) = proxy::start_observed(&moto, Some(observer)).await?;
    let counts = [&web_counts, &worker_counts];
    let web_binary = options.bin_dir.join("web");
    let web = run::start(&web_binary, &backend, Some(&web_proxy), &[]).await?;
    let reader = run::start(&web_binary, &backend, Some(&moto), &[]).await?;
    // No periodic tasks: a sweep costs per run of cron.yaml, not per message
    // (BENCHMARKS.md's pipeline table says what one costs).
    let worker = run::start(
        &options.bin_dir.join("worker"),
        &backend,
        Some(&worker_proxy),
        &[("WORKER_POLL", "true"), ("CRON_FILE", "none")],
    )
    .await?;

    eprintln!(
        "capacity: {} messages for the first list pages",
        options.list_small
    );
    let body = body_of(options.body_bytes);
    let mut in_table = send_all_in_bursts(&client, &web.url, &body, options.list_small).await?;
    run::until_none_pending_every(&reader.url, POLL_EVERY).await?;
    tokio::time::sleep(SETTLE).await;
    recorder.take("the first list's messages")?;
    let mut lists = measure_lists(
        &client,
        &web.url,
        &web_counts,
        &mut recorder,
        in_table,
        options.list_requests,
    )
    .await?;

    let phase_run = PhaseRun {
        client: &client,
        web: &web.url,
        reader: &reader.url,
        counts: &counts,
        body: &body,
        messages: options.messages,
    };
    let mut phases = Vec::new();
    let mut stopped_by = None;
    for sending in [Sending::OneAtATime, Sending::AsTheForm, Sending::Bursts] {
        match phase_run.send(&mut recorder, sending).await {
            Ok(phase) => {
                in_table += phase.messages;
                phases.push(phase);
            }
            Err(error) => {
                // What was measured is still reported; the run then fails.
                stopped_by = Some(format!("{} stopped: {error:#}", sending.name()));
                break;
            }
        }
    }
    if stopped_by.is_some() {
        recorder.check()?;
        return Ok(CapacityResults {
            body_bytes: options.body_bytes,
            layout: layout_lines,
            phases,
            lists,
            seeding: Seeding {
                wanted: options.list_large,
                reached: in_table,
                stopped_by: None,
                elapsed: Duration::ZERO,
                usage: Usage::default(),
            },
            stopped_by,
            elapsed: scenario_started.elapsed(),
        });
    }

    // The worker stops: the seeded messages stay pending, and moto spends
    // its time on the web's writes alone.
    drop(worker);
    let wanted = options.list_large.saturating_sub(in_table);
    eprintln!(
        "capacity: seeding {wanted} more messages in bursts (at most {} s), for the second list pages",
        options.seed_limit.as_secs()
    );
    let seed_started = Instant::now();
    let (seeded, stopped_by) = seed(
        &client,
        &web.url,
        &body,
        &moto,
        queue_url,
        wanted,
        seed_started + options.seed_limit,
    )
    .await?;
    in_table += seeded;
    let seeding = Seeding {
        wanted: options.list_large,
        reached: in_table,
        stopped_by,
        elapsed: seed_started.elapsed(),
        usage: recorder.take("the second list's messages")?,
    };
    lists.extend(
        measure_lists(
            &client,
            &web.url,
            &web_counts,
            &mut recorder,
            in_table,
            options.list_requests,
        )
        .await?,
    );
    drop(web);
    drop(reader);

    recorder.check()?;
    Ok(CapacityResults {
        body_bytes: options.body_bytes,
        layout: layout_lines,
        phases,
        lists,
        seeding,
        stopped_by: None,
        elapsed: scenario_started.elapsed(),
    })
}
