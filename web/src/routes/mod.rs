//! The web's HTTP surface, over every room: each router module owns its
//! routes and none imports another; what they share is here too: reading
//! input (`input.rs`), the use cases' errors as answers (`error.rs`), pages
//! rendered (`html.rs`), security headers and the same-origin check
//! (`security.rs`), and the deadline every request answers within
//! (`deadline.rs`).

#[cfg(feature = "operator")]
mod acting;
#[cfg(feature = "operator")]
mod actions_api;
#[cfg(feature = "dashboard")]
mod activity;
mod api;
mod assets;
#[cfg(feature = "operator")]
pub mod credential_guard;
pub mod deadline;
pub(crate) mod error;
#[cfg(feature = "operator")]
mod failures;
mod health;
pub(crate) mod html;
mod id_in_path;
pub(crate) mod input;
mod page;
#[cfg(feature = "dashboard")]
mod pipeline_api;
pub(crate) mod rooms;
pub mod security;

use std::sync::Arc;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{Request, State};
use axum::http::{Method, Uri};
use axum::middleware::Next;
use axum::response::Response;
use messages::Backends;
use service::http::HttpError;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;

#[cfg(feature = "dashboard")]
use crate::dashboard::activity::ActivitySnapshot;
#[cfg(feature = "dashboard")]
use crate::dashboard::snapshot::PipelineSnapshot;
#[cfg(feature = "dashboard")]
use crate::dashboard::worker_link::WorkerLink;
use crate::edge::client::Client;
use crate::edge::throttle::{self, ClientRate, Limits};
#[cfg(feature = "operator")]
use crate::operator::access::Access;
#[cfg(feature = "operator")]
use crate::operator::all_failed::AllFailed;
#[cfg(feature = "operator")]
use crate::operator::redrive::Redrive;
use crate::routes::html::error_for;
use crate::views::recent::RecentMessages;

/// What every handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The queue and the status store.
    pub backends: Backends,
    /// The new messages every live page asks for, read once for all of them.
    pub recent: Arc<RecentMessages>,
    /// The worker, when `WORKER_URL` says where it is.
    #[cfg(feature = "dashboard")]
    pub worker: Option<WorkerLink>,
    /// The pipeline and counts every page shows, read at most once every few seconds.
    #[cfg(feature = "dashboard")]
    pub pipeline: Arc<PipelineSnapshot>,
    /// The last hour's throughput and latency, read at most every 30 s.
    #[cfg(feature = "dashboard")]
    pub activity: Arc<ActivitySnapshot>,
    /// Who may act (`OPERATOR_TOKEN`), and the operator's sessions.
    #[cfg(feature = "operator")]
    pub operator: Access,
    /// This instance's redrive of the dead-letter queue.
    #[cfg(feature = "operator")]
    pub redrive: Redrive,
    /// This instance's run of "retry all failed" or "delete all failed".
    #[cfg(feature = "operator")]
    pub all_failed: AllFailed,
    /// Each client's budget of messages (`SEND_RATE_PER_MINUTE`), shared by
    /// the API and the form; none when it is off.
    pub sends: Option<ClientRate>,
    /// Each client's budget of reads (`READ_RATE_PER_MINUTE`): every `GET`,
    /// and every page drawn again after a refused form (it reads the list);
    /// none when it is off.
    pub reads: Option<ClientRate>,
}

impl AppState {
    /// The state of a web on `backends` held to `limits`, with the worker's
    /// link (the dashboard's) and who may act (the operator's side) when
    /// those rooms are built.
    pub fn new(
        backends: Backends,
        limits: &Limits,
        #[cfg(feature = "dashboard")] worker: Option<WorkerLink>,
        #[cfg(feature = "operator")] operator: &crate::operator::settings::Operator,
    ) -> Self {
        Self {
            recent: Arc::new(RecentMessages::new(Arc::clone(&backends.store))),
            #[cfg(feature = "dashboard")]
            pipeline: Arc::new(PipelineSnapshot::new(backends.clone(), worker.clone())),
            #[cfg(feature = "dashboard")]
            activity: Arc::new(ActivitySnapshot::new(Arc::clone(&backends.store))),
            #[cfg(feature = "dashboard")]
            worker,
            #[cfg(feature = "operator")]
            operator: Access::new(operator.clone(), Arc::clone(&backends.sessions)),
            #[cfg(feature = "operator")]
            redrive: Redrive::default(),
            #[cfg(feature = "operator")]
            all_failed: AllFailed::default(),
            sends: throttle::send_rate(limits),
            reads: throttle::read_rate(limits),
            backends,
        }
    }

