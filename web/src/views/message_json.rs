//! A message as the JSON API and the live page receive it: the record, and
//! where it is ([`Progress`]: waiting, running, retrying), worked out from
//! its timeline so the page need not.

use messages::{Message, Progress};
use serde::Serialize;

/// The record with its progress beside it.
#[derive(Debug, Serialize)]
pub struct MessageJson {
    #[serde(flatten)]
    message: Message,
    progress: Progress,
}

impl From<Message> for MessageJson {
    fn from(message: Message) -> Self {
        Self {
            progress: message.progress(),
            message,
        }
    }
}

/// Each of `messages` with its progress.
pub fn all(messages: Vec<Message>) -> Vec<MessageJson> {
    messages.into_iter().map(MessageJson::from).collect()
}
