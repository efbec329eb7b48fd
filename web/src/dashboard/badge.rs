//! The failures badge in every page's header: how many messages failed and
//! how many jobs wait in the dead-letter queue, beside the "Failures" link.
//!
//! It costs no read of its own. A page that reads the shared pipeline
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

tokio::task_local! {
    /// The snapshot of the web instance answering this request.
    static SNAPSHOT: Arc<PipelineSnapshot>;
}

/// Middleware: the request is answered with `snapshot` in reach of
/// [`Badge::last`].
pub async fn scope(
    State(snapshot): State<Arc<PipelineSnapshot>>,
    request: Request,
    next: Next,
) -> Response {
    SNAPSHOT.scope(snapshot, next.run(request)).await
}

/// The header's figures; zero when not known (the badge is then hidden).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Badge {
    pub failed: u64,
    pub dead_letters: u64,
}

impl Badge {
    /// From the last snapshot this instance kept, reading nothing; no
    /// figures outside a request or before the first snapshot.
    pub fn last() -> Self {
        SNAPSHOT
            .try_with(|snapshot| snapshot.last_failures())
            .ok()
            .flatten()
            .map(Self::from)
            .unwrap_or_default()
    }
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
