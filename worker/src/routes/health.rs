//! `GET /health`: the process is up and serving. Elastic Beanstalk's health
//! check calls it; it does not touch the backends, so a brief AWS outage does
//! not make the load balancer replace healthy instances.

use axum::Json;
use serde_json::{Value, json};

/// Always `200 {"status": "ok"}` while the process serves.
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
