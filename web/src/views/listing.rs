//! Which messages a list shows, as the page's tabs and `GET /api/messages`
//! take it: every message, one status's, or the `pending` ones a worker has
//! been handed ("in flight": running, or failed once and waiting out the
//! retry delay before the queue hands them out again).
//!
//! "In flight" is not a status: the store records `pending` until a job
//! ends, and what the job is doing is read from its timeline
//! ([`messages::Progress`]), so this list reads the pending index and keeps
//! the messages whose timeline says a worker holds them, from one read of
//! the largest page. A page may then hold fewer than asked; `next_cursor`
//! goes on from where the read stopped.
//! Its count is the queue's own in-flight figure (`snapshot.rs`), which also
//! counts the jobs too quick to be noted running (under a second).

use std::fmt;

use messages::{BackendError, ListQuery, MAX_PAGE, Message, Page, Progress, Status, StatusStore};

/// A list's filter: one status, or the pending messages a worker holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFilter {
    Status(Status),
    InFlight,
}

impl ListFilter {
    /// How the in-flight filter is written in `?status=`.
    pub const IN_FLIGHT: &'static str = "in_flight";

    /// Reads `?status=`, saying what it accepts when it cannot.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text == Self::IN_FLIGHT {
            return Ok(Self::InFlight);
        }
        text.parse::<Status>().map(Self::Status).map_err(|_| {
            format!(
                "{:?} is not a status: use pending, {}, complete or fail",
                text.chars().take(32).collect::<String>(),
                Self::IN_FLIGHT
            )
        })
    }

    /// How it is written in `?status=` and in the page's element ids.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Status(status) => status.as_str(),
            Self::InFlight => Self::IN_FLIGHT,
        }
    }

    /// The status the store is asked for.
    fn status(self) -> Status {
        match self {
            Self::Status(status) => status,
            Self::InFlight => Status::Pending,
        }
    }

    /// Whether `message` belongs in the list.
    pub fn keeps(self, message: &Message) -> bool {
        match self {
            Self::Status(status) => message.status == status,
            Self::InFlight => matches!(
                message.progress(),
                Progress::Running { .. } | Progress::Retrying { .. }
            ),
        }
    }
}

/// As the list's caption and its empty line say it: "with status fail", "in flight".
impl fmt::Display for ListFilter {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InFlight => formatter.write_str("in flight"),
            Self::Status(status) => write!(formatter, "with status {status}"),
        }
    }
}

/// A page of a list asked for: what the store is asked, and the filter.
#[derive(Debug, Clone)]
pub struct ListRequest {
    /// Its `status` is the filter's own, set by [`ListRequest::new`].
    query: ListQuery,
    filter: Option<ListFilter>,
}

impl ListRequest {
    /// `query` narrowed by `filter` (its own `status` is replaced).
    pub fn new(query: ListQuery, filter: Option<ListFilter>) -> Self {
        Self {
            query: ListQuery {
                status: filter.map(ListFilter::status),
                ..query
            },
            filter,
        }
    }

    pub fn filter(&self) -> Option<ListFilter> {
        self.filter
    }

    pub fn query(&self) -> &ListQuery {
        &self.query
    }

    /// The same request with `limit` messages a page.
    pub fn with_limit(self, limit: u32) -> Self {
        Self {
            query: ListQuery {
                limit,
                ..self.query
            },
            ..self
        }
    }

    /// Reads the page: one store read. In flight, that read is of the
    /// largest page the store gives ([`MAX_PAGE`] pending messages), so that
    /// a backlog of waiting messages newer than the running ones rarely
    /// leaves the page empty; what is kept past `limit` is left to the next
    /// page, which starts after the last one kept.
    pub async fn read(self, store: &dyn StatusStore) -> Result<Page, BackendError> {
        let Some(ListFilter::InFlight) = self.filter else {
            return store.list(self.query).await;
        };
        let limit = self.query.limit as usize;
        let mut page = store
            .list(ListQuery {
                limit: MAX_PAGE,
                ..self.query
            })
            .await?;
        page.items
            .retain(|message| ListFilter::InFlight.keeps(message));
        if page.items.len() > limit {
            page.items.truncate(limit);
            page.next_cursor = page.items.last().map(|message| message.id);
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use messages::{Event, JobKind, MessageBody};

    fn pending(history: Vec<Event>) -> Message {
        Message {
            history,
            ..Message::new(MessageBody::parse("x").expect("valid"), JobKind::Slow)
        }
    }

    #[test]
    fn in_flight_keeps_the_running_and_the_retrying_and_not_the_waiting() {
        let now = Utc::now();
        let running = pending(vec![Event::Started {
            receive_count: 1,
            at: now,
            deadline: now,
        }]);
        let retrying = pending(vec![Event::Delivered {
            receive_count: 1,
            started_at: now,
            took_ms: 3,
            answer: 500,
            error: Some("failed".to_owned()),
            retry_at: Some(now),
            trace_id: None,
        }]);
        let waiting = pending(Vec::new());
        let filter = ListFilter::InFlight;
        assert!(filter.keeps(&running));
        assert!(filter.keeps(&retrying));
        assert!(!filter.keeps(&waiting));
    }

    #[test]
    fn every_filter_parses_from_its_own_name_and_a_wrong_one_says_what_to_use() {
        for filter in Status::ALL
            .into_iter()
            .map(ListFilter::Status)
            .chain([ListFilter::InFlight])
        {
            assert_eq!(ListFilter::parse(filter.as_str()), Ok(filter));
        }
        let error = ListFilter::parse("running").expect_err("not a filter");
        assert!(
            error.contains("use pending, in_flight, complete or fail"),
            "{error}"
        );
    }
}
