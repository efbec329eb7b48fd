//! One snapshot of the counts per web instance, shared by every open page.
//!
//! Counting is the dearest read the page makes: on DynamoDB a count of one
//! status is one COUNT Query per shard (`count_every_shard`). Each live page
//! asks for the counts every few polls; were each request counted anew, the
//! backend's cost would grow with the number of open tabs. Instead the web
//! keeps the last counts for [`COUNTS_MAX_AGE`] and serves them to every
//! request in that time; a request that finds them old counts again, and the
//! requests that arrive meanwhile wait for that one count instead of starting
//! their own. So one web instance counts at most once per
//! [`COUNTS_MAX_AGE`], however many tabs are open.
//!
//! A failed count is not kept: the next request tries again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use messages::{BackendError, Status, StatusStore};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::limits::COUNT_CAP;

/// How old the shared counts may be when served.
pub const COUNTS_MAX_AGE: Duration = Duration::from_secs(3);

/// How many messages have each status (at most [`COUNT_CAP`]), by name.
pub type Counts = BTreeMap<&'static str, u64>;

/// The shared counts of one web instance.
pub struct CountsSnapshot {
    store: Arc<dyn StatusStore>,
    max_age: Duration,
    // Held while counting: concurrent requests wait for one count.
    last: Mutex<Option<(Instant, Counts)>>,
}

impl CountsSnapshot {
    /// Counts of `store`, served for up to [`COUNTS_MAX_AGE`].
    pub fn new(store: Arc<dyn StatusStore>) -> Self {
        Self::with_max_age(store, COUNTS_MAX_AGE)
    }

    /// As [`CountsSnapshot::new`], kept for `max_age` (tests).
    pub fn with_max_age(store: Arc<dyn StatusStore>, max_age: Duration) -> Self {
        Self {
            store,
            max_age,
            last: Mutex::new(None),
        }
    }

    /// The counts, from the snapshot if it is young enough, else counted now.
    pub async fn counts(&self) -> Result<Counts, BackendError> {
        let mut last = self.last.lock().await;
        if let Some((taken, counts)) = last.as_ref()
            && taken.elapsed() < self.max_age
        {
            return Ok(counts.clone());
        }
        let mut counts = Counts::new();
        for status in Status::ALL {
            counts.insert(status.as_str(), self.store.count(status, COUNT_CAP).await?);
        }
        *last = Some((Instant::now(), counts.clone()));
        Ok(counts)
    }
}
