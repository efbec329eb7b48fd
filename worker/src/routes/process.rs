//! `POST /process`: what sqsd calls with each queued job. The request's
//! headers are read as the documented `X-Aws-Sqsd-*` set (the `sqsd` crate);
//! the body goes to the processing use case, and its answer becomes the
//! status sqsd acts on: `200` deletes the message, anything else retries it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use service::http::{HttpError, Severity};
use sqsd::SqsdRequest;
use tracing::Instrument;

use crate::process::{ProcessError, Processed, RETRY_ANSWER, WorkerState, process_delivery};

/// `200` with the final state, or an error that makes sqsd retry. The
/// job runs in the delivery's consumer span, which continues the trace of
/// its send from the `traceparent` attribute (`X-Aws-Sqsd-Attr-traceparent`,
/// from sqsd or the local poller alike).
pub async fn process(
    State(state): State<WorkerState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Processed>, HttpError> {
    let request = SqsdRequest::parse(&headers)
        .map_err(|error| HttpError::bad_request(error.to_string()).logged_as(Severity::Warn))?;
    let delivery = match request {
        SqsdRequest::Message(delivery) => delivery,
        SqsdRequest::Task(task) => {
            return Err(HttpError::bad_request(format!(
                "periodic task {:?} was posted to /process: point its url in cron.yaml at the task's own path",
                task.name
            ))
            .logged_as(Severity::Warn));
        }
    };
    let span = service::traces::consumer_span(
        delivery.queue.as_deref().unwrap_or("unnamed"),
        &delivery.message_id,
        delivery.receive_count,
        delivery
            .attributes
            .get(service::traces::TRACEPARENT)
            .map(String::as_str),
    );
    process_delivery(&state, &delivery, &body)
        .instrument(span)
        .await
        .map(Json)
        .map_err(into_http)
}

/// The status sqsd acts on, for each way a delivery can stop short.
fn into_http(error: ProcessError) -> HttpError {
    let public = error.to_string();
    match error {
        ProcessError::BadBody(_) => HttpError::bad_request(public).logged_as(Severity::Warn),
        ProcessError::UnknownMessage(_) => HttpError::not_found(public).logged_as(Severity::Warn),
        // Expected: the job asked to be retried, and sqsd will. A 4xx, so
        // enhanced health does not count it as a fault (RETRY_ANSWER).
        ProcessError::Retry { .. } => HttpError::with_status(
            StatusCode::from_u16(RETRY_ANSWER).unwrap_or(StatusCode::TOO_MANY_REQUESTS),
            public,
        ),
        ProcessError::Backend(source) => HttpError::service_unavailable(public, source),
    }
}
