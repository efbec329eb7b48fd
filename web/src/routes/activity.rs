//! Throughput and latency over the last hour (`activity.rs`): the JSON, and
//! the charts as an HTML fragment the page swaps in to stay live.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use service::http::HttpError;

use super::AppState;
use crate::dashboard::activity::Activity;
use crate::dashboard::charts::Charts;
use crate::routes::error::store_unavailable;
use crate::routes::html::render;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/activity", get(activity))
        .route("/activity/charts", get(fragment))
}

#[derive(Template)]
#[template(path = "dashboard/charts.html")]
struct Fragment {
    chart: Charts,
}

async fn activity(State(state): State<AppState>) -> Result<Json<Activity>, HttpError> {
    state
        .activity
        .activity()
        .await
        .map(Json)
        .map_err(|source| store_unavailable("the last hour cannot be read", source))
}

async fn fragment(State(state): State<AppState>) -> Response {
    match state.activity.activity().await {
        Ok(activity) => render(
            &Fragment {
                chart: Charts::from(&activity),
            },
            StatusCode::OK,
        ),
        Err(source) => crate::routes::html::error_page(store_unavailable(
            "the last hour cannot be read",
            source,
        )),
    }
}
