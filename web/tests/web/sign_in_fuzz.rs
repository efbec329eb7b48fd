//! Property-based tests of the operator's sign-in form and the forwarded
//! headers read with it. Any bytes posted to `POST /operator/sign-in`, with
//! any `X-Forwarded-For` and `X-Forwarded-Proto`, from the trusted proxy or
//! straight from a client, with `REQUIRE_HTTPS` on or off, get a 4xx with a
//! sentence: never a 5xx, never a panic, never a session, never a backend
//! call (the backends are down and count every call). And under
//! `REQUIRE_HTTPS`, unless the trusted proxy says `https`, even the right
//! token is refused as plain HTTP before anything is read.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use axum::body::{Body, to_bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, StatusCode, header};
use proptest::prelude::*;
use tower::ServiceExt;
use web::edge::throttle::Limits;
use web::operator::Operator;

const TOKEN: &str = "sign-in-fuzz-token-0123456789abcdef";

/// nginx on this host, the one trusted proxy here.
const PROXY: &str = "127.0.0.1";

/// A client that reaches the web without a proxy.
const STRANGER: &str = "203.0.113.9";

/// One request's answer, and whether it made a backend call.
struct Answer {
    status: StatusCode,
    sets_cookie: bool,
    body: String,
    called: bool,
}

/// What a sign-in request holds, each part as a client may write it.
struct SignIn<'a> {
    body: &'a [u8],
    forwarded_for: Option<&'a [u8]>,
    forwarded_proto: &'a [&'a [u8]],
    via_proxy: bool,
    require_https: bool,
}

/// `bytes` as a form field's value: every byte percent-encoded.
fn form_value(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("%{byte:02X}")).collect()
}

/// The answer to `sign_in` from a fresh web on backends that are down, on
/// a runtime of the case's own.
fn answer(sign_in: &SignIn<'_>) -> Answer {
    let peer: std::net::IpAddr = if sign_in.via_proxy { PROXY } else { STRANGER }
        .parse()
        .expect("an address");
    let mut request = Request::post("/operator/sign-in")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(sign_in.body.to_vec()))
        .expect("a request");
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(peer, 40_000)));
    let headers = request.headers_mut();
    // Bytes no HTTP/1.1 header can hold never reach the web: left out.
    if let Some(Ok(value)) = sign_in.forwarded_for.map(HeaderValue::from_bytes) {
        headers.append("x-forwarded-for", value);
    }
    for value in sign_in.forwarded_proto {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append("x-forwarded-proto", value);
        }
    }
    let limits = Limits {
        trusted_proxies: PROXY.parse().expect("an address"),
        ..Limits::off()
    };
    let operator = Operator::with_token(TOKEN)
        .expect("a valid token")
        .requiring_https(sign_in.require_https);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let (backends, calls) = testkit::failing::backends_counting();
        let app = web::Web::new(backends)
            .limits(limits.clone())
            .operator(operator)
            .router();
        let response = app.oneshot(request).await.expect("infallible");
        let status = response.status();
        let sets_cookie = response.headers().contains_key(header::SET_COOKIE);
        let bytes = to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        Answer {
            status,
            sets_cookie,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            called: calls.load(Ordering::Relaxed) > 0,
        }
    })
}

/// Whether the nearest proxy's `X-Forwarded-Proto` (the last entry of the
/// last header, if that is text) says HTTPS: a scheme's name, in any case
/// (RFC 3986, 3.1). An earlier header is another hop's, maybe the client's.
fn says_https(values: &[&[u8]]) -> bool {
    values
        .iter()
        .filter_map(|value| HeaderValue::from_bytes(value).ok())
        .next_back()
        .and_then(|value| value.to_str().map(str::to_owned).ok())
        .is_some_and(|value| {
            value
                .rsplit(',')
                .next()
                .is_some_and(|entry| entry.trim().eq_ignore_ascii_case("https"))
        })
}

/// Bytes a header may hold, or any bytes (which it often may not).
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    let allowed = prop_oneof![Just(b'\t'), 0x20_u8..0x7f, 0x80_u8..=0xff];
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        proptest::collection::vec(allowed, 0..40),
    ]
}

/// A header's bytes: anything, or text near `https` that is or is not it.
fn proto_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        header_bytes(),
        "[ \t]{0,2}(https?|HTTPS|hTtPs|https?s|http s|ws|wss|https;|https:|)[ \t]{0,2}(,[ \t]{0,2}(https?|HTTPS|wss|https\\.|)[ \t]{0,2})?"
            .prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Any bytes as the form, or as its token, with any forwarded headers:
    /// a 4xx that says why, no session, no backend call.
    #[test]
    fn any_bytes_posted_to_sign_in_get_a_sentence_and_change_nothing(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        as_token in any::<bool>(),
        forwarded_for in proptest::option::of(header_bytes()),
        forwarded_proto in proptest::collection::vec(proto_value(), 0..3),
        via_proxy in any::<bool>(),
        require_https in any::<bool>(),
    ) {
        let body = if as_token {
            format!("token={}&back=/dead-letters", form_value(&bytes)).into_bytes()
        } else {
            bytes
        };
        let forwarded_proto: Vec<&[u8]> = forwarded_proto.iter().map(Vec::as_slice).collect();
        let sign_in = SignIn {
            body: &body,
            forwarded_for: forwarded_for.as_deref(),
            forwarded_proto: &forwarded_proto,
            via_proxy,
            require_https,
        };
        let answer = answer(&sign_in);
        let Answer { status, body, .. } = &answer;
        prop_assert!(status.is_client_error(), "{status}: {body}");
        prop_assert!(!answer.sets_cookie, "{status} set a cookie");
        prop_assert!(!answer.called, "{status}: a backend was called");
        match *status {
            StatusCode::UNAUTHORIZED => prop_assert!(body.contains("not the operator token"), "{body}"),
            StatusCode::FORBIDDEN => prop_assert!(body.contains("https://"), "{body}"),
            _ => prop_assert!(body.len() > 20, "{status} with no sentence: {body:?}"),
        }
    }

    /// Under `REQUIRE_HTTPS`, the right token is plain HTTP (`403`, nothing
    /// read) unless the trusted proxy says `https`; a client's own
    /// `X-Forwarded-Proto` is never believed. Said `https`, the sign-in goes
    /// on to start a session, in backends that are down here (`503`).
    #[test]
    fn under_require_https_only_the_trusted_proxys_https_reads_the_token(
        forwarded_proto in proptest::collection::vec(proto_value(), 0..3),
        via_proxy in any::<bool>(),
    ) {
        let body = format!("token={TOKEN}").into_bytes();
        let forwarded_proto: Vec<&[u8]> = forwarded_proto.iter().map(Vec::as_slice).collect();
        let sign_in = SignIn {
            body: &body,
            forwarded_for: None,
            forwarded_proto: &forwarded_proto,
            via_proxy,
            require_https: true,
        };
        let answer = answer(&sign_in);
        let Answer { status, body, .. } = &answer;
        prop_assert!(!answer.sets_cookie, "{status} set a cookie");
        if via_proxy && says_https(&forwarded_proto) {
            prop_assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "{}", body);
            prop_assert!(answer.called, "the token was not read over HTTPS");
        } else {
            prop_assert_eq!(*status, StatusCode::FORBIDDEN, "{}", body);
            prop_assert!(body.contains("https://"), "{}", body);
            prop_assert!(!answer.called, "a backend was called over plain HTTP");
        }
    }
}
