//! The message views: lists and their tabs, a message as JSON, a row's
//! state, a message's timeline in words, the feed of new messages, counts
//! in words, the header's failures badge.

pub mod badge;
pub(crate) mod listing;
pub(crate) mod message_json;
pub(crate) mod plural;
pub mod recent;
pub(crate) mod row_state;
pub(crate) mod timeline;
