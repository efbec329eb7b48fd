//! One read shared by every request of a web instance: a value kept for a
//! while, so what the pages cost the backends does not grow with the tabs
//! open. Requests that arrive while it is read wait for that read rather than
//! start their own (single flight). The pipeline's figures, the look at the
//! dead-letter queue and the last hour's activity are each one of these.
//! Time is tokio's, so a test may pause and advance it.

use std::future::Future;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// A value read at most once every `max_age`, shared.
pub struct SharedRead<T> {
    max_age: Duration,
    // Held while reading: concurrent requests wait for one read.
    last: Mutex<Option<(Instant, T)>>,
}

impl<T: Clone> SharedRead<T> {
    /// Nothing read yet; what is read is kept for `max_age`.
    pub fn new(max_age: Duration) -> Self {
        Self {
            max_age,
            last: Mutex::new(None),
        }
    }

    /// The value kept, if it is younger than `max_age`; otherwise `read`
    /// now, kept only when `keep` says it is worth serving again (a read
    /// that failed in part is not).
    pub async fn get<F, Fut>(&self, read: F, keep: impl FnOnce(&T) -> bool) -> T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let mut last = self.last.lock().await;
        if let Some((taken, value)) = last.as_ref()
            && taken.elapsed() < self.max_age
        {
            return value.clone();
        }
        let value = read().await;
        *last = keep(&value).then(|| (Instant::now(), value.clone()));
        value
    }

    /// [`SharedRead::get`] for a read that may fail: a failure is never kept.
    pub async fn try_get<F, Fut, E>(&self, read: F) -> Result<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut last = self.last.lock().await;
        if let Some((taken, value)) = last.as_ref()
            && taken.elapsed() < self.max_age
        {
            return Ok(value.clone());
        }
        let value = read().await?;
        *last = Some((Instant::now(), value.clone()));
        Ok(value)
    }
}

impl<T> std::fmt::Debug for SharedRead<T> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SharedRead")
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_one_read_and_a_failure_is_not_kept() {
        let shared = Arc::new(SharedRead::new(Duration::from_secs(60)));
        let reads = Arc::new(AtomicU32::new(0));
        let callers: Vec<_> = (0..8)
            .map(|_| {
                let (shared, reads) = (Arc::clone(&shared), Arc::clone(&reads));
                tokio::spawn(async move {
                    shared
                        .try_get(|| async {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            Ok::<_, ()>(reads.fetch_add(1, Ordering::SeqCst))
                        })
                        .await
                })
            })
            .collect();
        for caller in callers {
            assert_eq!(
                caller.await.expect("task"),
                Ok(0),
                "every caller got the one read"
            );
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);

        let fresh = SharedRead::<u32>::new(Duration::from_secs(60));
        assert_eq!(fresh.try_get(|| async { Err("down") }).await, Err("down"));
        assert_eq!(
            fresh.try_get(|| async { Ok::<_, &str>(7) }).await,
            Ok(7),
            "the failure was not kept"
        );
        assert_eq!(
            fresh.get(|| async { 8 }, |_| true).await,
            7,
            "the success was"
        );
    }

    #[tokio::test]
    async fn a_value_not_worth_keeping_is_read_again() {
        let shared = SharedRead::new(Duration::from_secs(60));
        assert_eq!(shared.get(|| async { 1 }, |value| *value > 1).await, 1);
        assert_eq!(shared.get(|| async { 2 }, |value| *value > 1).await, 2);
        assert_eq!(shared.get(|| async { 3 }, |value| *value > 1).await, 2);
    }
}
