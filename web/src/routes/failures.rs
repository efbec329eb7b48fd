//! The operator's page, `/dead-letters`: the pipeline strip, what the
//! dead-letter queue holds beside each message's record, the failed messages,
//! and the actions on them (retry, delete, redrive), each behind the operator
//! credential (`access.rs`), checked before anything else is read, and, when
//! it destroys or touches many, a confirmation page; and signing in and out.
//! No answer here is stored by a cache. Everything works without JavaScript.

use askama::Template;
use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use messages::{JobPayload, ListQuery, Message, MessageId, Status};
use serde::Deserialize;
use service::http::HttpError;
use tower_http::set_header::SetResponseHeaderLayer;

use super::AppState;
use crate::assets::asset_version;
use crate::client::Client;
use crate::error::form_rejection;
use crate::html::{error_page, render, render_refusal};
use crate::operate::{self, Action, BulkReport};
use crate::redrive::{REDRIVE_PER_SECOND, RedriveProgress};
use crate::strip::Strip;

/// How many dead letters and failed messages the page shows.
const SHOWN_MAX: u32 = crate::snapshot::DEAD_LETTERS_SHOWN;

/// How much of a body the dead-letter table shows.
const TEXT_CHARS: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dead-letters", get(failures))
        .route("/dead-letters/redrive", post(redrive))
        .route("/messages/act", post(act))
        .route("/operator/sign-in", post(sign_in))
        .route("/operator/sign-out", post(sign_out))
        // What an operator sees, and every answer to a credential, is theirs alone.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// One message of the dead-letter queue, beside its record.
struct DeadRow {
    message_id: String,
    receive_count: u32,
    /// The message its job is for, when the body is one of this app's jobs.
    job: Option<MessageId>,
    /// That message's record, if it has one.
    record: Option<Message>,
    /// The job's text, or the body's start when it is not a job.
    text: String,
}

#[derive(Template)]
#[template(path = "dead_letters.html")]
struct FailuresPage {
    asset_version: &'static str,
    strip: Strip,
    operator_enabled: bool,
    /// No sign-in form over plain HTTP under `REQUIRE_HTTPS`: a link to HTTPS.
    https_first: bool,
    signed_in: bool,
    can_act: bool,
    back: String,
    notice: Option<String>,
    error: Option<String>,
    has_dead_letters: bool,
    dead_letters: Vec<DeadRow>,
    dead_letters_error: Option<String>,
    redrive: Option<RedriveProgress>,
    redrive_rate: u32,
    shown_max: u32,
    failed: Vec<Message>,
    failed_next: Option<MessageId>,
    failed_error: Option<String>,
}

