//! What the rooms a copier may leave out (the operator's side and the
//! dashboard, each a cargo feature; ARCHITECTURE.md, "Entry points") add to
//! the pages every build has: the header's failures badge, the list's
//! tallies, the pipeline strip, the last hour's charts, and the actions on a
//! failed message. Each is drawn by its room's own template and put in place
//! as it is, or is nothing when its room is left out, so the page handlers
//! read the same in every build: the rooms' `cfg`s in the pages are here.

use std::collections::BTreeMap;
use std::fmt;

#[cfg(feature = "dashboard")]
use askama::Template;
use axum::http::HeaderMap;
use axum::response::Response;
use messages::Message;
use serde::Deserialize;
use service::http::HttpError;

use super::AppState;
use crate::edge::client::Client;
use crate::views::badge::Badge;

/// A piece of a page drawn by an optional room's template, which the page
/// shows as it is (`{{ part|safe }}`): the room's template escapes what it
/// shows. A piece that fails to render fails the page's render, answered
/// like any other (`html.rs`).
pub struct Part(Box<dyn fmt::Display + Send + Sync>);

impl Part {
    // The operator's side needs the dashboard, so it has this too.
    #[cfg(feature = "dashboard")]
    fn of(template: impl Template + Send + Sync + 'static) -> Self {
        Self(Box::new(template))
    }
}

impl fmt::Display for Part {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

/// The tallies over the list's tabs: per status, and the jobs in flight,
/// each none when it could not be read.
pub struct Tallies {
    pub per_status: Option<BTreeMap<&'static str, u64>>,
    pub in_flight: Option<u64>,
}

/// What the optional rooms add to the list's page; all none without them.
#[derive(Default)]
pub struct IndexParts {
    /// The header's failures badge (the operator's side).
    pub badge: Option<Badge>,
    /// The tabs' tallies (the dashboard).
    pub tallies: Option<Tallies>,
    /// The pipeline strip (the dashboard).
    pub strip: Option<Part>,
    /// The last hour's charts (the dashboard).
    pub last_hour: Option<Part>,
}

/// The list page's parts, from the pipeline snapshot every open page shares
/// (`snapshot.rs`) and the last hour's, read at most every 30 s: without
/// counts the page still serves; they show as unknown, and why is logged.
#[cfg_attr(not(feature = "dashboard"), allow(clippy::unused_async))]
pub async fn index_parts(state: &AppState) -> IndexParts {
    #[cfg(feature = "dashboard")]
    {
        use crate::dashboard::charts::{Charts, LastHour};
        use crate::dashboard::strip::{Strip, StripPart};

        let pipeline = state.pipeline.pipeline().await;
        let chart = match state.activity.activity().await {
            Ok(activity) => Some(Charts::from(&activity)),
            Err(error) => {
                tracing::warn!(error = %error.chain(), "cannot read the last hour for the page");
                None
            }
        };
        IndexParts {
            badge: badge_of(&pipeline),
            tallies: Some(Tallies {
                per_status: pipeline.counts.clone(),
                in_flight: pipeline.queue.map(|queue| queue.in_flight),
            }),
            strip: Some(Part::of(StripPart {
                strip: Strip::from(&pipeline),
            })),
            last_hour: Some(Part::of(LastHour { chart })),
        }
    }
    #[cfg(not(feature = "dashboard"))]
    {
        let _ = state;
        IndexParts::default()
    }
}

/// The header's badge from `pipeline`, when there is a failures page to
/// link to.
#[cfg(feature = "dashboard")]
fn badge_of(pipeline: &crate::dashboard::snapshot::Pipeline) -> Option<Badge> {
    #[cfg(feature = "operator")]
    return Some(Badge::from(pipeline));
    #[cfg(not(feature = "operator"))]
    {
        let _ = pipeline;
        None
    }
}

/// The header's badge from the shared snapshot, reading nothing of its own
/// (a page that has no other use for the snapshot).
#[cfg_attr(not(feature = "operator"), allow(clippy::unused_async))]
pub async fn badge(state: &AppState) -> Option<Badge> {
    #[cfg(feature = "operator")]
    return badge_of(&state.pipeline.pipeline().await);
    #[cfg(not(feature = "operator"))]
    {
        let _ = state;
        None
    }
}

/// The header's badge from the last snapshot this instance kept, for a
/// page drawn where no state is at hand (an error).
pub fn last_badge() -> Option<Badge> {
    #[cfg(feature = "operator")]
    return Some(crate::dashboard::badge::last());
    #[cfg(not(feature = "operator"))]
    None
}

/// A message's page after an operator's action: numbers only, so a link
/// cannot put words on the page.
#[derive(Debug, Default, Deserialize)]
pub struct DetailParams {
    #[cfg(feature = "operator")]
    retried: Option<u32>,
    #[cfg(feature = "operator")]
    signed_in: Option<u8>,
}

/// Who is looking at a message's page, as the operator's side sees them:
/// whether they may act, and what their answer must carry.
pub struct Looker {
    #[cfg(feature = "operator")]
    viewer: crate::operator::access::Viewer,
    #[cfg(feature = "operator")]
    operator_enabled: bool,
    #[cfg(feature = "operator")]
    https_first: bool,
}

impl Looker {
    /// Reads the request's credential, before the message is read: a wrong
    /// one is answered alike whatever the id.
    #[cfg_attr(not(feature = "operator"), allow(clippy::unused_async))]
    pub async fn of(
        state: &AppState,
        headers: &HeaderMap,
        client: &Client,
    ) -> Result<Self, HttpError> {
        #[cfg(feature = "operator")]
        return Ok(Self {
            viewer: state.operator.viewer(headers, client).await?,
            operator_enabled: state.operator.enabled(),
            https_first: state.operator.https_first(client),
        });
        #[cfg(not(feature = "operator"))]
        {
            let _ = (state, headers, client);
            Ok(Self {})
        }
    }

