//! What keeps one client, or a crowd, from overwhelming a public web: a rate
//! per client on sends, charged per message (`429` with `Retry-After`), a
//! rate per client on reads, and a cap on requests in flight, past which a
//! request is refused at once with `503` and `Retry-After` instead of waiting
//! in a queue without bound. Who the client is, and why it cannot be forged,
//! is `client.rs`.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::http::StatusCode;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use service::env::{self, Setting, Vars};
use service::http::HttpError;

use crate::edge::client::{Client, TRUSTED_PROXIES_FORMAT, TrustedProxies};

/// The limits, from the settings (README, "Configuration").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `SEND_RATE_PER_MINUTE`: messages a client may send per minute,
    /// sustained (a burst of N costs N); 0 turns the limit off.
    pub sends_per_minute: u32,
    /// `SEND_BURST`: messages a client may send at once before the rate
    /// applies; a burst larger than this is refused whole.
    pub send_burst: u32,
    /// `READ_RATE_PER_MINUTE`: reads (`GET`s of pages and the API) a client
    /// may make per minute, sustained, with a tenth of it at once (60 of the
    /// default 600: an open page reads about 40 a minute); 0 turns the limit
    /// off.
    pub reads_per_minute: u32,
    /// `TRUSTED_PROXIES`: the proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// `MAX_IN_FLIGHT`: requests served at once; 0 means no cap.
    pub max_in_flight: usize,
}

impl Limits {
    /// No limit at all, and no proxy: the `cargo run` launcher (a browser on
    /// this machine) and the tests of everything else.
    pub fn off() -> Self {
        Self {
            sends_per_minute: 0,
            send_burst: 1,
            reads_per_minute: 0,
            trusted_proxies: TrustedProxies::none(),
            max_in_flight: 0,
        }
    }

    /// The settings of the limits, each unset one being its value in
    /// `defaults` (the web's are [`Limits::default`], the launcher's
    /// [`Limits::off`]).
    pub fn settings(defaults: &Self) -> Vec<Setting> {
        let off = |value: u32| {
            if value == 0 {
                "0 (off)".to_owned()
            } else {
                value.to_string()
            }
        };
        vec![
            Setting::new(
                "SEND_RATE_PER_MINUTE",
                "messages a client may send per minute, sustained; 0 turns the limit off",
            )
            .number(off(defaults.sends_per_minute), 0, 60_000),
            Setting::new(
                "SEND_BURST",
                "messages a client may send at once before the rate applies",
            )
            .number(defaults.send_burst, 1, 10_000),
            Setting::new(
                "READ_RATE_PER_MINUTE",
                "reads a client may make per minute, a tenth of it at once; 0 turns the limit off",
            )
            .number(off(defaults.reads_per_minute), 0, 600_000),
            Setting::new(
                "TRUSTED_PROXIES",
                "the proxies whose X-Forwarded-For names the client",
            )
            .accepts(TRUSTED_PROXIES_FORMAT)
            .default_is(if defaults.trusted_proxies == TrustedProxies::none() {
                "none"
            } else {
                "127.0.0.1/32,::1/128 (nginx on this host)"
            }),
            Setting::new("MAX_IN_FLIGHT", "requests served at once; 0 means no cap").number(
                defaults.max_in_flight,
                0,
                100_000,
            ),
            Setting::new(
                "TRUSTED_PROXY_HOPS",
                "no longer read: TRUSTED_PROXIES replaced it",
            )
            .hidden(),
        ]
    }

