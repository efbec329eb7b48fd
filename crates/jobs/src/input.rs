//! What a job takes, read from a message's body: [`Input`], implemented for
//! `String` (any text, as sent) and for [`Json`] (a type of your own, read
//! with serde). The web parses a body before it records the message, so a
//! body the job cannot take is refused with a sentence and nothing is sent;
//! the worker parses the stored body again before it runs the job.

use serde::de::DeserializeOwned;

use crate::Job;

/// A job's input, parsed from the body as sent.
pub trait Input: Sized + Send {
    /// The input in `body`, or what is wrong with it, said to the sender.
    fn parse(body: &str) -> Result<Self, String>;

    /// The body of the `n`th message of a burst of `body`: text numbered
    /// ` #n`, so each message of the burst reads apart.
    fn numbered(body: &str, n: u32) -> String {
        format!("{body} #{n}")
    }
}

impl Input for String {
    /// Any text is a `String`'s input.
    fn parse(body: &str) -> Result<Self, String> {
        Ok(body.to_owned())
    }
}

/// Input written as JSON: `T` read with serde from the whole body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + Send> Input for Json<T> {
    fn parse(body: &str) -> Result<Self, String> {
        serde_json::from_str(body)
            .map(Json)
            .map_err(|error| format!("the body must be JSON: {error}"))
    }

    /// JSON is sent as it is: a number after it would no longer parse.
    fn numbered(body: &str, _n: u32) -> String {
        body.to_owned()
    }
}

/// A body that is not what its job takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {kind} job ({explanation}) cannot take this body: {why}")]
pub struct BadInput {
    kind: &'static str,
    explanation: &'static str,
    why: String,
}

/// `body` as `J`'s input.
pub(crate) fn parse<J: Job>(body: &str) -> Result<J::Input, BadInput> {
    J::Input::parse(body).map_err(|why| BadInput {
        kind: J::NAME,
        explanation: J::EXPLANATION,
        why,
    })
}
