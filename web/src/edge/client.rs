//! Who sent a request: the client's address, and whether it reached the
//! front of this deployment over HTTPS. Every per-client limit keys on it
//! and every refusal logs it, so it must not be something the client can
//! choose.
//!
//! # Believing `X-Forwarded-For`
//! Each proxy appends the address it got the request from, so the header's
//! rightmost entries were written by the proxies nearest to us, and anything
//! further left may have been written by the client. The web believes an
//! entry only when the hop that wrote it is in `TRUSTED_PROXIES`, a list of
//! address ranges: starting from the peer and walking the header from the
//! right, the client is the first address that is not a trusted proxy. One
//! setting covers every shape in front of the app: nginx on the same host
//! (`eb create --single`), a load balancer then nginx, and the Docker
//! platform, where nginx reaches the container from the bridge network
//! (README, "Who the client is"). A peer outside the list is the client,
//! whatever its headers say.
//!
//! # Keys
//! An IPv6 client is keyed by its /64: one subscriber commonly holds a
//! whole /64, so keying by address would give it 2^64 budgets.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use axum::extract::connect_info::MockConnectInfo;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use messages::IdempotencyKey;
use sha2::{Digest, Sha256};

/// The proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed
/// (`TRUSTED_PROXIES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// What `TRUSTED_PROXIES` must look like, said in every refusal of it.
pub const TRUSTED_PROXIES_FORMAT: &str = "a comma-separated list of address ranges such as 127.0.0.1/32,::1/128,172.31.0.0/16 (an address alone means that one address); a range wider than /8 (IPv4) or /16 (IPv6) would let much of the internet write its own address, so it is refused";

/// The widest range a proxy list may hold: a private network's (10.0.0.0/8),
/// never a share of the internet (two halves of 0.0.0.0/0 are as bad as it).
const WIDEST_IPV4: u8 = 8;
/// As [`WIDEST_IPV4`], for IPv6 (a provider's allocation is about /32).
const WIDEST_IPV6: u8 = 16;

impl TrustedProxies {
    /// nginx on this host, and nothing else: the default.
    pub fn loopback() -> Self {
        Self(vec![
            IpNet::from(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            IpNet::from(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        ])
    }

    /// No proxy at all: every peer is the client.
    pub fn none() -> Self {
        Self(Vec::new())
    }

    /// Whether `address` is one of the trusted proxies.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|range| range.contains(&address))
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut ranges = Vec::new();
        for entry in text
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
        {
            let range = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{entry:?} is not an address range"))?;
            let widest = match range {
                IpNet::V4(_) => WIDEST_IPV4,
                IpNet::V6(_) => WIDEST_IPV6,
            };
            if range.prefix_len() < widest {
                return Err(format!(
                    "{entry} is wider than /{widest}: it would trust much of the internet"
                ));
            }
            ranges.push(range);
        }
        Ok(Self(ranges))
    }
}

/// The client of one request, as every limit and log sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    address: IpAddr,
    https: bool,
}

impl Client {
    /// The client of a request from `peer` with `headers`, believing only
    /// what `proxies` wrote.
    pub fn of(peer: IpAddr, headers: &HeaderMap, proxies: &TrustedProxies) -> Self {
        let peer = canonical(peer);
        if !proxies.contains(peer) {
            // The app itself never terminates TLS: a direct peer spoke HTTP.
            return Self {
                address: peer,
                https: false,
            };
        }
        Self {
            address: forwarded_client(peer, headers, proxies),
            https: forwarded_proto_is_https(headers),
        }
    }

    /// A client at `address`, for tests and for requests with no peer.
    pub fn at(address: IpAddr) -> Self {
        Self {
            address: canonical(address),
            https: false,
        }
    }

    /// The client's own address, for logs.
    pub fn address(&self) -> IpAddr {
        self.address
    }

