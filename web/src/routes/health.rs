//! `GET /health`: the process is up and serving. It does not call the
//! backends: a brief AWS outage must not make Elastic Beanstalk replace
//! instances that are fine.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