/// Where a refused sign-in lands: the form again, with why, and nothing read
/// from the backends (a wrong guess costs no backend read).
#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    asset_version: &'static str,
    operator_enabled: bool,
    /// No sign-in form over plain HTTP under `REQUIRE_HTTPS`: a link to HTTPS.
    https_first: bool,
    signed_in: bool,
    back: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    asset_version: &'static str,
    question: String,
    explanation: String,
    items: Vec<String>,
    action: &'static str,
    fields: Vec<(&'static str, String)>,
    confirm_label: &'static str,
    cancel: String,
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(TEXT_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

async fn dead_rows(state: &AppState) -> Result<(bool, Vec<DeadRow>), String> {
    let unavailable = |error: messages::BackendError| {
        tracing::warn!(error = %error.chain(), "cannot read the dead-letter queue");
        "The dead-letter queue cannot be read right now. Reload in a moment.".to_owned()
    };
    // The shared look of this instance: a page anyone may load must not
    // make SQS receives per view (`snapshot.rs`).
    let Some(peeked) = state.pipeline.dead_letters().await.map_err(unavailable)? else {
        return Ok((false, Vec::new()));
    };
    let jobs: Vec<Option<JobPayload>> = peeked
        .iter()
        .map(|dead| JobPayload::from_json(dead.body.as_bytes()).ok())
        .collect();
    let ids: Vec<MessageId> = jobs.iter().flatten().map(|job| job.id).collect();
    // Without the records the rows still show; each says "no record".
    let records = state
        .backends
        .store
        .get_many(&ids)
        .await
        .inspect_err(
            |error| tracing::warn!(error = %error.chain(), "cannot read dead letters' records"),
        )
        .unwrap_or_default();
    let rows = peeked
        .into_iter()
        .zip(jobs)
        .map(|(dead, job)| DeadRow {
            record: job
                .as_ref()
                .and_then(|job| records.iter().find(|record| record.id == job.id).cloned()),
            job: job.as_ref().map(|job| job.id),
            text: shorten(
                job.as_ref()
                    .map_or(dead.body.as_str(), |job| job.body.as_str()),
            ),
            message_id: dead.message_id,
            receive_count: dead.receive_count,
        })
        .collect();
    Ok((true, rows))
}

/// The page, for a viewer who is `signed_in` or not (its credential checked
/// already: this reads the backends).
async fn page(state: &AppState, signed_in: bool) -> FailuresPage {
    let pipeline = state.pipeline.pipeline().await;
    let mut page = FailuresPage {
        asset_version: asset_version(),
        strip: Strip::from(&pipeline),
        operator_enabled: state.operator.enabled(),
        https_first: false,
        signed_in,
        can_act: signed_in,
        back: "/dead-letters".to_owned(),
        notice: None,
        error: None,
        has_dead_letters: true,
        dead_letters: Vec::new(),
        dead_letters_error: None,
        redrive: state.redrive.progress(),
        redrive_rate: REDRIVE_PER_SECOND,
        shown_max: SHOWN_MAX,
        failed: Vec::new(),
        failed_next: None,
        failed_error: None,
    };
    match dead_rows(state).await {
        Ok((has, rows)) => {
            page.has_dead_letters = has;
            page.dead_letters = rows;
        }
        Err(error) => page.dead_letters_error = Some(error),
    }
    let failed = ListQuery {
        status: Some(Status::Fail),
        group: None,
        limit: SHOWN_MAX,
        cursor: None,
    };
    match state.backends.store.list(failed).await {
        Ok(listed) => {
            page.failed = listed.items;
            page.failed_next = listed.next_cursor;
        }
        Err(error) => {
            tracing::warn!(error = %error.chain(), "cannot list failed messages");
            page.failed_error =
                Some("Failed messages cannot be listed: the status store is unavailable. Reload in a moment.".to_owned());
        }
    }
    page
}

/// Numbers only travel in the URL, so a link cannot put words on the page.
#[derive(Debug, Default, Deserialize)]
struct Done {
    retried: Option<u32>,
    deleted: Option<u32>,
    redrive: Option<u64>,
    signed_in: Option<u8>,
}

fn notice(done: &Done) -> Option<String> {
    if let Some(count) = done.retried {
        Some(format!(
            "Retried {count}: each is pending again, with a new job on the queue."
        ))
    } else if let Some(count) = done.deleted {
        Some(format!("Deleted {count}."))
    } else if let Some(target) = done.redrive {
        Some(format!(
            "Redrive started: up to {target} messages go back to the queue, at most {REDRIVE_PER_SECOND} a second."
        ))
    } else {
        done.signed_in
            .map(|_| "Signed in as the operator.".to_owned())
    }
}

async fn failures(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: Client,
    done: Result<Query<Done>, QueryRejection>,
) -> Response {
    let viewer = match state.operator.viewer(&headers, &client).await {
        Ok(viewer) => viewer,
        Err(refusal) => return error_page(refusal),
    };
    let mut done = done.map(|Query(done)| done).unwrap_or_default();
    // "Signed in" only while it is true: the link outlives the session.
    done.signed_in = done.signed_in.filter(|_| viewer.signed_in);
    let mut page = page(&state, viewer.signed_in).await;
    page.https_first = state.operator.https_first(&client);
    page.notice = notice(&done);
    viewer.answer(render(&page, StatusCode::OK))
}

/// Where a form may send the browser back to: the failures page or one
/// message's page, nowhere else (no open redirect).
fn back_to(text: Option<&str>) -> String {
    match text.and_then(|text| text.strip_prefix("/messages/")) {
        Some(id) if MessageId::parse(id).is_ok() => format!("/messages/{id}"),
        _ => "/dead-letters".to_owned(),
    }
}

#[derive(Debug, Deserialize)]
struct SignIn {
    #[serde(default)]
    token: String,
    back: Option<String>,
}

/// `POST /operator/sign-in`: a right token starts a session of this browser's
/// own; a wrong one, checked in memory, answers the form again.
async fn sign_in(
    State(state): State<AppState>,
    client: Client,
    form: Result<Form<SignIn>, FormRejection>,
) -> Response {
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) => return error_page(form_rejection(rejection)),
    };
    let back = back_to(form.back.as_deref());
    match state.operator.sign_in(&form.token, &client).await {
        Ok(cookie) => {
            let separator = if back.contains('?') { '&' } else { '?' };
            (
                CookieJar::new().add(cookie),
                Redirect::to(&format!("{back}{separator}signed_in=1")),
            )
                .into_response()
        }
        // Wrong, or over the budget of guesses: the form again, and why.
        Err(refusal)
            if matches!(
                refusal.status(),
                StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
            ) =>
        {
            let page = SignInPage {
                asset_version: asset_version(),
                operator_enabled: true,
                https_first: state.operator.https_first(&client),
                signed_in: false,
                back,
                error: Some(refusal.public().to_owned()),
            };
            render_refusal(&page, refusal)
        }
        Err(refusal) => error_page(refusal),
    }
}