    /// The key every per-client limit uses: the address, or an IPv6
    /// address's /64.
    pub fn ip(&self) -> IpAddr {
        match self.address {
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(bits))
            }
            v4 => v4,
        }
    }

    /// Whether a trusted proxy says the client reached it over HTTPS.
    pub fn https(&self) -> bool {
        self.https
    }

    /// `key` as this client's own: a digest of the client's key ([`Client::ip`])
    /// and the key, so that another client sending the same key (one it saw,
    /// or guessed) neither blocks this client's send nor learns its answer.
    /// A retry must so come from the same address (or IPv6 /64).
    pub fn own_key(&self, key: Option<IdempotencyKey>) -> Option<IdempotencyKey> {
        let key = key?;
        let digest = Sha256::new()
            .chain_update(self.ip().to_string())
            .chain_update([0])
            .chain_update(key.as_str())
            .finalize();
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        Some(IdempotencyKey::parse(&hex).expect("64 hexadecimal digits are a valid key"))
    }
}

/// An IPv4 client seen through an IPv6 socket (`::ffff:a.b.c.d`) is that
/// IPv4 client.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Walks `X-Forwarded-For` (every such header, in order) from the right:
/// each entry was written by the hop to its right, believed while that hop
/// is a trusted proxy. The first untrusted address is the client; an entry
/// that is not an address ends the walk at the last hop believed.
fn forwarded_client(peer: IpAddr, headers: &HeaderMap, proxies: &TrustedProxies) -> IpAddr {
    // Split as bytes: nginx appends its entry to whatever the client wrote in
    // the same header, so a value that is not all text must still give up
    // the entries on its right (a byte above 0x7F only spoils its own entry).
    let entries: Vec<&[u8]> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| value.as_bytes().split(|byte| *byte == b','))
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        let Some(address) = std::str::from_utf8(entry)
            .ok()
            .and_then(|entry| parse_forwarded_address(entry.trim()))
        else {
            break;
        };
        client = canonical(address);
        if !proxies.contains(client) {
            break;
        }
    }
    client
}

/// An address as proxies write it: bare, or IPv6 in brackets.
fn parse_forwarded_address(entry: &str) -> Option<IpAddr> {
    let bare = entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(entry);
    bare.parse().ok()
}

