//! `GET /health`: the process is up and serving. Elastic Beanstalk's health
//! check calls it; it does not touch the backends, so a brief AWS outage does
//! not make the load balancer replace healthy instances. It also tells whether
//! this worker polls the queue itself, so the web knows whether to offer the
//! "process messages" button.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::batch::BatchState;

/// Always `200 {"status": "ok", "polling": ...}` while the process serves.
pub async fn health(State(state): State<BatchState>) -> Json<Value> {
    Json(json!({ "status": "ok", "polling": state.polling }))
}
