//! The operator's side: who may act (the token, sessions, the budget of
//! wrong guesses), the actions on failed messages, the failures page's
//! groups, a run over every failed message and the dead-letter redrive. A
//! copier who needs none of it deletes this room (ARCHITECTURE.md, "Entry
//! points").

pub(crate) mod access;
pub(crate) mod actions;
pub(crate) mod all_failed;
pub(crate) mod credential;
pub(crate) mod error_groups;
pub(crate) mod guesses;
pub mod redrive;
pub(crate) mod session;
pub mod settings;

pub use settings::*;
