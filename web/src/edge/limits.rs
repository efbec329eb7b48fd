//! The sizes and times the web holds every request to, in one place: the
//! server applies them (`startup.rs`) and the error answers quote them
//! (`error.rs`), and neither should own the other.

use std::time::Duration;

/// Every request answers within this, even with a backend hanging.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Room for the largest body we accept, escaped as JSON or a form.
pub const REQUEST_BODY_LIMIT: usize = 256 * 1024;

/// The most messages one send may make.
pub const MAX_BURST: u32 = 100;

/// The most messages one bulk action of an operator takes.
#[cfg(feature = "operator")]
pub const MAX_BULK: usize = 100;
