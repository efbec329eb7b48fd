//! The web's settings, all from the environment (README, "Configuration").

use backend_config::BackendConfig;
use service::env;

use crate::edge::throttle::Limits;
use crate::operator::settings::Operator;

/// Everything the web needs to start.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// `PORT`, default [`service::listener::PLATFORM_PORT`] (5000, where
    /// Elastic Beanstalk's nginx proxies); 0 picks a free port (tests).
    pub port: u16,
    /// `HOST`, default every interface; `127.0.0.1` behind nginx on the same host.
    pub host: std::net::IpAddr,
    /// Where messages live.
    pub backend: BackendConfig,
    /// `MAX_ATTEMPTS`: used by `web provision` for the queue's redrive policy,
    /// so SQS dead-letters a message exactly when the worker gives it up.
    pub max_attempts: u32,
    /// `WORKER_URL`: where the worker answers (local runs). When it is set
    /// and the worker does not poll by itself, the page offers a "process
    /// messages" button that asks the worker to process one batch.
    pub worker_url: Option<String>,
    /// The rate limit on sends and the cap on requests in flight.
    pub limits: Limits,
    /// `OPERATOR_TOKEN`: the credential every action (retry, delete,
    /// redrive) needs; unset turns the actions off.
    pub operator: Operator,
}

impl WebConfig {
    /// Reads the settings, or says which one is wrong.
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            port: env::number_in("PORT", service::listener::PLATFORM_PORT, 0, 65535)?,
            host: service::listener::host_from_env(service::listener::ALL_INTERFACES)?,
            backend: BackendConfig::from_env()?,
            max_attempts: backend_config::max_attempts_from_env()?,
            worker_url: env::var("WORKER_URL")?,
            limits: Limits::from_env()?,
            operator: Operator::from_env()?,
        })
    }
}
