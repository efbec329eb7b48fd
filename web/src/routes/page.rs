//! The browser page at `/`, rendered on the server so it works without
//! JavaScript: the send form posts to `/messages` and is redirected back
//! (post/redirect/get); a refused message re-renders the page with the error
//! beside the form and what was typed kept. `/static/app.js` then makes the
//! list live. `/messages/{id}` shows one message.

use askama::Template;
use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use messages::{ListQuery, Message, MessageBody, MessageId, Simulate, Status};
use serde::Deserialize;

use super::AppState;
use super::api::{ListParams, parse_simulate, whole_number};
use super::assets::asset_version;
use crate::error::ApiError;
use crate::send::send_messages;

/// How many messages a page shows.
const PAGE_SIZE: u32 = 25;
/// Counts above this show as "1000+": counting costs reads on DynamoDB.
pub const COUNT_CAP: u64 = 1000;
/// The most messages one send may make.
pub const MAX_BURST: u32 = 100;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/messages", post(send_form))
        .route("/messages/{id}", get(detail))
        .route("/process-batch", post(process_batch))
}

/// One choice in the form's `simulate` radio group.
struct Choice {
    value: &'static str,
    explanation: &'static str,
    selected: bool,
}

/// One status count at the top of the list.
struct Count {
    status: Status,
    shown: String,
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
    filter: Option<Status>,
    statuses: [Status; 3],
    counts: Vec<Count>,
    choices: Vec<Choice>,
    typed: String,
    count: u32,
    error: Option<String>,
    list_error: Option<String>,
    notice: Option<String>,
    /// Offer "process messages": the worker is known and waits for batches by hand.
    batch_button: bool,
}

#[derive(Template)]
#[template(path = "detail.html")]
struct DetailPage {
    asset_version: &'static str,
    message: Message,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    asset_version: &'static str,
    reason: String,
}

