//! The browser page at `/`: a send form and the latest messages, rendered on
//! the server, so it works without JavaScript. The form posts to `/messages`
//! and is redirected back (post/redirect/get); a refused message re-renders the
//! page with the error beside the form and what was typed kept.

use askama::Template;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use messages::{ListQuery, Message, MessageBody, Simulate, Status};
use serde::Deserialize;

use super::AppState;
use super::api::{ListParams, parse_simulate};
use crate::error::ApiError;
use crate::send::send_message;

/// How many messages the page shows.
const PAGE_SIZE: u32 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/messages", post(send_form))
        .route("/process-batch", post(process_batch))
}

/// One choice in the form's `simulate` select.
struct Choice {
    value: &'static str,
    explanation: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    messages: Vec<Message>,
    filter: Option<Status>,
    choices: Vec<Choice>,
    typed: String,
    error: Option<String>,
    notice: Option<String>,
    /// Offer "process messages": the worker is known and waits for batches by hand.
    batch_button: bool,
}

impl IndexPage {
    fn new(
        messages: Vec<Message>,
        filter: Option<Status>,
        typed: String,
        simulate: Simulate,
    ) -> Self {
        Self {
            messages,
            filter,
            choices: Simulate::ALL
                .into_iter()
                .map(|choice| Choice {
                    value: choice.as_str(),
                    explanation: choice.explanation(),
                    selected: choice == simulate,
                })
                .collect(),
            typed,
            error: None,
            notice: None,
            batch_button: false,
        }
    }

    fn render_with(self, status: StatusCode) -> Response {
        match self.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(error) => {
                tracing::error!(%error, "cannot render the page");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the page could not be rendered",
                )
                    .into_response()
            }
        }
    }
}

async fn recent(state: &AppState, filter: Option<Status>) -> Result<Vec<Message>, ApiError> {
    let query = ListQuery {
        status: filter,
        limit: PAGE_SIZE,
        cursor: None,
    };
    let page = state
        .backends
        .store
        .list(query)
        .await
        .map_err(|source| ApiError::Unavailable {
            public:
                "messages cannot be listed: the status store is unavailable. Reload in a moment"
                    .to_owned(),
            source,
        })?;
    Ok(page.items)
}

#[derive(Debug, Default, Deserialize)]
struct IndexParams {
    #[serde(flatten)]
    list: ListParams,
    sent: Option<String>,
    processed: Option<String>,
}

async fn index(
    State(state): State<AppState>,
    params: Result<Query<IndexParams>, QueryRejection>,
) -> Response {
    let Query(params) = params.unwrap_or_default();
    let filter = params.list.parse().ok().and_then(|query| query.status);
    let mut page = IndexPage::new(Vec::new(), filter, String::new(), Simulate::Ok);
    match recent(&state, filter).await {
        Ok(messages) => page.messages = messages,
        Err(error) => page.error = Some(error.to_string()),
    }
    page.notice = params
        .sent
        .map(|id| format!("Message {id} sent."))
        .or(params.processed);
    page.batch_button = batch_button(&state).await;
    page.render_with(StatusCode::OK)
}

#[derive(Debug, Deserialize)]
struct SendForm {
    #[serde(default)]
    body: String,
    simulate: Option<String>,
}

async fn send_form(
    State(state): State<AppState>,
    form: Result<Form<SendForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) => {
            return ApiError::BadRequest(rejection.body_text()).into_response();
        }
    };
    let simulate = parse_simulate(form.simulate.as_deref());
    let result = match (MessageBody::parse(form.body.clone()), simulate) {
        (Ok(body), Ok(simulate)) => send_message(&state.backends, body, simulate).await,
        (Err(error), _) => Err(ApiError::Invalid(error.to_string())),
        (_, Err(error)) => Err(error),
    };
    match result {
        Ok(message) => Redirect::to(&format!("/?sent={}", message.id)).into_response(),
        Err(error) => {
            let simulate = form
                .simulate
                .as_deref()
                .and_then(|text| text.parse().ok())
                .unwrap_or_default();
            let mut page = IndexPage::new(Vec::new(), None, form.body, simulate);
            page.messages = recent(&state, None).await.unwrap_or_default();
            let status = error.status();
            page.error = Some(error.to_string());
            page.render_with(status)
        }
    }
}

async fn batch_button(state: &AppState) -> bool {
    match &state.worker {
        Some(worker) => worker.accepts_batches().await,
        None => false,
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
    let text = match worker.process_batch().await {
        Ok(report) if report.received == 0 => "The queue was empty: nothing to process.".to_owned(),
        Ok(report) => format!(
            "Processed {} message(s): {} finished, {} will be retried.",
            report.received, report.done, report.retried
        ),
        Err(error) => format!("Nothing was processed: {error}"),
    };
    let query = [("processed", text)];
    let encoded = serde_urlencoded_query(&query);
    Redirect::to(&format!("/?{encoded}")).into_response()
}

/// `application/x-www-form-urlencoded` for a redirect's query string.
fn serde_urlencoded_query(pairs: &[(&str, String)]) -> String {
    let mut url = reqwest::Url::parse("http://localhost/").expect("a constant URL parses");
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or_default().to_owned()
}
