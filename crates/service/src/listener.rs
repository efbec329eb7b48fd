//! Binding the listening socket, with an error that says what to do.

use std::net::SocketAddr;

use tokio::net::TcpListener;

/// The port is taken or not ours to use.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot listen on {address}: {source}. Is another process using the port? Set PORT to another one"
)]
pub struct BindError {
    address: SocketAddr,
    #[source]
    source: std::io::Error,
}

/// Binds `address` (port 0 picks a free port).
pub async fn bind(address: SocketAddr) -> Result<TcpListener, BindError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| BindError { address, source })
}
