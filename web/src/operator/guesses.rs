//! Guessing the operator credential is slow: each client (keyed by
//! [`Client::ip`]) may present a few wrong credentials a minute
//! (`SIGN_IN_RATE_PER_MINUTE`, 5 by default, as many at once), counting
//! failed sign-ins, wrong bearer tokens and session cookies that do not sign
//! in; past that it is refused with `429` until its budget comes back.
//!
//! A client out of budget is refused *before* its credential is checked:
//! were a right guess still let through, a guesser could go on at full speed
//! and only the refusals would be slowed. governor (GCRA, per key) counts the
//! failures, but it can only take from a budget, not look at one; so a
//! client whose budget is spent is remembered here until it has one again,
//! and every later request is refused on that alone.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::edge::client::Client;
use crate::edge::throttle::whole_seconds;

type Limiter =
    RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock, StateInformationMiddleware>;

struct Inner {
    failures: Limiter,
    /// Clients out of budget, and until when.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    /// How long one failure takes to come back.
    period: Duration,
}

/// The budget of wrong credentials of every client; cheap to clone.
#[derive(Clone)]
pub struct Guesses {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Guesses {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Guesses")
            .field("period", &self.inner.period)
            .finish_non_exhaustive()
    }
}

impl Guesses {
    /// `per_minute` wrong credentials a minute per client, as many at once;
    /// none when `per_minute` is 0 (no limit).
    pub fn per_minute(per_minute: u32) -> Option<Self> {
        let per_minute = NonZeroU32::new(per_minute)?;
        let inner = Arc::new(Inner {
            failures: RateLimiter::keyed(Quota::per_minute(per_minute))
                .with_middleware::<StateInformationMiddleware>(),
            blocked: Mutex::new(HashMap::new()),
            period: Duration::from_secs(60) / per_minute.get(),
        });
        forget_quiet_clients(Arc::downgrade(&inner));
        Some(Self { inner })
    }

    /// How many seconds `client` must wait before presenting a credential
    /// again, if it is out of budget.
    pub fn wait(&self, client: &Client) -> Option<u32> {
        let now = Instant::now();
        let mut blocked = self.blocked();
        match blocked.get(&client.ip()) {
            Some(until) if *until > now => Some(whole_seconds(*until - now)),
            Some(_) => {
                blocked.remove(&client.ip());
                None
            }
            None => None,
        }
    }

    /// Counts a wrong credential from `client`: `None` when it was within
    /// its budget, the seconds to wait when it was not.
    pub fn failed(&self, client: &Client) -> Option<u32> {
        let key = client.ip();
        match self.inner.failures.check_key(&key) {
            Ok(state) => {
                if state.remaining_burst_capacity() == 0 {
                    // Spent: the next one comes back within a period.
                    self.blocked()
                        .insert(key, Instant::now() + self.inner.period);
                }
                None
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                self.blocked().insert(key, Instant::now() + wait);
                Some(whole_seconds(wait))
            }
        }
    }

    fn blocked(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Instant>> {
        // A panic elsewhere while holding the lock leaves a map that is
        // still whole: keep using it.
        self.inner
            .blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Forgets, every minute, the clients back at a full budget; ends with the
/// budget.
fn forget_quiet_clients(inner: Weak<Inner>) {
    crate::edge::throttle::every_minute(inner, |inner| {
        inner.failures.retain_recent();
        inner.failures.shrink_to_fit();
        let now = Instant::now();
        inner
            .blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, until| *until > now);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(text: &str) -> Client {
        Client::at(text.parse().expect("an address"))
    }

    #[test]
    fn the_budget_is_spent_by_failures_and_then_everything_waits() {
        let guesses = Guesses::per_minute(5).expect("on");
        let guesser = client("203.0.113.7");
        for failure in 1..=5 {
            assert_eq!(guesses.wait(&guesser), None, "failure {failure} is checked");
            assert_eq!(
                guesses.failed(&guesser),
                None,
                "failure {failure} is within"
            );
        }
        let wait = guesses
            .wait(&guesser)
            .expect("the sixth waits before it is checked");
        assert!(
            (1..=13).contains(&wait),
            "about a fifth of a minute: {wait}"
        );
        assert_eq!(
            guesses.wait(&client("203.0.113.8")),
            None,
            "others have their own"
        );
    }

    #[test]
    fn an_ipv6_guesser_has_one_budget_for_its_64() {
        let guesses = Guesses::per_minute(1).expect("on");
        assert_eq!(guesses.failed(&client("2001:db8:0:1::1")), None);
        assert!(guesses.wait(&client("2001:db8:0:1::2")).is_some());
        assert_eq!(guesses.wait(&client("2001:db8:0:2::1")), None);
    }

    #[test]
    fn a_failure_past_the_budget_says_how_long_to_wait() {
        let guesses = Guesses::per_minute(1).expect("on");
        let guesser = client("198.51.100.1");
        assert_eq!(guesses.failed(&guesser), None);
        let wait = guesses.failed(&guesser).expect("over");
        assert!((1..=61).contains(&wait), "{wait}");
    }

    #[test]
    fn zero_is_no_limit() {
        assert!(Guesses::per_minute(0).is_none());
    }
}