    /// Reads the limits, or says which setting is wrong; each unset one is
    /// its value in `defaults`.
    pub fn from_vars(vars: &Vars, defaults: Self) -> anyhow::Result<Self> {
        if vars.var("TRUSTED_PROXY_HOPS")?.is_some() {
            anyhow::bail!(
                "TRUSTED_PROXY_HOPS is no longer read: set TRUSTED_PROXIES to the address ranges of the proxies in front of the web instead (README, \"Who the client is\")"
            );
        }
        Ok(Self {
            sends_per_minute: vars.number_in(
                "SEND_RATE_PER_MINUTE",
                defaults.sends_per_minute,
                0,
                60_000,
            )?,
            send_burst: vars.number_in("SEND_BURST", defaults.send_burst, 1, 10_000)?,
            reads_per_minute: vars.number_in(
                "READ_RATE_PER_MINUTE",
                defaults.reads_per_minute,
                0,
                600_000,
            )?,
            trusted_proxies: trusted_proxies_from(vars, defaults.trusted_proxies)?,
            max_in_flight: vars.number_in("MAX_IN_FLIGHT", defaults.max_in_flight, 0, 100_000)?,
        })
    }
}

impl Default for Limits {
    /// What a public web gets when nothing is set: 60 messages a minute, 20
    /// at once; 600 reads a minute (an open page makes about 40); nginx on
    /// this host as the only proxy; 512 requests in flight.
    fn default() -> Self {
        Self {
            sends_per_minute: 60,
            send_burst: 20,
            reads_per_minute: 600,
            trusted_proxies: TrustedProxies::loopback(),
            max_in_flight: 512,
        }
    }
}

/// `TRUSTED_PROXIES`, or `default` when unset.
fn trusted_proxies_from(
    vars: &Vars,
    default: TrustedProxies,
) -> Result<TrustedProxies, env::EnvError> {
    match vars.var("TRUSTED_PROXIES")? {
        None => Ok(default),
        Some(value) => value.parse().map_err(|why| env::EnvError {
            name: "TRUSTED_PROXIES".to_owned(),
            expected: format!("{why}; it must be {TRUSTED_PROXIES_FORMAT}"),
            value,
        }),
    }
}

impl Limits {
    /// The send limit in words, for the log at start.
    pub fn sends_in_words(&self) -> String {
        if self.sends_per_minute == 0 {
            "off".to_owned()
        } else {
            format!(
                "{} messages a minute per client, {} at once",
                self.sends_per_minute, self.send_burst
            )
        }
    }
}

/// Why a client's request is over its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverRate {
    /// Not now: this many seconds until it fits.
    Wait(u32),
    /// Never: more at once than the burst allows.
    LargerThanBurst(u32),
}

/// A rate per client (keyed by [`Client::ip`]), charged per unit.
#[derive(Clone)]
pub struct ClientRate {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    burst: NonZeroU32,
}

impl std::fmt::Debug for ClientRate {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ClientRate")
            .field("burst", &self.burst)
            .finish()
    }
}

impl ClientRate {
    /// `per_minute` sustained, `burst` at once; none when `per_minute` is 0.
    /// Quiet clients are forgotten every minute, so its memory follows the
    /// active ones.
    pub fn per_minute(per_minute: u32, burst: u32) -> Option<Self> {
        let per_minute = NonZeroU32::new(per_minute)?;
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota =
            Quota::with_period(Duration::from_secs(60) / per_minute.get())?.allow_burst(burst);
        let limiter = Arc::new(RateLimiter::keyed(quota));
        forget_quiet_clients(Arc::downgrade(&limiter));
        Some(Self { limiter, burst })
    }

    /// Takes `units` from `client`'s budget, or says why it cannot.
    pub fn charge(&self, client: &Client, units: u32) -> Result<(), OverRate> {
        let Some(units) = NonZeroU32::new(units) else {
            return Ok(());
        };
        match self.limiter.check_key_n(&client.ip(), units) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(OverRate::Wait(whole_seconds(wait)))
            }
            Err(_) => Err(OverRate::LargerThanBurst(self.burst.get())),
        }
    }
}

/// Whole seconds to wait for `wait` (a `Retry-After`), at least one: a
/// client told 0 would not wait at all.
pub fn whole_seconds(wait: Duration) -> u32 {
    u32::try_from(wait.as_secs().saturating_add(1)).unwrap_or(u32::MAX)
}

