//! The operator's page, `/dead-letters`: the pipeline strip, what the
//! dead-letter queue holds beside each message's record, the failed messages,
//! and the actions on them (retry, delete, redrive), each behind the operator
//! credential (`access.rs`), checked before anything else is read, and, when
//! it destroys or touches many, a confirmation page; and signing in and out.
//! No answer here is stored by a cache. Everything works without JavaScript;
//! `static/failures.js`, loaded by this page only, adds choosing every
//! message or a range, the count of those chosen, and the background run's
//! progress, live.
//!
//! The failed messages come in pages of [`SHOWN_MAX`], newest first, each
//! page at `/dead-letters?cursor=<the last id of the one before>`, with the
//! actions on every page. "Retry all failed" and "Delete all failed" run in
//! the background (`all_failed.rs`). The errors of the page's messages are
//! grouped by their text above the list (`error_groups.rs`).
//!
//! Times on this page are in one format, UTC to the second
//! ([`TIME_FORMAT`]): an operator matches them against logs, which are in UTC.

use askama::Template;
use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use chrono::{DateTime, SecondsFormat, Utc};
use messages::{JobPayload, ListQuery, Message, MessageId, Status};
use serde::Deserialize;
use service::http::{HttpError, capitalised};
use tower_http::set_header::SetResponseHeaderLayer;

use super::AppState;
use super::acting::Acting;
use crate::dashboard::strip::Strip;
use crate::edge::assets::asset_version;
use crate::edge::client::Client;
use crate::operator::actions::{self, Action, BulkReport};
use crate::operator::all_failed::{ALL_FAILED_PER_SECOND, AllFailedProgress, action_name, busy};
use crate::operator::error_groups::{ErrorGroup, group_errors};
use crate::operator::redrive::{REDRIVE_PER_SECOND, RedriveProgress};
use crate::routes::error::{form_rejection, repeated_form_rejection, store_unavailable};
use crate::routes::html::{error_page, render, render_refusal};
use crate::routes::input::parse_ids;
use crate::routes::rooms;
use crate::views::badge::Badge;
use crate::views::plural;

/// How many dead letters and failed messages the page shows.
const SHOWN_MAX: u32 = crate::dashboard::snapshot::DEAD_LETTERS_SHOWN;

/// How much of a body the dead-letter table shows.
const TEXT_CHARS: usize = 200;

/// The one format of times on this page: UTC, to the second.
const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S UTC";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dead-letters", get(failures))
        .route("/dead-letters/redrive", post(redrive))
        .route("/dead-letters/all", post(all_failed))
        .route("/dead-letters/progress", get(progress))
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

/// One failed message as the list shows it.
struct FailedRow {
    message: Message,
    /// When it became `fail`: its record's last change (a failed message
    /// changes no more), in [`TIME_FORMAT`].
    failed_at: String,
    /// The same, for `<time datetime>`.
    failed_at_iso: String,
}

impl FailedRow {
    fn new(message: Message) -> Self {
        let at: DateTime<Utc> = message.updated_at;
        Self {
            failed_at: at.format(TIME_FORMAT).to_string(),
            failed_at_iso: at.to_rfc3339_opts(SecondsFormat::Millis, true),
            message,
        }
    }
}

#[derive(Template)]
#[template(path = "operator/dead_letters.html")]
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
    /// The dead-letter queue's depth from the strip's snapshot when the
    /// table's own look saw none of them, so the page does not say "empty"
    /// beside a strip that counts some.
    dead_letters_unseen: Option<u64>,
    redrive: Option<RedriveProgress>,
    redrive_rate: u32,
    shown_max: u32,
    failed: Vec<FailedRow>,
    /// Where this page of failed messages starts; none on the first.
    failed_cursor: Option<MessageId>,
    failed_next: Option<MessageId>,
    failed_error: Option<String>,
    /// Failed messages in all, from the strip's snapshot (a few seconds old).
    failed_total: Option<u64>,
    /// The errors of the messages on this page, by text.
    error_groups: Vec<ErrorGroup>,
    /// This instance's last run of "retry all" or "delete all".
    all_failed: Option<AllFailedProgress>,
    all_failed_rate: u32,
    badge: Option<Badge>,
}