/// `POST /operator/sign-out`: ends this browser's session on the server, so
/// a copy of its cookie signs nobody in afterwards, and forgets the cookie.
async fn sign_out(State(state): State<AppState>, headers: HeaderMap, client: Client) -> Response {
    let forget = CookieJar::new().add(crate::session::sign_out_cookie());
    match state.operator.sign_out(&headers, &client).await {
        Ok(()) => (forget, Redirect::to("/dead-letters")).into_response(),
        Err(error) => (forget, error_page(error)).into_response(),
    }
}

/// A form's fields in order, repeated names kept (several `id`s).
type Fields = Vec<(String, String)>;

fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// A form of an action from someone who may act, read; otherwise why not
/// (and nothing is done). The credential first: whatever the form holds, a
/// wrong one gets the same answer.
async fn operator_form(
    state: &AppState,
    headers: &HeaderMap,
    client: &Client,
    form: Result<Form<Fields>, FormRejection>,
) -> Result<Fields, HttpError> {
    state.operator.check(headers, client).await?;
    let Form(fields) = form.map_err(form_rejection)?;
    Ok(fields)
}

fn confirmed(fields: &Fields) -> bool {
    field(fields, "confirmed") == Some("yes")
}

/// `POST /messages/act`: `action` (retry or delete), one or more `id`, and
/// `back`. A delete, or an action on several, asks for confirmation first.
async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: Client,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let fields = match operator_form(&state, &headers, &client, form).await {
        Ok(fields) => fields,
        Err(refusal) => return error_page(refusal),
    };
    let parsed = field(&fields, "action")
        .ok_or_else(|| HttpError::bad_request("no action was chosen: use Retry or Delete"))
        .and_then(str::parse::<Action>)
        .and_then(|action| {
            let ids = fields
                .iter()
                .filter(|(key, _)| key == "id")
                .map(|(_, value)| value.as_str());
            operate::parse_ids(ids).map(|ids| (action, ids))
        });
    let (action, ids) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return error_page(error),
    };
    let back = back_to(field(&fields, "back"));
    if (action == Action::Delete || ids.len() > 1) && !confirmed(&fields) {
        let (question, explanation, label) = match action {
            Action::Delete => (
                format!("Delete {} failed message(s)?", ids.len()),
                "Their records are removed for good: they leave the list and the counts, and their pages are gone.",
                "Delete them",
            ),
            Action::Retry => (
                format!("Retry {} failed messages?", ids.len()),
                "Each goes back to pending with a new job on the queue; its attempts are kept and the retry is counted.",
                "Retry them",
            ),
        };
        let mut carried: Vec<(&'static str, String)> = vec![
            (
                "action",
                field(&fields, "action").unwrap_or_default().to_owned(),
            ),
            ("back", back.clone()),
        ];
        carried.extend(ids.iter().map(|id| ("id", id.to_string())));
        return render(
            &ConfirmPage {
                asset_version: asset_version(),
                question,
                explanation: explanation.to_owned(),
                items: ids.iter().map(ToString::to_string).collect(),
                action: "/messages/act",
                fields: carried,
                confirm_label: label,
                cancel: back,
            },
            StatusCode::OK,
        );
    }
    if let [id] = ids[..] {
        // One message: a refusal answers with its own status and sentence.
        let done = match action {
            Action::Retry => operate::retry(&state.backends, id).await.map(|_| ()),
            Action::Delete => operate::delete(&state.backends, id).await,
        };
        if let Err(error) = done {
            return error_page(error);
        }
        let report = BulkReport {
            done: 1,
            refused: Vec::new(),
        };
        return after_bulk(&state, action, &back, report).await;
    }
    let report = operate::bulk(&state.backends, action, &ids).await;
    after_bulk(&state, action, &back, report).await
}

