//! Serving a router on the public internet: HTTP/1.1 only, a bound on how
//! long a client may take to send its request's headers, the peer's address
//! for the per-client limits, and a graceful stop.
//!
//! `axum::serve` would also speak cleartext HTTP/2 (h2c), which nothing in
//! front of these binaries needs (Elastic Beanstalk's nginx and sqsd speak
//! HTTP/1.1 to them), and it sets no header-read timeout: a client that
//! opens connections and sends headers a byte at a time could hold them open
//! for ever. Here a connection whose headers are not in after
//! [`HEADER_READ_TIMEOUT`] is closed.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How long a client has to send a request's headers (each request's, on a
/// kept-alive connection too).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` completes, then stops
/// accepting and waits for the requests in flight. Each request carries
/// `ConnectInfo<SocketAddr>`, the peer's address, as
/// `into_make_service_with_connect_info` would give it.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, router, shutdown, HEADER_READ_TIMEOUT).await
}

/// [`serve`], with the header-read timeout given (tests shorten it).
async fn serve_with(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    header_read_timeout: Duration,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let connections = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: not this connection's
                    // fault, and retrying at once would spin.
                    tracing::warn!(%error, "a connection could not be accepted");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Small answers go out at once rather than waiting to be coalesced.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY could not be set");
        }
        let service = router
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        // No upgrades (WebSocket): nothing here speaks anything but HTTP/1.1.
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            // A client that goes away, or is cut for its slow headers, is
            // not an error of ours.
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "a connection ended with an error");
            }
        });
    }
    drop(listener);
    connections.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use std::net::SocketAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// The header-read timeout of these tests: short, so the slow-headers
    /// test takes a moment, not ten seconds.
    const TIMEOUT: Duration = Duration::from_millis(300);

    async fn started() -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let router = Router::new().route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        tokio::spawn(serve_with(listener, router, shutdown, TIMEOUT));
        (address, stop)
    }

    #[tokio::test]
    async fn a_request_is_answered_with_its_peer_known() {
        let (address, _stop) = started().await;
        let mut stream = TcpStream::connect(address).await.expect("connect");
        stream
            .write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("read");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("127.0.0.1"), "{answer}");
    }

    #[tokio::test]
    async fn cleartext_http2_is_not_spoken() {
        let (address, _stop) = started().await;
        let mut stream = TcpStream::connect(address).await.expect("connect");
        stream
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .await
            .expect("write");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        // An HTTP/2 server would answer with a SETTINGS frame (type 4 in the
        // fourth byte); this one answers in HTTP/1.1 or closes.
        assert!(
            answer.is_empty() || answer.starts_with(b"HTTP/1.1 "),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
    }

    /// The slow-headers attack: a connection that never finishes its
    /// headers is closed once the timeout has passed.
    #[tokio::test]
    async fn a_connection_whose_headers_never_finish_is_closed() {
        let (address, _stop) = started().await;
        let mut stream = TcpStream::connect(address).await.expect("connect");
        stream
            .write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("write");
        let mut answer = Vec::new();
        let read = tokio::time::timeout(TIMEOUT * 20, stream.read_to_end(&mut answer)).await;
        assert!(
            read.is_ok(),
            "still open long after the header-read timeout"
        );
        // And a client that finishes in time is served on the same server.
        let mut prompt = TcpStream::connect(address).await.expect("connect");
        prompt
            .write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut served = String::new();
        prompt.read_to_string(&mut served).await.expect("read");
        assert!(served.starts_with("HTTP/1.1 200"), "{served}");
    }
}