/// The scheme the client used, as the nearest trusted proxy passed it on:
/// the rightmost entry of the last `X-Forwarded-Proto`. A last header that
/// is not text is plain HTTP: skipping it would read an earlier header,
/// another hop's or the client's own.
fn forwarded_proto_is_https(headers: &HeaderMap) -> bool {
    headers
        .get_all("x-forwarded-proto")
        .iter()
        .next_back()
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// Puts the request's [`Client`] in its extensions, for every layer and
/// handler after this one.
pub async fn identify(
    State(proxies): State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    let extensions = request.extensions();
    // As axum's `ConnectInfo` extractor: the server's, or a test's mock. A
    // router driven with no peer at all (unit tests) is one unknown client.
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
        .or_else(|| {
            extensions
                .get::<MockConnectInfo<SocketAddr>>()
                .map(|MockConnectInfo(address)| address.ip())
        })
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let client = Client::of(peer, request.headers(), &proxies);
    request.extensions_mut().insert(client);
    next.run(request).await
}

impl Client {
    /// The client `identify` put in a request's `extensions`; without it (a
    /// router built without the app's layers) one unknown client.
    pub fn in_extensions(extensions: &Extensions) -> Self {
        extensions
            .get::<Client>()
            .copied()
            .unwrap_or(Client::at(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(Client::in_extensions(&parts.extensions))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    fn forwarded(values: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in values {
            headers.append(*name, HeaderValue::from_str(value).expect("a header"));
        }
        headers
    }

    fn proxies(text: &str) -> TrustedProxies {
        text.parse().expect("ranges")
    }

    #[test]
    fn a_peer_that_is_not_a_trusted_proxy_is_the_client_whatever_it_says() {
        let headers = forwarded(&[
            ("x-forwarded-for", "198.51.100.1"),
            ("x-forwarded-proto", "https"),
        ]);
        let client = Client::of(ip("203.0.113.7"), &headers, &TrustedProxies::loopback());
        assert_eq!(client.address(), ip("203.0.113.7"));
        assert!(!client.https());
    }

    #[test]
    fn only_the_nearest_proxys_last_entry_says_https() {
        let trusted = TrustedProxies::loopback();
        let https = |values: &[&[u8]]| {
            let mut headers = HeaderMap::new();
            for value in values {
                let value = HeaderValue::from_bytes(value).expect("a header");
                headers.append("x-forwarded-proto", value);
            }
            Client::of(ip("127.0.0.1"), &headers, &trusted).https()
        };
        assert!(https(&[b"https"]));
        assert!(https(&[b"http", b"http, https"]));
        assert!(!https(&[b"https, http"]));
        assert!(!https(&[b"https", b"http"]));
        assert!(!https(&[b"https", b""]));
        // A last header that is not text is not skipped for an earlier one.
        assert!(!https(&[b"http,https", &[0x80]]));
        assert!(!https(&[b"https", "h\u{e9}, https".as_bytes()]));
    }

    #[test]
    fn behind_nginx_alone_the_entry_nginx_wrote_is_the_client() {
        // `eb create --single`: the client wrote 1.1.1.1; nginx appended the
        // address it saw. Hops counted from the right would have taken 1.1.1.1.
        let headers = forwarded(&[("x-forwarded-for", "1.1.1.1, 203.0.113.7")]);
        let client = Client::of(ip("127.0.0.1"), &headers, &TrustedProxies::loopback());
        assert_eq!(client.address(), ip("203.0.113.7"));
    }

    #[test]
    fn behind_a_load_balancer_and_nginx_the_client_is_what_the_load_balancer_saw() {
        let trusted = proxies("127.0.0.1/32, ::1/128, 172.31.0.0/16");
        let headers = forwarded(&[
            ("x-forwarded-for", "1.1.1.1, 203.0.113.7"),
            ("x-forwarded-for", "172.31.5.9"),
            ("x-forwarded-proto", "https"),
        ]);
        let client = Client::of(ip("127.0.0.1"), &headers, &trusted);
        assert_eq!(client.address(), ip("203.0.113.7"));
        assert!(client.https());
    }

    #[test]
    fn on_the_docker_platform_the_bridge_is_a_proxy_and_clients_stay_apart() {
        let trusted = proxies("172.17.0.0/16");
        let one = forwarded(&[("x-forwarded-for", "203.0.113.7")]);
        let other = forwarded(&[("x-forwarded-for", "198.51.100.4")]);
        assert_eq!(
            Client::of(ip("172.17.0.1"), &one, &trusted).address(),
            ip("203.0.113.7")
        );
        assert_eq!(
            Client::of(ip("172.17.0.1"), &other, &trusted).address(),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn a_byte_that_is_not_text_spoils_only_its_own_entry() {
        let mut headers = HeaderMap::new();
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\x80, 203.0.113.7").expect("a header"),
        );
        let client = Client::of(ip("127.0.0.1"), &headers, &TrustedProxies::loopback());
        assert_eq!(client.address(), ip("203.0.113.7"));
    }

    #[test]
    fn garbage_ends_the_walk_at_the_last_proxy_believed() {
        let headers = forwarded(&[("x-forwarded-for", "not an address")]);
        let client = Client::of(ip("127.0.0.1"), &headers, &TrustedProxies::loopback());
        assert_eq!(client.address(), ip("127.0.0.1"));
        let none = Client::of(
            ip("127.0.0.1"),
            &HeaderMap::new(),
            &TrustedProxies::loopback(),
        );
        assert_eq!(none.address(), ip("127.0.0.1"));
    }

    #[test]
    fn ipv6_clients_share_a_key_per_64_and_mapped_ipv4_is_ipv4() {
        let one = Client::at(ip("2001:db8:1:2:aaaa::1"));
        let same = Client::at(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        let other = Client::at(ip("2001:db8:1:3::1"));
        assert_eq!(one.ip(), same.ip());
        assert_ne!(one.ip(), other.ip());
        assert_eq!(one.address(), ip("2001:db8:1:2:aaaa::1"));
        assert_eq!(Client::at(ip("::ffff:203.0.113.7")).ip(), ip("203.0.113.7"));
        let bracketed = forwarded(&[("x-forwarded-for", "[2001:db8::5]")]);
        assert_eq!(
            Client::of(ip("::1"), &bracketed, &TrustedProxies::loopback()).address(),
            ip("2001:db8::5")
        );
    }

    #[test]
    fn a_key_is_each_clients_own() {
        let key = IdempotencyKey::parse("same-key").ok();
        let one = Client::at(ip("203.0.113.7")).own_key(key.clone());
        assert_eq!(one, Client::at(ip("203.0.113.7")).own_key(key.clone()));
        assert_ne!(one, Client::at(ip("203.0.113.8")).own_key(key.clone()));
        assert_ne!(one, key);
        assert_eq!(Client::at(ip("203.0.113.7")).own_key(None), None);
    }

    #[test]
    fn trusted_proxies_parse_ranges_and_addresses_and_refuse_everything() {
        let trusted = proxies("10.0.0.0/8, 192.0.2.1,::1");
        assert!(trusted.contains(ip("10.200.0.1")));
        assert!(trusted.contains(ip("192.0.2.1")));
        assert!(!trusted.contains(ip("192.0.2.2")));
        assert!(trusted.contains(ip("::1")));
        assert!("0.0.0.0/0".parse::<TrustedProxies>().is_err());
        assert!("::/0".parse::<TrustedProxies>().is_err());
        assert!("0.0.0.0/1,128.0.0.0/1".parse::<TrustedProxies>().is_err());
        assert!("::/1".parse::<TrustedProxies>().is_err());
        assert!("10.0.0.0/8,fd00::/16".parse::<TrustedProxies>().is_ok());
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("nginx".parse::<TrustedProxies>().is_err());
        assert_eq!("".parse::<TrustedProxies>(), Ok(TrustedProxies::none()));
    }

    proptest! {
        /// Whatever a client writes in the headers, a client that is not a
        /// trusted proxy is itself, and behind one trusted proxy (which
        /// appends the peer it saw) the client is what that proxy wrote.
        #[test]
        fn no_header_a_client_writes_changes_who_it_is(
            written in "[ -~]{0,200}",
            proto in "[ -~]{0,40}",
            a in any::<u32>(),
        ) {
            let real = IpAddr::V4(Ipv4Addr::from(a));
            prop_assume!(!real.is_loopback());
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_str(&written) {
                headers.append("x-forwarded-for", value);
            }
            if let Ok(value) = HeaderValue::from_str(&proto) {
                headers.append("x-forwarded-proto", value);
            }
            let direct = Client::of(real, &headers, &TrustedProxies::loopback());
            prop_assert_eq!(direct.address(), real);
            prop_assert!(!direct.https());
            headers.append("x-forwarded-for", HeaderValue::from_str(&real.to_string()).expect("an address"));
            let proxied = Client::of(ip("127.0.0.1"), &headers, &TrustedProxies::loopback());
            prop_assert_eq!(proxied.address(), real);
        }

        /// nginx appends the address it saw to the header the client sent, in
        /// one value: whatever bytes the client wrote there, the client is
        /// that appended address.
        #[test]
        fn no_bytes_a_client_writes_before_nginx_s_entry_change_who_it_is(
            written in proptest::collection::vec(any::<u8>(), 0..120),
            a in any::<u32>(),
        ) {
            let real = IpAddr::V4(Ipv4Addr::from(a));
            prop_assume!(!real.is_loopback());
            let mut joined = written.clone();
            joined.extend_from_slice(format!(", {real}").as_bytes());
            let Ok(value) = HeaderValue::from_bytes(&joined) else {
                return Ok(());
            };
            let mut headers = HeaderMap::new();
            headers.append("x-forwarded-for", value);
            let client = Client::of(ip("127.0.0.1"), &headers, &TrustedProxies::loopback());
            prop_assert_eq!(client.address(), real);
        }

        /// Any text as `TRUSTED_PROXIES` is parsed or refused, never a panic,
        /// and never trusts everything.
        #[test]
        fn any_trusted_proxies_text_is_parsed_or_refused(text in "\\PC{0,80}") {
            if let Ok(trusted) = text.parse::<TrustedProxies>() {
                prop_assert!(trusted.0.iter().all(|range| range.prefix_len() >= WIDEST_IPV4));
            }
        }
    }
}
