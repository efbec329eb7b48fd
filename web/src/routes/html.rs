//! Rendering the browser's pages, and answering the browser's errors as a
//! page too: a person who followed a link or sent the form gets HTML, never
//! the API's JSON.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use service::http::HttpError;

use crate::edge::assets::asset_version;
use crate::routes::rooms;
use crate::views::badge::Badge;

/// The page shown for any error on a browser route.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    asset_version: &'static str,
    title: &'static str,
    reason: String,
    /// The request's trace, when traces are on: what to search for.
    trace_id: Option<String>,
    badge: Option<Badge>,
}

/// Renders `template` and answers it with `answer`; a template that fails to
/// render is a bug of ours, answered with a plain `500` and logged once by the
/// middleware.
fn render_with(
    template: &impl Template,
    answer: impl FnOnce(Html<String>) -> Response,
) -> Response {
    match template.render() {
        Ok(html) => answer(Html(html)),
        Err(error) => HttpError::internal("the page could not be rendered")
            .caused_by(error)
            .respond_with("the page could not be rendered"),
    }
}

/// Renders `template` with `status`.
pub fn render(template: &impl Template, status: StatusCode) -> Response {
    render_with(template, |html| (status, html).into_response())
}

/// Renders `template` (a page that shows `error` in place, such as the form
/// beside its refusal) with the error's status, keeping its report for the log.
pub fn render_refusal(template: &impl Template, error: HttpError) -> Response {
    render_with(template, |html| error.respond_with(html))
}

/// Answers `error` as a page: its status, its sentence, a way back.
pub fn error_page(error: HttpError) -> Response {
    let title = match error.status() {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        status if status.is_client_error() => "That did not work",
        _ => "Something is unavailable",
    };
    let page = ErrorPage {
        asset_version: asset_version(),
        title,
        reason: sentence(error.public()),
        trace_id: service::traces::current_trace_id(),
        badge: rooms::last_badge(),
    };
    render_refusal(&page, error)
}

/// Answers `error` the way the address asked for: JSON under `/api/`, a page
/// elsewhere. For answers made outside a handler (no route, no answer in time).
pub fn error_for(path: &str, error: HttpError) -> Response {
    if path.starts_with("/api/") {
        error.into_response()
    } else {
        error_page(error)
    }
}

/// The error's words as a sentence: capitalised, with a full stop.
fn sentence(text: &str) -> String {
    let mut sentence = service::http::capitalised(text);
    if !sentence.ends_with(['.', '!', '?']) {
        sentence.push('.');
    }
    sentence
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_reads_as_a_sentence() {
        assert_eq!(sentence("no message has id x"), "No message has id x.");
        assert_eq!(
            sentence("That is not a message id."),
            "That is not a message id."
        );
    }

    #[test]
    fn an_error_page_keeps_the_status_and_says_why() {
        let response = error_page(HttpError::not_found("no message has id x"));
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}
