//! The figures of the failures badge in every page's header
//! ([`Badge`]): how many messages failed and how many jobs wait in the
//! dead-letter queue.
//!
//! They cost no read of their own. A page that reads the shared pipeline
//! snapshot anyway (the list, a message, the failures page) gives it that
//! snapshot's figures; any other page (sign-in, an error) the last snapshot
//! this instance kept, which [`scope`] makes reachable from wherever a page
//! is drawn, so an error page drawn deep in a handler needs no state passed
//! down. A figure of zero, or one not known, is not shown.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::dashboard::snapshot::{Failures, Pipeline, PipelineSnapshot};
use crate::views::badge::Badge;

tokio::task_local! {
    /// The snapshot of the web instance answering this request.
    static SNAPSHOT: Arc<PipelineSnapshot>;
}

/// Middleware: the request is answered with `snapshot` in reach of
/// [`last`].
pub async fn scope(
    State(snapshot): State<Arc<PipelineSnapshot>>,
    request: Request,
    next: Next,
) -> Response {
    SNAPSHOT.scope(snapshot, next.run(request)).await
}

/// The badge from the last snapshot this instance kept, reading nothing; no
/// figures outside a request or before the first snapshot.
pub fn last() -> Badge {
    SNAPSHOT
        .try_with(|snapshot| snapshot.last_failures())
        .ok()
        .flatten()
        .map(Badge::from)
        .unwrap_or_default()
}

impl From<Failures> for Badge {
    fn from(failures: Failures) -> Self {
        Self {
            failed: failures.failed.unwrap_or_default(),
            dead_letters: failures.dead_letters.unwrap_or_default(),
        }
    }
}

impl From<&Pipeline> for Badge {
    fn from(pipeline: &Pipeline) -> Self {
        Self::from(pipeline.failures())
    }
}