    /// Charges `messages` sends to `client` before anything is sent: a burst
    /// of N costs N, whichever route sends it.
    pub fn charge_sends(&self, client: &Client, messages: u32) -> Result<(), HttpError> {
        throttle::charge_sends(self.sends.as_ref(), client, messages)
    }

    /// Charges one read to `client`: a form refused and drawn again reads
    /// the backend like a `GET`, so it costs like one.
    pub fn charge_read(&self, client: &Client) -> Result<(), HttpError> {
        match &self.reads {
            Some(rate) => throttle::charge_read(rate, client),
            None => Ok(()),
        }
    }
}

/// Every route of the web, and an answer that says so for any other address,
/// held to `limits`: every read of a page or the API to the client's read
/// rate (the sends are charged by their handlers, per message, through
/// [`AppState::charge_sends`]), everything but `/health` to the cap on
/// requests in flight (a load balancer's health check must not read
/// overload as a dead instance). The client is what `client::identify`, a
/// layer outside this router, found.
pub fn router(state: AppState, limits: &Limits) -> Router {
    // The page and the API; the dashboard's (the pipeline's API, the
    // charts) and the operator's side (the failures page and its API) when
    // they are built.
    let sides = [
        page::router(),
        api::router(),
        #[cfg(feature = "dashboard")]
        pipeline_api::router().merge(activity::router()),
        #[cfg(feature = "operator")]
        failures::router().merge(actions_api::router()),
    ];
    let mut served = Router::new();
    for side in sides {
        // One budget for all: a client's page, API, operator and chart reads count together.
        served = served.merge(match state.reads.clone() {
            Some(rate) => side.layer(axum::middleware::from_fn_with_state(rate, limit_reads)),
            None => side,
        });
    }
    let mut served = served.merge(assets::router()).fallback(no_such_address);
    if limits.max_in_flight > 0 {
        served = served.layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(overloaded))
                .load_shed()
                .layer(GlobalConcurrencyLimitLayer::new(limits.max_in_flight)),
        );
    }
    // Outermost, so that every page drawn, refusals included, reaches the
    // snapshot for the header's badge.
    #[cfg(feature = "operator")]
    let served = served.layer(axum::middleware::from_fn_with_state(
        state.pipeline.clone(),
        crate::dashboard::badge::scope,
    ));
    served.merge(health::router()).with_state(state)
}

/// Holds every `GET` and `HEAD` to the client's read rate: `429` with
/// `Retry-After`, as JSON under `/api/` and as a page elsewhere.
async fn limit_reads(State(rate): State<ClientRate>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        let client = Client::in_extensions(request.extensions());
        if let Err(refusal) = throttle::charge_read(&rate, &client) {
            return error_for(request.uri().path(), refusal);
        }
    }
    next.run(request).await
}

/// The answer when every slot for a request in flight is taken: at once,
/// rather than after waiting in a queue with no end.
async fn overloaded(uri: Uri, _: tower::BoxError) -> Response {
    error_for(
        uri.path(),
        HttpError::service_unavailable(
            "the web is answering as many requests as it can right now: nothing was done, try again in a second",
            "requests in flight are at MAX_IN_FLIGHT",
        )
        .retry_after(1),
    )
}

/// A `404` with a sentence: JSON under `/api/`, a page elsewhere.
async fn no_such_address(uri: Uri) -> Response {
    let sentence = if uri.path().starts_with("/api/") {
        "there is nothing at this address: the API is /api/messages, /api/messages/{id}, /api/messages/batch, /api/messages/updates, /api/messages/{id}/retry, /api/pipeline and /api/dead-letters/redrive (see the README)"
    } else {
        "there is no page at this address: the messages are at /"
    };
    error_for(uri.path(), HttpError::not_found(sentence))
}
