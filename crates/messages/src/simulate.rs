//! What the demonstration job does with a message, chosen by the sender so
//! that every path of the web + worker pattern can be seen on purpose.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How the job behaves for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Simulate {
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

impl Simulate {
    /// Every choice, in the order the UI offers them.
    pub const ALL: [Simulate; 4] = [
        Simulate::Ok,
        Simulate::Fail,
        Simulate::Flaky,
        Simulate::Slow,
    ];

    /// The name used in JSON and forms.
    pub fn as_str(self) -> &'static str {
        match self {
            Simulate::Ok => "ok",
            Simulate::Fail => "fail",
            Simulate::Flaky => "flaky",
            Simulate::Slow => "slow",
        }
    }

    /// One line for a person choosing it.
    pub fn explanation(self) -> &'static str {
        match self {
            Simulate::Ok => "the job succeeds at once",
            Simulate::Fail => "the job fails for good and the message ends as fail",
            Simulate::Flaky => "the first delivery fails, the retry succeeds",
            Simulate::Slow => "the job takes a few seconds, then succeeds",
        }
    }
}

impl fmt::Display for Simulate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text that is not a simulation choice.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("simulate must be one of {known}, not {0:?}", known = Simulate::names())]
pub struct UnknownSimulate(String);

impl Simulate {
    /// Every choice's name, as a sentence lists them: `ok, fail, flaky or slow`.
    pub fn names() -> String {
        let names: Vec<&str> = Simulate::ALL.iter().map(|choice| choice.as_str()).collect();
        match names.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }
}

impl FromStr for Simulate {
    type Err = UnknownSimulate;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Simulate::ALL
            .into_iter()
            .find(|choice| choice.as_str() == text)
            .ok_or_else(|| UnknownSimulate(text.chars().take(32).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_choice_parses_from_its_own_name() {
        for choice in Simulate::ALL {
            assert_eq!(choice.as_str().parse(), Ok(choice));
        }
    }

    #[test]
    fn an_unknown_choice_says_which_are_known() {
        let error = "explode".parse::<Simulate>().expect_err("unknown");
        let text = error.to_string();
        for choice in Simulate::ALL {
            assert!(text.contains(choice.as_str()), "{text}");
        }
        assert!(text.contains(&Simulate::names()), "{text}");
    }
}