    /// The message's page's actions (a failed message's retry and delete,
    /// or the sign-in that allows them), and the notice after one.
    pub fn actions(&self, message: &Message, params: &DetailParams) -> Option<Part> {
        #[cfg(feature = "operator")]
        return Some(Part::of(Actions {
            failed: message.status == messages::Status::Fail,
            notice: notice(params, self.viewer.signed_in, message.status),
            id: message.id,
            operator_enabled: self.operator_enabled,
            https_first: self.https_first,
            signed_in: self.viewer.signed_in,
            back: format!("/messages/{}", message.id),
        }));
        #[cfg(not(feature = "operator"))]
        {
            let _ = (message, params);
            None
        }
    }

    /// `response` with what this looker needs (a cleared cookie, no cache
    /// of what an operator was shown).
    pub fn answer(self, response: Response) -> Response {
        #[cfg(feature = "operator")]
        return self.viewer.answer(response);
        #[cfg(not(feature = "operator"))]
        response
    }
}

/// The notice a message's page shows after a redirect, true whatever the
/// message has become since: a retried message may already have run again
/// (its status is on the page), and a failed one's actions already say that
/// the operator is signed in.
#[cfg(feature = "operator")]
fn notice(params: &DetailParams, signed_in: bool, status: messages::Status) -> Option<String> {
    if params.retried.is_some() {
        return Some(
            "Retried, with a new job on the queue: its status and timeline follow below."
                .to_owned(),
        );
    }
    // Only when it is so: a link with `?signed_in=1` cannot say it.
    params
        .signed_in
        .filter(|_| signed_in && status != messages::Status::Fail)
        .map(|_| "Signed in as the operator.".to_owned())
}

/// A message's actions, or the notice after one.
#[cfg(feature = "operator")]
#[derive(Template)]
#[template(path = "operator/act.html")]
struct Actions {
    failed: bool,
    notice: Option<String>,
    id: messages::MessageId,
    operator_enabled: bool,
    /// No sign-in form over plain HTTP under `REQUIRE_HTTPS`: a link to HTTPS.
    https_first: bool,
    signed_in: bool,
    /// Where the sign-in form comes back to.
    back: String,
}

#[cfg(all(test, feature = "operator"))]
mod tests {
    use messages::Status;

    use super::*;

    /// A notice never contradicts the page beside it: a retried message may
    /// have failed again by the time its page is drawn, and a failed one's
    /// actions already say who is signed in.
    #[test]
    fn a_notice_says_nothing_the_page_may_contradict() {
        let retried = DetailParams {
            retried: Some(1),
            signed_in: None,
        };
        for status in Status::ALL {
            let notice = notice(&retried, true, status).expect("a notice");
            assert!(!notice.contains("pending again"), "{notice}");
        }
        let signed_in = DetailParams {
            retried: None,
            signed_in: Some(1),
        };
        assert_eq!(notice(&signed_in, true, Status::Fail), None);
        assert!(notice(&signed_in, true, Status::Complete).is_some());
        assert_eq!(notice(&signed_in, false, Status::Complete), None);
    }
}
