//! Building and running the worker: [`Application::build`] binds the listener
//! (port 0 in tests picks a free one) and [`Application::run_until`] serves
//! until the shutdown future completes, letting jobs in progress finish.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::http::StatusCode;
use messages::Backends;
use service::shutdown::Shutdown;
use sqsd::{Poller, Scheduler};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::{Intake, WorkerConfig, WorkerSettings};
use crate::process::WorkerState;
use crate::routes;

/// The worker, bound and ready to serve.
pub struct Application {
    listener: service::listener::Bound,
    router: Router,
    backends: Backends,
    /// Set when `WORKER_POLL=true`: polls the queue and enqueues the runs of
    /// periodic tasks beside the server, as sqsd does.
    poller: Option<(Poller, Scheduler)>,
    /// How jobs reach it.
    intake: Intake,
}

impl Application {
    /// Connects the configured backend and binds `HOST:PORT`. Every send
    /// (the sweeper's, the scheduler's) continues its trace.
    pub async fn build(config: &WorkerConfig) -> anyhow::Result<Self> {
        let backends = config.backend.connect(config.settings.max_attempts).await?;
        let backends = backend_config::traced(backends);
        Self::with_backends(
            &config.settings,
            backends,
            SocketAddr::new(config.host, config.port),
        )
        .await
    }

    /// Uses `backends` as they are and binds `address` (tests:
    /// `127.0.0.1:0`; the local stack gives it the web's, whose sends are
    /// already traced: `backend_config::traced`).
    pub async fn with_backends(
        settings: &WorkerSettings,
        backends: Backends,
        address: SocketAddr,
    ) -> anyhow::Result<Self> {
        let state = WorkerState {
            store: backends.store.clone(),
            max_attempts: settings.max_attempts,
            jobs: settings.jobs,
            queue_timing: (&settings.poller).into(),
        };
        let tasks = routes::TaskState {
            backends: backends.clone(),
            config: settings.sweep,
        };
        let poller = Poller::new(
            backends.queue.clone(),
            routes::sqsd_router(state.clone(), tasks.clone()),
            settings.poller.clone(),
        );
        // Refused at start, as Elastic Beanstalk refuses it: periodic tasks on a FIFO queue.
        let scheduler = Scheduler::new(
            settings.cron.clone(),
            backends.queue.clone(),
            backends.store.clone(),
        )?;
        let router = routes::router(state, poller.clone(), settings.intake, tasks).layer((
            // Outermost: a request the timeout answers is counted too.
            axum::middleware::from_fn_with_state("worker", service::metrics::record_request),
            axum::middleware::from_fn_with_state("worker", service::traces::server_span),
            TraceLayer::new_for_http(),
            // sqsd stops waiting after its InactivityTimeout (`INACTIVITY_TIMEOUT`
            // here): a job still running after that would only race the retry.
            TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                settings.poller.inactivity_timeout,
            ),
        ));
        let listener = service::listener::bind(address).await?;
        Ok(Self {
            listener,
            router,
            backends,
            poller: (settings.intake == Intake::Polling).then_some((poller, scheduler)),
            intake: settings.intake,
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.listener.port()
    }

    /// The backends this worker uses.
    pub fn backends(&self) -> &Backends {
        &self.backends
    }

    /// How jobs reach this worker.
    pub fn intake(&self) -> Intake {
        self.intake
    }

    /// Serves (and polls, if asked to) until `shutdown` completes, then lets
    /// requests and jobs in flight finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let shutdown = Shutdown::on(shutdown);
        let polling = self.poller.map(|(poller, scheduler)| {
            (
                tokio::spawn(poller.run(shutdown.clone().wait())),
                tokio::spawn(scheduler.run(shutdown.clone().wait())),
            )
        });
        let served =
            service::serve::serve(self.listener.into_listener(), self.router, shutdown.wait())
                .await;
        // Both stop at shutdown; wait for them, so that a run whose claim is
        // written gets its message sent before the process exits.
        if let Some((poller, scheduler)) = polling {
            let (polled, scheduled) = tokio::join!(poller, scheduler);
            for (what, ended) in [("poller", polled), ("scheduler", scheduled)] {
                if let Err(error) = ended {
                    tracing::error!(%error, "the {what} stopped abnormally");
                }
            }
        }
        served
    }
}
