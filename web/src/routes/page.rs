//! The browser page at `/`, rendered on the server so it works without
//! JavaScript: the send form posts to `/messages` and is redirected back
//! (post/redirect/get); a refused message re-renders the page with the error
//! beside the form and what was typed kept. `/static/app.js` then makes the
//! list live. `/messages/{id}` shows one message.

use askama::Template;
use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use messages::{JobKind, ListQuery, Message, MessageBody, MessageGroup, MessageId, Status};
use serde::Deserialize;
use service::http::HttpError;

use super::AppState;
use super::id_in_path::IdInPath;
use super::rooms::{self, DetailParams, Looker, Part, Tallies};
use crate::edge::assets::asset_version;
use crate::edge::client::Client;
use crate::routes::error::form_rejection;
use crate::routes::html::{error_page, render, render_refusal};
use crate::routes::input::{
    ListParams, burst, parse_count, parse_group, parse_idempotency_key, parse_simulate,
};
use crate::sending::idempotent::send_once;
use crate::sending::plan::SendPlan;
use crate::views::badge::Badge;
use crate::views::listing::{ListFilter, ListRequest};
use crate::views::plural;
use crate::views::timeline;

/// How many messages a page shows.
const PAGE_SIZE: u32 = 25;

pub fn router() -> Router<AppState> {
    let router = Router::new()
        .route("/", get(index))
        .route("/messages", post(send_form))
        .route("/messages/{id}", get(detail))
        .route("/find", get(find))
        .route("/messages/{id}/timeline", get(timeline_fragment))
        .route("/demo/groups", post(demo_groups));
    // The pipeline strip's "Process" buttons.
    #[cfg(feature = "dashboard")]
    let router = router.route("/process-batch", post(process_batch));
    router
}

/// One choice in the form's `simulate` radio group.
struct Choice {
    value: &'static str,
    explanation: &'static str,
    selected: bool,
}

/// One tab over the list: a filter with its count. "All" has no filter.
/// One tab per status, so a status added to `Status::ALL` gets its own, and
/// "In flight" beside "Pending", of which it is a part.
struct Tab {
    filter: Option<ListFilter>,
    /// What the tab says.
    label: String,
    /// The last part of its count's element id, and its `?status=`.
    key: &'static str,
    /// The count, or "?" when it could not be read; none in a web built
    /// without the dashboard, which counts them.
    shown: Option<String>,
    /// What the count is, when the label alone does not say.
    title: Option<&'static str>,
}

/// The tabs, with `tallies` if any: every message, then one per status,
/// with the jobs in flight after the pending ones.
fn tabs(tallies: Option<&Tallies>) -> Vec<Tab> {
    let shown = |count: Option<u64>| {
        tallies.map(|_| count.map_or_else(|| "?".to_owned(), |count| count.to_string()))
    };
    let counts = tallies.and_then(|tallies| tallies.per_status.as_ref());
    let mut tabs = vec![Tab {
        filter: None,
        label: "All".to_owned(),
        key: "all",
        shown: shown(counts.map(|counts| counts.values().sum())),
        title: None,
    }];
    for status in Status::ALL {
        let name = status.as_str();
        tabs.push(Tab {
            filter: Some(ListFilter::Status(status)),
            label: name[..1].to_uppercase() + &name[1..],
            key: name,
            shown: shown(counts.and_then(|counts| counts.get(name).copied())),
            title: None,
        });
        if status == Status::Pending {
            tabs.push(Tab {
                filter: Some(ListFilter::InFlight),
                label: "In flight".to_owned(),
                key: ListFilter::IN_FLIGHT,
                shown: shown(tallies.and_then(|tallies| tallies.in_flight)),
                title: Some(
                    "Pending jobs a worker has been handed: running, or failed and waiting \
                     out the retry delay. The count is the queue's own.",
                ),
            });
        }
    }
    tabs
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    asset_version: &'static str,
    messages: Vec<Message>,
    next_cursor: Option<MessageId>,
    /// Live updates ask for messages after this id: rendered before the list
    /// is read, so nothing created meanwhile is missed.
    newest: MessageId,
    filter: Option<ListFilter>,
    /// The group the list is narrowed to, if any.
    group: Option<MessageGroup>,
    /// Whether the queue is FIFO: groups then order their messages.
    fifo: bool,
    /// The filters over the list, each with its count.
    tabs: Vec<Tab>,
    choices: Vec<Choice>,
    typed: String,
    typed_group: String,
    count: u32,
    error: Option<String>,
    list_error: Option<String>,
    notice: Option<String>,
    /// The form's `Idempotency-Key`: a double submit, or a retry after a lost
    /// answer, sends one message. A fresh one for each message typed.
    idempotency_key: String,
    /// The pipeline strip (the dashboard).
    strip: Option<Part>,
    /// The last hour's charts (the dashboard).
    last_hour: Option<Part>,
    /// The header's failures badge (the operator's side).
    badge: Option<Badge>,
}

