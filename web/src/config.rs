//! The web's settings, from its flags or else the environment (README,
//! "Configuration"): [`WebConfig::settings`] declares every one, for `web
//! --help`; [`WebConfig::from_vars`] reads them once at start.

use backend_config::BackendConfig;
use service::env::{Setting, Vars};

use crate::edge::throttle::Limits;
#[cfg(feature = "operator")]
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
    #[cfg(feature = "dashboard")]
    pub worker_url: Option<String>,
    /// The rate limit on sends and the cap on requests in flight.
    pub limits: Limits,
    /// `OPERATOR_TOKEN`: the credential every action (retry, delete,
    /// redrive) needs; unset turns the actions off.
    #[cfg(feature = "operator")]
    pub operator: Operator,
    /// `METRICS_ADDR`: where Prometheus text is served; unset, nowhere.
    pub metrics: Option<std::net::SocketAddr>,
    /// `COPY_FROM_TABLE`: the table `web copy-messages` copies from.
    pub copy_from: Option<String>,
}

impl WebConfig {
    /// Every setting the web reads, with the web's defaults: what `web
    /// --help` lists.
    pub fn settings() -> Vec<Setting> {
        let mut settings = vec![
            service::listener::port_setting(
                "PORT",
                "the port to serve on (Elastic Beanstalk's nginx proxies to 5000)",
                service::listener::PLATFORM_PORT,
            ),
            service::listener::host_setting(service::listener::ALL_INTERFACES),
        ];
        #[cfg(feature = "dashboard")]
        settings.push(
            Setting::new(
                "WORKER_URL",
                "where the worker answers, for the page's view of it (local runs)",
            )
            .accepts("a URL such as http://127.0.0.1:8081"),
        );
        settings.extend(service::telemetry::settings());
        settings.extend(service::metrics::settings());
        settings.extend(backend_config::settings());
        settings.push(
            Setting::new(
                "COPY_FROM_TABLE",
                "for `web copy-messages`: the table of an earlier version whose messages are copied into TABLE_NAME",
            )
            .accepts("a table name"),
        );
        settings.extend(Limits::settings(&Limits::default()));
        #[cfg(feature = "operator")]
        settings.extend(Operator::settings());
        settings
    }

    /// Reads the settings, or says which one is wrong.
    pub fn from_vars(vars: &Vars) -> anyhow::Result<Self> {
        Ok(Self {
            port: vars.number_in("PORT", service::listener::PLATFORM_PORT, 0, 65535)?,
            host: service::listener::host_from(vars, service::listener::ALL_INTERFACES)?,
            backend: BackendConfig::from_vars(vars)?,
            max_attempts: backend_config::max_attempts_from(vars)?,
            #[cfg(feature = "dashboard")]
            worker_url: vars.var("WORKER_URL")?,
            limits: Limits::from_vars(vars, Limits::default())?,
            #[cfg(feature = "operator")]
            operator: Operator::from_vars(vars)?,
            metrics: service::metrics::address_from(vars)?,
            copy_from: vars.var("COPY_FROM_TABLE")?,
        })
    }
}

#[cfg(test)]
mod help_tests {
    use super::*;

    /// `--help` says each setting once, and each number's bounds are the
    /// ones its reading keeps.
    #[test]
    fn the_help_tells_the_truth_about_every_setting() {
        let problems = service::env::help_problems(&WebConfig::settings(), |vars| {
            WebConfig::from_vars(vars).map(drop)
        });
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
