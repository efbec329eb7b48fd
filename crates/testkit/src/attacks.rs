//! Attacks a test plays against a server of ours, over plain TCP.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The slow-headers attack (slowloris): opens a connection to `address`,
/// starts a request with `request_line` and sends its headers a byte every
/// half second, never finishing them. Returns how long the server held the
/// connection before cutting it, or `None` if it was still open after 30 s.
pub async fn slow_headers(address: SocketAddr, request_line: &str) -> Option<Duration> {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let started = Instant::now();
    stream
        .write_all(format!("{request_line}\r\nHost: test\r\nX-Slow: ").as_bytes())
        .await
        .expect("write");
    while started.elapsed() < Duration::from_secs(30) {
        if stream.write_all(b"a").await.is_err() {
            return Some(started.elapsed());
        }
        let mut buffer = [0u8; 256];
        let read = tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buffer)).await;
        // Closed (0 bytes) or reset: cut. Any answer (a 408) or nothing yet: go on.
        if let Ok(Ok(0) | Err(_)) = read {
            return Some(started.elapsed());
        }
    }
    None
}