#[derive(Template)]
#[template(path = "detail.html")]
struct DetailPage {
    asset_version: &'static str,
    message: Message,
    /// Its timeline, oldest first.
    timeline: Vec<timeline::Line>,
    max_history: usize,
    /// Retry and delete when it failed, or the notice after an action (the
    /// operator's side).
    act: Option<Part>,
    badge: Option<Badge>,
}

/// A message's timeline alone: what its page swaps in while it follows it.
#[derive(Template)]
#[template(path = "partials/timeline.html")]
struct TimelineFragment {
    timeline: Vec<timeline::Line>,
}

/// What the form had, to show it again.
struct Typed {
    body: String,
    simulate: JobKind,
    count: u32,
    group: String,
}

impl Default for Typed {
    fn default() -> Self {
        Self {
            body: String::new(),
            simulate: JobKind::Succeed,
            count: 1,
            group: String::new(),
        }
    }
}

/// The page, its list read with `query`; with none, drawn without its list
/// (which then says why), reading nothing of its own.
async fn page(state: &AppState, query: Result<ListRequest, String>, typed: Typed) -> IndexPage {
    let newest = MessageId::floor(messages::now());
    let parts = rooms::index_parts(state).await;
    let mut page = IndexPage {
        asset_version: asset_version(),
        messages: Vec::new(),
        next_cursor: None,
        newest,
        filter: query.as_ref().ok().and_then(ListRequest::filter),
        group: query
            .as_ref()
            .ok()
            .and_then(|query| query.query().group.clone()),
        fifo: state.backends.queue.is_fifo(),
        tabs: tabs(parts.tallies.as_ref()),
        choices: JobKind::ALL
            .iter()
            .map(|&choice| Choice {
                value: choice.as_str(),
                explanation: choice.explanation(),
                selected: choice == typed.simulate,
            })
            .collect(),
        typed: typed.body,
        typed_group: typed.group,
        count: typed.count,
        error: None,
        list_error: None,
        notice: None,
        idempotency_key: MessageId::new().to_string(),
        strip: parts.strip,
        last_hour: parts.last_hour,
        badge: parts.badge,
    };
    let listed = match query {
        Ok(query) => query.read(state.backends.store.as_ref()).await,
        Err(why) => {
            page.list_error = Some(why);
            Ok(messages::Page {
                items: Vec::new(),
                next_cursor: None,
            })
        }
    };
    match listed {
        Ok(listed) => {
            page.messages = listed.items;
            page.next_cursor = listed.next_cursor;
        }
        Err(error) => {
            tracing::error!(error = %error.chain(), "cannot list messages for the page");
            page.list_error = Some(
                "Messages cannot be listed: the status store is unavailable. Reload in a moment."
                    .to_owned(),
            );
        }
    }
    page
}

#[derive(Debug, Default, Deserialize)]
struct IndexParams {
    #[serde(flatten)]
    list: ListParams,
    /// After a send: how many were sent.
    sent: Option<String>,
    /// After "Process messages": received, finished and retried counts. Only
    /// numbers travel in the URL, so a link cannot put words on the page.
    processed: Option<u32>,
    finished: Option<u32>,
    retried: Option<u32>,
    /// "Process until empty" stopped at its time limit.
    more: Option<u8>,
}