/// Where an action by a signed-in operator lands.
async fn after_bulk(state: &AppState, action: Action, back: &str, report: BulkReport) -> Response {
    let word = match action {
        Action::Retry => "retried",
        Action::Delete => "deleted",
    };
    match report.refused.first() {
        None => {
            // A deleted message has no page to go back to.
            let back = if action == Action::Delete {
                "/dead-letters"
            } else {
                back
            };
            let separator = if back.contains('?') { '&' } else { '?' };
            Redirect::to(&format!("{back}{separator}{word}={}", report.done)).into_response()
        }
        Some(first) => {
            let mut page = page(state, true).await;
            page.notice =
                (report.done > 0).then(|| format!("{} {}.", capitalised(word), report.done));
            page.error = Some(format!(
                "{} could not be {word}; the first: {first}",
                report.refused.len()
            ));
            render(&page, StatusCode::OK)
        }
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `POST /dead-letters/redrive`: after confirmation, starts moving the
/// dead-letter queue back to the work queue in the background.
async fn redrive(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: Client,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let fields = match operator_form(&state, &headers, &client, form).await {
        Ok(fields) => fields,
        Err(refusal) => return error_page(refusal),
    };
    let (dead_letters, depth) = match operate::dead_letters_to_redrive(&state.backends).await {
        Ok(found) => found,
        Err(error) => return error_page(error),
    };
    if !confirmed(&fields) {
        return render(
            &ConfirmPage {
                asset_version: asset_version(),
                question: format!("Redrive about {depth} message(s) to the queue?"),
                explanation: format!(
                    "Each goes back to the work queue, at most {REDRIVE_PER_SECOND} a second, and is delivered to the worker again. A job whose message is already final is acknowledged and dropped; a pending one runs again."
                ),
                items: Vec::new(),
                action: "/dead-letters/redrive",
                fields: Vec::new(),
                confirm_label: "Redrive them",
                cancel: "/dead-letters".to_owned(),
            },
            StatusCode::OK,
        );
    }
    match state.redrive.start(dead_letters, depth) {
        Ok(progress) => {
            Redirect::to(&format!("/dead-letters?redrive={}", progress.target)).into_response()
        }
        Err(busy) => error_page(HttpError::conflict(busy)),
    }
}
