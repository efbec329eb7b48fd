//! Building and running the web: [`Application::build`] binds the listener
//! (port 0 in tests picks a free one) and [`Application::run_until`] serves
//! until the shutdown future completes, letting requests in flight finish.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use messages::Backends;
use service::listener::Bound;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

use crate::WebConfig;
use crate::dashboard::activity::ActivitySnapshot;
use crate::dashboard::snapshot::PipelineSnapshot;
use crate::dashboard::worker_link::WorkerLink;
use crate::edge::client;
use crate::edge::limits::{REQUEST_BODY_LIMIT, REQUEST_TIMEOUT};
use crate::edge::throttle::{self, Limits};
use crate::operator::access::Access;
use crate::operator::all_failed::AllFailed;
use crate::operator::redrive::Redrive;
use crate::operator::settings::Operator;
use crate::routes::deadline;
use crate::routes::security;
use crate::routes::{self, AppState};
use crate::views::recent::RecentMessages;

/// The web, bound and ready to serve.
pub struct Application {
    listener: Bound,
    backends: Backends,
    worker: Option<WorkerLink>,
    limits: Limits,
    operator: Operator,
}

impl Application {
    /// Connects the configured backend and binds `HOST:PORT`, held to the
    /// configured limits.
    pub async fn build(config: &WebConfig) -> anyhow::Result<Self> {
        let backends = config.backend.connect(config.max_attempts).await?;
        let worker = config.worker_url.clone().map(WorkerLink::new).transpose()?;
        Ok(Self::with_limits(
            backends,
            worker,
            SocketAddr::new(config.host, config.port),
            &config.limits,
        )
        .await?
        .operator(config.operator.clone()))
    }

    /// Uses `backends` and binds `address` (tests: `127.0.0.1:0`), with no
    /// limit: the launcher, whose browser is on this machine, and tests.
    pub async fn with_backends(
        backends: Backends,
        worker: Option<WorkerLink>,
        address: SocketAddr,
    ) -> anyhow::Result<Self> {
        Self::with_limits(backends, worker, address, &Limits::off()).await
    }

    /// Uses `backends`, binds `address`, and holds requests to `limits`.
    pub async fn with_limits(
        backends: Backends,
        worker: Option<WorkerLink>,
        address: SocketAddr,
        limits: &Limits,
    ) -> anyhow::Result<Self> {
        let listener = service::listener::bind(address).await?;
        Ok(Self {
            listener,
            backends,
            worker,
            limits: limits.clone(),
            operator: Operator::off(),
        })
    }

    /// The same web, letting `operator` act (`OPERATOR_TOKEN`).
    pub fn operator(self, operator: Operator) -> Self {
        Self { operator, ..self }
    }

    /// The same web, held to `limits`.
    pub fn limits(self, limits: Limits) -> Self {
        Self { limits, ..self }
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.listener.port()
    }

    /// The backends this web uses.
    pub fn backends(&self) -> &Backends {
        &self.backends
    }

    /// Serves until `shutdown` completes, then waits for requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let router = app_with(self.backends, self.worker, &self.limits, self.operator);
        // HTTP/1.1 with a header-read timeout, and the peer's address on each
        // request: the key of every per-client limit (`client.rs`).
        service::serve::serve(self.listener.into_listener(), router, shutdown).await
    }
}

/// The whole web as a router, with its middleware and no limit: what tests
/// drive with `oneshot`.
pub fn app(backends: Backends, worker: Option<WorkerLink>) -> Router {
    app_with_limits(backends, worker, &Limits::off())
}

/// The whole web held to `limits`. The rate limit keys on the peer's address,
/// so the server must provide it (`service::serve` does, or
/// `MockConnectInfo` in a test).
pub fn app_with_limits(backends: Backends, worker: Option<WorkerLink>, limits: &Limits) -> Router {
    app_with(backends, worker, limits, Operator::off())
}

/// The whole web held to `limits`, letting `operator` act.
pub fn app_with(
    backends: Backends,
    worker: Option<WorkerLink>,
    limits: &Limits,
    operator: Operator,
) -> Router {
    let pipeline = Arc::new(PipelineSnapshot::new(backends.clone(), worker.clone()));
    let recent = Arc::new(RecentMessages::new(Arc::clone(&backends.store)));
    let activity = Arc::new(ActivitySnapshot::new(Arc::clone(&backends.store)));
    let require_https = operator.require_https();
    let operator = Access::new(operator, Arc::clone(&backends.sessions));
    routes::router(
        AppState {
            backends,
            worker,
            pipeline,
            recent,
            activity,
            operator,
            redrive: Redrive::default(),
            all_failed: AllFailed::default(),
            sends: throttle::send_rate(limits),
            reads: throttle::read_rate(limits),
        },
        limits,
    )
    .layer(axum::middleware::from_fn(security::refuse_cross_site_posts))
    .layer(axum::middleware::from_fn_with_state(
        REQUEST_TIMEOUT,
        deadline::answer_within,
    ))
    // The credential to HTTPS and out of caches, for every answer but the
    // overloaded one (no credential is read before it).
    .layer(axum::middleware::from_fn_with_state(
        require_https,
        security::guard_credentials,
    ))
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
}
