//! The three states of a message, and the ways between them:
//! `pending` -> `complete` or `pending` -> `fail` when a job finishes, and
//! `fail` -> `pending` when an operator retries it. Each is made
//! conditionally by the store, so a duplicate or late delivery cannot flip a
//! final state, and a retry moves only a message that is `fail`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Recorded and enqueued; the worker has not finished it yet.
    Pending,
    /// The job succeeded. Final.
    Complete,
    /// The job failed for good, or gave up after the last attempt. Final for
    /// the worker; an operator may retry it, back to `pending`.
    Fail,
}

/// A final state: what a transition may move a `pending` message to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalStatus {
    /// See [`Status::Complete`].
    Complete,
    /// See [`Status::Fail`].
    Fail,
}

impl Status {
    /// Every state, in the order the UI shows them.
    pub const ALL: [Status; 3] = [Status::Pending, Status::Complete, Status::Fail];

    /// The name used in JSON, in the table and in query strings.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Complete => "complete",
            Status::Fail => "fail",
        }
    }

    /// Whether nothing may change this state any more.
    pub fn is_final(self) -> bool {
        self != Status::Pending
    }
}

impl From<FinalStatus> for Status {
    fn from(status: FinalStatus) -> Self {
        match status {
            FinalStatus::Complete => Status::Complete,
            FinalStatus::Fail => Status::Fail,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text that is not a state.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a status: use pending, complete or fail")]
pub struct UnknownStatus(String);

impl FromStr for Status {
    type Err = UnknownStatus;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| UnknownStatus(text.chars().take(32).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_parses_from_its_own_name() {
        for status in Status::ALL {
            assert_eq!(status.as_str().parse(), Ok(status));
        }
    }

    #[test]
    fn an_unknown_status_lists_the_known_ones() {
        let error = "done".parse::<Status>().expect_err("unknown");
        assert!(error.to_string().contains("pending, complete or fail"));
    }

    #[test]
    fn only_pending_is_not_final() {
        assert!(!Status::Pending.is_final());
        assert!(Status::Complete.is_final());
        assert!(Status::Fail.is_final());
    }
}
