//! `web copy-messages`: the messages of a table an earlier version made,
//! keyed by `id` alone, copied into this version's table, keyed by shard
//! and id (`layout.rs`). DynamoDB cannot change a table's key, so an upgrade
//! makes a new table, and this brings the history over.
//!
//! Each message is read back as the message it was (`item.rs`) and created
//! again with this version's keys, by the same conditional `PutItem` as a
//! send: a message already in the new table is never overwritten, so a copy
//! can be run again, and the status counts follow from the new table's
//! stream like any creation. Items that are not messages (the counts, the
//! idempotency keys, the sessions, the periodic tasks' runs) stay behind:
//! the new table makes its own.

use tokio::task::JoinSet;

use super::lifecycle::Put;
use super::*;

/// Creates in flight at once, as a burst's.
const COPIES_AT_ONCE: usize = 25;

/// What a copy did, so far or in all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Copied {
    /// Messages created in the new table, or found there as they were.
    pub copied: u64,
    /// Messages the new table holds already, changed since: kept as they are.
    pub kept: u64,
    /// Items that are not messages, left behind.
    pub left: u64,
}

impl DynamoStore {
    /// Copies every message of the table `from` into this store's table,
    /// calling `progress` after each page of the scan (1 MB of items).
    pub async fn copy_messages_from(
        &self,
        from: &str,
        progress: impl Fn(&Copied),
    ) -> Result<Copied, BackendError> {
        if from == self.table {
            return Err(BackendError::new(
                "copying messages",
                format!("{from} is the table to copy into: name the earlier table"),
            ));
        }
        let mut copied = Copied::default();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(from)
                // A message finished a moment ago is copied as finished.
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|error| BackendError::new("DynamoDB Scan", error))?;
            let mut creates = JoinSet::new();
            for item in page.items.unwrap_or_default() {
                // Only a message reads back as one.
                let Ok(message) = from_item(&item) else {
                    copied.left += 1;
                    continue;
                };
                if creates.len() >= COPIES_AT_ONCE
                    && let Some(done) = creates.join_next().await
                {
                    tally(&mut copied, done)?;
                }
                let store = self.clone();
                creates.spawn(async move { store.put_new(&message).await });
            }
            while let Some(done) = creates.join_next().await {
                tally(&mut copied, done)?;
            }
            progress(&copied);
            start = page.last_evaluated_key.filter(|key| !key.is_empty());
            if start.is_none() {
                return Ok(copied);
            }
        }
    }
}

/// Counts one create: made (or found as it was), or refused because the new
/// table holds the message changed since. An error stops the copy.
fn tally(
    copied: &mut Copied,
    done: Result<Result<Put, BackendError>, tokio::task::JoinError>,
) -> Result<(), BackendError> {
    match done.map_err(|stopped| BackendError::new("copying a message", stopped))?? {
        Put::Made => copied.copied += 1,
        Put::Other => copied.kept += 1,
    }
    Ok(())
}
