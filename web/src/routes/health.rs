//! `GET /health`: the process is up and serving. It does not call the
//! backends: a brief AWS outage must not make Elastic Beanstalk replace
//! instances that are fine.

use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// The health answer.
#[derive(Debug, Clone, Copy, Serialize)]
struct Health {
    /// Always `"ok"` while the process serves.
    status: &'static str,
}

async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}
