//! Building and running the web: [`Web`] is the one builder (backends, the
//! worker's link, limits, the operator), which ends as a router or bound to
//! an address; [`Application::build`] fills it from the configuration, and
//! [`Application::run_until`] serves until the shutdown future completes,
//! letting requests in flight finish.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use messages::Backends;
use service::listener::Bound;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

use crate::WebConfig;
#[cfg(feature = "dashboard")]
use crate::dashboard::worker_link::WorkerLink;
use crate::edge::client;
use crate::edge::limits::{REQUEST_BODY_LIMIT, REQUEST_TIMEOUT};
use crate::edge::throttle::Limits;
#[cfg(feature = "operator")]
use crate::operator::settings::Operator;
use crate::routes::deadline;
use crate::routes::security;
use crate::routes::{self, AppState};

/// The web to build: its backends, and what it is told beyond them. The
/// one builder of the app: [`Application::build`] fills it from the
/// configuration, the local stack and the tests by hand; it ends as a
/// [`Router`] (what tests drive with `oneshot`) or bound to an address.
#[derive(Clone)]
pub struct Web {
    backends: Backends,
    limits: Limits,
    #[cfg(feature = "dashboard")]
    worker: Option<WorkerLink>,
    #[cfg(feature = "operator")]
    operator: Operator,
}

impl Web {
    /// The web on `backends`, with no worker to link to, no limit (what the
    /// launcher, whose browser is on this machine, and tests want) and no
    /// operator.
    pub fn new(backends: Backends) -> Self {
        Self {
            // Every send (a message, a burst, a retry) starts its trace's
            // way across the queue.
            backends: backend_config::traced(backends),
            limits: Limits::off(),
            #[cfg(feature = "dashboard")]
            worker: None,
            #[cfg(feature = "operator")]
            operator: Operator::off(),
        }
    }

    /// Linking to the worker at `worker` (`WORKER_URL`), if any.
    #[cfg(feature = "dashboard")]
    pub fn worker(self, worker: Option<WorkerLink>) -> Self {
        Self { worker, ..self }
    }

    /// Holding requests to `limits`. The rate limit keys on the peer's
    /// address, so the server must provide it (`service::serve` does, or
    /// `MockConnectInfo` in a test).
    pub fn limits(self, limits: Limits) -> Self {
        Self { limits, ..self }
    }

    /// Letting `operator` act (`OPERATOR_TOKEN`).
    #[cfg(feature = "operator")]
    pub fn operator(self, operator: Operator) -> Self {
        Self { operator, ..self }
    }

    /// The backends it is built on.
    pub fn backends(&self) -> &Backends {
        &self.backends
    }

    /// Binds `address` (tests: `127.0.0.1:0`, a free port).
    pub async fn bind(self, address: SocketAddr) -> anyhow::Result<Application> {
        let listener = service::listener::bind(address).await?;
        Ok(Application {
            listener,
            web: self,
        })
    }

    /// The whole web as a router, with its middleware.
    pub fn router(self) -> Router {
        let limits = &self.limits;
        let state = AppState::new(
            self.backends,
            limits,
            #[cfg(feature = "dashboard")]
            self.worker,
            #[cfg(feature = "operator")]
            &self.operator,
        );
        let router = routes::router(state, limits)
            .layer(axum::middleware::from_fn(security::refuse_cross_site_posts))
            .layer(axum::middleware::from_fn_with_state(
                REQUEST_TIMEOUT,
                deadline::answer_within,
            ));
        // The credential to HTTPS and out of caches, for every answer but the
        // overloaded one (no credential is read before it).
        #[cfg(feature = "operator")]
        let router = router.layer(axum::middleware::from_fn_with_state(
            self.operator.require_https(),
            routes::credential_guard::guard_credentials,
        ));
        router
            // Outside every answer of ours, the late one (`deadline`) and the
            // refusals above included, so none goes out without them.
            .layer(security::headers())
            .layer(axum::middleware::from_fn(service::http::log_errors))
            // Who the client is, before anything limits or logs it.
            .layer(axum::middleware::from_fn_with_state(
                limits.trusted_proxies.clone(),
                client::identify,
            ))
            .layer((
                TraceLayer::new_for_http(),
                DefaultBodyLimit::max(REQUEST_BODY_LIMIT),
                // Gzip for a client that accepts it: a page of 25 messages and its
                // script shrink to about a fifth.
                CompressionLayer::new(),
            ))
            // Every answer in its trace, refusals included.
            .layer(axum::middleware::from_fn_with_state(
                "web",
                service::traces::server_span,
            ))
            // Outermost: every answer counted and timed, refusals included.
            .layer(axum::middleware::from_fn_with_state(
                "web",
                service::metrics::record_request,
            ))
    }
}

/// The web, bound and ready to serve.
pub struct Application {
    listener: Bound,
    web: Web,
}

impl Application {
    /// Connects the configured backend and binds `HOST:PORT`, held to the
    /// configured limits: the web as its binary runs.
    pub async fn build(config: &WebConfig) -> anyhow::Result<Self> {
        let backends = config.backend.connect(config.max_attempts).await?;
        let web = Web::new(backends).limits(config.limits.clone());
        #[cfg(feature = "dashboard")]
        let web = web.worker(config.worker_url.clone().map(WorkerLink::new).transpose()?);
        #[cfg(feature = "operator")]
        let web = web.operator(config.operator.clone());
        web.bind(SocketAddr::new(config.host, config.port)).await
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.listener.port()
    }

    /// The backends this web uses.
    pub fn backends(&self) -> &Backends {
        &self.web.backends
    }

    /// Serves until `shutdown` completes, then waits for requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let router = self.web.router();
        // HTTP/1.1 with a header-read timeout, and the peer's address on each
        // request: the key of every per-client limit (`client.rs`).
        service::serve::serve(self.listener.into_listener(), router, shutdown).await
    }
}
