//! Every request answers within a deadline, even with a backend hanging, and
//! the answer is the web's usual error (JSON under `/api/`, a page elsewhere)
//! with a sentence that tells the truth: a send whose answer is late may still
//! go through, because its writes run to the end on their own (`send.rs`).

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use service::http::HttpError;

/// The request had no answer within its deadline.
#[derive(Debug, thiserror::Error)]
#[error("no answer within {0:?}")]
struct Late(Duration);

/// Answers the request, or, after `deadline`, a `503` saying what may have
/// happened. Use with `axum::middleware::from_fn_with_state(deadline, ...)`.
pub async fn answer_within(
    State(deadline): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let changes_something = request.method() == Method::POST;
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let seconds = deadline.as_secs_f64();
            let sentence = if changes_something {
                format!(
                    "no answer within {seconds:.0} s: the backends are slow. What you sent may still be recorded and processed (a send finishes even when its answer is late): look for it in the list before you send it again, or send it again with the same Idempotency-Key, which is safe"
                )
            } else {
                format!(
                    "no answer within {seconds:.0} s: the backends are slow. Try again in a moment"
                )
            };
            crate::routes::html::error_for(
                &path,
                HttpError::service_unavailable(sentence, Late(deadline)).with_code("late"),
            )
        }
    }
}