/// Where a refused sign-in lands: the form again, with why, and nothing read
/// from the backends (a wrong guess costs no backend read).
#[derive(Template)]
#[template(path = "operator/sign_in.html")]
struct SignInPage {
    asset_version: &'static str,
    operator_enabled: bool,
    /// No sign-in form over plain HTTP under `REQUIRE_HTTPS`: a link to HTTPS.
    https_first: bool,
    signed_in: bool,
    back: String,
    error: Option<String>,
    badge: Option<Badge>,
}

#[derive(Template)]
#[template(path = "operator/confirm.html")]
struct ConfirmPage {
    asset_version: &'static str,
    question: String,
    explanation: String,
    items: Vec<String>,
    action: &'static str,
    fields: Vec<(&'static str, String)>,
    confirm_label: &'static str,
    /// Whether confirming destroys something (a red button).
    danger: bool,
    cancel: String,
    badge: Option<Badge>,
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

/// The failures page's own address, on the page of failed messages that
/// starts after `cursor`.
fn failures_url(cursor: Option<MessageId>) -> String {
    match cursor {
        Some(cursor) => format!("/dead-letters?cursor={cursor}"),
        None => "/dead-letters".to_owned(),
    }
}

/// The page, for a viewer who is `signed_in` or not (its credential checked
/// already: this reads the backends), its failed messages from after `cursor`.
async fn page(state: &AppState, signed_in: bool, cursor: Option<MessageId>) -> FailuresPage {
    let pipeline = state.pipeline.pipeline().await;
    let mut page = FailuresPage {
        asset_version: asset_version(),
        strip: Strip::from(&pipeline),
        operator_enabled: state.operator.enabled(),
        https_first: false,
        signed_in,
        can_act: signed_in,
        back: failures_url(cursor),
        notice: None,
        error: None,
        has_dead_letters: true,
        dead_letters: Vec::new(),
        dead_letters_error: None,
        dead_letters_unseen: None,
        redrive: state.redrive.progress(),
        redrive_rate: REDRIVE_PER_SECOND,
        shown_max: SHOWN_MAX,
        failed: Vec::new(),
        failed_cursor: cursor,
        failed_next: None,
        failed_error: None,
        failed_total: pipeline
            .counts
            .as_ref()
            .and_then(|counts| counts.get("fail").copied()),
        error_groups: Vec::new(),
        all_failed: state.all_failed.progress(),
        all_failed_rate: ALL_FAILED_PER_SECOND,
        badge: Some(Badge::from(&pipeline)),
    };
    match dead_rows(state).await {
        Ok((has, rows)) => {
            page.has_dead_letters = has;
            if rows.is_empty() {
                page.dead_letters_unseen = pipeline.dead_letters.filter(|depth| *depth > 0);
            }
            page.dead_letters = rows;
        }
        Err(error) => page.dead_letters_error = Some(error),
    }
    let failed = ListQuery {
        status: Some(Status::Fail),
        group: None,
        limit: SHOWN_MAX,
        cursor,
    };
    match state.backends.store.list(failed).await {
        Ok(listed) => {
            page.error_groups = group_errors(&listed.items);
            page.failed = listed.items.into_iter().map(FailedRow::new).collect();
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
        Some(if count == 1 {
            "Retried 1, with a new job on the queue.".to_owned()
        } else {
            format!("Retried {count}, each with a new job on the queue.")
        })
    } else if let Some(count) = done.deleted {
        Some(format!("Deleted {count}."))
    } else if let Some(depth) = done.redrive {
        // "About": the depth the confirmation showed (SQS's is approximate).
        Some(format!(
            "Redrive started: about {depth} {} back to the queue, at most {REDRIVE_PER_SECOND} a second.",
            if depth == 1 {
                "message goes"
            } else {
                "messages go"
            }
        ))
    } else {
        // The operator box below says who is signed in; this says what it lasts.
        done.signed_in.map(|_| {
            "Signed in: until you sign out, after 30 minutes unused, or after 12 hours.".to_owned()
        })
    }
}

/// Which page of failed messages: after `cursor`, or the first.
#[derive(Debug, Default, Deserialize)]
struct Paging {
    cursor: Option<String>,
}

/// The cursor of a page of failed messages, read; a wrong one says where
/// good ones come from.
fn paging_cursor(
    paging: Result<Query<Paging>, QueryRejection>,
) -> Result<Option<MessageId>, HttpError> {
    let Query(paging) =
        paging.map_err(|rejection| HttpError::bad_request(rejection.body_text()))?;
    paging
        .cursor
        .filter(|text| !text.is_empty())
        .map(|text| {
            MessageId::parse(text.trim()).map_err(|_| {
                HttpError::bad_request(format!(
                    "{text:?} is not a message id: a page of failed messages starts after one; follow the page's \"Older failed messages\" link"
                ))
            })
        })
        .transpose()
}

async fn failures(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: Client,
    done: Result<Query<Done>, QueryRejection>,
    paging: Result<Query<Paging>, QueryRejection>,
) -> Response {
    let viewer = match state.operator.viewer(&headers, &client).await {
        Ok(viewer) => viewer,
        Err(refusal) => return error_page(refusal),
    };
    let cursor = match paging_cursor(paging) {
        Ok(cursor) => cursor,
        Err(error) => return viewer.answer(error_page(error)),
    };
    let mut done = done.map(|Query(done)| done).unwrap_or_default();
    // "Signed in" only while it is true: the link outlives the session.
    done.signed_in = done.signed_in.filter(|_| viewer.signed_in);
    let mut page = page(&state, viewer.signed_in, cursor).await;
    page.https_first = state.operator.https_first(&client);
    page.notice = notice(&done);
    viewer.answer(render(&page, StatusCode::OK))
}

/// Where a form may send the browser back to: a page of the failures page
/// or one message's page, nowhere else (no open redirect).
fn back_to(text: Option<&str>) -> String {
    let text = text.unwrap_or_default();
    if let Some(id) = text.strip_prefix("/messages/")
        && let Ok(id) = MessageId::parse(id)
    {
        return format!("/messages/{id}");
    }
    let cursor = text
        .strip_prefix("/dead-letters?cursor=")
        .and_then(|id| MessageId::parse(id).ok());
    failures_url(cursor)
}

/// The page of failed messages `back` (from [`back_to`]) is on, if it is one.
fn cursor_of(back: &str) -> Option<MessageId> {
    back.strip_prefix("/dead-letters?cursor=")
        .and_then(|id| MessageId::parse(id).ok())
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
                badge: rooms::last_badge(),
            };
            render_refusal(&page, refusal)
        }
        Err(refusal) => error_page(refusal),
    }
}

