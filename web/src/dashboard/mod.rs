//! The dashboard: the pipeline snapshot shared by every page, the strip and
//! the failures badge drawn from it, the last hour's activity and its
//! charts, and asking the worker what it does.

pub mod activity;
// The badge stands beside the link to the operator's failures page.
#[cfg(feature = "operator")]
pub(crate) mod badge;
pub(crate) mod charts;
pub(crate) mod shared_read;
pub mod snapshot;
pub(crate) mod stall;
pub(crate) mod strip;
pub mod worker_link;
