//! What every [`JobKind`] has beside the methods the list in `lib.rs`
//! generates: its name as text, parsing one with an error that lists the
//! known names, and its wire form. On the wire (JSON, forms, the stores) the
//! field is `simulate`, as the API has always named it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::JobKind;

impl Default for JobKind {
    /// The first kind registered: what a sender gets who names none.
    fn default() -> Self {
        JobKind::ALL[0]
    }
}

impl JobKind {
    /// Every kind's name, as a sentence lists them: `ok, fail, flaky, slow or greet`.
    pub fn names() -> String {
        let names: Vec<&str> = JobKind::ALL.iter().map(|kind| kind.as_str()).collect();
        match names.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
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

impl FromStr for JobKind {
    type Err = UnknownJobKind;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        JobKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| UnknownJobKind(text.chars().take(32).collect()))
    }
}

impl Serialize for JobKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for JobKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_from_its_own_name() {
        for &kind in JobKind::ALL {
            assert_eq!(kind.as_str().parse(), Ok(kind));
        }
    }

    #[test]
    fn an_unknown_kind_says_which_are_known() {
        let error = "explode".parse::<JobKind>().expect_err("unknown");
        let text = error.to_string();
        for kind in JobKind::ALL {
            assert!(text.contains(kind.as_str()), "{text}");
        }
        assert!(text.contains(&JobKind::names()), "{text}");
    }

    #[test]
    fn the_wire_form_is_the_name_and_reads_back() {
        for &kind in JobKind::ALL {
            let json = serde_json::to_string(&kind).expect("a string");
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(
                serde_json::from_str::<JobKind>(&json).expect("a kind"),
                kind
            );
        }
        let error = serde_json::from_str::<JobKind>("\"explode\"").expect_err("unknown");
        assert!(
            error.to_string().contains("simulate must be one of"),
            "{error}"
        );
    }

    #[test]
    fn no_two_kinds_share_a_name() {
        let mut names: Vec<&str> = JobKind::ALL.iter().map(|kind| kind.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), JobKind::ALL.len());
    }

    #[test]
    fn a_sender_who_names_no_kind_gets_ok() {
        assert_eq!(JobKind::default().as_str(), "ok");
    }
}