fn first_page() -> ListRequest {
    ListRequest::new(
        ListQuery {
            status: None,
            group: None,
            limit: PAGE_SIZE,
            cursor: None,
        },
        None,
    )
}

async fn index(
    State(state): State<AppState>,
    params: Result<Query<IndexParams>, QueryRejection>,
) -> Response {
    // A query that cannot be read still gets the page: the first page of
    // everything, with the reason shown where the list goes.
    let (params, unreadable) = match params {
        Ok(Query(params)) => (params, None),
        Err(rejection) => (
            IndexParams::default(),
            Some(format!(
                "the address's query cannot be read ({}): showing the newest messages",
                rejection.body_text()
            )),
        ),
    };
    let (query, list_problem) = match (unreadable, params.list.parse()) {
        (Some(problem), _) => (first_page(), Some(problem)),
        (None, Err(error)) => (
            first_page(),
            Some(service::http::capitalised(error.public())),
        ),
        (None, Ok(query)) => (query.with_limit(PAGE_SIZE), None),
    };
    let mut page = page(&state, Ok(query), Typed::default()).await;
    page.list_error = list_problem.or(page.list_error);
    // The notice only decorates the page after a redirect: a link that
    // garbles it shows none, rather than a wrong count or an error.
    let sent = params
        .sent
        .as_deref()
        .and_then(|text| text.parse::<u32>().ok());
    page.notice = match (sent, params.processed) {
        (Some(1), _) => Some("Message sent: watch it below.".to_owned()),
        (Some(count), _) => Some(format!("{count} messages sent: watch them below.")),
        (None, Some(0)) => Some("The queue was empty: nothing to process.".to_owned()),
        // A count the link leaves out is a count of none.
        (None, Some(received)) => Some(format!(
            "Processed {}: {} finished, {} will be retried.{}",
            plural::count(received, "message", "messages"),
            params.finished.unwrap_or_default(),
            params.retried.unwrap_or_default(),
            if params.more.is_some() {
                " It stopped after 20 s: more may be waiting."
            } else {
                ""
            }
        )),
        (None, None) => None,
    };
    render(&page, StatusCode::OK)
}

#[derive(Debug, Deserialize)]
struct SendForm {
    #[serde(default)]
    body: String,
    simulate: Option<String>,
    count: Option<String>,
    group: Option<String>,
    idempotency_key: Option<String>,
}

async fn send_form(
    State(state): State<AppState>,
    client: Client,
    form: Result<Form<SendForm>, FormRejection>,
) -> Response {
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) => return error_page(form_rejection(rejection)),
    };
    // Sending again is the same send only while its outcome is open.
    let mut keeps_key = false;
    let result = async {
        let key = parse_idempotency_key(form.idempotency_key.as_deref())?;
        let count = parse_count(form.count.as_deref())?;
        let simulate = parse_simulate(form.simulate.as_deref())?;
        let group = parse_group(form.group.as_deref())?;
        let plan = SendPlan::new(
            burst(&form.body, count, simulate)?,
            simulate,
            group,
            client.own_key(key),
        )?;
        state.charge_sends(&client, count)?;
        send_once(&state.backends, plan).await.map_err(|error| {
            keeps_key = error.keeps_key();
            HttpError::from(error)
        })
    }
    .await;
    match result {
        Ok(sent) => Redirect::to(&format!("/?sent={}", sent.count())).into_response(),
        Err(error) => {
            // Show the form again as it was typed; a choice that cannot be
            // read is shown as the default, and its error says why.
            let typed = Typed {
                simulate: form
                    .simulate
                    .as_deref()
                    .and_then(|text| text.parse().ok())
                    .unwrap_or_default(),
                count: form
                    .count
                    .as_deref()
                    .and_then(|text| text.trim().parse().ok())
                    .unwrap_or(1),
                group: form.group.unwrap_or_default(),
                body: form.body,
            };
            let mut page = page_again(&state, &client, typed).await;
            page.error = Some(service::http::capitalised(error.public()));
            if let Some(key) = form.idempotency_key.filter(|_| keeps_key) {
                page.idempotency_key = key;
            }
            render_refusal(&page, error)
        }
    }
}

