//! Reading what a person or a client sent, shared by the page's form and the
//! JSON API: each parser names the field that is wrong and says what to send
//! instead. A refusal here happens before any backend is touched, so it
//! changes nothing.

use axum::http::HeaderMap;
use messages::{
    IdempotencyKey, JobKind, ListQuery, MAX_PAGE, MessageBody, MessageGroup, MessageId,
};
use serde::Deserialize;
use service::http::HttpError;

#[cfg(feature = "operator")]
use crate::edge::limits::MAX_BULK;
use crate::edge::limits::MAX_BURST;
use crate::views::listing::{ListFilter, ListRequest};

/// The default page size of `GET /api/messages`.
pub const DEFAULT_LIMIT: u32 = 20;

/// Reads the `simulate` choice; absent means `ok`.
pub fn parse_simulate(text: Option<&str>) -> Result<JobKind, HttpError> {
    match text {
        None => Ok(JobKind::Succeed),
        Some(text) => text
            .parse()
            .map_err(|error: messages::UnknownJobKind| HttpError::unprocessable(error.to_string())),
    }
}

/// Reads the optional `group`: absent or blank means none.
pub fn parse_group(text: Option<&str>) -> Result<Option<MessageGroup>, HttpError> {
    match text.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(text) => MessageGroup::parse(text)
            .map(Some)
            .map_err(|error| HttpError::unprocessable(error.to_string())),
    }
}

/// The name of the header (and of the form's hidden field) that makes a send idempotent.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// The `Idempotency-Key` header, if sent.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, HttpError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| HttpError::bad_request(messages::InvalidIdempotencyKey.to_string()))?;
    parse_idempotency_key(Some(text))
}

/// A key from text (a form's hidden field): none when absent or empty.
pub fn parse_idempotency_key(text: Option<&str>) -> Result<Option<IdempotencyKey>, HttpError> {
    match text {
        None | Some("") => Ok(None),
        Some(text) => IdempotencyKey::parse(text)
            .map(Some)
            .map_err(|error| HttpError::bad_request(error.to_string())),
    }
}

/// Reads a body, refusing an empty or oversized one.
pub fn parse_body(text: impl Into<String>) -> Result<MessageBody, HttpError> {
    MessageBody::parse(text).map_err(|error| HttpError::unprocessable(error.to_string()))
}

/// Reads a whole number from 1 to `max`, or says what `what` must be.
pub fn whole_number(text: &str, max: u32, what: &str) -> Result<u32, String> {
    text.parse::<u32>()
        .ok()
        .filter(|number| (1..=max).contains(number))
        .ok_or_else(|| format!("{what} must be a whole number from 1 to {max}, not {text:?}"))
}

/// How many to send, as a JSON client or a form gives it: a number or a
/// numeric string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum BurstSize {
    /// `"count": 5`.
    Number(serde_json::Number),
    /// `"count": "5"`, what a form field holds.
    Text(String),
    /// Anything else (`true`, a list): refused with the same sentence.
    Other(serde::de::IgnoredAny),
}

impl BurstSize {
    /// Reads the burst size: 1 to [`MAX_BURST`]; absent means 1.
    pub fn parse(size: Option<&Self>) -> Result<u32, HttpError> {
        match size {
            None => Ok(1),
            Some(Self::Text(text)) => parse_count(Some(text)),
            Some(Self::Number(number)) => parse_count(Some(&number.to_string())),
            Some(Self::Other(_)) => Err(HttpError::unprocessable(format!(
                "how many to send must be a whole number from 1 to {MAX_BURST}, given as a number or a numeric string"
            ))),
        }
    }
}

/// Reads the burst size from text: 1 to [`MAX_BURST`]; blank means 1.
pub fn parse_count(text: Option<&str>) -> Result<u32, HttpError> {
    match text.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(1),
        Some(text) => {
            whole_number(text, MAX_BURST, "how many to send").map_err(HttpError::unprocessable)
        }
    }
}

