//! `GET /health`: the process is up and serving. Elastic Beanstalk's health
//! check calls it; it does not touch the backends, so a brief AWS outage does
//! not make the load balancer replace healthy instances. It also tells whether
//! this worker polls the queue itself, so the web knows whether to offer the
//! "process messages" button.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::BatchState;
use crate::config::Intake;

/// The health answer.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Health {
    /// Always `"ok"` while the process serves.
    status: &'static str,
    /// Whether this worker polls the queue itself.
    polling: bool,
    /// How jobs reach it: `sqsd`, `polling` or `manual`.
    mode: &'static str,
}

/// Always `200 {"status": "ok", "polling": ...}` while the process serves.
pub async fn health(State(state): State<BatchState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        polling: state.intake == Intake::Polling,
        mode: state.intake.name(),
    })
}