/// The page drawn again after a refused form: the form as it was typed, for
/// the caller to put its refusal beside, and the first page of the list,
/// charged as a read (it reads the backend like a `GET`). Over the client's
/// read rate, the form without the list, which says why: the refusal the
/// person must act on stays the form's own (an empty message is told it is
/// empty, not that there were too many), what they typed is kept, and no
/// backend is read.
async fn page_again(state: &AppState, client: &Client, typed: Typed) -> IndexPage {
    let query = state
        .charge_read(client)
        .map(|()| first_page())
        .map_err(|refusal| format!("The list is not shown: {}.", refusal.public()));
    page(state, query, typed).await
}

/// The message a page's path names, or why there is none to show.
async fn message_at(
    state: &AppState,
    id: Result<IdInPath, HttpError>,
) -> Result<Message, HttpError> {
    let IdInPath(id) = id?;
    match state.backends.store.get(id).await {
        Ok(Some(message)) => Ok(message),
        Ok(None) => Err(HttpError::not_found(format!("no message has id {id}"))),
        Err(source) => Err(HttpError::service_unavailable(
            "the message cannot be read: the status store is unavailable. Reload in a moment",
            source,
        )),
    }
}

async fn timeline_fragment(
    State(state): State<AppState>,
    id: Result<IdInPath, HttpError>,
) -> Response {
    match message_at(&state, id).await {
        Ok(message) => render(
            &TimelineFragment {
                timeline: timeline::lines(&message),
            },
            StatusCode::OK,
        ),
        Err(error) => error_page(error),
    }
}

#[derive(Debug, Default, Deserialize)]
struct FindParams {
    #[serde(default)]
    id: String,
}

/// `GET /find?id=`: the header's search. A message id goes to its page
/// (which says so if there is no such message); anything else is refused
/// with what an id looks like.
async fn find(params: Result<Query<FindParams>, QueryRejection>) -> Response {
    let typed = params.map(|Query(params)| params.id).unwrap_or_default();
    let typed = typed.trim();
    // As people type ids: any case, with or without hyphens.
    match MessageId::parse_typed(typed) {
        Ok(id) => Redirect::to(&format!("/messages/{id}")).into_response(),
        Err(_) if typed.is_empty() => error_page(HttpError::bad_request(
            "type a message id to find, like 01936b2e-8a8f-7cc3-9f0e-2b1b6d3c4a5e",
        )),
        Err(_) => error_page(HttpError::bad_request(format!(
            "{typed:?} is not a message id: an id looks like 01936b2e-8a8f-7cc3-9f0e-2b1b6d3c4a5e (see a message's page or the API)"
        ))),
    }
}

async fn detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: Client,
    id: Result<IdInPath, HttpError>,
    params: Result<Query<DetailParams>, QueryRejection>,
) -> Response {
    // The credential before the message: a wrong one is answered alike
    // whatever the id.
    let looker = match Looker::of(&state, &headers, &client).await {
        Ok(looker) => looker,
        Err(refusal) => return error_page(refusal),
    };
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let badge = rooms::badge(&state).await;
    let answer = match message_at(&state, id).await {
        Ok(message) => render(
            &DetailPage {
                asset_version: asset_version(),
                timeline: timeline::lines(&message),
                max_history: messages::MAX_HISTORY,
                act: looker.actions(&message, &params),
                message,
                badge,
            },
            StatusCode::OK,
        ),
        Err(error) => error_page(error),
    };
    looker.answer(answer)
}

/// How long "Process until empty" goes on at most in one request: well
/// within the web's answer deadline. The page says when it stopped early.
#[cfg(feature = "dashboard")]
const UNTIL_EMPTY_FOR: std::time::Duration = std::time::Duration::from_secs(20);

#[cfg(feature = "dashboard")]
#[derive(Debug, Default, Deserialize)]
struct ProcessForm {
    /// `empty`: batch after batch until the queue gives nothing.
    until: Option<String>,
}