/// The bodies of a burst: the text itself, numbered as its job's input
/// numbers it when there are several (text gets ` #n`; JSON stays as sent).
pub fn burst(body: &str, count: u32, simulate: JobKind) -> Result<Vec<MessageBody>, HttpError> {
    if count <= 1 {
        return Ok(vec![parse_body(body)?]);
    }
    parse_body(body)?; // the plain text's own error comes first
    (1..=count)
        .map(|n| parse_body(simulate.numbered(body, n)))
        .collect()
}

/// One message the live page shows and asks about: its id, the attempts it
/// shows, and what it shows of its state: a final status, or where a
/// pending one is (a final row is asked about now and then, so that one
/// deleted or retried elsewhere does not stay on screen as it was).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watched {
    pub id: MessageId,
    pub attempts: u32,
    /// A [`shown`] name.
    pub shown: &'static str,
}

/// What the page shows of `message`'s state: `complete` or `fail`, or for
/// a pending one its [`messages::Progress`] (`waiting`, `running`, `retrying`).
pub fn shown(message: &messages::Message) -> &'static str {
    match message.progress() {
        messages::Progress::Finished => message.status.as_str(),
        progress => progress.name(),
    }
}

/// The names [`shown`] gives, and `pending` (what a page of an earlier
/// version sends), read as `waiting`.
fn shown_name(text: &str) -> Option<&'static str> {
    match text {
        "pending" | "waiting" => Some("waiting"),
        "running" => Some("running"),
        "retrying" => Some("retrying"),
        "complete" => Some("complete"),
        "fail" => Some("fail"),
        _ => None,
    }
}

impl Watched {
    /// Whether `message` differs from what the page shows.
    pub fn differs_from(&self, message: &messages::Message) -> bool {
        shown(message) != self.shown || message.attempts != self.attempts
    }
}

/// Reads the live page's `watch=<id>:<attempts>[:<shown>],...`: the
/// messages on screen, the attempts shown for each (a bare id means none
/// shown) and what is shown of its state (see [`shown`]; none means a
/// pending message waiting). At most a page of them; an id listed twice
/// counts once.
pub fn parse_watch(text: &str) -> Result<Vec<Watched>, HttpError> {
    let malformed = || {
        HttpError::bad_request(
            "watch must list <id>:<attempts> or <id>:<attempts>:<state> items separated by commas, where a state is waiting, running, retrying, complete or fail",
        )
    };
    let mut watched: Vec<Watched> = Vec::new();
    for item in text
        .split(',')
        .filter(|item| !item.is_empty())
        .take(MAX_PAGE as usize)
    {
        let mut parts = item.splitn(3, ':');
        let id = MessageId::parse(parts.next().unwrap_or_default()).map_err(|_| malformed())?;
        let attempts = match parts.next() {
            Some(attempts) => attempts.parse::<u32>().map_err(|_| malformed())?,
            None => 0,
        };
        let shown = match parts.next() {
            Some(shown) => shown_name(shown).ok_or_else(malformed)?,
            None => "waiting",
        };
        if !watched.iter().any(|seen| seen.id == id) {
            watched.push(Watched {
                id,
                attempts,
                shown,
            });
        }
    }
    Ok(watched)
}

/// `?status=&group=&limit=&cursor=`, each optional, as the list API and the
/// page take them.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    status: Option<String>,
    group: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

impl ListParams {
    /// Checks every parameter, naming the one that is wrong.
    pub fn parse(&self) -> Result<ListRequest, HttpError> {
        let filter = match self.status.as_deref().filter(|text| !text.is_empty()) {
            None => None,
            Some(text) => Some(ListFilter::parse(text).map_err(HttpError::bad_request)?),
        };
        let limit = match self.limit.as_deref().filter(|text| !text.is_empty()) {
            None => DEFAULT_LIMIT,
            Some(text) => whole_number(text, MAX_PAGE, "limit").map_err(HttpError::bad_request)?,
        };
        let cursor = match self.cursor.as_deref().filter(|text| !text.is_empty()) {
            None => None,
            Some(text) => Some(MessageId::parse(text).map_err(|_| {
                HttpError::bad_request(
                    "cursor is not valid: pass back the next_cursor of the previous page",
                )
            })?),
        };
        let group = parse_group(self.group.as_deref())
            .map_err(|error| HttpError::bad_request(error.public().to_owned()))?;
        Ok(ListRequest::new(
            ListQuery {
                status: None,
                group,
                limit,
                cursor,
            },
            filter,
        ))
    }
}

