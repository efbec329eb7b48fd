//! The ports together, as every app holds them.

use std::sync::Arc;

use crate::{Queue, SessionStore, StatusStore};

/// The queue, the status store and the operator's sessions an app works
/// with; cheap to clone. Which backend sits behind them is decided once, at
/// start-up (the `backend-config` crate), and nothing above this type knows.
#[derive(Clone)]
pub struct Backends {
    /// Where jobs wait for the worker.
    pub queue: Arc<dyn Queue>,
    /// Where messages and their states are recorded.
    pub store: Arc<dyn StatusStore>,
    /// Where the operator's sign-ins are kept, so that every web instance
    /// sees each one (in the status store's table or file).
    pub sessions: Arc<dyn SessionStore>,
}