/// `POST /operator/sign-out`: ends this browser's session on the server, so
/// a copy of its cookie signs nobody in afterwards, and forgets the cookie.
async fn sign_out(State(state): State<AppState>, headers: HeaderMap, client: Client) -> Response {
    let forget = CookieJar::new().add(crate::operator::session::sign_out_cookie());
    match state.operator.sign_out(&headers, &client).await {
        Ok(()) => (forget, Redirect::to("/dead-letters")).into_response(),
        Err(error) => (forget, error_page(error)).into_response(),
    }
}

/// What an operator's action form may carry: `id` repeated, one per message
/// ticked (read by `axum_extra`'s `Form`, which keeps repeated fields).
#[derive(Debug, Default, Deserialize)]
struct Fields {
    action: Option<String>,
    #[serde(default)]
    id: Vec<String>,
    back: Option<String>,
    confirmed: Option<String>,
}

impl Fields {
    /// Whether the confirmation page's button sent it.
    fn confirmed(&self) -> bool {
        self.confirmed.as_deref() == Some("yes")
    }
}

/// The form of an action, repeated fields kept.
type ActionForm = Result<axum_extra::extract::Form<Fields>, axum_extra::extract::FormRejection>;

/// A form of an action from someone who may act, read; otherwise why not
/// (and nothing is done). The credential first: whatever the form holds, a
/// wrong one gets the same answer.
fn operator_form(acting: Result<Acting, HttpError>, form: ActionForm) -> Result<Fields, HttpError> {
    acting?;
    let axum_extra::extract::Form(fields) = form.map_err(repeated_form_rejection)?;
    Ok(fields)
}