/// Reads the ids of a bulk action: 1 to [`MAX_BULK`] message ids.
#[cfg(feature = "operator")]
pub fn parse_ids<'a>(
    texts: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<MessageId>, HttpError> {
    let mut ids = Vec::new();
    for text in texts {
        let id = MessageId::parse(text.trim()).map_err(|_| {
            HttpError::bad_request(format!("{text:?} is not a message id; nothing was changed"))
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    match ids.len() {
        0 => Err(HttpError::bad_request(
            "no message was chosen: tick the messages to act on",
        )),
        count if count > MAX_BULK => Err(HttpError::bad_request(format!(
            "{count} messages were chosen: act on at most {MAX_BULK} at a time; nothing was changed"
        ))),
        _ => Ok(ids),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_size_may_be_a_number_or_numeric_text() {
        let number: BurstSize = serde_json::from_str("5").expect("number");
        let text: BurstSize = serde_json::from_str("\"5\"").expect("text");
        assert_eq!(BurstSize::parse(Some(&number)).ok(), Some(5));
        assert_eq!(BurstSize::parse(Some(&text)).ok(), Some(5));
        assert_eq!(BurstSize::parse(None).ok(), Some(1));
    }

    #[test]
    fn a_burst_size_out_of_range_says_the_range() {
        let error = parse_count(Some("101")).expect_err("too many");
        assert!(error.public().contains("from 1 to 100"), "{error}");
        for bad in ["2.5", "true", "[1]"] {
            let size: BurstSize = serde_json::from_str(bad).expect("any JSON value");
            assert!(BurstSize::parse(Some(&size)).is_err(), "{bad}");
        }
    }

    #[test]
    fn watched_ids_are_read_once_each_and_bad_pairs_refused() {
        let id = MessageId::new();
        let watched = parse_watch(&format!("{id}:2,{id}:3,")).expect("valid");
        let seen = |attempts, shown| Watched {
            id,
            attempts,
            shown,
        };
        assert_eq!(watched, [seen(2, "waiting")]);
        assert_eq!(
            parse_watch(&id.to_string()).ok(),
            Some(vec![seen(0, "waiting")])
        );
        assert_eq!(
            parse_watch(&format!("{id}:4:fail")).ok(),
            Some(vec![seen(4, "fail")])
        );
        let other = MessageId::new();
        assert_eq!(
            parse_watch(&format!("{id}:1:running,{other}:0:pending")).ok(),
            Some(vec![
                seen(1, "running"),
                Watched {
                    id: other,
                    attempts: 0,
                    shown: "waiting"
                }
            ])
        );
        assert!(parse_watch(&format!("{id}:two")).is_err());
        assert!(parse_watch(&format!("{id}:1:lost")).is_err());
        assert!(parse_watch("nope:1").is_err());
    }

    #[test]
    fn a_burst_numbers_its_messages() {
        let bodies = burst("hi", 3, JobKind::Succeed).expect("valid");
        let texts: Vec<&str> = bodies.iter().map(MessageBody::as_str).collect();
        assert_eq!(texts, ["hi #1", "hi #2", "hi #3"]);
    }

    #[test]
    fn a_burst_of_json_sends_it_as_it_is() {
        let json = r#"{"name": "Ada"}"#;
        let bodies = burst(json, 2, JobKind::Greet).expect("valid");
        let texts: Vec<&str> = bodies.iter().map(MessageBody::as_str).collect();
        assert_eq!(texts, [json, json]);
    }
}
