//! The kind of job a message asks for: which job the worker runs for it
//! (`worker/src/jobs/`, one file per kind). Here the kinds are
//! demonstrations, chosen by the sender so that every path of the web +
//! worker pattern can be seen on purpose; a copy of this app names its own.
//! On the wire (JSON, forms, the stores) the field is still `simulate`, as
//! the API has always named it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which job runs for one message, and so how it behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// The job succeeds at once.
    #[default]
    Ok,
    /// The job fails for good: retrying cannot help.
    Fail,
    /// The job fails on its first delivery and succeeds on a later one, so a retry is visible.
    Flaky,
    /// The job takes a few seconds, then succeeds.
    Slow,
}

impl JobKind {
    /// Every choice, in the order the UI offers them.
    pub const ALL: [JobKind; 4] = [JobKind::Ok, JobKind::Fail, JobKind::Flaky, JobKind::Slow];

    /// The name used in JSON and forms.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Ok => "ok",
            JobKind::Fail => "fail",
            JobKind::Flaky => "flaky",
            JobKind::Slow => "slow",
        }
    }

    /// One line for a person choosing it.
    pub fn explanation(self) -> &'static str {
        match self {
            JobKind::Ok => "the job succeeds at once",
            JobKind::Fail => "the job fails for good and the message ends as fail",
            JobKind::Flaky => "the first delivery fails, the retry succeeds",
            JobKind::Slow => "the job takes a few seconds, then succeeds",
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text that names no job kind.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("simulate must be one of {known}, not {0:?}", known = JobKind::names())]
pub struct UnknownJobKind(String);

impl JobKind {
    /// Every choice's name, as a sentence lists them: `ok, fail, flaky or slow`.
    pub fn names() -> String {
        let names: Vec<&str> = JobKind::ALL.iter().map(|choice| choice.as_str()).collect();
        match names.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }
}

impl FromStr for JobKind {
    type Err = UnknownJobKind;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        JobKind::ALL
            .into_iter()
            .find(|choice| choice.as_str() == text)
            .ok_or_else(|| UnknownJobKind(text.chars().take(32).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_choice_parses_from_its_own_name() {
        for choice in JobKind::ALL {
            assert_eq!(choice.as_str().parse(), Ok(choice));
        }
    }

    #[test]
    fn an_unknown_choice_says_which_are_known() {
        let error = "explode".parse::<JobKind>().expect_err("unknown");
        let text = error.to_string();
        for choice in JobKind::ALL {
            assert!(text.contains(choice.as_str()), "{text}");
        }
        assert!(text.contains(&JobKind::names()), "{text}");
    }
}
