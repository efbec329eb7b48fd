//! One feed of new messages per web instance, shared by every open page.
//!
//! Each live page asks every 1.5 s for the messages created after the newest
//! it has. On DynamoDB that read is one Query per shard and a batch read
//! (`fan_out.rs`), so asked by every tab it would cost in proportion to the
//! tabs. Instead the web reads what is new at most once per
//! [`REFRESH_EVERY`], keeps the newest [`KEEP`] messages, and answers every
//! page from them: one web instance reads as much with a hundred tabs open
//! as with one. The requests that arrive while it reads wait for that read.
//!
//! The feed holds every message with an id above `complete_after` that the
//! store listed when it last read. A page whose cursor is older than that (it
//! was opened long ago, or before this instance started, or fell more than
//! [`KEEP`] messages behind) is answered by the store directly, as before.
//! A message in the feed is as it was when read: the page watches the
//! pending ones it shows, and those reads are its own.

use std::sync::Arc;
use std::time::Duration;

use messages::{BackendError, MAX_PAGE, Message, MessageId, StatusStore};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How often, at most, the feed reads what is new: the page's poll period.
pub const REFRESH_EVERY: Duration = Duration::from_millis(1500);

/// How many of the newest messages the feed keeps.
const KEEP: usize = 300;

/// How many pages of new messages one read takes at most; what is left is
/// read the next time (a page that asks again at once gets what was read).
const PAGES_PER_READ: usize = 3;

struct Feed {
    /// Oldest first; every message above `complete_after` the store listed.
    known: Vec<Message>,
    complete_after: MessageId,
    read_at: Option<Instant>,
}

/// The shared feed of one web instance.
pub struct RecentMessages {
    store: Arc<dyn StatusStore>,
    feed: Mutex<Feed>,
}

impl RecentMessages {
    /// A feed of `store`'s messages created from now on.
    pub fn new(store: Arc<dyn StatusStore>) -> Self {
        Self {
            store,
            feed: Mutex::new(Feed {
                known: Vec::new(),
                complete_after: MessageId::floor(messages::now()),
                read_at: None,
            }),
        }
    }

    /// Messages created after `after`, oldest first, at most `limit`: as
    /// [`StatusStore::newer_than`], from the shared feed when it covers `after`.
    pub async fn newer_than(
        &self,
        after: MessageId,
        limit: u32,
    ) -> Result<Vec<Message>, BackendError> {
        let mut feed = self.feed.lock().await;
        if after < feed.complete_after {
            drop(feed);
            return self.store.newer_than(after, limit).await;
        }
        if feed.read_at.is_none_or(|at| at.elapsed() >= REFRESH_EVERY) {
            self.read_new(&mut feed).await?;
        }
        Ok(feed
            .known
            .iter()
            .filter(|message| message.id > after)
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .cloned()
            .collect())
    }

    /// Reads what is new since the newest message known, and forgets the
    /// oldest beyond [`KEEP`].
    async fn read_new(&self, feed: &mut Feed) -> Result<(), BackendError> {
        for _ in 0..PAGES_PER_READ {
            let since = feed
                .known
                .last()
                .map_or(feed.complete_after, |message| message.id);
            let page = self.store.newer_than(since, MAX_PAGE).await?;
            let full = page.len() >= MAX_PAGE as usize;
            feed.known.extend(page);
            if !full {
                break;
            }
        }
        if feed.known.len() > KEEP {
            let forgotten: Vec<Message> = feed.known.drain(..feed.known.len() - KEEP).collect();
            if let Some(last) = forgotten.last() {
                feed.complete_after = last.id;
            }
        }
        feed.read_at = Some(Instant::now());
        Ok(())
    }
}
