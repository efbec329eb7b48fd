//! The web's HTTP surface; each module owns its routes, and none imports
//! another (what they share is in `input.rs`, `html.rs` and `error.rs`).

mod actions_api;
mod activity;
mod api;
mod assets;
mod failures;
mod health;
mod page;

use std::sync::Arc;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use messages::Backends;
use service::http::HttpError;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_governor::GovernorLayer;

use crate::activity::ActivitySnapshot;
use crate::html::{error_for, error_page};
use crate::operator::Operator;
use crate::recent::RecentMessages;
use crate::redrive::Redrive;
use crate::snapshot::PipelineSnapshot;
use crate::throttle::{self, Limits};
use crate::worker_link::WorkerLink;

/// What every handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The queue and the status store.
    pub backends: Backends,
    /// The worker, when `WORKER_URL` says where it is.
    pub worker: Option<WorkerLink>,
    /// The pipeline and counts every page shows, read at most once every few seconds.
    pub pipeline: Arc<PipelineSnapshot>,
    /// The new messages every live page asks for, read once for all of them.
    pub recent: Arc<RecentMessages>,
    /// The last hour's throughput and latency, read at most every 30 s.
    pub activity: Arc<ActivitySnapshot>,
    /// Who may act (`OPERATOR_TOKEN`).
    pub operator: Operator,
    /// This instance's redrive of the dead-letter queue.
    pub redrive: Redrive,
}

/// Every route of the web, and an answer that says so for any other address,
/// held to `limits`: the routes that send to the per-client rate, everything
/// but `/health` to the cap on requests in flight (a load balancer's health
/// check must not read overload as a dead instance).
pub fn router(state: AppState, limits: &Limits) -> Router {
    let mut api = api::router();
    let mut page = page::router();
    let operator_routes = failures::router()
        .merge(actions_api::router())
        .merge(activity::router());
    if let Some(limit) = throttle::send_limit(limits) {
        throttle::forget_quiet_clients(&limit);
        // One limiter for both: a client's API and form sends count together.
        api = api.layer(
            GovernorLayer::new(Arc::clone(&limit))
                .error_handler(|error| throttle::too_many(error, IntoResponse::into_response)),
        );
        page = page.layer(
            GovernorLayer::new(limit).error_handler(|error| throttle::too_many(error, error_page)),
        );
    }
    let mut served = Router::new()
        .merge(page)
        .merge(api)
        .merge(operator_routes)
        .merge(assets::router())
        .fallback(no_such_address);
    if limits.max_in_flight > 0 {
        served = served.layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(overloaded))
                .load_shed()
                .layer(GlobalConcurrencyLimitLayer::new(limits.max_in_flight)),
        );
    }
    served.merge(health::router()).with_state(state)
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
