//! Binding the listening socket, with an error that says what to do.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tokio::net::TcpListener;

use crate::env::{EnvError, Setting, Vars};

/// Where a binary listens when `PORT` is not set: Elastic Beanstalk's
/// platforms on Amazon Linux 2023 run nginx in front of the application and
/// proxy to port 5000 unless `PORT` says otherwise, so a bundle started with
/// only its own environment properties must answer there.
pub const PLATFORM_PORT: u16 = 5000;

/// `HOST`: the address to listen on, `default` when unset. Behind a proxy on
/// the same machine (nginx in the Elastic Beanstalk bundles) it is
/// `127.0.0.1`, so the port is not reachable from the network at all; in a
/// container it is `0.0.0.0`, where the proxy reaches it across a bridge.
pub fn host_from(vars: &Vars, default: IpAddr) -> Result<IpAddr, EnvError> {
    vars.parse_or("HOST", default, &format!("it must be {HOST_ACCEPTS}"))
}

/// What `HOST` accepts, in words.
const HOST_ACCEPTS: &str =
    "an IP address such as 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)";

/// `HOST`, as a binary whose default is `default` declares it.
pub fn host_setting(default: IpAddr) -> Setting {
    Setting::new("HOST", "the address to listen on")
        .accepts(HOST_ACCEPTS)
        .default_is(default)
}

/// A port setting, `name`, with its default.
pub fn port_setting(name: &'static str, about: &str, default: u16) -> Setting {
    Setting::new(name, format!("{about}; 0 picks a free one")).number(default, 0, 65535)
}

/// Every interface: where a binary listens when `HOST` is not set.
pub const ALL_INTERFACES: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// The port is taken or not ours to use.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot listen on {address}: {source}. Is another process using the port? Set {setting} to another one"
)]
pub struct BindError {
    address: SocketAddr,
    /// The setting that chose the address, which the sentence says to change.
    setting: &'static str,
    #[source]
    source: std::io::Error,
}

/// A listening socket and the port it got (port 0 asks for any free one, so
/// the port is only known once bound).
#[derive(Debug)]
pub struct Bound {
    listener: TcpListener,
    port: u16,
}

impl Bound {
    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The socket, to serve on.
    pub fn into_listener(self) -> TcpListener {
        self.listener
    }
}

/// Binds `address`, the app's own (`PORT`; port 0 picks a free port).
pub async fn bind(address: SocketAddr) -> Result<Bound, BindError> {
    bind_for(address, "PORT").await
}

/// Binds `address`, which the setting `setting` chose.
pub async fn bind_for(address: SocketAddr, setting: &'static str) -> Result<Bound, BindError> {
    let failed = |source| BindError {
        address,
        setting,
        source,
    };
    let listener = TcpListener::bind(address).await.map_err(failed)?;
    let port = listener.local_addr().map_err(failed)?.port();
    Ok(Bound { listener, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_taken_port_names_the_setting_to_change() {
        let taken = bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .expect("a free port");
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, taken.port()));
        let error = bind_for(address, "METRICS_ADDR")
            .await
            .expect_err("the port is taken");
        let sentence = error.to_string();
        assert!(
            sentence.contains("Set METRICS_ADDR to another one"),
            "{sentence}"
        );
        assert!(sentence.contains(&address.to_string()), "{sentence}");
    }
}