/// The "Process" and "Process until empty" buttons: one batch, or batches
/// until a receive finds nothing (or [`UNTIL_EMPTY_FOR`] has passed), then
/// back to the page with what happened.
#[cfg(feature = "dashboard")]
async fn process_batch(
    State(state): State<AppState>,
    client: Client,
    form: Result<Form<ProcessForm>, FormRejection>,
) -> Response {
    // A click costs one send, and each batch after the first one more: it
    // makes the worker do work, like a send.
    if let Err(error) = state.charge_sends(&client, 1) {
        return error_page(error);
    }
    let Some(worker) = &state.worker else {
        return error_page(HttpError::not_found(
            "no worker is configured: set WORKER_URL to use this button",
        ));
    };
    let until_empty = form
        .ok()
        .and_then(|Form(form)| form.until)
        .is_some_and(|until| until == "empty");
    let started = tokio::time::Instant::now();
    let (mut received, mut finished, mut retried) = (0, 0, 0);
    let result = loop {
        match worker.process_batch().await {
            Ok(report) => {
                received += report.received;
                finished += report.done;
                retried += report.retried;
                if !until_empty || report.received == 0 {
                    break Ok(false);
                }
                // Each further batch costs a send too; out of budget, stop
                // here and say there may be more, as when time runs out.
                if started.elapsed() >= UNTIL_EMPTY_FOR || state.charge_sends(&client, 1).is_err() {
                    break Ok(true);
                }
            }
            Err(error) => break Err(error),
        }
    };
    match result {
        Ok(stopped_early) => Redirect::to(&format!(
            "/?processed={received}&finished={finished}&retried={retried}{}",
            if stopped_early { "&more=1" } else { "" }
        ))
        .into_response(),
        Err(error) => {
            let mut page = page_again(&state, &client, Typed::default()).await;
            let error = HttpError::bad_gateway(format!(
                "Processing stopped after {}: {error}",
                plural::count(received, "message", "messages")
            ));
            page.error = Some(service::http::capitalised(error.public()));
            render_refusal(&page, error)
        }
    }
}

/// How many `slow` jobs each half of the group demonstration sends.
const DEMO_JOBS: u32 = 5;

/// The group demonstration: [`DEMO_JOBS`] `slow` jobs in one group, and as
/// many in a group each, sent at once. On a FIFO queue the first five finish
/// one after another, in order, and the others together; on a standard queue
/// all ten finish together, in no set order.
async fn demo_groups(State(state): State<AppState>, client: Client) -> Response {
    // A fresh name per click, so each demonstration is a list of its own.
    let run = &MessageId::new().to_string()[24..];
    let job = |text: String, group: String| {
        let body = MessageBody::parse(text).expect("a short ASCII sentence is a valid body");
        let group = MessageGroup::parse(&group).expect("demo- and hex digits make a valid group");
        Message::new(body, JobKind::Slow).in_group(Some(group))
    };
    // Ordered first: a burst is enqueued in the order planned.
    let planned: Vec<Message> = (1..=DEMO_JOBS)
        .map(|n| {
            job(
                format!("in order {n} of {DEMO_JOBS}"),
                format!("demo-{run}"),
            )
        })
        .chain((1..=DEMO_JOBS).map(|n| {
            job(
                format!("alone {n} of {DEMO_JOBS}"),
                format!("demo-{run}-{n}"),
            )
        }))
        .collect();
    // It costs what it sends, as a burst of that size would.
    let charged = u32::try_from(planned.len())
        .map_err(|_| HttpError::internal("the demonstration plans too many messages"))
        .and_then(|count| state.charge_sends(&client, count));
    let error = match charged {
        Err(error) => error,
        Ok(()) => match SendPlan::of(planned) {
            Ok(plan) => match send_once(&state.backends, plan).await {
                Ok(sent) => {
                    return Redirect::to(&format!("/?sent={}", sent.count())).into_response();
                }
                Err(error) => HttpError::from(error),
            },
            Err(nothing) => HttpError::from(nothing),
        },
    };
    let mut page = page_again(&state, &client, Typed::default()).await;
    page.error = Some(service::http::capitalised(error.public()));
    render_refusal(&page, error)
}
