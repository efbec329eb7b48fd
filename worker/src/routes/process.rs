//! `POST /process`: what sqsd calls with each queued job (DESIGN section 4).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use sqsd::SqsdRequest;

use crate::process::{ProcessError, Processed, WorkerState, process_delivery};

/// `200` with the final state, or an error that makes sqsd retry.
#[tracing::instrument(name = "process", skip_all, fields(msgid, receive_count))]
pub async fn process(
    State(state): State<WorkerState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Processed>, ProcessError> {
    let delivery = match SqsdRequest::parse(&headers)? {
        SqsdRequest::Message(delivery) => delivery,
        SqsdRequest::Task(task) => return Err(ProcessError::TaskAtProcess(task.name)),
    };
    let span = tracing::Span::current();
    span.record("msgid", delivery.message_id.as_str());
    span.record("receive_count", delivery.receive_count);
    process_delivery(&state, &delivery, &body).await.map(Json)
}