/// Forgets, every minute, the clients back at a full budget; ends with the limiter.
fn forget_quiet_clients(limiter: Weak<DefaultKeyedRateLimiter<IpAddr>>) {
    every_minute(limiter, |limiter| {
        limiter.retain_recent();
        limiter.shrink_to_fit();
    });
}

/// Runs `tidy` on `target` every minute for as long as it lives, so that a
/// per-client memory follows the active clients. Outside a runtime (a unit
/// test building a router) nothing is kept long enough to need it.
pub fn every_minute<T: Send + Sync + 'static>(target: Weak<T>, tidy: fn(&T)) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        every.tick().await;
        loop {
            every.tick().await;
            let Some(target) = target.upgrade() else {
                return;
            };
            tidy(&target);
        }
    });
}

/// The limiter of sends, for `limits`; none when it is off.
pub fn send_rate(limits: &Limits) -> Option<ClientRate> {
    ClientRate::per_minute(limits.sends_per_minute, limits.send_burst)
}

/// The limiter of reads, for `limits`; none when it is off.
pub fn read_rate(limits: &Limits) -> Option<ClientRate> {
    ClientRate::per_minute(
        limits.reads_per_minute,
        (limits.reads_per_minute / 10).max(1),
    )
}

/// Charges `messages` sends to `client`, or the refusal that says what to
/// do; nothing is sent when it is refused.
pub fn charge_sends(
    rate: Option<&ClientRate>,
    client: &Client,
    messages: u32,
) -> Result<(), HttpError> {
    let Some(rate) = rate else {
        return Ok(());
    };
    rate.charge(client, messages).map_err(|over| match over {
        OverRate::Wait(seconds) => HttpError::with_status(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many messages from your address: wait {seconds} s, then send again (nothing was sent this time)"
            ),
        )
        .retry_after(seconds),
        OverRate::LargerThanBurst(burst) => HttpError::with_status(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "{messages} messages at once is more than this web lets one address send at once ({burst}): send {burst} or fewer (nothing was sent)"
            ),
        ),
    })
}

/// Charges one read to `client`, or the refusal that says when to come back.
pub fn charge_read(rate: &ClientRate, client: &Client) -> Result<(), HttpError> {
    rate.charge(client, 1).map_err(|over| {
        let (OverRate::Wait(seconds) | OverRate::LargerThanBurst(seconds)) = over;
        tracing::warn!(client = %client.address(), "a client is over its read rate");
        HttpError::with_status(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many requests from your address: wait {seconds} s, then reload"),
        )
        .retry_after(seconds)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(text: &str) -> Client {
        Client::at(text.parse().expect("an address"))
    }

    #[tokio::test]
    async fn a_burst_costs_one_unit_a_message_and_one_larger_than_the_burst_is_refused() {
        let rate = ClientRate::per_minute(1, 20).expect("on");
        let one = client("203.0.113.7");
        assert_eq!(rate.charge(&one, 21), Err(OverRate::LargerThanBurst(20)));
        assert_eq!(rate.charge(&one, 15), Ok(()));
        assert!(matches!(rate.charge(&one, 6), Err(OverRate::Wait(seconds)) if seconds >= 1));
        assert_eq!(rate.charge(&one, 5), Ok(()));
        assert!(matches!(rate.charge(&one, 1), Err(OverRate::Wait(_))));
        assert_eq!(
            rate.charge(&client("203.0.113.8"), 20),
            Ok(()),
            "another client has its own"
        );
    }

    #[tokio::test]
    async fn an_ipv6_client_has_one_budget_for_its_64() {
        let rate = ClientRate::per_minute(1, 2).expect("on");
        assert_eq!(rate.charge(&client("2001:db8:0:1::1"), 2), Ok(()));
        assert!(rate.charge(&client("2001:db8:0:1::2"), 1).is_err());
        assert_eq!(rate.charge(&client("2001:db8:0:2::1"), 1), Ok(()));
    }

    #[test]
    fn a_rate_of_zero_is_no_limit() {
        assert!(ClientRate::per_minute(0, 5).is_none());
        assert!(charge_sends(None, &client("203.0.113.7"), 100).is_ok());
    }
}