/// `POST /messages/act`: `action` (retry or delete), one or more `id`, and
/// `back`. A delete, or an action on several, asks for confirmation first.
async fn act(
    State(state): State<AppState>,
    acting: Result<Acting, HttpError>,
    form: ActionForm,
) -> Response {
    let fields = match operator_form(acting, form) {
        Ok(fields) => fields,
        Err(refusal) => return error_page(refusal),
    };
    let back = back_to(fields.back.as_deref());
    let chosen = fields.id.iter().any(|id| !id.trim().is_empty());
    if !chosen && let Some(Ok(action)) = fields.action.as_deref().map(str::parse::<Action>) {
        return nothing_chosen(&state, action, &back).await;
    }
    let parsed = fields
        .action
        .as_deref()
        .ok_or_else(|| HttpError::bad_request("no action was chosen: use Retry or Delete"))
        .and_then(|text| Ok(text.parse::<Action>()?))
        .and_then(|action| {
            parse_ids(fields.id.iter().map(String::as_str)).map(|ids| (action, ids))
        });
    let (action, ids) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return error_page(error),
    };
    if (action == Action::Delete || ids.len() > 1) && !fields.confirmed() {
        let (question, explanation, label) = match action {
            Action::Delete => (
                format!(
                    "Delete {}?",
                    plural::count(ids.len() as u64, "failed message", "failed messages")
                ),
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
            ("action", fields.action.clone().unwrap_or_default()),
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
                danger: action == Action::Delete,
                cancel: back,
                badge: rooms::last_badge(),
            },
            StatusCode::OK,
        );
    }
    if let [id] = ids[..] {
        // One message: a refusal answers with its own status and sentence.
        if let Err(error) = actions::act(&state.backends, action, id).await {
            return error_page(error.into());
        }
        let report = BulkReport {
            done: 1,
            refused: Vec::new(),
        };
        return after_bulk(&state, action, &back, report).await;
    }
    let report = actions::bulk(&state.backends, action, &ids).await;
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
            let back = if action == Action::Delete && back.starts_with("/messages/") {
                "/dead-letters"
            } else {
                back
            };
            let separator = if back.contains('?') { '&' } else { '?' };
            Redirect::to(&format!("{back}{separator}{word}={}", report.done)).into_response()
        }
        Some(first) => {
            let mut page = page(state, true, cursor_of(back)).await;
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

/// `POST /dead-letters/redrive`: after confirmation, starts moving the
/// dead-letter queue back to the work queue in the background.
async fn redrive(
    State(state): State<AppState>,
    acting: Result<Acting, HttpError>,
    form: ActionForm,
) -> Response {
    let fields = match operator_form(acting, form) {
        Ok(fields) => fields,
        Err(refusal) => return error_page(refusal),
    };
    let (dead_letters, depth) = match actions::dead_letters_to_redrive(&state.backends).await {
        Ok(found) => found,
        Err(error) => return error_page(error.into()),
    };
    if !fields.confirmed() {
        return render(
            &ConfirmPage {
                asset_version: asset_version(),
                question: format!(
                    "Redrive about {} to the queue?",
                    plural::count(depth, "message", "messages")
                ),
                explanation: format!(
                    "Each goes back to the work queue, at most {REDRIVE_PER_SECOND} a second, and is delivered to the worker again. A job whose message is already final is acknowledged and dropped; a pending one runs again."
                ),
                items: Vec::new(),
                action: "/dead-letters/redrive",
                fields: Vec::new(),
                confirm_label: "Redrive them",
                // Nothing is destroyed: each goes back to the queue.
                danger: false,
                cancel: "/dead-letters".to_owned(),
                badge: rooms::last_badge(),
            },
            StatusCode::OK,
        );
    }
    match state.redrive.start(dead_letters, depth) {
        // The depth, as the confirmation said it: the notice says "about" it.
        Ok(_) => Redirect::to(&format!("/dead-letters?redrive={depth}")).into_response(),
        Err(busy) => error_page(HttpError::conflict(busy)),
    }
}

/// "Retry chosen" or "Delete chosen" with nothing ticked: the page again,
/// with what to do, and nothing changed.
async fn nothing_chosen(state: &AppState, action: Action, back: &str) -> Response {
    let (verb, button) = match action {
        Action::Retry => ("retry", "Retry chosen"),
        Action::Delete => ("delete", "Delete chosen"),
    };
    let sentence = format!(
        "No message was chosen, so nothing was changed: tick the messages to {verb}, then press {button}."
    );
    let mut page = page(state, true, cursor_of(back)).await;
    page.error = Some(sentence.clone());
    render_refusal(&page, HttpError::bad_request(sentence))
}

/// The page again, with why a run over every failed message did not start.
async fn all_failed_refused(state: &AppState, refusal: HttpError) -> Response {
    let mut page = page(state, true, None).await;
    page.error = Some(capitalised(refusal.public()));
    render_refusal(&page, refusal)
}

/// `POST /dead-letters/all`: `action` (retry or delete) on every message
/// failed now, after confirmation, in the background (`all_failed.rs`).
async fn all_failed(
    State(state): State<AppState>,
    acting: Result<Acting, HttpError>,
    form: ActionForm,
) -> Response {
    let fields = match operator_form(acting, form) {
        Ok(fields) => fields,
        Err(refusal) => return error_page(refusal),
    };
    let action = match fields
        .action
        .as_deref()
        .ok_or_else(|| {
            HttpError::bad_request(
                "no action was chosen: use Retry all failed or Delete all failed; nothing was changed",
            )
        })
        .and_then(|text| Ok(text.parse::<Action>()?))
    {
        Ok(action) => action,
        Err(error) => return error_page(error),
    };
    if let Some(running) = state.all_failed.progress().filter(|run| run.running) {
        return all_failed_refused(&state, busy(&running)).await;
    }
    let count = match state.backends.store.count(Status::Fail).await {
        Ok(count) => count,
        Err(source) => {
            return error_page(store_unavailable(
                "the failed messages cannot be counted, so nothing was started",
                source,
            ));
        }
    };
    if count == 0 {
        let mut page = page(&state, true, None).await;
        page.notice = Some("There are no failed messages: nothing was changed.".to_owned());
        return render(&page, StatusCode::OK);
    }
    let them = if count == 1 {
        "the 1 failed message".to_owned()
    } else {
        format!("all {count} failed messages")
    };
    if !fields.confirmed() {
        let pace = format!(
            "at most {ALL_FAILED_PER_SECOND} a second, in the background; this page shows the progress"
        );
        let (question, explanation, label) = match action {
            Action::Retry => (
                format!("Retry {them}?"),
                format!(
                    "Each goes back to pending with a new job on the queue, {pace}. Only the messages failed now are retried, each only if it is still failed when reached; one that fails again meanwhile is not retried twice."
                ),
                "Retry them all",
            ),
            Action::Delete => (
                format!("Delete {them}?"),
                format!(
                    "Their records are removed for good, {pace}. Only the messages failed now are deleted, each only if it is still failed when reached; one that fails after this starts is kept."
                ),
                "Delete them all",
            ),
        };
        return render(
            &ConfirmPage {
                asset_version: asset_version(),
                question,
                explanation,
                items: Vec::new(),
                action: "/dead-letters/all",
                fields: vec![("action", action_name(action).to_owned())],
                confirm_label: label,
                danger: action == Action::Delete,
                cancel: "/dead-letters".to_owned(),
                badge: rooms::last_badge(),
            },
            StatusCode::OK,
        );
    }
    match state.all_failed.start(&state.backends, action, count) {
        // The page shows the run's progress in place of a notice.
        Ok(_) => Redirect::to("/dead-letters").into_response(),
        Err(busy) => all_failed_refused(&state, busy).await,
    }
}

/// Where this instance's run over every failed message is, for the page's
/// script: `{"all_failed": null}` before the first.
#[derive(Debug, serde::Serialize)]
struct ProgressBody {
    all_failed: Option<AllFailedProgress>,
}

/// `GET /dead-letters/progress`.
async fn progress(State(state): State<AppState>) -> axum::Json<ProgressBody> {
    axum::Json(ProgressBody {
        all_failed: state.all_failed.progress(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A retried message may have run again, and failed again, by the time
    /// the page is drawn: the notice says what was done, never its state.
    #[test]
    fn a_retry_notice_says_what_was_done_and_not_what_the_list_may_contradict() {
        for count in [1, 5] {
            let done = Done {
                retried: Some(count),
                deleted: None,
                redrive: None,
                signed_in: None,
            };
            let notice = notice(&done).expect("a notice");
            assert!(notice.starts_with(&format!("Retried {count}")), "{notice}");
            assert!(!notice.contains("pending"), "{notice}");
        }
    }
}
