//! What keeps one client, or a crowd, from overwhelming a public web: a rate
//! limit per client on the routes that send (`429` with `Retry-After`), and a
//! cap on requests in flight, past which a request is refused at once with
//! `503` and `Retry-After` instead of waiting in a queue without bound.
//!
//! # Who the client is
//! On Elastic Beanstalk every request reaches the web from nginx on the same
//! host, so the peer address is always 127.0.0.1. nginx appends the address it
//! got the request from to `X-Forwarded-For` (`$proxy_add_x_forwarded_for`),
//! and the load balancer of a load-balanced environment appends the client's
//! before that. Each proxy appends one entry on the right, so the client is
//! the entry [`Limits::proxy_hops`] from the right: anything further left was
//! written by the client and proves nothing. The header is read only when the
//! peer is this host (the local proxy); from any other peer it is ignored and
//! the peer is the client.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Method, Request, Response};
use governor::middleware::NoOpMiddleware;
use service::env;
use service::http::HttpError;
use tower_governor::GovernorError;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::KeyExtractor;

/// The limits, from the environment (README, "Configuration").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `SEND_RATE_PER_MINUTE`: sends (`POST`s) a client may make per minute,
    /// sustained; 0 turns the limit off.
    pub sends_per_minute: u32,
    /// `SEND_BURST`: sends a client may make at once before the rate applies.
    pub send_burst: u32,
    /// `TRUSTED_PROXY_HOPS`: proxies in front of the web that append to
    /// `X-Forwarded-For` (1: nginx; 2: a load balancer, then nginx).
    pub proxy_hops: usize,
    /// `MAX_IN_FLIGHT`: requests served at once; 0 means no cap.
    pub max_in_flight: usize,
}

impl Limits {
    /// No limit at all: the `cargo run` launcher (a browser on this machine)
    /// and the tests of everything else.
    pub const OFF: Self = Self {
        sends_per_minute: 0,
        send_burst: 1,
        proxy_hops: 1,
        max_in_flight: 0,
    };

    /// Reads the limits, or says which setting is wrong.
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            sends_per_minute: env::number_in("SEND_RATE_PER_MINUTE", 60, 0, 60_000)?,
            send_burst: env::number_in("SEND_BURST", 20, 1, 10_000)?,
            proxy_hops: env::number_in("TRUSTED_PROXY_HOPS", 1, 1, 10)?,
            max_in_flight: env::number_in("MAX_IN_FLIGHT", 512, 0, 100_000)?,
        })
    }
}

/// The client of a request: the peer, or, when the peer is this host's own
/// proxy, the `X-Forwarded-For` entry `hops` from the right (the leftmost when
/// the header has fewer: every entry there was written by a proxy).
pub fn client_of(peer: IpAddr, forwarded_for: Option<&str>, hops: usize) -> IpAddr {
    if !peer.is_loopback() {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    let entries: Vec<&str> = header.split(',').map(str::trim).collect();
    let index = entries.len().saturating_sub(hops.max(1));
    entries
        .get(index)
        .and_then(|entry| entry.parse().ok())
        // An entry that is not an address was not written by our proxies:
        // count the request against the proxy itself.
        .unwrap_or(peer)
}

/// The rate limit's key: the client's address ([`client_of`]).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress {
    hops: usize,
}

impl KeyExtractor for ClientAddress {
    type Key = IpAddr;

    fn extract<T>(&self, request: &Request<T>) -> Result<IpAddr, GovernorError> {
        // As axum's `ConnectInfo` extractor: the server's, or a test's mock.
        let extensions = request.extensions();
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip())
            .or_else(|| {
                extensions
                    .get::<MockConnectInfo<SocketAddr>>()
                    .map(|MockConnectInfo(address)| address.ip())
            })
            .ok_or(GovernorError::UnableToExtractKey)?;
        let forwarded = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|value| value.to_str().ok());
        Ok(client_of(peer, forwarded, self.hops))
    }
}

/// The rate limiter shared by every route that sends.
pub type SendLimit = Arc<GovernorConfig<ClientAddress, NoOpMiddleware>>;

/// The rate limiter for `limits`, or none when it is off.
pub fn send_limit(limits: &Limits) -> Option<SendLimit> {
    if limits.sends_per_minute == 0 {
        return None;
    }
    let period = Duration::from_secs(60) / limits.sends_per_minute;
    GovernorConfigBuilder::default()
        .period(period)
        .burst_size(limits.send_burst)
        .methods(vec![Method::POST])
        .key_extractor(ClientAddress {
            hops: limits.proxy_hops,
        })
        .finish()
        .map(Arc::new)
}

/// The answer to a request over its client's rate, as `answer` words it
/// (JSON for the API, a page for the browser).
pub fn too_many(error: GovernorError, answer: fn(HttpError) -> Response<Body>) -> Response<Body> {
    match error {
        GovernorError::TooManyRequests { wait_time, .. } => {
            // Under a second rounds down to 0: say 1, so a client waits at all.
            let seconds = u32::try_from(wait_time.max(1)).unwrap_or(u32::MAX);
            answer(
                HttpError::with_status(
                    axum::http::StatusCode::TOO_MANY_REQUESTS,
                    format!(
                        "too many messages from your address: wait {seconds} s, then send again (nothing was sent this time)"
                    ),
                )
                .retry_after(seconds),
            )
        }
        GovernorError::UnableToExtractKey | GovernorError::Other { .. } => answer(
            HttpError::internal("the sender's address cannot be read: try again"),
        ),
    }
}

/// Forgets clients that have been quiet long enough to be back at a full
/// burst, every minute, so the limiter's memory follows the active clients.
pub fn forget_quiet_clients(limit: &SendLimit) {
    let limiter = Arc::clone(limit.limiter());
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn a_peer_that_is_not_the_local_proxy_is_the_client_whatever_it_says() {
        assert_eq!(
            client_of(ip("203.0.113.7"), Some("198.51.100.1"), 1),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn behind_nginx_alone_the_client_is_the_rightmost_entry() {
        // The client wrote "1.1.1.1"; nginx appended the address it saw.
        assert_eq!(
            client_of(ip("127.0.0.1"), Some("1.1.1.1, 203.0.113.7"), 1),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn behind_a_load_balancer_and_nginx_the_client_is_second_from_the_right() {
        assert_eq!(
            client_of(ip("127.0.0.1"), Some("1.1.1.1, 203.0.113.7, 10.0.0.5"), 2),
            ip("203.0.113.7")
        );
        // Fewer entries than hops (a request that skipped the load balancer):
        // the leftmost, which a proxy wrote.
        assert_eq!(
            client_of(ip("127.0.0.1"), Some("10.0.0.5"), 2),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn a_local_request_without_the_header_or_with_garbage_is_the_peer() {
        assert_eq!(client_of(ip("127.0.0.1"), None, 1), ip("127.0.0.1"));
        assert_eq!(
            client_of(ip("127.0.0.1"), Some("not an address"), 1),
            ip("127.0.0.1")
        );
    }
}
