//! `--scenario tabs` (on moto): what open pages cost the backend. For 1, 10
//! and 100 tabs open on one web instance, each doing what the page's script
//! does (load `/`, then every 1.5 s ask `/api/messages/updates` for messages
//! newer than the newest it has, and for the counts and the pipeline every
//! fourth time, and every 30 s fetch the last hour's charts), the
//! AWS requests the web makes per minute, counted on the wire by a proxy
//! (as in `run.rs`), from when every tab has loaded the page. The page is
//! idle: nothing is sent, nothing is pending, which is the floor of what an
//! open page costs (each pending message a page shows adds its own batch read).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinSet;

use crate::Options;
use crate::proxy;
use crate::run::{provision_moto, start};

/// The page's poll period (`POLL_MS` in `app.js`).
const POLL: Duration = Duration::from_millis(1500);
/// Polls between two fetches of the charts (every 30 s in `app.js`).
const POLLS_PER_CHARTS: u64 = 20;
/// How long each tab count is measured.
const WINDOW: Duration = Duration::from_secs(30);
/// Time for every tab to load the page before the window opens.
const LOAD: Duration = Duration::from_secs(10);
/// The tab counts measured.
const TABS: [usize; 3] = [1, 10, 100];

/// One tab count's figures.
pub struct TabsRun {
    /// Tabs open.
    pub tabs: usize,
    /// AWS requests per minute, by operation.
    pub per_minute: BTreeMap<String, f64>,
    /// Polls answered, and polls refused (`503`: the backend did not keep up).
    pub polls: (u64, u64),
}

/// Measures every count of [`TABS`].
pub async fn run(options: &Options) -> anyhow::Result<Vec<TabsRun>> {
    let moto = crate::run::moto_endpoint()?;
    let backend = provision_moto(&options.bin_dir, &moto).await?;
    let (endpoint, counts) = proxy::start(&moto).await?;
    let web = start(&options.bin_dir.join("web"), &backend, Some(&endpoint), &[]).await?;
    let mut runs = Vec::new();
    for tabs in TABS {
        eprintln!("tabs scenario: {tabs} tab(s) for {} s", WINDOW.as_secs());
        // Every tab loads the page first; what they cost while open is
        // counted from when all have loaded.
        let polling = Instant::now() + LOAD;
        let mut open = JoinSet::new();
        for _ in 0..tabs {
            open.spawn(tab(web.url.clone(), polling, polling + WINDOW));
        }
        tokio::time::sleep_until(polling.into()).await;
        counts.reset();
        let started = Instant::now();
        let mut polls = (0, 0);
        while let Some(done) = open.join_next().await {
            let (answered, refused) = done??;
            polls = (polls.0 + answered, polls.1 + refused);
        }
        let minutes = started.elapsed().as_secs_f64() / 60.0;
        let per_minute = counts
            .snapshot()
            .into_iter()
            .map(|(operation, count)| (operation, count as f64 / minutes))
            .collect();
        runs.push(TabsRun {
            tabs,
            per_minute,
            polls,
        });
    }
    drop(web);
    Ok(runs)
}

/// One open page: loaded at once, polling from `polling` until `until`, as
/// the page's script drives it. Returns its polls answered and refused.
async fn tab(web: String, polling: Instant, until: Instant) -> anyhow::Result<(u64, u64)> {
    let client = reqwest::Client::new();
    client
        .get(format!("{web}/"))
        .send()
        .await?
        .error_for_status()?;
    tokio::time::sleep_until(polling.into()).await;
    let mut newest = messages::MessageId::floor(messages::now()).to_string();
    let (mut answered, mut refused) = (0_u64, 0_u64);
    while Instant::now() + POLL < until {
        tokio::time::sleep(POLL).await;
        let counts = if (answered + refused) % 4 == 0 {
            "&counts=1"
        } else {
            ""
        };
        let response = client
            .get(format!("{web}/api/messages/updates?after={newest}{counts}"))
            .send()
            .await?;
        // The page carries on after a refused poll; so does the tab.
        if !response.status().is_success() {
            refused += 1;
            continue;
        }
        answered += 1;
        if answered % POLLS_PER_CHARTS == 0 {
            client.get(format!("{web}/activity/charts")).send().await?;
        }
        let update: Value = response.json().await?;
        if let Some(last) = update["new"].as_array().and_then(|new| new.last()) {
            newest = last["id"].as_str().unwrap_or(&newest).to_owned();
        }
    }
    Ok((answered, refused))
}

/// The runs as a Markdown section.
pub fn markdown(runs: &[TabsRun]) -> String {
    // Writing to a String cannot fail: the `let _ =` below drop an Ok.
    let mut text = String::new();
    let _ = writeln!(
        text,
        "### Open pages on moto: AWS requests per minute of one web instance ({} s per row, idle pages)\n",
        WINDOW.as_secs()
    );
    let _ = writeln!(
        text,
        "| tabs | requests per minute | per tab | by operation | polls answered / refused |\n|---|---|---|---|---|"
    );
    for run in runs {
        let total: f64 = run.per_minute.values().sum();
        let detail: Vec<String> = run
            .per_minute
            .iter()
            .map(|(operation, rate)| {
                let name = operation.rsplit('.').next().unwrap_or(operation);
                format!("{name} {rate:.0}")
            })
            .collect();
        let _ = writeln!(
            text,
            "| {} | {total:.0} | {:.0} | {} | {} / {} |",
            run.tabs,
            total / run.tabs as f64,
            detail.join(", "),
            run.polls.0,
            run.polls.1
        );
    }
    text
}