fn render(template: &impl Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot render a page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

/// What the form had, to show it again.
struct Typed {
    body: String,
    simulate: Simulate,
    count: u32,
}

impl Default for Typed {
    fn default() -> Self {
        Self {
            body: String::new(),
            simulate: Simulate::Ok,
            count: 1,
        }
    }
}

async fn page(state: &AppState, query: ListQuery, typed: Typed) -> IndexPage {
    let newest = MessageId::floor(messages::now());
    let mut page = IndexPage {
        asset_version: asset_version(),
        messages: Vec::new(),
        next_cursor: None,
        newest,
        filter: query.status,
        statuses: Status::ALL,
        counts: Vec::new(),
        choices: Simulate::ALL
            .into_iter()
            .map(|choice| Choice {
                value: choice.as_str(),
                explanation: choice.explanation(),
                selected: choice == typed.simulate,
            })
            .collect(),
        typed: typed.body,
        count: typed.count,
        error: None,
        list_error: None,
        notice: None,
        batch_button: false,
    };
    match state.backends.store.list(query).await {
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
    for status in Status::ALL {
        let shown = match state.backends.store.count(status, COUNT_CAP).await {
            Ok(count) if count >= COUNT_CAP => format!("{COUNT_CAP}+"),
            Ok(count) => count.to_string(),
            Err(_) => "?".to_owned(),
        };
        page.counts.push(Count { status, shown });
    }
    if let Some(worker) = &state.worker {
        page.batch_button = worker.accepts_batches().await;
    }
    page
}

#[derive(Debug, Default, Deserialize)]
struct IndexParams {
    #[serde(flatten)]
    list: ListParams,
    sent: Option<String>,
    /// After "Process messages": received, finished and retried counts. Only
    /// numbers travel in the URL, so a link cannot put words on the page.
    processed: Option<u32>,
    finished: Option<u32>,
    retried: Option<u32>,
}

async fn index(
    State(state): State<AppState>,
    params: Result<Query<IndexParams>, QueryRejection>,
) -> Response {
    let Query(params) = params.unwrap_or_default();
    let (query, list_problem) = match params.list.parse() {
        Ok(query) => (
            ListQuery {
                limit: PAGE_SIZE,
                ..query
            },
            None,
        ),
        Err(error) => (
            ListQuery {
                status: None,
                limit: PAGE_SIZE,
                cursor: None,
            },
            Some(error.to_string()),
        ),
    };
    let mut page = page(&state, query, Typed::default()).await;
    page.list_error = list_problem.or(page.list_error);
    page.notice = match (params.sent.as_deref(), params.processed) {
        (Some("1"), _) => Some("Message sent: watch it below.".to_owned()),
        (Some(count), _) => Some(format!(
            "{} messages sent: watch them below.",
            count.parse::<u32>().unwrap_or_default()
        )),
        (None, Some(0)) => Some("The queue was empty: nothing to process.".to_owned()),
        (None, Some(received)) => Some(format!(
            "Processed {received} message(s): {} finished, {} will be retried.",
            params.finished.unwrap_or_default(),
            params.retried.unwrap_or_default()
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
}

/// Reads the burst size: 1 to [`MAX_BURST`].
pub fn parse_count(text: Option<&str>) -> Result<u32, ApiError> {
    match text.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(1),
        Some(text) => whole_number(text, MAX_BURST, "how many to send").map_err(ApiError::Invalid),
    }
}

/// The bodies of a burst: the text itself, numbered when there are several.
pub fn burst(body: &str, count: u32) -> Result<Vec<MessageBody>, ApiError> {
    let parse = |text: String| {
        MessageBody::parse(text).map_err(|error| ApiError::Invalid(error.to_string()))
    };
    if count <= 1 {
        return Ok(vec![parse(body.to_owned())?]);
    }
    parse(body.to_owned())?; // the plain text's own error comes first
    (1..=count).map(|n| parse(format!("{body} #{n}"))).collect()
}

async fn send_form(
    State(state): State<AppState>,
    form: Result<Form<SendForm>, FormRejection>,
) -> Response {
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) => return ApiError::BadRequest(rejection.body_text()).into_response(),
    };
    let result = async {
        let simulate = parse_simulate(form.simulate.as_deref())?;
        let count = parse_count(form.count.as_deref())?;
        let bodies = burst(&form.body, count)?;
        send_messages(&state.backends, bodies, simulate).await
    }
    .await;
    match result {
        Ok(sent) => Redirect::to(&format!("/?sent={}", sent.len())).into_response(),
        Err(error) => {
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
                body: form.body,
            };
            let query = ListQuery {
                status: None,
                limit: PAGE_SIZE,
                cursor: None,
            };
            let mut page = page(&state, query, typed).await;
            let status = error.status();
            page.error = Some(error.to_string());
            render(&page, status)
        }
    }
}

async fn detail(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let not_found = |reason: String| {
        render(
            &NotFoundPage {
                asset_version: asset_version(),
                reason,
            },
            StatusCode::NOT_FOUND,
        )
    };
    let Ok(id) = MessageId::parse(&id) else {
        return not_found("That is not a message id.".to_owned());
    };
    match state.backends.store.get(id).await {
        Ok(Some(message)) => render(
            &DetailPage {
                asset_version: asset_version(),
                message,
            },
            StatusCode::OK,
        ),
        Ok(None) => not_found(format!("No message has id {id}.")),
        Err(source) => ApiError::Unavailable {
            public:
                "the message cannot be read: the status store is unavailable. Reload in a moment"
                    .to_owned(),
            source,
        }
        .into_response(),
    }
}

/// The "process messages" button: one batch, then back to the page with what happened.
async fn process_batch(State(state): State<AppState>) -> Response {
    let Some(worker) = &state.worker else {
        return ApiError::NotFound(
            "no worker is configured: set WORKER_URL to use this button".to_owned(),
        )
        .into_response();
    };
    match worker.process_batch().await {
        Ok(report) => Redirect::to(&format!(
            "/?processed={}&finished={}&retried={}",
            report.received, report.done, report.retried
        ))
        .into_response(),
        Err(error) => {
            let query = ListQuery {
                status: None,
                limit: PAGE_SIZE,
                cursor: None,
            };
            let mut page = page(&state, query, Typed::default()).await;
            page.error = Some(format!("Nothing was processed: {error}"));
            render(&page, StatusCode::BAD_GATEWAY)
        }
    }
}
